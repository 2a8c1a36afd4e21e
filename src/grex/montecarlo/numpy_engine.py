"""The numpy engine: draws valued with whole-array passes over ``(draws, complexes, years)``.

:func:`_value_chunk` re-times every complex's revenues and sales-linked costs
along its planned sales curve (:func:`grex.drivers.retime`) and values the
draws with the rules of :mod:`grex.core` (``index_factors``,
``nominal_flows``, ``end_index``, ``roll_book_value``, ``discount_factor``,
``present_value_of_flows``; the conventions of docs/municipal-practice.md as
``grex run`` applies them)
and the reserve path of :mod:`grex.montecarlo.reserve`; the loops in Python
run over years and risks, never over draws or complexes. The compiled
engine (:mod:`grex.kernel`) gives the same numbers bit for bit.

:func:`trace` shows the inputs of one draw; :func:`value_settings` values
given driver values (no randomness), for the sensitivity analysis.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
from numpy.typing import NDArray

from grex.core import (
    discount_factor,
    end_index,
    freeze_rates,
    index_factors,
    nominal_flows,
    present_value_of_flows,
    roll_book_value,
)
from grex.drivers import retime
from grex.market import allocate
from grex.montecarlo.plan import Plan, make_plan
from grex.montecarlo.reserve import reserve_path
from grex.montecarlo.revaluation import revaluation_tables, revalue_yearly
from grex.montecarlo.streams import _block, _draws, _needed_years
from grex.portfolio import Portfolio
from grex.scenario import Scenario
from grex.valuation import build_inputs

__all__ = ["trace", "value_settings"]

# -- valuing a chunk of draws ---------------------------------------------------


def _flows(plan: Plan, values: dict[str, NDArray[np.float64]], n_years: int) -> dict[str, Any]:
    """Re-timed flows at price level and the index factors of a set of draws."""
    inputs = plan.inputs
    pace, delay = values["pace"], values["delay"]
    revenues = retime(inputs.revenues, plan.anchor, pace, delay, n_years)
    costs = retime(inputs.linked_costs, plan.anchor, pace, delay, n_years)
    sold_costs = None
    if plan.market is not None:
        # allocate_market (issue 15): the programme in a market, sold as the draw's absorption allows
        absorption = values.get("absorption")
        if absorption is None:  # fixed driver settings: the absorption's mode
            modes = np.array([m.absorption.mode for m in plan.markets])
            absorption = np.broadcast_to(modes[None, :, None], (len(pace), len(modes), n_years))
        sold_revenues, sold_costs, _ = allocate(plan.market, absorption, n_years, inputs.n_complexes)
        revenues = revenues + sold_revenues
        costs = costs + sold_costs
    costs += inputs.costs[:, :n_years]
    G = inputs.rate_offset + n_years
    if "costs" in plan.active:
        rates = np.broadcast_to(inputs.cost_rates[:, :G], (len(pace),) + (inputs.n_complexes, G)).copy()
        rates[..., inputs.rate_offset :] += values["cost_shock"][:, None, :n_years]
        cost_factor = index_factors(rates, inputs.price_level_offset, n_years)
    else:
        cost_factor = index_factors(inputs.cost_rates[:, :G], inputs.price_level_offset, n_years)
    if "prices" in plan.active:
        rates = np.broadcast_to(inputs.revenue_rates[:, :G], (len(pace),) + (inputs.n_complexes, G)).copy()
        rates[..., inputs.rate_offset :] += values["price_shock"][:, None, :n_years]
        if plan.revenue_freeze is not None:
            rates = freeze_rates(rates, plan.revenue_freeze)
        revenue_factor = index_factors(rates, inputs.price_level_offset, n_years)
    else:
        revenue_factor = index_factors(inputs.revenue_rates[:, :G], inputs.price_level_offset, n_years)
    indexed_costs = _indexed_costs(plan, values, n_years, sold_costs) if inputs.category_rates is not None else None
    return {
        "costs": costs,
        "revenues": revenues,
        "cost_factor": cost_factor,
        "revenue_factor": revenue_factor,
        "indexed_costs": indexed_costs,
    }


def _indexed_costs(
    plan: Plan, values: dict[str, NDArray[np.float64]], n_years: int, sold_costs: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Costs indexed per group of kostensoorten (``cost_index_by_category``), summed: (D, C, n_years).

    As :meth:`grex.valuation.ModelInputs.indexed_costs` for each draw: every
    group's costs (its sales-linked part re-timed) times the index factors of
    its own rates, the draw's cost shocks added to them as to ``cost_index``,
    added group by group from zero. ``sold_costs`` (D, C, n_years): the costs
    tied to the units a market sold (:func:`grex.market.allocate`), added to
    the group of their ``cost_category`` (``plan.market_group``).
    """
    inputs = plan.inputs
    assert inputs.category_rates is not None and inputs.category_fixed_costs is not None
    assert inputs.category_linked_costs is not None
    pace, delay = values["pace"], values["delay"]
    G = inputs.rate_offset + n_years
    indexed = np.zeros((len(pace), inputs.n_complexes, n_years))
    for k, (fixed, linked, group_rates) in enumerate(
        zip(inputs.category_fixed_costs, inputs.category_linked_costs, inputs.category_rates, strict=True)
    ):
        costs = retime(linked, plan.anchor, pace, delay, n_years)
        costs += fixed[:, :n_years]
        if sold_costs is not None and plan.market_group is not None:  # the market's tied costs of this group
            costs += np.where((plan.market_group == k)[:, None], sold_costs, 0.0)
        if "costs" in plan.active:
            rates = np.broadcast_to(group_rates[:, :G], (len(pace),) + (inputs.n_complexes, G)).copy()
            rates[..., inputs.rate_offset :] += values["cost_shock"][:, None, :n_years]
            factor = index_factors(rates, inputs.price_level_offset, n_years)
        else:
            factor = index_factors(group_rates[:, :G], inputs.price_level_offset, n_years)
        indexed += costs * factor
    return indexed


def _value_chunk(plan: Plan, values: dict[str, NDArray[np.float64]], n_years: int) -> dict[str, NDArray[Any]]:
    """Value a chunk of draws: ``end_index``, ``end_value``, ``present_value`` (D, C) and ``reserve`` (D, years + 1).

    The stages of :func:`grex.kernel.value_draws`, in the same order, each
    with the rule of :mod:`grex.core` it is named after (the two stages still
    to come enter where the comments say).
    """
    inputs = plan.inputs
    # allocate_market (issue 15), retime and index_factors
    flows = _flows(plan, values, n_years)
    costs, revenues = flows["costs"], flows["revenues"]
    cost_factor, revenue_factor = flows["cost_factor"], flows["revenue_factor"]
    # nominal_flows: the rule of grex.core.valuate, so that no spread gives its figures bit for bit.
    nominal_costs, nominal_revenues = nominal_flows(
        costs, revenues, cost_factor, revenue_factor, inputs.uncertainty_margin, flows["indexed_costs"]
    )[:2]  # (the margin part is not kept: one array less per chunk)
    net = nominal_costs - nominal_revenues
    last = end_index(costs, revenues, inputs.given_end_index)
    # add_risks
    risk = values["risk"]
    for r in range(risk.shape[-1]):
        # A risk adds a cost (or removes revenue) in its year: indexed, no margin, not re-timed.
        c, t = plan.risk_complex[r], plan.risk_index[r]
        factor = cost_factor if plan.risk_is_cost[r] else revenue_factor
        net[:, c, t] += risk[:, r] * factor[..., c, t]
        last[:, c] = np.where(risk[:, r] != 0, np.maximum(last[:, c], t), last[:, c])
    if inputs.interest_rates is None:
        balance, _, _, _ = roll_book_value(inputs.book_value, net, values["interest"][:, None], last)
    else:  # a rekenrente per year: the draw's shift added to each year's rate
        rates = inputs.interest_rates[:n_years] + values["interest"][:, None]
        balance, _, _, _ = roll_book_value(inputs.book_value, net, rates[:, None, :], last, rate_by_year=True)
    # (yearly revaluation along the path: after the reserve path, below)
    end_value = -balance
    if inputs.present_value_method == "cash_flows":
        # present_value_of_flows: the draw's net flows (risks included), interest left out
        present_value = present_value_of_flows(
            inputs.book_value,
            np.where(np.arange(n_years) <= last[..., None], -net, 0.0),  # V ... E, as grex.core.valuate
            inputs.discount_rate,
            valuation_year=inputs.valuation_year,
            periods=inputs.discount_periods,
        )
    else:
        present_value = end_value * discount_factor(
            inputs.discount_rate, last, valuation_year=inputs.valuation_year, periods=inputs.discount_periods
        )
    # provision, poc_profit and the reserve entries
    reserve = reserve_path(
        general_reserve=plan.general_reserve,
        nominal_costs=nominal_costs,
        nominal_revenues=nominal_revenues,
        end_index=last,
        end_value=end_value,
        present_value=present_value,
        inputs=inputs,
        in_preparation=plan.in_preparation,
    )
    out = {"end_index": last, "end_value": end_value, "present_value": present_value, "reserve": reserve}
    if not plan.yearly:
        return out
    # revalue_yearly (issue 16): the path with a revaluation at the end of each year
    revalued = revalue_yearly(
        rule=plan.foresight,
        learning_rate=plan.learning_rate,
        horizon=plan.revaluation_years,
        general_reserve=plan.general_reserve,
        tables=revaluation_tables(inputs, plan.anchor, plan.has_sales, n_years, plan.expected_revenue_rates),
        inputs=inputs,
        in_preparation=plan.in_preparation,
        interest=values["interest"],
        net=net,
        nominal_costs=nominal_costs,
        nominal_revenues=nominal_revenues,
        end_index=last,
        end_value=end_value,
        present_value=present_value,
        pace=values["pace"],
        delay=values["delay"],
        cost_factor=cost_factor,
        revenue_factor=revenue_factor,
        interest_rates=inputs.interest_rates,  # a rekenrente per year: the draw's interest is its shift
    )
    other = revalued["reserve"]
    if plan.foresight > 0:  # the rule's path becomes the reserve path; today's reading is kept beside it
        reserve, other = other, reserve
    out.update(reserve=reserve, revalued=other, provision=revalued["provision"], estimate=revalued["estimate"])
    return out


def trace(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    seed: int,
    draw: int,
    n_years: int | None = None,
    drivers: Collection[str] | None = None,
) -> dict[str, Any]:
    """The inputs of one draw, for checking it by hand (against :mod:`grex.reference`).

    Returns
    -------
    dict
        ``years`` (T,), ``costs`` and ``revenues`` re-timed per
        complex and year (C, T) [EUR, price level], ``cost_rates`` and
        ``revenue_rates`` (C, G) with the shocks (the revenue freeze
        applied) and ``grid_years`` (G,), ``pace``, ``delay`` (C,), ``risk`` (R,)
        amounts of the events [EUR, price level], ``interest_rate`` the
        draw's rekenrente [decimal] (where the scenario gives a rate per year,
        ``{year: rate, "default": rate}`` with the draw's shift added, as
        :func:`grex.reference.value_complex` takes it).
    """
    plan = make_plan(scenario, portfolio, drivers)
    values = _draws(plan, seed, draw, draw + 1, _block)
    if n_years is None:
        n_years = max(
            build_inputs(scenario, portfolio).n_years,
            _needed_years(plan, values["pace"], values["delay"]),
            plan.market_reach,  # the market's sales (issue 15)
        )
    inputs = plan.inputs
    flows = _flows(plan, values, n_years)
    G = inputs.rate_offset + n_years
    cost_rates = np.broadcast_to(inputs.cost_rates[:, :G], (inputs.n_complexes, G)).copy()
    revenue_rates = np.broadcast_to(inputs.revenue_rates[:, :G], (inputs.n_complexes, G)).copy()
    if "costs" in plan.active:
        cost_rates[:, inputs.rate_offset :] += values["cost_shock"][0, :n_years]
    if "prices" in plan.active:
        revenue_rates[:, inputs.rate_offset :] += values["price_shock"][0, :n_years]
        if plan.revenue_freeze is not None:
            revenue_rates = freeze_rates(revenue_rates, plan.revenue_freeze)
    V = scenario.valuation_year
    return {
        "years": np.arange(V, V + n_years),
        "grid_years": np.arange(V - inputs.rate_offset, V + n_years),
        "costs": flows["costs"][0],
        "revenues": flows["revenues"][0],
        "cost_rates": cost_rates,
        "revenue_rates": revenue_rates,
        "pace": values["pace"][0],
        "delay": values["delay"][0],
        "risk": values["risk"][0],
        "interest_rate": _traced_interest(plan, float(values["interest"][0]), n_years),
    }


def _traced_interest(plan: Plan, drawn: float, n_years: int) -> float | dict[Any, float]:
    """The draw's rekenrente: a number, or with a rate per year ``{year: rate, "default": rate}`` (shift added)."""
    inputs = plan.inputs
    if inputs.interest_rates is None:
        return drawn
    rates = inputs.interest_rates[:n_years] + drawn
    table: dict[Any, float] = {int(y): float(r) for y, r in zip(inputs.years[:n_years], rates, strict=True)}
    table["default"] = float(inputs.interest_rate + drawn)
    return table


# -- fixed driver settings (sensitivity analysis) ---------------------------------


def value_settings(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    pace: Any,
    delay: Any,
    cost_shock: Any,
    price_shock: Any,
    risk: Any,
) -> dict[str, NDArray[Any]]:
    """Value the portfolio at fixed driver values, one setting per row (no randomness).

    Each row is valued as one draw of :func:`simulate` whose driver values
    are given instead of drawn: the same re-timing, indexation and valuation.
    With pace 1, no delay, no shocks and no risk events a row is the
    deterministic valuation (up to rounding). Used by :mod:`grex.sensitivity`.

    Parameters
    ----------
    scenario, portfolio
        As for :func:`simulate`.
    pace : array_like, shape (S, C)
        Pace factor per setting and complex (> 0). [1 = as planned]
    delay : array_like, shape (S, C)
        Start delay of plot sales (>= 0). [years]
    cost_shock, price_shock : array_like, shape (S, L)
        Shocks on the yearly cost and revenue index rates from year V on
        (L >= 1 years; later years keep the last value). [decimal per year]
    risk : array_like, shape (S, R)
        Amount of each event of the risk register, 0 for no event. [EUR, price level]

    Returns
    -------
    dict
        ``end_year`` (S, C), ``end_value`` (S, C), ``present_value`` (S, C)
        [EUR, positive = profit], ``reserve`` (S, RESERVE_YEARS + 1) and,
        with a yearly revaluation (``foresight`` plan or adaptive),
        ``provision`` (S, RESERVE_YEARS), the provisions held at 31 December
        of each year [EUR].
    """
    from dataclasses import replace

    plan = make_plan(scenario, portfolio, None)
    C, R = plan.inputs.n_complexes, len(plan.risk_probability)
    pace = np.asarray(pace, dtype=np.float64)
    delay = np.asarray(delay, dtype=np.float64)
    risk = np.asarray(risk, dtype=np.float64).reshape(len(pace), R)
    if pace.ndim != 2 or pace.shape[1] != C or delay.shape != pace.shape:
        raise ValueError(f"pace {pace.shape} and delay {delay.shape} must both be (settings, {C})")
    if np.any(pace <= 0) or np.any(delay < 0):
        raise ValueError("pace must be > 0 and delay >= 0")
    n_years = max(
        plan.base_years, _needed_years(plan, pace, delay), int(plan.risk_index.max(initial=-1)) + 1, plan.market_reach
    )
    if n_years > plan.bound_years:
        inputs = build_inputs(scenario, portfolio, extra_years=n_years - plan.base_years)
        plan = replace(plan, inputs=inputs, bound_years=n_years)

    def path(shock: Any) -> NDArray[np.float64]:
        shock = np.asarray(shock, dtype=np.float64)
        if shock.ndim != 2 or shock.shape[0] != len(pace) or shock.shape[1] < 1:
            raise ValueError(f"shocks must be (settings, years), not {shock.shape}")
        if shock.shape[1] >= n_years:
            return shock[:, :n_years].copy()
        return np.concatenate([shock, np.repeat(shock[:, -1:], n_years - shock.shape[1], axis=1)], axis=1)

    values = {
        "pace": pace,
        "delay": delay,
        "cost_shock": path(cost_shock),
        "price_shock": path(price_shock),
        "risk": risk,
        # the rekenrente, or with a rate per year the shift added to every year's rate (none)
        "interest": np.full(len(pace), 0.0 if plan.inputs.interest_rates is not None else plan.inputs.interest_rate),
    }
    out = _value_chunk(plan, values, n_years)
    return {
        "end_year": (plan.inputs.valuation_year + out["end_index"]).astype(np.int16),
        "end_value": out["end_value"],
        "present_value": out["present_value"],
        "reserve": out["reserve"],
        **({"provision": out["provision"]} if "provision" in out else {}),
    }
