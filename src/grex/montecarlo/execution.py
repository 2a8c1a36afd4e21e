"""Running a simulation: the horizon, the chunks of draws on threads, the engines, the outputs.

:func:`simulate` values the draws in chunks, block by block of
:data:`~grex.montecarlo.streams.BLOCK` draws, each block over its own years:
the horizon that holds its draws' re-timed flows, found from the timing the
block draws anyway (no pass before the draws). The run's horizon
(``Simulation.n_years``) is the largest of the blocks', reduced after them.
Where a figure depends on the whole run's horizon (the present value of the
cash flows, the yearly revaluation: :func:`_horizon_free`) that horizon is
found first, by a pass over the timing of every block (:func:`_horizon`), as
:mod:`grex.batch` does for its parts: :func:`simulation_horizon`,
:func:`simulate_range` (the per-draw arrays of a range of draws) and
:func:`grex.montecarlo.result.assemble`.

The engine and the number of threads are arguments (``engine="numba"`` or
``"numpy"``, ``threads``); nothing here reads the environment (the CLI reads
``GREX_ENGINE`` and ``GREX_THREADS``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from grex.errors import InputError
from grex.montecarlo.numpy_engine import _value_chunk
from grex.montecarlo.plan import Plan, make_plan
from grex.montecarlo.reserve import RESERVE_YEARS
from grex.montecarlo.result import _OWN_MAPPING_BYTES, Simulation, assemble, own_pages, prefault
from grex.montecarlo.revaluation import plan_grid, revaluation_tables
from grex.montecarlo.streams import (
    BLOCK,
    _block,
    _block_compiled,
    _draws,
    _needed_years,
    _Scratch,
    _timing,
    _timing_compiled,
)
from grex.portfolio import Portfolio
from grex.scenario import Scenario

__all__ = ["ENGINES", "simulate", "simulate_range", "simulation_horizon"]

log = logging.getLogger("grex")

#: The two engines: the compiled kernel of :mod:`grex.kernel` and the numpy twin.
ENGINES = ("numba", "numpy")
#: Cells (draws x complexes x years) of one chunk when no chunk size is given (the numpy engine holds a chunk's
#: values at once).
CHUNK_CELLS = 2_000_000
#: The same for the compiled kernel, which values a chunk block by block into the outputs (its memory does not
#: grow with the chunk): a chunk is what a thread of the pool takes at a time (:func:`_chunk_size`).
COMPILED_CHUNK_CELLS = 8_000_000
#: The compiled kernel's chunks: at least this many per thread, so that the threads end together.
CHUNKS_PER_THREAD = 8

# -- simulate -------------------------------------------------------------------


def simulate(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    draws: int | None = None,
    seed: int | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    drivers: Collection[str] | None = None,
    engine: str | None = None,
    threads: int | None = None,
    yearly: bool = False,
    on_draws: Callable[[Mapping[str, NDArray[Any]], int], None] | None = None,
) -> Simulation:
    """Monte Carlo valuation of a portfolio under a scenario.

    Parameters
    ----------
    scenario, portfolio
        As for :func:`grex.valuation.value_portfolio`; the drivers come from
        ``scenario.montecarlo`` and ``scenario.risks``.
    draws : int or None, keyword-only
        Number of draws (> 0); None: the scenario's ``montecarlo.draws``.
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
    engine : {"numba", "numpy"} or None, keyword-only
        The compiled kernel of :mod:`grex.kernel` or the numpy twin; the
        results are the same bit for bit. None: the kernel where numba can
        be imported (else numpy, with a warning).
    threads : int or None, keyword-only
        Threads for the chunks of draws (kernel only; the result does not
        depend on it). None: the CPUs this process may use.
    yearly : bool, keyword-only
        Run the yearly revaluation (issue 16) also under ``foresight =
        "perfect"`` (it always runs under ``plan`` and ``adaptive``): the
        result then has ``alternative_reserve``, ``provision_held`` and
        ``estimate``.
    on_draws : callable or None, keyword-only
        Called in this thread, in draw order, each time a chunk of draws is
        valued: ``on_draws(arrays, done)``, ``arrays`` the per-draw output
        arrays (``end_year``, ``end_value``, ``present_value``, ``reserve``)
        of which rows ``0 ... done - 1`` are final. Writing them there
        (:func:`grex.io.simulation.simulate_to`) runs beside the threads that
        value the next chunks. The last call has ``done == draws``.

    Raises
    ------
    InputError
        ``draws``, ``chunk_size`` or ``threads`` not a positive whole number, an unknown
        driver or engine, a risk or override naming an unknown complex.
    """
    if draws is None:
        draws = scenario.montecarlo.draws
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws <= 0:
        raise InputError(None, "draws", f"must be a whole number > 0, not {draws!r}")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0
    ):
        raise InputError(None, "chunk_size", f"must be a whole number > 0, not {chunk_size!r}")
    if seed is None:
        seed = int(cast(int, np.random.SeedSequence().entropy) % 2**63)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(None, "seed", f"must be a whole number ≥ 0, not {seed!r}")
    draws, seed = int(draws), int(seed)
    engine = _engine(engine)
    threads = _threads(threads)
    plan = make_plan(scenario, portfolio, drivers)
    if yearly:
        plan = replace(plan, yearly=True)
    clock = time.perf_counter()
    horizon = None  # each block of draws on its own years; the run's horizon is the largest of theirs
    if not _horizon_free(plan):
        horizon = _horizon(plan, draws, seed, engine, threads)
        clock = _took("the horizon pass", clock, f"{horizon} years")
    arrays, n_years = _run_range(plan, seed, 0, draws, horizon, chunk_size, progress, engine, threads, on_draws)
    clock = _took("the draws", clock, f"{engine}, {threads} threads, a horizon of {n_years} years")
    simulation = assemble(scenario, portfolio, seed=seed, drivers=drivers, n_years=n_years, arrays=arrays)
    _took("assembling the result", clock)
    return simulation


def _took(step: str, since: float, note: str = "") -> float:
    """Log (DEBUG, ``grex -v``) the seconds of a step of :func:`simulate` since ``since``; the time now."""
    now = time.perf_counter()
    log.debug("simulate: %s: %.2f s%s", step, now - since, f" ({note})" if note else "")
    return now


def simulation_horizon(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    draws: int,
    seed: int,
    drivers: Collection[str] | None = None,
    engine: str | None = None,
    threads: int | None = None,
) -> int:
    """Years from V of the horizon that holds the re-timed flows of draws ``0 ... draws - 1``.

    The first of the three steps of running the draws in parts (on several
    processes or a cluster), as :func:`simulate` does where a figure depends
    on the run's horizon: the horizon depends on all the draws, every part
    is given it and :func:`assemble` records it. (Elsewhere the parts value
    each block of draws over its own years, never more than this.)
    ``engine`` and ``threads`` as for :func:`simulate` (the horizon does not
    depend on them).
    """
    engine, threads = _engine(engine), _threads(threads)
    return _horizon(make_plan(scenario, portfolio, drivers), int(draws), int(seed), engine, threads)


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
    engine: str | None = None,
    threads: int | None = None,
) -> dict[str, NDArray[Any]]:
    """Value draws ``start ... stop - 1`` on a horizon of ``n_years`` years (:func:`simulation_horizon`).

    The second step of :func:`simulate`: the arrays of those draws,
    ``end_year`` (D, C), ``end_value`` (D, C), ``present_value`` (D, C) and
    ``reserve`` (D, RESERVE_YEARS + 1), bit-identical to the same rows of a
    whole run. Concatenate the parts in draw order and pass them to
    :func:`assemble`. ``engine`` and ``threads`` as for :func:`simulate`.
    """
    engine, threads = _engine(engine), _threads(threads)
    plan = make_plan(scenario, portfolio, drivers)
    return _simulate_range(plan, int(seed), int(start), int(stop), int(n_years), chunk_size, False, engine, threads)


def _horizon_free(plan: Plan) -> bool:
    """Whether each draw's figures are the same on every horizon that holds its flows.

    Then no pass before the draws is needed: each block of draws is valued
    over its own years (:func:`_block_years`), and the run's horizon is the
    largest of the blocks' (the number :func:`_horizon` gives). Two stages
    read the whole horizon, not only a draw's own years, and keep that pass:
    the present value of the cash flows (``present_value_method =
    "cash_flows"``) sums the years of the horizon in numpy's pairwise order,
    whose grouping depends on their number, and the yearly revaluation
    (``plan.yearly``) expects the flows left in the horizon's last year at once.
    """
    return not plan.yearly and plan.inputs.present_value_method != "cash_flows"


def _reach(plan: Plan, pace: NDArray[np.float64], delay: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per draw, the years from V that hold its re-timed flows (:func:`grex.montecarlo.streams._needed_years`)."""
    reach = plan.anchor + delay + (plan.sales_end - plan.anchor) / pace
    return cast(NDArray[np.float64], np.where(plan.has_sales, np.ceil(reach), 0.0).max(axis=-1, initial=0.0))


def _least_years(plan: Plan) -> int:
    """Years every draw's horizon holds: the plan's own, the market's reach and the last risk."""
    return max(plan.base_years, plan.market_reach, int(plan.risk_index.max(initial=-1)) + 1)


def _block_years(plan: Plan, reach: NDArray[np.float64]) -> int:
    """The horizon of a set of draws of these reaches: :func:`_horizon` of these draws alone."""
    return min(max(_least_years(plan), int(reach.max(initial=0.0))), plan.bound_years)


def _shock_years(plan: Plan, reach: NDArray[np.float64], least: int) -> NDArray[np.int64]:
    """Per draw, the years of index shocks the kernel reads (at least ``least``).

    The kernel re-times a complex up to 2 years past its reach and indexes
    its flows up to the end of its span (:func:`grex.kernel.retime`), the
    shocks one year less; the index factors also run to the price level
    years (``price_level_offset``).
    """
    inputs = plan.inputs
    cover = max(_least_years(plan), int(inputs.price_level_offset.max(initial=0)) - inputs.rate_offset + 1, least)
    return np.minimum(np.maximum(reach + 2.0, cover), plan.bound_years).astype(np.int64)


def _horizon(plan: Plan, draws: int, seed: int, engine: str, threads: int) -> int:
    # Pass 1: the horizon that holds every draw's re-timed flows (stream 0 only).
    if engine == "numba":
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

    n_years = max(plan.base_years, plan.market_reach, *_map(needed, range((draws - 1) // BLOCK + 1), threads))
    return min(max(n_years, int(plan.risk_index.max(initial=-1)) + 1), plan.bound_years)


def _chunk_size(engine: str, draws: int, complexes: int, years: int, threads: int) -> int:
    """Draws of a chunk where no chunk size is given: whole blocks, about :data:`CHUNK_CELLS` cells.

    The numpy engine holds a chunk's random numbers and flows at once, so
    its chunks stay near :data:`CHUNK_CELLS` cells. The compiled kernel
    values a chunk block by block into the outputs, so a chunk is only what
    a thread of the pool takes at a time, and what the calling thread then
    hands on (``on_draws``, the progress bar). Each costs the pool's
    bookkeeping and a wake-up of the calling thread, which takes the GIL
    from the threads that value (issue 17: 977 chunks of one block each for
    1,000,000 draws of the example); so up to :data:`COMPILED_CHUNK_CELLS`
    cells a chunk (4 blocks of the example), but never fewer than
    :data:`CHUNKS_PER_THREAD` chunks a thread, so that the threads end close
    together. The result does not depend on the chunk size.
    """
    cells = BLOCK * max(complexes, 1) * max(years, 1)
    if engine != "numba":
        return BLOCK * max(1, CHUNK_CELLS // cells)
    blocks = -(-draws // BLOCK)
    return BLOCK * max(1, min(COMPILED_CHUNK_CELLS // cells, blocks // (max(threads, 1) * CHUNKS_PER_THREAD)))


def _revenue_freeze(plan: Plan, n_years: int) -> int:
    """The kernel's ``revenue_freeze`` on a horizon of ``n_years`` years (-1: none within it)."""
    freeze = plan.revenue_freeze
    return -1 if freeze is None or freeze >= plan.inputs.rate_offset + n_years else max(int(freeze), 0)


def _per_thread(make: Any) -> Any:
    """A function that returns ``make()`` of the calling thread, made on its first call there."""
    made: dict[int, Any] = {}

    def get() -> Any:
        key = threading.get_ident()
        if key not in made:
            made[key] = make()
        return made[key]

    return get


def _threads(threads: int | None = None) -> int:
    """Threads for the chunks: ``threads`` (a whole number >= 1), else the CPUs this process may use."""
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
            raise InputError(None, "threads", f"must be a whole number ≥ 1, not {threads!r}")
        return int(threads)
    return _cpus()


def _cpus() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _map(function: Any, items: range, threads: int) -> Iterable[Any]:
    """``map`` over a thread pool (numpy and the kernel release the GIL), in order."""
    if threads <= 1 or len(items) <= 1:
        return map(function, items)
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(function, items))


_warned_fallback: list[bool] = []


def _engine(engine: str | None = None) -> str:
    """``"numba"`` (the kernel of :mod:`grex.kernel`) or ``"numpy"`` (the vectorised twin).

    None chooses the kernel where numba can be imported, else numpy (with a warning, once).
    """
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
                    "which gives the same results much more slowly (choose engine='numpy' to silence this)",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return "numpy"
        return "numba"
    if engine not in ENGINES:
        raise InputError(None, "engine", f"must be numba or numpy, not {engine!r}")
    return engine


def kernel_plan(plan: Plan, n_years: int) -> Any:
    """The :class:`grex.kernel.KernelPlan` of a plan on a horizon of ``n_years`` years (imports numba)."""
    from grex.kernel import KernelPlan  # noqa: PLC0415 - numba is slow to import

    inputs = plan.inputs
    G = inputs.rate_offset + n_years
    C = inputs.n_complexes

    def groups(rates: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
        # Complexes with the same rate row and price level share their index factors.
        keys = np.concatenate([rates[:, :G], inputs.price_level_offset[:, None].astype(np.float64)], axis=1)
        unique, group = np.unique(keys, axis=0, return_inverse=True)
        return (
            np.ascontiguousarray(group.reshape(-1), dtype=np.int64),
            np.ascontiguousarray(unique[:, :G]),
            np.ascontiguousarray(unique[:, G], dtype=np.int64),
        )

    cost_group, cost_rates, cost_base = groups(inputs.cost_rates)
    revenue_group, revenue_rates, revenue_base = groups(inputs.revenue_rates)
    # municipal practice (issue 14): with a cost index per kostensoort, the cost groups are the distinct
    # rate rows (and price levels) of all groups of kostensoorten, and a complex pairs its combination of
    # them (a row of category_groups) with its revenue group.
    pair_cost, pair_costs = cost_group, len(cost_rates)
    category_count = 0
    category_groups = np.zeros((len(cost_rates), 0), dtype=np.int64)
    if inputs.category_rates is not None:
        category_count = len(inputs.category_rates)
        keys = np.concatenate(
            [
                inputs.category_rates[:, :, :G].reshape(category_count * C, G),
                np.tile(inputs.price_level_offset.astype(np.float64), category_count)[:, None],
            ],
            axis=1,
        )
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        by_category = inverse.reshape(category_count, C).astype(np.int64)
        cost_rates = np.ascontiguousarray(unique[:, :G])
        cost_base = np.ascontiguousarray(unique[:, G], dtype=np.int64)
        cost_group = np.ascontiguousarray(by_category[-1])  # the costs not named follow cost_index (risks too)
        combinations, pair_cost = np.unique(by_category.T, axis=0, return_inverse=True)
        pair_cost = pair_cost.reshape(-1).astype(np.int64)
        pair_costs = len(combinations)
        category_groups = np.ascontiguousarray(combinations, dtype=np.int64)
    # The columns of the kernel's work arrays: the complexes ordered (stably) by their pair of groups.
    pair = pair_cost * len(revenue_rates) + revenue_group
    column = np.empty(C, dtype=np.int64)
    column[np.argsort(pair, kind="stable")] = np.arange(C)
    first_of_pair = np.zeros(pair_costs * len(revenue_rates) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair, minlength=len(first_of_pair) - 1), out=first_of_pair[1:])
    fixed_costs = np.empty((n_years, C))
    fixed_costs[:, column] = inputs.costs[:, :n_years].T
    column_margin = np.empty(C)
    column_margin[column] = inputs.uncertainty_margin
    static = inputs.costs[:, :n_years] != 0
    if inputs.category_fixed_costs is not None:  # a kostensoort's cost can be nonzero where the costs add to 0
        static = static | (inputs.category_fixed_costs[:, :, :n_years] != 0).any(axis=0)
    static_end = np.where(static.any(axis=1), n_years - np.argmax(static[:, ::-1], axis=1), 0)
    as_int = np.int64
    # Zero columns on each side of the re-timed tables: a preimage starts at most 3 paces before
    # the first sales year and ends at most 4 paces after the last (see kernel.retime).
    fastest = max(1.0, plan.mc.market_pace.maximum * float(plan.pace[2].max(initial=1.0)))
    pad = math.ceil(4.0 * fastest) + 6

    def padded(table: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.pad(table, ((0, 0), (pad, pad)))

    category_fixed = np.zeros((category_count, n_years, C))
    category_linked = np.zeros((category_count, C, inputs.revenues.shape[1] + 2 * pad))
    if inputs.category_fixed_costs is not None and inputs.category_linked_costs is not None:
        category_fixed[:, :, column] = inputs.category_fixed_costs[:, :, :n_years].transpose(0, 2, 1)
        category_linked[...] = np.pad(inputs.category_linked_costs, ((0, 0), (0, 0), (pad, pad)))
    tables = revaluation_tables(
        inputs, plan.anchor, plan.has_sales, n_years, plan.expected_revenue_rates
    )  # yearly revaluation (issue 16)
    # the revaluations' expected flows on the plan's own grid, for those the kernel makes (none under perfect foresight)
    grid = plan_grid(
        tables,
        static_end,
        plan.sales_end,
        min(int(plan.revaluation_years), RESERVE_YEARS, n_years) if plan.foresight > 0 else 0,
    )

    return KernelPlan(
        revenues=padded(inputs.revenues),
        linked_costs=padded(inputs.linked_costs),
        pad=pad,
        anchor=plan.anchor.astype(as_int),
        sales_end=plan.sales_end.astype(as_int),
        has_sales=np.ascontiguousarray(plan.has_sales, dtype=np.bool_),
        static_end=static_end.astype(as_int),
        column=column,
        first_of_pair=first_of_pair,
        fixed_costs=fixed_costs,
        column_margin=column_margin,
        cost_group=cost_group,
        cost_rates=cost_rates,
        cost_base=cost_base,
        revenue_group=revenue_group,
        revenue_rates=revenue_rates,
        revenue_base=revenue_base,
        rate_offset=int(inputs.rate_offset),
        shock_costs="costs" in plan.active,
        shock_prices="prices" in plan.active,
        revenue_freeze=_revenue_freeze(plan, n_years),
        book_value=np.ascontiguousarray(inputs.book_value, dtype=np.float64),
        discount=tables.discount,  # the table of grex.core.discount_factor, made once with the revaluation's tables
        given_end_index=inputs.given_end_index.astype(as_int),
        risk_complex=plan.risk_complex.astype(as_int),
        risk_index=plan.risk_index.astype(as_int),
        risk_is_cost=np.ascontiguousarray(plan.risk_is_cost, dtype=np.bool_),
        realised_costs=np.ascontiguousarray(inputs.realised_costs, dtype=np.float64),
        realised_revenues=np.ascontiguousarray(inputs.realised_revenues, dtype=np.float64),
        profit_taken=np.ascontiguousarray(inputs.profit_taken, dtype=np.float64),
        adopted=np.ascontiguousarray(inputs.adopted, dtype=np.bool_),
        in_preparation=np.ascontiguousarray(plan.in_preparation, dtype=np.bool_),
        provision_on_present_value=inputs.provision_basis == "present_value",
        poc_on_present_value=inputs.poc_basis == "present_value",
        general_reserve=float(plan.general_reserve),
        n_years=int(n_years),
        valuation_year=int(inputs.valuation_year),
        # municipal practice (issue 14)
        present_value_of_flows=inputs.present_value_method == "cash_flows",
        interest_by_year=inputs.interest_rates is not None,
        interest_rates=np.ascontiguousarray(
            np.zeros(n_years) if inputs.interest_rates is None else inputs.interest_rates[:n_years], dtype=np.float64
        ),
        category_count=category_count,
        category_groups=category_groups,
        category_fixed_costs=category_fixed,
        category_linked_costs=category_linked,
        category_has_linked=np.ascontiguousarray((category_linked != 0).any(axis=-1), dtype=np.bool_),
        **_market_arrays(plan, n_years, column),
        # the cost group of each column's market-sold tied costs (-1: none, or no cost index per kostensoort)
        market_group=_market_group(plan, column),
        # yearly revaluation (issue 16)
        provision_balance=tables.balance,
        foresight=int(plan.foresight),
        learning_rate=float(plan.learning_rate),
        revaluation_years=int(plan.revaluation_years),
        plan_revenues=tables.revenues,
        plan_linked=tables.linked_costs,
        plan_cum_revenues=tables.cum_revenues,
        plan_cum_linked=tables.cum_linked,
        plan_fixed_costs=tables.fixed_costs,
        plan_cost_factor=tables.cost_factor,
        plan_revenue_factor=tables.revenue_factor,
        yearly=bool(plan.yearly),
        grid_revenues=grid.revenues,
        grid_linked=grid.linked_costs,
        grid_last=grid.last,
        fixed_by_year=np.ascontiguousarray(tables.fixed_costs.T),
        cost_factor_by_year=np.ascontiguousarray(tables.cost_factor.T),
        revenue_factor_by_year=np.ascontiguousarray(tables.revenue_factor.T),
    )


def _market_group(plan: Plan, column: Any) -> Any:
    """``plan.market_group`` by column of the kernel's work arrays; -1 everywhere without it."""
    out = np.full(len(column), -1, dtype=np.int64)
    if plan.market_group is not None:
        out[column] = plan.market_group
    return out


def _market_arrays(plan: Plan, n_years: int, column: Any) -> dict[str, Any]:
    """The market fields of the kernel plan (issue 15): empty arrays without a market."""
    market = plan.market
    if market is None:
        P = 0
        return {
            "market_first": np.zeros(1, dtype=np.int64),
            "market_complex": np.zeros(P, dtype=np.int64),
            "market_lag": np.zeros(P, dtype=np.int64),
            "market_last": np.zeros(0, dtype=np.int64),
            "market_column": np.zeros(P, dtype=np.int64),
            "market_begin": np.zeros(0, dtype=np.int64),
            "market_units_by_year": np.zeros((n_years, P)),
            "market_planned_year": np.zeros((P, 1), dtype=np.int64),
            "market_planned_units": np.zeros((P, 1)),
            "market_planned_revenue": np.zeros((P, 1)),
            "market_planned_cost": np.zeros((P, 1)),
        }
    market = market.widen(n_years)
    units = np.ascontiguousarray(market.units[:, :n_years])
    revenue = np.ascontiguousarray(market.revenue[:, :n_years])
    cost = np.ascontiguousarray(market.cost[:, :n_years])
    bounds = zip(market.first_market[:-1], market.first_market[1:], strict=True)
    planned = [np.flatnonzero(row > 0.0) for row in units]  # the years the allocation sells from
    width = max((len(years) for years in planned), default=0) + 1
    planned_year = np.full((len(planned), width), n_years, dtype=np.int64)  # n_years: no more planned units
    planned_units, planned_revenue, planned_cost = (np.zeros((len(planned), width)) for _ in range(3))
    for p, years in enumerate(planned):
        planned_year[p, : len(years)] = years
        planned_units[p, : len(years)] = units[p, years]
        planned_revenue[p, : len(years)] = revenue[p, years]
        planned_cost[p, : len(years)] = cost[p, years]
    with_units = [np.flatnonzero(units[lo:hi].any(axis=0)) for lo, hi in bounds]
    return {
        "market_first": np.ascontiguousarray(market.first_market, dtype=np.int64),
        "market_complex": np.ascontiguousarray(market.complex, dtype=np.int64),
        "market_lag": np.ascontiguousarray(market.lag, dtype=np.int64),
        # one past the last year with planned units, per market
        "market_last": np.array([int(years.max(initial=-1)) + 1 for years in with_units], dtype=np.int64),
        "market_column": np.ascontiguousarray(column[market.complex], dtype=np.int64),
        "market_begin": np.array([int(years.min(initial=n_years)) for years in with_units], dtype=np.int64),
        "market_units_by_year": np.ascontiguousarray(units.T),
        "market_planned_year": planned_year,
        "market_planned_units": planned_units,
        "market_planned_revenue": planned_revenue,
        "market_planned_cost": planned_cost,
    }


def _simulate_range(
    plan: Plan,
    seed: int,
    first: int,
    last: int,
    n_years: int | None,
    chunk_size: int | None,
    progress: bool,
    engine: str,
    threads: int,
    on_draws: Callable[[Mapping[str, NDArray[Any]], int], None] | None = None,
) -> dict[str, NDArray[Any]]:
    """The arrays of :func:`_run_range`."""
    return _run_range(plan, seed, first, last, n_years, chunk_size, progress, engine, threads, on_draws)[0]


def _run_range(
    plan: Plan,
    seed: int,
    first: int,
    last: int,
    n_years: int | None,
    chunk_size: int | None,
    progress: bool,
    engine: str,
    threads: int,
    on_draws: Callable[[Mapping[str, NDArray[Any]], int], None] | None = None,
) -> tuple[dict[str, NDArray[Any]], int]:
    """Value draws ``first ... last - 1``: their arrays, and the horizon of the run.

    Where the plan is :func:`_horizon_free`, each block of draws (each chunk
    on the numpy engine) is valued over its own years, the horizon of its
    draws (no more than ``n_years`` where given), and the index shocks of
    each draw are computed for the years the kernel reads of them. The
    horizon returned is ``n_years`` where given, else the largest of the
    blocks', which for draws ``0 ... last - 1`` is what :func:`_horizon`
    gives. Otherwise every draw is valued over ``n_years`` (required).
    """
    free = _horizon_free(plan)
    if n_years is None and not free:
        raise ValueError("this plan needs the run's horizon (n_years)")
    inputs = plan.inputs
    C = inputs.n_complexes
    draws = last - first
    if chunk_size is None:
        chunk_size = _chunk_size(engine, draws, C, plan.bound_years if n_years is None else n_years, threads)
    end_year = own_pages((draws, C), np.int16)
    end_value = own_pages((draws, C))
    present_value = own_pages((draws, C))
    reserve = own_pages((draws, RESERVE_YEARS + 1))
    # yearly revaluation (issue 16): one row per draw only where it runs (memory)
    rows_kept = draws if plan.yearly else 1
    revalued = own_pages((rows_kept, RESERVE_YEARS + 1))
    provision = own_pages((rows_kept, RESERVE_YEARS))
    estimate = own_pages((rows_kept, RESERVE_YEARS))
    starts = range(first, last, chunk_size)

    def own_years(reach: NDArray[np.float64]) -> int:
        # the years the kernel (or the numpy engine) runs over for draws of these reaches
        if not free:
            return cast(int, n_years)
        years = _block_years(plan, reach)
        return years if n_years is None else min(years, n_years)

    if engine == "numba":
        from grex.kernel import Draws, Outputs, kernel_for, reaches  # noqa: PLC0415 - numba is slow to import

        # The tables for the longest horizon the drivers allow, once; each block then runs over its own years.
        fixed = kernel_plan(plan, plan.bound_years if free else cast(int, n_years))
        # the yearly revaluation reads the index shocks of the whole horizon, the other stages a draw's own years
        least = cast(int, n_years) if plan.yearly else 0
        value_draws = kernel_for(fixed)  # the variant with the stages this plan uses, compiled on its first call

        scratch = _per_thread(lambda: _Scratch(plan))
        no_market = np.zeros((BLOCK, 0, 1))
        # _reach's operands as the compiled reaches takes them (issue 17: numpy's passes cost more than the loop)
        anchor = plan.anchor.astype(np.int64)
        sales_end = plan.sales_end.astype(np.int64)
        has_sales = np.ascontiguousarray(plan.has_sales, dtype=np.bool_)

    def work(start: int) -> tuple[int, int]:
        stop = min(last, start + chunk_size)
        horizon = 0
        if engine == "numba":
            # Block by block into the thread's buffers: the kernel values each draw on its own.
            for block in range(start // BLOCK, (stop - 1) // BLOCK + 1):
                lo, hi = max(start, block * BLOCK), min(stop, (block + 1) * BLOCK)
                draws_of_block = slice(lo - block * BLOCK, hi - block * BLOCK)
                rows = slice(lo - first, hi - first)
                reach = np.empty(0)

                def shock_years(pace: NDArray[np.float64], delay: NDArray[np.float64]) -> NDArray[np.int64]:
                    nonlocal reach
                    reach = np.empty(len(pace))
                    reaches(pace, delay, anchor, sales_end, has_sales, reach)  # _reach, compiled
                    return _shock_years(plan, reach, least)

                values = _block_compiled(plan, seed, block, scratch(), shock_years)
                years = own_years(reach[draws_of_block])
                horizon = max(horizon, years)
                value_draws(
                    Draws(
                        values["pace"][draws_of_block],
                        values["delay"][draws_of_block],
                        values["cost_shock"][draws_of_block],
                        values["price_shock"][draws_of_block],
                        np.ascontiguousarray(values["risk"][draws_of_block]),
                        values["interest"][draws_of_block],
                        values["absorption"][draws_of_block] if plan.market is not None else no_market,
                    ),
                    fixed._replace(n_years=years, revenue_freeze=_revenue_freeze(plan, years)) if free else fixed,
                    Outputs(
                        end_year[rows],
                        end_value[rows],
                        present_value[rows],
                        reserve[rows],
                        revalued[rows] if plan.yearly else revalued,
                        provision[rows] if plan.yearly else provision,
                        estimate[rows] if plan.yearly else estimate,
                    ),
                )
        else:
            values = _draws(plan, seed, start, stop, _block)
            rows = slice(start - first, stop - first)
            horizon = own_years(_reach(plan, values["pace"], values["delay"]))
            out = _value_chunk(plan, values, horizon)
            end_year[rows] = inputs.valuation_year + out["end_index"]
            end_value[rows] = out["end_value"]
            present_value[rows] = out["present_value"]
            reserve[rows] = out["reserve"]
            if plan.yearly:
                revalued[rows] = out["revalued"]
                provision[rows] = out["provision"]
                estimate[rows] = out["estimate"]
        return stop - start, horizon

    arrays = {"end_year": end_year, "end_value": end_value, "present_value": present_value, "reserve": reserve}
    done = 0
    run_horizon = 0 if n_years is None else n_years

    def finished(count: int, horizon: int) -> None:
        # In this thread and in draw order (pool.map yields in order): the caller may write rows 0 ... done - 1
        # while the pool values the next chunks.
        nonlocal done, run_horizon
        done += count
        run_horizon = max(run_horizon, horizon)
        bar.update(count)
        if on_draws is not None:
            on_draws(arrays, done)

    bar = _progress(draws, progress)
    # issue 17: the outputs' pages faulted in by a thread of their own while the draws start (result.prefault)
    stop_prefault = threading.Event()
    prefaulting = None
    if _cpus() > 1 and end_value.nbytes >= _OWN_MAPPING_BYTES:  # arrays of memory of their own (own_pages)
        outputs = [end_year, end_value, present_value, reserve]
        if plan.yearly:
            outputs += [revalued, provision, estimate]
        prefaulting = threading.Thread(target=prefault, args=(outputs, stop_prefault), name="grex-prefault")
        prefaulting.start()
    try:
        if engine == "numba" and len(starts) > 1 and (threads > 1 or on_draws is not None):
            # Chunks on a thread pool: the kernel and most of numpy's random number work release the GIL.
            # With on_draws, even one thread: this thread then writes while the pool values.
            with ThreadPoolExecutor(threads) as pool:
                for count, horizon in pool.map(work, starts):
                    finished(count, horizon)
        else:
            for start in starts:
                finished(*work(start))
    finally:
        bar.close()
        if prefaulting is not None:
            stop_prefault.set()
            prefaulting.join()
    if plan.yearly:
        arrays.update(revalued=revalued, provision=provision, estimate=estimate)
    return arrays, run_horizon


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
