"""The plan of a simulation: everything that does not change between draws.

:func:`make_plan` reads the scenario and the portfolio once (the model inputs
of :func:`grex.valuation.build_inputs` on a horizon long enough for the
slowest draw, the drivers' distributions per complex, the risk register) into
a :class:`Plan` that both engines value draws against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from grex.drivers import DRIVERS, MonteCarlo, correlation_root
from grex.errors import InputError
from grex.limits import check_horizon
from grex.market import check_foresight, market_plan, market_rows
from grex.market import reach as market_reach
from grex.portfolio import Portfolio
from grex.scenario import Scenario
from grex.valuation import ModelInputs, build_inputs

__all__ = ["Distribution", "Plan", "check_references", "make_plan"]

#: (minimum, mode, maximum, uniform) of a distribution per complex (or risk), for drivers.distribution_ppf.
Distribution = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]

# -- the plan: everything that does not change between draws ------------------


@dataclass(frozen=True)
class Plan:
    inputs: ModelInputs
    mc: MonteCarlo
    active: frozenset[str]
    anchor: NDArray[np.intp]
    sales_end: NDArray[np.intp]
    has_sales: NDArray[np.bool_]
    pace: Distribution
    delay: Distribution
    risk_complex: NDArray[np.intp]
    risk_index: NDArray[np.intp]
    risk_probability: NDArray[np.float64]
    risk_impact: Distribution
    interest: Distribution
    risk_is_cost: NDArray[np.bool_]
    bound_years: int
    root3: NDArray[np.float64]
    root2: NDArray[np.float64]
    in_preparation: NDArray[np.bool_]  # status voorbereiding (a grex not yet adopted)
    revenue_freeze: int | None
    general_reserve: float
    base_years: int
    # market (issue 15)
    markets: tuple[Any, ...] = ()
    market: Any = None  # grex.market.MarketPlan, or None without a market that covers a programme row
    market_reach: int = 0
    # the group of cost_index_by_category the market's tied costs of each complex follow (C,), or None
    market_group: NDArray[np.intp] | None = None
    # years of index shocks laid out per draw in stream 1 before any year a market adds: the bound of the
    # same scenario without its markets (bound_years where there is no market); see streams.py
    shock_years_base: int = 0
    # yearly revaluation (issue 16)
    foresight: int = 0  # grex.montecarlo.revaluation.FORESIGHT code (0: perfect)
    learning_rate: float = 0.5
    revaluation_years: int = 10
    expected_revenue_rates: NDArray[np.float64] | None = None  # the revenue rates the revaluations expect
    yearly: bool = False  # run the yearly revaluation (always under plan or adaptive; on request under perfect)


def check_references(scenario: Scenario, portfolio: Portfolio) -> None:
    """Check that the Monte Carlo tables name complexes of the portfolio.

    Raises :class:`InputError` naming the key for a ``[montecarlo.complex.X]``
    override or a ``[[risks]]`` entry whose complex is not in the portfolio,
    and for a risk dated before the valuation year. ``grex validate`` runs it
    too, so such a scenario fails before any simulation.
    """
    known = set(portfolio.ids)
    for project in scenario.montecarlo.complexes:
        if project not in known:
            raise InputError(scenario.source, f"key montecarlo.complex.{project}", "names no complex of the portfolio")
    V = scenario.valuation_year
    for i, risk in enumerate(scenario.risks):
        if risk.project not in known:
            raise InputError(
                scenario.source, f"key risks[{i}].project", f"unknown complex {risk.project!r}: not in the portfolio"
            )
        if risk.year < V:
            raise InputError(scenario.source, f"key risks[{i}].year", f"{risk.year} is before the valuation year {V}")


def make_plan(scenario: Scenario, portfolio: Portfolio, drivers: Iterable[str] | None) -> Plan:
    from grex.montecarlo.revaluation import FORESIGHT  # noqa: PLC0415 - not imported by grex run's checks (start-up)

    mc = scenario.montecarlo
    if drivers is None:
        active = frozenset(DRIVERS)
    else:
        if isinstance(drivers, str):
            drivers = (drivers,)
        active = frozenset(drivers)
        unknown = sorted(active - set(DRIVERS))
        if unknown:
            raise InputError(None, "drivers", f"unknown driver {unknown[0]!r}; expected some of {', '.join(DRIVERS)}")
    markets = tuple(getattr(scenario, "markets", ()))
    in_market = market_rows(markets, portfolio)
    full_portfolio = portfolio
    if in_market.any():
        # the programme rows in a market are sold by the market allocation, not re-timed by pace and delay
        portfolio = Portfolio.checked(
            portfolio.projects, portfolio.flows[~in_market], portfolio.projects_source, portfolio.flows_source
        )
    base_inputs = build_inputs(scenario, portfolio)
    # a pace or delay past the engine's year limit is refused by key before the long tables are built
    check_horizon(scenario, inputs=base_inputs)
    projects = list(base_inputs.projects)
    position = {p: i for i, p in enumerate(projects)}
    check_references(scenario, portfolio)
    check_foresight(scenario, full_portfolio)  # what the yearly revaluation cannot value yet, by key
    V = scenario.valuation_year

    sales = (base_inputs.revenues != 0) | (base_inputs.linked_costs != 0)
    has_sales = sales.any(axis=-1)
    T0 = base_inputs.n_years
    anchor = np.where(has_sales, np.argmax(sales, axis=-1), 0).astype(np.intp)
    sales_end = np.where(has_sales, T0 - np.argmax(sales[:, ::-1], axis=-1), 0).astype(np.intp)

    def shapes(items: list[Any]) -> Distribution:
        # (minimum, mode, maximum, uniform) of each distribution, for drivers.distribution_ppf
        minimum, mode, maximum = (
            np.array([getattr(t, k) for t in items], dtype=np.float64) for k in ("minimum", "mode", "maximum")
        )
        return minimum, mode, maximum, np.array([t.uniform for t in items], dtype=bool)

    def triangles(get: Any) -> Distribution:
        return shapes([get(p) for p in projects])

    pace = triangles(mc.pace_of)
    delay = triangles(mc.delay_of)
    slowest = mc.market_pace.minimum * pace[0]

    def needed_years(sales: NDArray[np.bool_], T: int) -> int:
        # years from V to the end of the slowest re-timed sales of each complex (pace and delay at their extremes)
        has = sales.any(axis=-1)
        first = np.where(has, np.argmax(sales, axis=-1), 0)
        end = np.where(has, T - np.argmax(sales[:, ::-1], axis=-1), 0)
        return int(np.where(has, np.ceil(first + delay[2] + (end - first) / slowest), 0).max(initial=0))

    needed = needed_years(sales, T0)
    risk_years = [r.year - V + 1 for r in scenario.risks]
    shock_years_base = int(max([T0, needed, *risk_years]))
    market = None
    reach_years = 0
    if in_market.any():
        last = int(full_portfolio.flows["year"].max()) - V + 1
        market = market_plan(markets, full_portfolio, V, max(last, T0))
        reach_years = market_reach(market, markets)
        # stream 1's layout is that of the scenario without markets (its programme rows re-timed by pace and
        # delay), so a market that sells as planned leaves every draw's index shocks as they were (issue 15)
        plain = build_inputs(scenario, full_portfolio)
        plain_sales = (plain.revenues != 0) | (plain.linked_costs != 0)
        shock_years_base = int(max([plain.n_years, needed_years(plain_sales, plain.n_years), *risk_years]))
    bound_years = int(max([T0, needed, *risk_years, reach_years]))
    if market is not None:
        market = market.widen(bound_years)
    market_group = None
    if market is not None and scenario.parameters.cost_index_by_category:
        market_group = _market_groups(scenario, full_portfolio, in_market, list(base_inputs.projects))
    inputs = build_inputs(scenario, portfolio, extra_years=bound_years - T0)

    correlation = np.array(mc.correlation)
    params = scenario.parameters
    return Plan(
        inputs=inputs,
        mc=mc,
        active=active,
        anchor=anchor,
        sales_end=sales_end,
        has_sales=has_sales,
        pace=pace,
        delay=delay,
        risk_complex=np.array([position[r.project] for r in scenario.risks], dtype=np.intp),
        risk_index=np.array([r.year - V for r in scenario.risks], dtype=np.intp),
        risk_probability=np.array([r.probability for r in scenario.risks]),
        risk_impact=shapes([r.impact for r in scenario.risks]),
        interest=shapes([mc.interest]),
        risk_is_cost=np.array([r.type == "cost" for r in scenario.risks], dtype=bool),
        bound_years=bound_years,
        root3=correlation_root(correlation),
        root2=correlation_root(correlation[1:, 1:]),
        in_preparation=(base_inputs.status == "voorbereiding"),
        revenue_freeze=None
        if params.index_revenues_after_max_duration
        else inputs.rate_offset + params.max_duration - 1,
        general_reserve=0.0 if scenario.reserves.general_reserve is None else scenario.reserves.general_reserve,
        base_years=T0,
        markets=markets if market is not None else (),
        market=market,
        market_reach=reach_years,
        market_group=market_group,
        shock_years_base=shock_years_base,
        # yearly revaluation (issue 16)
        foresight=FORESIGHT[mc.foresight],
        learning_rate=float(mc.learning_rate),
        revaluation_years=int(mc.revaluation_years),
        yearly=FORESIGHT[mc.foresight] > 0,
        expected_revenue_rates=None
        if mc.expected_revenue_index is None
        else build_inputs(
            replace(scenario, parameters=replace(params, revenue_index=mc.expected_revenue_index)),
            portfolio,
            extra_years=bound_years - T0,
        ).revenue_rates,
    )


def _market_groups(scenario: Scenario, portfolio: Portfolio, in_market: NDArray[np.bool_], projects: list[Any]) -> Any:
    """The group of ``cost_index_by_category`` of each complex's market-sold tied costs (C,).

    The groups are numbered as :func:`grex.valuation.build_inputs` numbers
    them: the named categories in order, then one for the rest. A complex
    whose tied costs in a market fall in two groups is refused (the market
    sells them together).
    """
    named = list(scenario.parameters.cost_index_by_category)
    flows = portfolio.flows[in_market]
    flows = flows[flows["type"] == "cost"]
    group = np.full(len(projects), len(named), dtype=np.intp)
    seen: dict[Any, int] = {}
    for project, category in zip(flows["project"], flows["category"], strict=True):
        g = named.index(category) if category in named else len(named)
        if seen.setdefault(project, g) != g:
            raise InputError(
                scenario.source,
                "key parameters.cost_index_by_category",
                f"complex {project!r} sells programme rows in a market whose cost_category falls in more than one "
                "index group; give them one cost_category",
            )
        group[projects.index(project)] = g
    return group
