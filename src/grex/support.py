"""What the Monte Carlo engines support: conventions of the deterministic engine not simulated yet.

The deterministic valuation (:mod:`grex.valuation`) knows conventions of
municipal practice (docs/municipal-practice.md). The Monte Carlo engines
(:mod:`grex.montecarlo`, :mod:`grex.kernel`) simulate the day count, the
present value from the cash flows, a rekenrente per year and a cost index
per kostensoort; they do not apply a provision already formed
(``provision_balance``) on the reserve path yet. Rather than simulate a
portfolio under other conventions than ``grex run`` values it by, the
commands that simulate (``simulate``, ``report``, ``batch``,
``sensitivity``) refuse it with one line naming the column:
:func:`check_monte_carlo_support`.
"""

from __future__ import annotations

from grex.errors import InputError
from grex.portfolio import Portfolio
from grex.scenario import Scenario

__all__ = ["check_monte_carlo_support", "unsupported"]

_NOT_YET = "is not supported by the Monte Carlo yet (grex run values it)"


def unsupported(scenario: Scenario, portfolio: Portfolio | None = None) -> list[tuple[str, str]]:
    """Every convention of a scenario and portfolio the Monte Carlo does not support.

    Returns
    -------
    list of (where, what)
        ``where`` the column (``"projects.csv: line 2, column
        'provision_balance'"``) or a scenario key (``"key ..."``); ``what``
        the value as written. Empty where the Monte Carlo can
        simulate the scenario as ``grex run`` values it.
    """
    out: list[tuple[str, str]] = []
    if portfolio is not None and "provision_balance" in portfolio.projects.columns:
        held = portfolio.projects[portfolio.projects["provision_balance"].fillna(0.0) != 0]
        if len(held):
            first = held.iloc[0]
            out.append(
                (
                    f"{portfolio.projects_source}: {first['row']}, column 'provision_balance'",
                    f"a provision already formed ({first['provision_balance']:g} for {first['project']!r})",
                )
            )
    return out


def check_monte_carlo_support(scenario: Scenario, portfolio: Portfolio | None = None) -> None:
    """Refuse a scenario the Monte Carlo cannot simulate as ``grex run`` values it.

    Raises
    ------
    InputError
        One line naming the portfolio file, row and column of the first
        unsupported value (or the scenario file and key), e.g.
        ``projects.csv: line 2, column 'provision_balance': a provision
        already formed (10 for 'a') is not supported by the Monte Carlo yet
        (grex run values it)``.
    """
    found = unsupported(scenario, portfolio)
    if found:
        where, what = found[0]
        if where.startswith("key "):
            raise InputError(scenario.source, where, f"{what} {_NOT_YET}")
        raise InputError(None, where, f"{what} {_NOT_YET}")
