"""Monte Carlo over sale pace, indexation and project risks, feeding the resistance reserve.

:func:`simulate` draws the drivers of :mod:`grex.drivers` (pace, delay, cost
and price index shocks, the risk register), re-times every complex's revenues
and sales-linked costs along its planned sales curve, and values every draw
with the functions of :mod:`grex.core` (``index_factors``, ``end_index``,
``roll_book_value``, ``discount_factor``, ``provision``, ``poc_profit``) with
the draws on the leading axis: arrays are ``(draws, complexes, years)``.

Draws are processed in chunks, so memory stays bounded whatever their number;
the loops in Python run over years (and over the few risks of the register),
never over draws or complexes.

Randomness
----------
The random numbers of draw ``d`` come from block ``d // BLOCK`` of
:data:`BLOCK` draws; each block has its own streams,
``numpy.random.SeedSequence(seed, spawn_key=(block, stream))`` with stream 0
for the timing drivers (market pace, complex pace, delay), 1 for the index
shocks, 2 for the risk register. A chunk generates the blocks it covers and
slices them, so the result is bit-identical whatever ``chunk_size``. Every
number is an inverse-CDF transform of a uniform; a driver that is switched off
still consumes its numbers, so the others draw the same values.

Engines
-------
Two implementations value the draws, with the same random numbers and the
same results bit for bit: the fused kernel of :mod:`grex.kernel` (numba; one
sweep per draw and complex, chunks of draws spread over threads) and the
vectorised numpy twin (:func:`_value_chunk`, whole-array passes over
``(draws, complexes, years)``). The kernel is used when numba can be
imported; the environment variable ``GREX_ENGINE=numpy`` (or ``numba``)
chooses one, and ``GREX_THREADS`` the number of threads (default: the CPUs
this process may use). With the kernel, the random numbers are transformed
by compiled code too (:func:`_block_compiled`: the inverse normal CDF, the
triangular inverse CDF and the AR(1) recursion of :mod:`grex.kernel`, the
same numbers bit for bit), block by block inside the thread pool, into
buffers that each thread reuses.

Reserves
--------
See :class:`Simulation` for the required capacity, its standard error, the
expected shortfall and the general reserve path (algemene reserve
grondbedrijf), and :func:`reserve_path` for the conventions of the path.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
import warnings
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from grex import __version__
from grex.core import discount_factor, end_index, freeze_rates, index_factors, poc_profit, provision, roll_book_value
from grex.drivers import DRIVERS, MonteCarlo, ar1, correlate, correlation_root, distribution_ppf, retime
from grex.errors import InputError
from grex.limits import check_horizon
from grex.portfolio import Portfolio
from grex.reserves import nar_grade, resistance_ratio
from grex.scenario import Scenario
from grex.valuation import ModelInputs, Valuation, build_inputs, value_portfolio

__all__ = [
    "BLOCK",
    "PERCENTILES",
    "RESERVE_YEARS",
    "Simulation",
    "assemble",
    "check_references",
    "reserve_path",
    "simulate",
    "simulate_range",
    "simulation_horizon",
    "trace",
]

#: Draws per random-number block (independent of the chunk size).
BLOCK = 1024
#: Years of the general reserve path after the valuation date.
RESERVE_YEARS = 10
#: Percentiles of the portfolio present value in :meth:`Simulation.percentiles`.
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
#: Percentiles per year of the reserve path.
PATH_PERCENTILES = (5, 25, 50, 75, 95)
#: Batches for the batch-means standard error of the required capacity.
BATCHES = 20
#: Cells (draws x complexes x years) of one chunk when no chunk size is given.
CHUNK_CELLS = 2_000_000


# -- the plan: everything that does not change between draws ------------------


@dataclass(frozen=True)
class _Plan:
    inputs: ModelInputs
    mc: MonteCarlo
    active: frozenset[str]
    anchor: NDArray[np.intp]
    sales_end: NDArray[np.intp]
    has_sales: NDArray[np.bool_]
    # (minimum, mode, maximum, uniform) per complex, for drivers.distribution_ppf
    pace: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]
    delay: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]
    risk_complex: NDArray[np.intp]
    risk_index: NDArray[np.intp]
    risk_probability: NDArray[np.float64]
    risk_impact: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]
    interest: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]
    risk_is_cost: NDArray[np.bool_]
    bound_years: int
    root3: NDArray[np.float64]
    root2: NDArray[np.float64]
    planned: NDArray[np.bool_]
    revenue_freeze: int | None
    general_reserve: float
    base_years: int


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


def _plan(scenario: Scenario, portfolio: Portfolio, drivers: Iterable[str] | None) -> _Plan:
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
    base_inputs = build_inputs(scenario, portfolio)
    projects = list(base_inputs.projects)
    position = {p: i for i, p in enumerate(projects)}
    check_references(scenario, portfolio)
    V = scenario.valuation_year

    sales = (base_inputs.revenues != 0) | (base_inputs.linked_costs != 0)
    has_sales = sales.any(axis=-1)
    T0 = base_inputs.n_years
    anchor = np.where(has_sales, np.argmax(sales, axis=-1), 0).astype(np.intp)
    sales_end = np.where(has_sales, T0 - np.argmax(sales[:, ::-1], axis=-1), 0).astype(np.intp)

    def shapes(items: list[Any]) -> tuple[NDArray[Any], ...]:
        # (minimum, mode, maximum, uniform) of each distribution, for drivers.distribution_ppf
        return (
            *(np.array([getattr(t, k) for t in items], dtype=np.float64) for k in ("minimum", "mode", "maximum")),
            np.array([t.uniform for t in items], dtype=bool),
        )

    def triangles(get: Any) -> tuple[NDArray[Any], ...]:
        return shapes([get(p) for p in projects])

    pace = triangles(mc.pace_of)
    delay = triangles(mc.delay_of)
    slowest = mc.market_pace.minimum * pace[0]
    needed = np.where(has_sales, np.ceil(anchor + delay[2] + (sales_end - anchor) / slowest), 0)
    risk_years = [r.year - V + 1 for r in scenario.risks]
    bound_years = int(max([T0, int(needed.max(initial=0)), *risk_years]))
    inputs = build_inputs(scenario, portfolio, extra_years=bound_years - T0)

    correlation = np.array(mc.correlation)
    params = scenario.parameters
    return _Plan(
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
        planned=(base_inputs.status == "voorbereiding"),
        revenue_freeze=None
        if params.index_revenues_after_max_duration
        else inputs.rate_offset + params.max_duration - 1,
        general_reserve=0.0 if scenario.reserves.general_reserve is None else scenario.reserves.general_reserve,
        base_years=T0,
    )


# -- random numbers, block by block --------------------------------------------


def _generator(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, stream))))


def _uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float64]:
    # Open interval (0, 1): the inverse normal CDF stays finite.
    return (np.floor(rng.random(shape) * 2.0**53) + 0.5) / 2.0**53


def _timing(plan: _Plan, seed: int, block: int) -> dict[str, NDArray[np.float64]]:
    """Stream 0 of a block: market pace normal, year-0 innovations, complex pace, delay."""
    rng = _generator(seed, block, 0)
    C = plan.inputs.n_complexes
    z = correlate(ndtri(_uniform(rng, (BLOCK, 3))), plan.root3)  # correlated (pace, cost, price)
    u_pace = _uniform(rng, (BLOCK, C))
    u_delay = _uniform(rng, (BLOCK, C))
    if "pace" in plan.active:
        market = plan.mc.market_pace.ppf(ndtr(z[:, 0]))
        pace = market[:, None] * distribution_ppf(u_pace, *plan.pace)
    else:
        pace = np.ones((BLOCK, C))
    if "delay" in plan.active:
        delay = distribution_ppf(u_delay, *plan.delay)
    else:
        delay = np.zeros((BLOCK, C))
    return {"pace": pace, "delay": delay, "innovation0": z[:, 1:]}


def _block(plan: _Plan, seed: int, block: int) -> dict[str, NDArray[np.float64]]:
    """All driver values of the draws of one block."""
    out = _timing(plan, seed, block)
    T = plan.bound_years
    rng = _generator(seed, block, 1)
    later = correlate(ndtri(_uniform(rng, (BLOCK, max(T - 1, 0), 2))), plan.root2)
    innovations = np.concatenate([out.pop("innovation0")[:, None, :], later], axis=1)  # (BLOCK, T, 2)
    mc = plan.mc
    cost_sd = mc.cost_shock.sd if "costs" in plan.active else 0.0
    price_sd = mc.price_shock.sd if "prices" in plan.active else 0.0
    out["cost_shock"] = ar1(innovations[..., 0], mc.cost_shock.persistence, cost_sd)
    out["price_shock"] = ar1(innovations[..., 1], mc.price_shock.persistence, price_sd)
    out["risk"] = _risks(plan, seed, block)
    out["interest"] = _interest(plan, seed, block)
    return out


def _risks(plan: _Plan, seed: int, block: int) -> NDArray[np.float64]:
    """Stream 2 of a block: the amount of each risk event (0 where it does not happen)."""
    R = len(plan.risk_probability)
    rng = _generator(seed, block, 2)
    u_event = _uniform(rng, (BLOCK, R))
    u_impact = _uniform(rng, (BLOCK, R))
    if "risks" in plan.active and R:
        happens = u_event < plan.risk_probability
        return np.where(happens, distribution_ppf(u_impact, *plan.risk_impact), 0.0)
    return np.zeros((BLOCK, R))


def _interest(plan: _Plan, seed: int, block: int) -> NDArray[np.float64]:
    """Stream 3 of a block: the rekenrente of each draw (the scenario's rate plus the draw's shift)."""
    rate = float(plan.inputs.interest_rate)
    shift = plan.mc.interest
    if "interest" not in plan.active:
        return np.full(BLOCK, rate)
    if not shift.spread:  # a fixed shift (0 by default: the scenario's rate exactly)
        return np.full(BLOCK, rate + shift.mode)
    u = _uniform(_generator(seed, block, 3), (BLOCK,))
    return rate + distribution_ppf(u, *plan.interest)


class _Scratch:
    """The buffers of one thread for the random numbers of a block, reused from block to block.

    Fresh arrays of these sizes (megabytes) would be new pages from the
    operating system on every block, and the page faults cost about as much
    as the transforms themselves.
    """

    def __init__(self, plan: _Plan) -> None:
        C, T = plan.inputs.n_complexes, plan.bound_years
        later = (BLOCK, max(T - 1, 0), 2)
        self.raw0 = np.empty(BLOCK * (3 + 2 * C))
        self.normal0 = np.empty((BLOCK, 3))
        self.z = np.empty((BLOCK, 3))
        self.pace = np.empty((BLOCK, C))
        self.delay = np.empty((BLOCK, C))
        self.raw1 = np.empty(math.prod(later))
        self.normal1 = np.empty(later)
        self.later = np.empty(later)
        self.cost_shock = np.empty((BLOCK, T))
        self.price_shock = np.empty((BLOCK, T))


def _timing_compiled(
    plan: _Plan, seed: int, block: int, scratch: _Scratch | None = None
) -> dict[str, NDArray[np.float64]]:
    """:func:`_timing` with the transforms of :mod:`grex.kernel` (numba): the same numbers, bit for bit.

    The arrays returned are views of ``scratch`` (fresh buffers where none is given).
    """
    from grex.kernel import correlate as correlate_compiled  # noqa: PLC0415 - numba is slow to import
    from grex.kernel import normals, timing_values  # noqa: PLC0415

    w = _Scratch(plan) if scratch is None else scratch
    rng = _generator(seed, block, 0)
    C = plan.inputs.n_complexes
    raw = rng.random(out=w.raw0)  # the doubles of the three calls of _timing, in their order
    normals(raw[: 3 * BLOCK], w.normal0.reshape(-1))
    correlate_compiled(w.normal0, plan.root3, w.z)
    z = w.z
    if "pace" in plan.active:
        market = plan.mc.market_pace.ppf(ndtr(z[:, 0]))
    else:
        market = np.ones(BLOCK)
    timing_values(
        raw[3 * BLOCK : (3 + C) * BLOCK].reshape(BLOCK, C),
        raw[(3 + C) * BLOCK :].reshape(BLOCK, C),
        market,
        *plan.pace,
        *plan.delay,
        "pace" in plan.active,
        "delay" in plan.active,
        w.pace,
        w.delay,
    )
    return {"pace": w.pace, "delay": w.delay, "innovation0": z}


def _block_compiled(
    plan: _Plan, seed: int, block: int, scratch: _Scratch | None = None
) -> dict[str, NDArray[np.float64]]:
    """:func:`_block` with the transforms of :mod:`grex.kernel` (numba): the same numbers, bit for bit.

    The inverse normal CDF, the correlation products, the triangular
    transforms and the AR(1) recursion run compiled (without the GIL).
    The arrays returned (``risk`` aside) are views of ``scratch`` (fresh
    buffers where none is given).
    """
    from grex.kernel import correlate as correlate_compiled  # noqa: PLC0415 - numba is slow to import
    from grex.kernel import index_shocks, normals  # noqa: PLC0415

    w = _Scratch(plan) if scratch is None else scratch
    out = _timing_compiled(plan, seed, block, w)
    rng = _generator(seed, block, 1)
    normals(rng.random(out=w.raw1), w.normal1.reshape(-1))
    correlate_compiled(w.normal1.reshape(-1, 2), plan.root2, w.later.reshape(-1, 2))
    later = w.later
    mc = plan.mc
    cost_sd = mc.cost_shock.sd if "costs" in plan.active else 0.0
    price_sd = mc.price_shock.sd if "prices" in plan.active else 0.0
    index_shocks(
        out.pop("innovation0"),
        later,
        float(mc.cost_shock.persistence),
        float(cost_sd),
        float(mc.price_shock.persistence),
        float(price_sd),
        w.cost_shock,
        w.price_shock,
    )
    out["cost_shock"] = w.cost_shock
    out["price_shock"] = w.price_shock
    out["risk"] = _risks(plan, seed, block)
    out["interest"] = _interest(plan, seed, block)
    return out


def _draws(plan: _Plan, seed: int, start: int, stop: int, make: Any) -> dict[str, NDArray[np.float64]]:
    """Driver values of draws ``start:stop`` from the blocks that cover them."""
    first, last = start // BLOCK, (stop - 1) // BLOCK
    parts = [make(plan, seed, b) for b in range(first, last + 1)]
    offset = first * BLOCK
    return {k: np.concatenate([p[k] for p in parts])[start - offset : stop - offset] for k in parts[0]}


def _needed_years(plan: _Plan, pace: NDArray[np.float64], delay: NDArray[np.float64]) -> int:
    """Years from V that hold every re-timed flow of these draws."""
    reach = plan.anchor + delay + (plan.sales_end - plan.anchor) / pace
    reach = np.where(plan.has_sales, np.ceil(reach), 0)
    return int(reach.max(initial=0))


# -- valuing a chunk of draws ---------------------------------------------------


def _flows(plan: _Plan, values: dict[str, NDArray[np.float64]], n_years: int) -> dict[str, Any]:
    """Re-timed flows at price level and the index factors of a set of draws."""
    x = plan.inputs
    pace, delay = values["pace"], values["delay"]
    revenues = retime(x.revenues, plan.anchor, pace, delay, n_years)
    costs = retime(x.linked_costs, plan.anchor, pace, delay, n_years)
    costs += x.costs[:, :n_years]
    G = x.rate_offset + n_years
    if "costs" in plan.active:
        rates = np.broadcast_to(x.cost_rates[:, :G], (len(pace),) + (x.n_complexes, G)).copy()
        rates[..., x.rate_offset :] += values["cost_shock"][:, None, :n_years]
        cost_factor = index_factors(rates, x.price_level_offset, n_years)
    else:
        cost_factor = index_factors(x.cost_rates[:, :G], x.price_level_offset, n_years)
    if "prices" in plan.active:
        rates = np.broadcast_to(x.revenue_rates[:, :G], (len(pace),) + (x.n_complexes, G)).copy()
        rates[..., x.rate_offset :] += values["price_shock"][:, None, :n_years]
        if plan.revenue_freeze is not None:
            rates = freeze_rates(rates, plan.revenue_freeze)
        revenue_factor = index_factors(rates, x.price_level_offset, n_years)
    else:
        revenue_factor = index_factors(x.revenue_rates[:, :G], x.price_level_offset, n_years)
    return {"costs": costs, "revenues": revenues, "cost_factor": cost_factor, "revenue_factor": revenue_factor}


def _value_chunk(plan: _Plan, values: dict[str, NDArray[np.float64]], n_years: int) -> dict[str, NDArray[Any]]:
    x = plan.inputs
    flows = _flows(plan, values, n_years)
    costs, revenues = flows["costs"], flows["revenues"]
    cost_factor, revenue_factor = flows["cost_factor"], flows["revenue_factor"]
    # The order of operations of grex.core.valuate, so that no spread gives its figures bit for bit.
    indexed = costs * cost_factor
    nominal_costs = indexed + indexed * x.uncertainty_margin[:, None]
    del indexed
    nominal_revenues = revenues * revenue_factor
    net = nominal_costs - nominal_revenues
    last = end_index(costs, revenues, x.given_end_index)
    risk = values["risk"]
    for r in range(risk.shape[-1]):
        # A risk adds a cost (or removes revenue) in its year: indexed, no margin, not re-timed.
        c, t = plan.risk_complex[r], plan.risk_index[r]
        factor = cost_factor if plan.risk_is_cost[r] else revenue_factor
        net[:, c, t] += risk[:, r] * factor[..., c, t]
        last[:, c] = np.where(risk[:, r] != 0, np.maximum(last[:, c], t), last[:, c])
    balance, _, _, _ = roll_book_value(x.book_value, net, values["interest"][:, None], last)
    del net
    end_value = -balance
    present_value = end_value * discount_factor(x.discount_rate, last)
    reserve = reserve_path(
        general_reserve=plan.general_reserve,
        nominal_costs=nominal_costs,
        nominal_revenues=nominal_revenues,
        end_index=last,
        end_value=end_value,
        present_value=present_value,
        inputs=x,
        planned=plan.planned,
    )
    return {"end_index": last, "end_value": end_value, "present_value": present_value, "reserve": reserve}


# -- the general reserve path ---------------------------------------------------


def reserve_path(
    *,
    general_reserve: float,
    nominal_costs: NDArray[np.float64],
    nominal_revenues: NDArray[np.float64],
    end_index: NDArray[np.intp],
    end_value: NDArray[np.float64],
    present_value: NDArray[np.float64],
    inputs: ModelInputs,
    planned: NDArray[np.bool_],
    years: int = RESERVE_YEARS,
) -> NDArray[np.float64]:
    """The general reserve (algemene reserve grondbedrijf) year by year.

    Parameters
    ----------
    general_reserve : float
        Reserve at the valuation date 1-1-V. [EUR]
    nominal_costs, nominal_revenues : ndarray, shape (..., C, T)
        Remaining costs (with the margin) and revenues per year. [EUR, nominal]
    end_index : ndarray of int, shape (..., C)
        ``E - V``.
    end_value, present_value : ndarray, shape (..., C)
        [EUR, positive = profit]
    inputs : ModelInputs
        Realised amounts, profit taken, status and the BBV bases.
    planned : ndarray of bool, shape (C,)
        Status ``voorbereiding``.
    years : int
        Years of the path after the valuation date.

    Returns
    -------
    ndarray, shape (..., years + 1)
        Entry 0 is the reserve at 1-1-V; entry ``i`` the reserve at
        31 December of year ``V + i - 1``. [EUR]

    Notes
    -----
    Each draw is read as a valuation at 1-1-V that knew that draw's outcome
    (and the deterministic path as the valuation itself):

    - **Provisions** (verliesvoorziening) of the adopted complexes, on the
      scenario's provision basis, are charged in year V.
    - **Interim profit** (POC) of an adopted complex in year Y < E is the
      increase of the profit taken: ``taken(Y) - taken(Y-1)``, with
      ``taken(V-1) = profit_taken`` and ``taken(Y) = profit_taken +
      poc_profit(...)`` of :func:`grex.core.poc_profit` with realised costs and
      revenues through the end of Y (the realised amounts plus the nominal
      flows of V ... Y); it may be negative (terugname).
    - **Planned complexes** (``voorbereiding``) are charged their expected loss
      (the negative result on the provision basis) in their start year, the
      first year with a flow (V where there is none).
    - **Settlement** in the end year E: the end value (nominal at 31-12-E)
      plus the provision formed, plus the expected loss charged for a planned
      complex, minus the profit taken through E - 1 (profit taken before V
      included, as it was credited before the valuation date). Over the life
      of a complex the reserve thus receives ``end_value - profit_taken``:
      the result not yet credited.
    - Strategic land gets no provision and no POC: its end value is settled
      in its end year.
    """
    years = int(years)
    x = inputs
    shape = end_value.shape[:-1]
    C = end_value.shape[-1]
    T = nominal_costs.shape[-1]
    bases = {"present_value": present_value, "end_value": end_value}
    provision_formed = provision(bases[x.provision_basis], x.adopted)
    result = bases[x.poc_basis]
    # Cumulative flows (sequential sums: the same value whatever the horizon length).
    cum_costs = np.cumsum(nominal_costs, axis=-1)
    cum_revenues = np.cumsum(nominal_revenues, axis=-1)
    total_costs = cum_costs[..., -1:]
    total_revenues = cum_revenues[..., -1:]
    columns = np.minimum(np.arange(years), T - 1)
    cum_costs = cum_costs[..., columns]
    cum_revenues = cum_revenues[..., columns]
    taken = x.profit_taken[:, None] + poc_profit(
        result[..., None],
        x.realised_costs[:, None] + cum_costs,
        total_costs - cum_costs,
        x.realised_revenues[:, None] + cum_revenues,
        total_revenues - cum_revenues,
        x.profit_taken[:, None],
        x.adopted[:, None],
    )  # (..., C, years)
    before = np.concatenate([np.broadcast_to(x.profit_taken[:, None], shape + (C, 1)), taken[..., :-1]], axis=-1)
    year = np.arange(years)
    last = end_index[..., None]
    entries = np.where(year < last, taken - before, 0.0)
    # Planned complexes: the expected loss in the start year.
    expected_loss = np.where(planned, np.maximum(-bases[x.provision_basis], 0.0), 0.0)
    flows = (nominal_costs != 0) | (nominal_revenues != 0)
    start = np.where(flows.any(axis=-1), np.argmax(flows, axis=-1), 0)
    entries -= np.where(year == start[..., None], expected_loss[..., None], 0.0)
    # Settlement in the end year.
    taken_before_end = np.take_along_axis(
        np.concatenate([before, taken[..., -1:]], axis=-1), np.minimum(end_index, years)[..., None], axis=-1
    )[..., 0]
    settlement = end_value + provision_formed + expected_loss - taken_before_end
    entries += np.where(year == last, settlement[..., None], 0.0)
    change = entries.sum(axis=-2)
    change[..., 0] -= provision_formed.sum(axis=-1)
    out = np.empty(shape + (years + 1,))
    out[..., 0] = general_reserve
    out[..., 1:] = general_reserve + np.cumsum(change, axis=-1)
    return out


# -- the result -----------------------------------------------------------------


def _quantile(values: NDArray[np.float64], level: float) -> float:
    """The level-quantile by the inverse of the empirical CDF (no interpolation)."""
    return float(np.quantile(values, level, method="inverted_cdf"))


@dataclass(frozen=True)
class Simulation:
    """The Monte Carlo result; per-draw arrays have the draws on the leading axis.

    Attributes
    ----------
    draws : int
    seed : int
        The seed used (drawn from fresh entropy where none was given).
    drivers : tuple of str
        The drivers that kept their spread.
    parameters : MonteCarlo
        The ``[montecarlo]`` table as used.
    projects : ndarray of str, shape (C,)
    end_year : ndarray of int16, shape (D, C)
        End year E of each complex in each draw.
    end_value : ndarray, shape (D, C)
        Eindwaarde at 31-12-E. [EUR, nominal, positive = profit]
    present_value : ndarray, shape (D, C)
        Contante waarde at 1-1-V. [EUR, positive = profit]
    portfolio_present_value : ndarray, shape (D,)
        Sum over the complexes. [EUR]
    base : Valuation
        The deterministic valuation (``grex run``).
    confidence : float
        Confidence level of the required capacity. [decimal]
    required_capacity : float
        Risk-based benodigde weerstandscapaciteit: the ``confidence``-quantile
        (inverse empirical CDF) of the loss ``base PV - simulated PV`` of the
        portfolio, risk register included; zero where that quantile is not a
        loss. [EUR]
    required_capacity_standard_error : float
        Monte Carlo standard error of that quantile by batch means: the draws
        in :data:`BATCHES` consecutive batches, the quantile of each, their
        standard deviation over ``sqrt(BATCHES)``; NaN under 200 draws. [EUR]
    expected_shortfall : float
        Mean of the worst ``ceil((1 - confidence) * draws)`` losses: the
        average loss beyond the required capacity. [EUR]
    probability_of_loss : float
        Share of draws whose portfolio present value is below the
        deterministic one. [decimal]
    reserve_years : ndarray of int, shape (RESERVE_YEARS + 1,)
        Years of the reserve path: V - 1 (the valuation date) to V + 9.
    reserve : ndarray, shape (D, RESERVE_YEARS + 1)
        General reserve at 31 December of each year per draw. [EUR]
    deterministic_reserve : ndarray, shape (RESERVE_YEARS + 1,)
        The same for the deterministic valuation. [EUR]
    probability_reserve_below_zero : float
        Share of draws whose general reserve falls below zero at the end of
        one of the ten years V ... V + 9. [decimal]
    iflo_norm : float
        Required resistance reserve by the IFLO norm (deterministic). [EUR]
    available_capacity : float or None
        Weerstandsreserve grondbedrijf available (``reserves.resistance_reserve``). [EUR]
    ratio : float or None
        available / required capacity.
    grade : str or None
        NAR grade letter of the ratio.
    n_years : int
        Years of the simulated horizon from V.
    """

    draws: int
    seed: int
    drivers: tuple[str, ...]
    parameters: MonteCarlo
    projects: NDArray[np.str_]
    end_year: NDArray[np.int16]
    end_value: NDArray[np.float64]
    present_value: NDArray[np.float64]
    portfolio_present_value: NDArray[np.float64]
    base: Valuation
    confidence: float
    required_capacity: float
    required_capacity_standard_error: float
    expected_shortfall: float
    probability_of_loss: float
    reserve_years: NDArray[np.int64]
    reserve: NDArray[np.float64] = field(repr=False)
    deterministic_reserve: NDArray[np.float64] = field(repr=False)
    probability_reserve_below_zero: float
    iflo_norm: float
    available_capacity: float | None
    ratio: float | None
    grade: str | None
    n_years: int

    def percentiles(self) -> dict[str, float]:
        """Percentiles P5 ... P95 of the portfolio present value. [EUR]"""
        values = np.percentile(self.portfolio_present_value, PERCENTILES)
        return {f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}

    def per_complex(self) -> pd.DataFrame:
        """Per complex: ``project, p5, p50, p95`` of the present value, ``probability_of_loss``
        (present value below the deterministic one), ``required_capacity`` (the
        confidence-quantile of the loss against the deterministic present
        value, at least zero), and the ``deterministic`` present value. [EUR]"""
        base = self.base.result.present_value
        rows = []
        for c, project in enumerate(self.projects):
            values = self.present_value[:, c]
            loss = base[c] - values
            p5, p50, p95 = np.percentile(values, (5, 50, 95))
            rows.append(
                {
                    "project": project,
                    "p5": p5,
                    "p50": p50,
                    "p95": p95,
                    "probability_of_loss": float(np.mean(loss > 0)),
                    "required_capacity": max(_quantile(loss, self.confidence), 0.0),
                    "deterministic": float(base[c]),
                }
            )
        return pd.DataFrame(rows)

    def reserve_path(self) -> pd.DataFrame:
        """The general reserve per year: ``year, deterministic, p5, p25, p50, p75, p95``.

        Year Y holds the reserve at 31 December of Y; the first row, V - 1,
        is the reserve at the valuation date. Conventions: :func:`reserve_path`. [EUR]
        """
        table = {"year": self.reserve_years, "deterministic": self.deterministic_reserve}
        values = np.percentile(self.reserve, PATH_PERCENTILES, axis=0)
        for p, row in zip(PATH_PERCENTILES, values, strict=True):
            table[f"p{p}"] = row
        return pd.DataFrame(table)

    def to_frame(self) -> pd.DataFrame:
        """One row per draw and complex: ``draw, project, end_year, end_value, present_value``."""
        D, C = self.present_value.shape
        return pd.DataFrame(
            {
                "draw": np.repeat(np.arange(D), C),
                "project": np.tile(self.projects, D),
                "end_year": self.end_year.ravel(),
                "end_value": self.end_value.ravel(),
                "present_value": self.present_value.ravel(),
            }
        )

    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds."""
        scenario = self.base.scenario
        grade = nar_grade(self.ratio)
        return {
            "scenario": scenario.name,
            "grex_version": __version__,
            "valuation_year": scenario.valuation_year,
            "illustrative": scenario.illustrative,
            "input_hash": self.base.input_hash,
            "draws": self.draws,
            "seed": self.seed,
            "drivers": list(self.drivers),
            "deterministic_present_value": float(self.base.result.present_value.sum()),
            "percentiles": self.percentiles(),
            "mean_present_value": float(self.portfolio_present_value.mean()),
            "probability_of_loss": self.probability_of_loss,
            "confidence": self.confidence,
            "required_capacity": self.required_capacity,
            "required_capacity_standard_error": self.required_capacity_standard_error,
            "expected_shortfall": self.expected_shortfall,
            "iflo_norm": self.iflo_norm,
            "available_resistance_reserve": self.available_capacity,
            "ratio": self.ratio,
            "grade": self.grade,
            "grade_label": None if grade is None else grade[1],
            "general_reserve": scenario.reserves.general_reserve,
            "probability_reserve_below_zero": self.probability_reserve_below_zero,
            "parameters": scenario.to_json(),
        }


# -- simulate -------------------------------------------------------------------


def simulate(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    draws: int,
    seed: int | None,
    chunk_size: int | None = None,
    progress: bool = False,
    drivers: Collection[str] | None = None,
) -> Simulation:
    """Monte Carlo valuation of a portfolio under a scenario.

    Parameters
    ----------
    scenario, portfolio
        As for :func:`grex.valuation.value_portfolio`; the drivers come from
        ``scenario.montecarlo`` and ``scenario.risks``.
    draws : int, keyword-only
        Number of draws (> 0).
    seed : int or None, keyword-only
        Seed of the random numbers; None draws one from fresh entropy. The
        seed used is in the result.
    chunk_size : int or None, keyword-only
        Draws valued at once; the result does not depend on it. Default: about
        :data:`CHUNK_CELLS` cells, a multiple of :data:`BLOCK`.
    progress : bool, keyword-only
        Show a progress bar (tqdm) on stderr.
    drivers : collection of str or None, keyword-only
        The drivers that keep their spread, some of ``pace, delay, costs,
        prices, interest, risks``; the others are held at the base (pace 1, no
        delay, no index shocks, the scenario's interest rate, no risk events). None: all. With none, every draw is
        the deterministic valuation.

    Raises
    ------
    InputError
        ``draws`` or ``chunk_size`` not a positive whole number, an unknown
        driver, a risk or override naming an unknown complex.
    """
    check_horizon(scenario, portfolio)  # grex.limits: a pace or delay past the engine's year limit, by key
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws <= 0:
        raise InputError(None, "draws", f"must be a whole number > 0, not {draws!r}")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0
    ):
        raise InputError(None, "chunk_size", f"must be a whole number > 0, not {chunk_size!r}")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(None, "seed", f"must be a whole number ≥ 0, not {seed!r}")
    draws, seed = int(draws), int(seed)
    plan = _plan(scenario, portfolio, drivers)
    engine = _engine()
    n_years = _horizon(plan, draws, seed, engine)
    arrays = _simulate_range(plan, seed, 0, draws, n_years, chunk_size, progress, engine)
    return assemble(scenario, portfolio, seed=seed, drivers=drivers, n_years=n_years, arrays=arrays)


def simulation_horizon(
    scenario: Scenario, portfolio: Portfolio, *, draws: int, seed: int, drivers: Collection[str] | None = None
) -> int:
    """Years from V of the horizon that holds the re-timed flows of draws ``0 ... draws - 1``.

    The first of the three steps of :func:`simulate`, for running the draws
    in parts (on several processes or a cluster): the horizon depends on
    all the draws, and every part must use the same one.
    """
    return _horizon(_plan(scenario, portfolio, drivers), int(draws), int(seed))


def simulate_range(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    seed: int,
    start: int,
    stop: int,
    n_years: int,
    drivers: Collection[str] | None = None,
    chunk_size: int | None = None,
) -> dict[str, NDArray[Any]]:
    """Value draws ``start ... stop - 1`` on a horizon of ``n_years`` years.

    The second step of :func:`simulate`: the arrays of those draws,
    ``end_year`` (D, C), ``end_value`` (D, C), ``present_value`` (D, C) and
    ``reserve`` (D, RESERVE_YEARS + 1), bit-identical to the same rows of a
    whole run. Concatenate the parts in draw order and pass them to
    :func:`assemble`.
    """
    plan = _plan(scenario, portfolio, drivers)
    return _simulate_range(plan, int(seed), int(start), int(stop), int(n_years), chunk_size, False)


def _horizon(plan: _Plan, draws: int, seed: int, engine: str | None = None) -> int:
    # Pass 1: the horizon that holds every draw's re-timed flows (stream 0 only).
    if _engine(engine) == "numba":
        from grex.kernel import needed_years  # noqa: PLC0415 - numba is slow to import

        anchor = plan.anchor.astype(np.int64)
        sales_end = plan.sales_end.astype(np.int64)
        has_sales = np.ascontiguousarray(plan.has_sales, dtype=np.bool_)

        scratch = _per_thread(lambda: _Scratch(plan))

        def needed(block: int) -> int:
            timing = _timing_compiled(plan, seed, block, scratch())
            count = min(BLOCK, draws - block * BLOCK)
            return needed_years(timing["pace"][:count], timing["delay"][:count], anchor, sales_end, has_sales)

    else:

        def needed(block: int) -> int:
            timing = _timing(plan, seed, block)
            count = min(BLOCK, draws - block * BLOCK)
            return _needed_years(plan, timing["pace"][:count], timing["delay"][:count])

    n_years = max(plan.base_years, *_map(needed, range((draws - 1) // BLOCK + 1)))
    return min(max(n_years, int(plan.risk_index.max(initial=-1)) + 1), plan.bound_years)


def _per_thread(make: Any) -> Any:
    """A function that returns ``make()`` of the calling thread, made on its first call there."""
    made: dict[int, Any] = {}

    def get() -> Any:
        key = threading.get_ident()
        if key not in made:
            made[key] = make()
        return made[key]

    return get


def _threads() -> int:
    """Threads for the chunks: ``GREX_THREADS``, else the CPUs this process may use."""
    value = os.environ.get("GREX_THREADS")
    if value:
        return max(1, int(value))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _map(function: Any, items: range, threads: int | None = None) -> Iterable[Any]:
    """``map`` over a thread pool (numpy and the kernel release the GIL), in order."""
    threads = _threads() if threads is None else threads
    if threads <= 1 or len(items) <= 1:
        return map(function, items)
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(function, items))


_warned_fallback: list[bool] = []


def _engine(engine: str | None = None) -> str:
    """``"numba"`` (the kernel of :mod:`grex.kernel`) or ``"numpy"`` (the vectorised twin)."""
    engine = engine or os.environ.get("GREX_ENGINE") or None
    if engine is None:
        try:
            import numba  # noqa: F401, PLC0415 - slow to import: only when simulating
        except ImportError as error:
            # numba is a dependency; without it (a broken install, a shadowed module) the
            # results are the same bit for bit, but some 40 times slower: say so once.
            if not _warned_fallback:
                _warned_fallback.append(True)
                warnings.warn(
                    f"numba cannot be imported ({error}); simulating with the numpy engine, "
                    "which gives the same results much more slowly (set GREX_ENGINE=numpy to silence this)",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return "numpy"
        return "numba"
    if engine not in ("numba", "numpy"):
        raise InputError(None, "GREX_ENGINE", f"must be numba or numpy, not {engine!r}")
    return engine


def _kernel_arguments(plan: _Plan, n_years: int) -> dict[str, Any]:
    """The draw-independent arguments of :func:`grex.kernel.value_draws`."""
    x = plan.inputs
    G = x.rate_offset + n_years

    def groups(rates: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.intp]]:
        # Complexes with the same rate row and price level share their index factors.
        keys = np.concatenate([rates[:, :G], x.price_level_offset[:, None].astype(np.float64)], axis=1)
        unique, group = np.unique(keys, axis=0, return_inverse=True)
        return (
            np.ascontiguousarray(group.reshape(-1), dtype=np.int64),
            np.ascontiguousarray(unique[:, :G]),
            np.ascontiguousarray(unique[:, G], dtype=np.int64),
        )

    cost_group, cost_rates, cost_base = groups(x.cost_rates)
    revenue_group, revenue_rates, revenue_base = groups(x.revenue_rates)
    static = x.costs[:, :n_years] != 0
    static_end = np.where(static.any(axis=1), n_years - np.argmax(static[:, ::-1], axis=1), 0)
    freeze = plan.revenue_freeze
    as_int = np.int64
    # Zero columns on each side of the re-timed tables: a preimage starts at most 3 paces before
    # the first sales year and ends at most 4 paces after the last (see kernel.value_draws).
    fastest = max(1.0, plan.mc.market_pace.maximum * float(plan.pace[2].max(initial=1.0)))
    pad = math.ceil(4.0 * fastest) + 6

    def padded(table: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.pad(table, ((0, 0), (pad, pad)))

    return {
        "revenues": padded(x.revenues),
        "linked_costs": padded(x.linked_costs),
        "costs": np.ascontiguousarray(x.costs),
        "anchor": plan.anchor.astype(as_int),
        "sales_end": plan.sales_end.astype(as_int),
        "has_sales": np.ascontiguousarray(plan.has_sales, dtype=np.bool_),
        "static_end": static_end.astype(as_int),
        "cost_group": cost_group,
        "cost_rates": cost_rates,
        "cost_base": cost_base,
        "revenue_group": revenue_group,
        "revenue_rates": revenue_rates,
        "revenue_base": revenue_base,
        "rate_offset": int(x.rate_offset),
        "shock_costs": "costs" in plan.active,
        "shock_prices": "prices" in plan.active,
        "revenue_freeze": -1 if freeze is None or freeze >= G else max(int(freeze), 0),
        "margin": np.ascontiguousarray(x.uncertainty_margin, dtype=np.float64),
        "book_value": np.ascontiguousarray(x.book_value, dtype=np.float64),
        "discount": np.ascontiguousarray(discount_factor(x.discount_rate, np.arange(n_years))),
        "given_end_index": x.given_end_index.astype(as_int),
        "risk_complex": plan.risk_complex.astype(as_int),
        "risk_index": plan.risk_index.astype(as_int),
        "risk_is_cost": np.ascontiguousarray(plan.risk_is_cost, dtype=np.bool_),
        "realised_costs": np.ascontiguousarray(x.realised_costs, dtype=np.float64),
        "realised_revenues": np.ascontiguousarray(x.realised_revenues, dtype=np.float64),
        "profit_taken": np.ascontiguousarray(x.profit_taken, dtype=np.float64),
        "adopted": np.ascontiguousarray(x.adopted, dtype=np.bool_),
        "planned": np.ascontiguousarray(plan.planned, dtype=np.bool_),
        "provision_on_present_value": x.provision_basis == "present_value",
        "poc_on_present_value": x.poc_basis == "present_value",
        "general_reserve": float(plan.general_reserve),
        "n_years": int(n_years),
        "valuation_year": int(x.valuation_year),
    }


#: Outputs of at least this many bytes get memory of their own (:func:`_output`).
_OWN_MAPPING_BYTES = 4 << 20


def _output(shape: tuple[int, ...], dtype: Any = np.float64) -> NDArray[Any]:
    """An uninitialised output array; a large one in an anonymous memory mapping of its own.

    numpy advises the kernel to back arrays of 4 MiB and more with huge pages.
    Where transparent huge pages are on ``madvise`` with direct
    defragmentation (the default of many Linux distributions), a first write
    to such memory can wait for the kernel to compact memory into a huge
    page: on a machine whose memory is in use this cost a simulation of
    100,000 draws about 0.1 s of system time (``benchmarks/README.md``).
    The outputs are written once, draw by draw, and gain nothing from huge
    pages, so they take plain pages of an anonymous mapping (``mmap``)
    instead. The array behaves as any other; the mapping is freed with it.
    """
    count = math.prod(shape)
    size = count * np.dtype(dtype).itemsize
    if size < _OWN_MAPPING_BYTES:
        return np.empty(shape, dtype=dtype)
    if hasattr(mmap, "MAP_PRIVATE"):  # a private mapping: plain anonymous memory, not shared memory
        mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    else:  # Windows
        mapping = mmap.mmap(-1, size)
    return np.frombuffer(mapping, dtype=dtype, count=count).reshape(shape)


def _simulate_range(
    plan: _Plan,
    seed: int,
    first: int,
    last: int,
    n_years: int,
    chunk_size: int | None,
    progress: bool,
    engine: str | None = None,
) -> dict[str, NDArray[Any]]:
    x = plan.inputs
    C = x.n_complexes
    draws = last - first
    engine = _engine(engine)
    if chunk_size is None:
        chunk_size = BLOCK * max(1, CHUNK_CELLS // (BLOCK * max(C, 1) * n_years))
    end_year = _output((draws, C), np.int16)
    end_value = _output((draws, C))
    present_value = _output((draws, C))
    reserve = _output((draws, RESERVE_YEARS + 1))
    starts = range(first, last, chunk_size)
    if engine == "numba":
        from grex.kernel import value_draws  # noqa: PLC0415 - numba is slow to import

        fixed = _kernel_arguments(plan, n_years)

        scratch = _per_thread(lambda: _Scratch(plan))

    def work(start: int) -> int:
        stop = min(last, start + chunk_size)
        if engine == "numba":
            # Block by block into the thread's buffers: the kernel values each draw on its own.
            for block in range(start // BLOCK, (stop - 1) // BLOCK + 1):
                values = _block_compiled(plan, seed, block, scratch())
                lo, hi = max(start, block * BLOCK), min(stop, (block + 1) * BLOCK)
                draws_of_block = slice(lo - block * BLOCK, hi - block * BLOCK)
                rows = slice(lo - first, hi - first)
                value_draws(
                    values["pace"][draws_of_block],
                    values["delay"][draws_of_block],
                    values["cost_shock"][draws_of_block],
                    values["price_shock"][draws_of_block],
                    np.ascontiguousarray(values["risk"][draws_of_block]),
                    values["interest"][draws_of_block],
                    **fixed,
                    end_year=end_year[rows],
                    end_value=end_value[rows],
                    present_value=present_value[rows],
                    reserve=reserve[rows],
                )
        else:
            values = _draws(plan, seed, start, stop, _block)
            rows = slice(start - first, stop - first)
            out = _value_chunk(plan, values, n_years)
            end_year[rows] = x.valuation_year + out["end_index"]
            end_value[rows] = out["end_value"]
            present_value[rows] = out["present_value"]
            reserve[rows] = out["reserve"]
        return stop - start

    bar = _progress(draws, progress)
    try:
        if engine == "numba" and len(starts) > 1 and _threads() > 1:
            # Chunks on a thread pool: the kernel and most of numpy's random number work release the GIL.
            with ThreadPoolExecutor(_threads()) as pool:
                for count in pool.map(work, starts):
                    bar.update(count)
        else:
            for start in starts:
                bar.update(work(start))
    finally:
        bar.close()
    return {"end_year": end_year, "end_value": end_value, "present_value": present_value, "reserve": reserve}


def assemble(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    seed: int,
    n_years: int,
    arrays: dict[str, NDArray[Any]],
    drivers: Collection[str] | None = None,
) -> Simulation:
    """The :class:`Simulation` of per-draw arrays (the third step of :func:`simulate`)."""
    plan = _plan(scenario, portfolio, drivers)
    base = value_portfolio(scenario, portfolio)
    x = plan.inputs
    end_year, end_value = arrays["end_year"], arrays["end_value"]
    present_value, reserve = arrays["present_value"], arrays["reserve"]
    draws = len(present_value)
    portfolio_pv = present_value.sum(axis=1)
    base_pv = float(base.result.present_value.sum())
    loss = base_pv - portfolio_pv
    q = scenario.reserves.confidence
    required = max(_quantile(loss, q), 0.0)
    if draws >= 10 * BATCHES:
        batch_quantiles = [_quantile(part, q) for part in np.array_split(loss, BATCHES)]
        standard_error = float(np.std(batch_quantiles, ddof=1) / math.sqrt(BATCHES))
    else:
        standard_error = math.nan
    tail = math.ceil((1.0 - q) * draws)
    expected_shortfall = float(np.mean(np.partition(loss, draws - tail)[draws - tail :]))
    deterministic = reserve_path(
        general_reserve=plan.general_reserve,
        nominal_costs=base.result.costs,
        nominal_revenues=base.result.revenues,
        end_index=base.result.end_index,
        end_value=base.result.end_value,
        present_value=base.result.present_value,
        inputs=base.inputs,
        planned=plan.planned,
    )
    available = scenario.reserves.resistance_reserve
    ratio = None if available is None else resistance_ratio(available, required)
    grade = nar_grade(ratio)
    return Simulation(
        draws=draws,
        seed=seed,
        drivers=tuple(d for d in DRIVERS if d in plan.active),
        parameters=scenario.montecarlo,
        projects=x.projects,
        end_year=end_year,
        end_value=end_value,
        present_value=present_value,
        portfolio_present_value=portfolio_pv,
        base=base,
        confidence=q,
        required_capacity=required,
        required_capacity_standard_error=standard_error,
        expected_shortfall=expected_shortfall,
        probability_of_loss=float(np.mean(loss > 0)),
        reserve_years=np.arange(scenario.valuation_year - 1, scenario.valuation_year + RESERVE_YEARS),
        reserve=reserve,
        deterministic_reserve=deterministic,
        probability_reserve_below_zero=float(np.mean((reserve[:, 1:] < 0).any(axis=1))),
        iflo_norm=base.iflo_norm(),
        available_capacity=available,
        ratio=ratio,
        grade=None if grade is None else grade[0],
        n_years=n_years,
    )


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
        draw's rekenrente [decimal].
    """
    plan = _plan(scenario, portfolio, drivers)
    values = _draws(plan, seed, draw, draw + 1, _block)
    if n_years is None:
        n_years = max(build_inputs(scenario, portfolio).n_years, _needed_years(plan, values["pace"], values["delay"]))
    x = plan.inputs
    flows = _flows(plan, values, n_years)
    G = x.rate_offset + n_years
    cost_rates = np.broadcast_to(x.cost_rates[:, :G], (x.n_complexes, G)).copy()
    revenue_rates = np.broadcast_to(x.revenue_rates[:, :G], (x.n_complexes, G)).copy()
    if "costs" in plan.active:
        cost_rates[:, x.rate_offset :] += values["cost_shock"][0, :n_years]
    if "prices" in plan.active:
        revenue_rates[:, x.rate_offset :] += values["price_shock"][0, :n_years]
        if plan.revenue_freeze is not None:
            revenue_rates = freeze_rates(revenue_rates, plan.revenue_freeze)
    V = scenario.valuation_year
    return {
        "years": np.arange(V, V + n_years),
        "grid_years": np.arange(V - x.rate_offset, V + n_years),
        "costs": flows["costs"][0],
        "revenues": flows["revenues"][0],
        "cost_rates": cost_rates,
        "revenue_rates": revenue_rates,
        "pace": values["pace"][0],
        "delay": values["delay"][0],
        "risk": values["risk"][0],
        "interest_rate": float(values["interest"][0]),
    }


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="draw", unit_scale=True, desc="simulate", leave=False)


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
        [EUR, positive = profit] and ``reserve`` (S, RESERVE_YEARS + 1) [EUR].
    """
    from dataclasses import replace

    plan = _plan(scenario, portfolio, None)
    C, R = plan.inputs.n_complexes, len(plan.risk_probability)
    pace = np.asarray(pace, dtype=np.float64)
    delay = np.asarray(delay, dtype=np.float64)
    risk = np.asarray(risk, dtype=np.float64).reshape(len(pace), R)
    if pace.ndim != 2 or pace.shape[1] != C or delay.shape != pace.shape:
        raise ValueError(f"pace {pace.shape} and delay {delay.shape} must both be (settings, {C})")
    if np.any(pace <= 0) or np.any(delay < 0):
        raise ValueError("pace must be > 0 and delay >= 0")
    n_years = max(plan.base_years, _needed_years(plan, pace, delay), int(plan.risk_index.max(initial=-1)) + 1)
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
        "interest": np.full(len(pace), float(plan.inputs.interest_rate)),
    }
    out = _value_chunk(plan, values, n_years)
    return {
        "end_year": (plan.inputs.valuation_year + out["end_index"]).astype(np.int16),
        "end_value": out["end_value"],
        "present_value": out["present_value"],
        "reserve": out["reserve"],
    }
