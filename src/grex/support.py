"""What the Monte Carlo engines support: conventions of the deterministic engine not simulated yet.

The deterministic valuation (:mod:`grex.valuation`) knows conventions of
municipal practice (docs/municipal-practice.md) that the Monte Carlo engines
(:mod:`grex.montecarlo`, :mod:`grex.kernel`) do not apply yet. Rather than
simulate a scenario under other conventions than ``grex run`` values it by,
the commands that simulate (``simulate``, ``report``, ``batch``,
``sensitivity``) refuse it with one line naming the key:
:func:`check_monte_carlo_support`.
"""

from __future__ import annotations

from grex.errors import InputError
from grex.portfolio import Portfolio
from grex.scenario import RatePath, Scenario

__all__ = ["check_monte_carlo_support", "unsupported"]

_NOT_YET = "is not supported by the Monte Carlo yet (grex run values it)"


def unsupported(scenario: Scenario, portfolio: Portfolio | None = None) -> list[tuple[str, str]]:
    """Every convention of a scenario and portfolio the Monte Carlo does not support.

    Returns
    -------
    list of (where, what)
        ``where`` the key (``"key parameters.discount_periods"``) or the
        column; ``what`` the value as written. Empty where the Monte Carlo can
        simulate the scenario as ``grex run`` values it.
    """
    params = scenario.parameters
    out: list[tuple[str, str]] = []
    if params.discount_periods != "years":
        out.append(("key parameters.discount_periods", f"= {params.discount_periods!r}"))
    if params.present_value_method != "end_value":
        out.append(("key parameters.present_value_method", f"= {params.present_value_method!r}"))
    if isinstance(params.interest_rate, RatePath) and params.interest_rate.by_year:
        out.append(("key parameters.interest_rate", "as a table of rates per year"))
    if params.cost_index_by_category:
        out.append(("key parameters.cost_index_by_category", "(a cost index per kostensoort)"))
    # (a provision already formed, the column provision_balance, is simulated: the reserve path
    # charges the dotation; issue 16)
    return out


def check_monte_carlo_support(scenario: Scenario, portfolio: Portfolio | None = None) -> None:
    """Refuse a scenario the Monte Carlo cannot simulate as ``grex run`` values it.

    Raises
    ------
    InputError
        One line naming the scenario file and the first unsupported key (or
        the portfolio file, row and column), e.g. ``scenario.toml: key
        parameters.present_value_method: = 'cash_flows' is not supported by
        the Monte Carlo yet (grex run values it)``.
    """
    found = unsupported(scenario, portfolio)
    if found:
        where, what = found[0]
        if where.startswith("key "):
            raise InputError(scenario.source, where, f"{what} {_NOT_YET}")
        raise InputError(None, where, f"{what} {_NOT_YET}")
