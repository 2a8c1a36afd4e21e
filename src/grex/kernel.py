"""The compiled Monte Carlo engine (numba): one pass per draw over all complexes, made of named stages.

:func:`value_draws` does for a set of draws what the numpy engine
(:func:`grex.montecarlo.numpy_engine._value_chunk`) does with whole-array
passes. It takes one plan object (:class:`KernelPlan`, the arrays that do not
change between draws), the draws (:class:`Draws`) and the outputs
(:class:`Outputs`), and runs each draw through a sequence of small stages,
each named after the rule of :mod:`grex.core` it computes and tested bit for
bit against it (``tests/test_kernel.py``):

==========================  ======================================================
stage                       the rule it computes
==========================  ======================================================
:func:`allocate_market`,    :func:`grex.market.allocate` (issue 15: the programme in a
:func:`market_by_draw`,     market, sold as the draw's absorption allows)
:func:`add_market`
:func:`retime`              :func:`grex.drivers.retime`
:func:`index_factors`       :func:`grex.core.index_factors` (shocks, :func:`grex.core.freeze_rates`)
:func:`nominal_flows`       :func:`grex.core.nominal_flows` (:func:`nominal_flow`: indexation, margin)
:func:`retime_categories`,  the same with a cost index per kostensoort
:func:`nominal_flows_by_    (``indexed_costs``, :meth:`grex.valuation.ModelInputs.indexed_costs`)
category`
:func:`end_index`           :func:`grex.core.end_index`
:func:`add_risks`           the risk register (as :mod:`grex.montecarlo.numpy_engine`)
:func:`roll_book_value`     :func:`grex.core.roll_book_value` (:func:`roll_book_value_by_year`:
                            a rekenrente per year, ``rate_by_year``)
(discounting)               the table of :func:`grex.core.discount_factor` (whole years or the day count)
:func:`present_value_of_    :func:`grex.core.present_value_of_flows` (``present_value_method =
flows`                      "cash_flows"``)
:func:`provision`           :func:`grex.core.provision`
:func:`poc_profit`          :func:`grex.core.poc_profit`
:func:`reserve_entries`,    :func:`grex.montecarlo.reserve.reserve_path`
:func:`reserve_path`
:func:`revalue_yearly`      :func:`grex.montecarlo.revaluation.revalue_yearly`
==========================  ======================================================

:func:`value_draws` lists the order, and where a stage still to come enters
(a yearly revaluation along each path after the roll). Without a market
the market stages do not run, so every figure is what it was before them. The stages keep the floating-point
operations of the numpy rules in the same order, so the engines agree bit for
bit (``assert_array_equal`` on whole simulations, too):

- the re-timing uses the same overlap shares and adds every step's term, as
  the numpy version does; the numpy version runs a fixed number of steps for
  all draws of a chunk, the kernel ``ceil(pace)`` steps after the first share,
  and the steps it leaves out add exact zeros;
- index factors are the cumulative product over the rate grid, divided by
  the product at the price level year (computed once per distinct pair of
  rate row and price level: the same numbers as per complex);
- years in which a complex can have no flow are skipped (its re-timing runs
  over the window of years its sales curve can reach, its totals stop at the
  end of its span); their flows are exact zeros in the numpy version too, and
  adding them changes no sum;
- the market allocation (:func:`allocate_market`) runs a batch of
  :data:`MARKET_LANES` draws side by side, a draw per vector lane; each
  lane does its draw's operations in the order of the scalar rule, so a
  draw's numbers do not depend on the draws beside it;
- the indexation, the margin, the net flows and the running totals run,
  per pair of index-factor rows, either year by year over the complexes
  side by side (vector instructions) or complex by complex over each one's
  own span, whichever an estimate of their cost prefers for the draw
  (:func:`nominal_flows`, issue 17): the same operations per complex, so
  the same numbers;
- the sum of the provisions over complexes uses numpy's pairwise summation
  (:func:`pairwise_sum`), the reserve entries are added complex by complex,
  as ``numpy.sum`` over a non-contiguous axis does.

The module also holds the random-number transforms of the numba engine
(:func:`normals`, a port of Cephes ``ndtri`` bit-identical to
:func:`scipy.special.ndtri`; :func:`timing_values`, the triangular (or uniform) inverse
CDF; :func:`index_shocks`, the AR(1) recursion; :func:`absorption_block`, the markets' absorption
with stream 4's PCG64, draw by draw in one call), which
:func:`grex.montecarlo.streams._block_compiled` runs per block inside the thread pool;
they give the numbers of the numpy versions bit for bit.

numba keeps each array alive by a reference count: an array bound to a new
name (a stage's argument, an array taken from the plan) costs an atomic
increment and decrement, which numba's pruning pass usually removes. Where
it fails to, the calls stay in the loop, and a stage that took the plan
(some 65 arrays) cost about 130 atomic operations per call: a small change
of a stage's branches once made the kernel four to five times slower that
way (issue 17). The stages every variant runs therefore take the plan's
arrays they use, taken from the plan once per call of :func:`value_draws`
(the stages of a market, a cost index per kostensoort, the present value
of the flows and the yearly revaluation still take the plan).
``python benchmarks/refcounts.py`` counts the calls per draw (about 15 to
19 on the example); check it after changing a stage's control flow (the
pass, llvmlite's ``RefPrunePass``, removes a pair only where no other
decrement lies between the two, so one pair it keeps can keep others
around it).

Every function is compiled with ``error_model="numpy"``: a float division
by zero gives inf or NaN instead of raising (no division here can have a
zero divisor), which lets loops with divisions use vector instructions;
``fastmath`` stays off, so no operation is reordered or fused.

The module imports numba; nothing in ``grex run`` imports it. Compiled code
is cached next to the module (``cache=True``), so only the first call after
an install compiles. :func:`value_draws` is compiled per variant
(:func:`kernel_for`): a scenario without a market, a cost index per
kostensoort, a rate per year, a cash-flow present value or a yearly
revaluation compiles none of those stages (numba drops their branches
before it inlines the stages), so its first call compiles about as long as
the kernel before them; each kind of scenario compiles its variant once
per install.
"""

from __future__ import annotations

import math
import threading
import types
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from grex.numba_start import defer_blas_check

defer_blas_check()  # numba's first load of the kernel without scipy.linalg (its BLAS check; issue 17)

__all__ = [
    "MARKET_LANES",
    "MARKET_STATE_ROWS",
    "PCG64_MULTIPLIER",
    "Draws",
    "KernelPlan",
    "Outputs",
    "absorption_block",
    "add_market",
    "add_risks",
    "allocate_market",
    "block_timing",
    "correlate",
    "distribution_values",
    "end_index",
    "index_factors",
    "index_shocks",
    "index_shocks_by_draw",
    "kernel_for",
    "market_by_draw",
    "ndtr",
    "ndtri",
    "needed_years",
    "nominal_flow",
    "nominal_flows",
    "nominal_flows_by_category",
    "normal_cdf",
    "normals",
    "pairwise_sum",
    "pcg64_fill",
    "pcg64_jump",
    "pcg64_rows",
    "pcg64_seed",
    "pcg64_seeds",
    "poc_profit",
    "present_value_of_flows",
    "provision",
    "reaches",
    "reserve_entries",
    "reserve_path",
    "retime",
    "retime_categories",
    "revalue_yearly",
    "risk_amounts",
    "roll_book_value",
    "roll_book_value_by_year",
    "timing_values",
    "value_draws",
    "variant",
    "variant_name",
]

#: How every function is compiled: cached, without the GIL, no reordering of floating-point operations.
_compiled = njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
#: The stages of :func:`value_draws` and their rules: compiled as ``_compiled``, and inlined into
#: their callers (numba's IR inlining), so that the fused loop is one piece of code again.
_stage = njit(cache=True, nogil=True, fastmath=False, error_model="numpy", inline="always")
#: Block size of numpy's pairwise summation (``PW_BLOCKSIZE`` in numpy's loops).
_PW_BLOCKSIZE = 128
#: grex.montecarlo.revaluation.MIN_PACE: the slowest pace a remaining sales curve is expected at.
_MIN_PACE = 0.1


@_compiled
def _block_sum(a, start, n):  # pragma: no cover - compiled
    # numpy's pairwise_sum for n <= 128: eight interleaved partial sums.
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0 = a[start + 0]
    r1 = a[start + 1]
    r2 = a[start + 2]
    r3 = a[start + 3]
    r4 = a[start + 4]
    r5 = a[start + 5]
    r6 = a[start + 6]
    r7 = a[start + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[start + i + 0]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@_compiled
def pairwise_sum(a, start, n):  # pragma: no cover - compiled
    """Sum ``a[start:start + n]`` in the order of numpy's pairwise summation.

    ``numpy.add.reduce`` over a contiguous axis adds eight interleaved partial
    sums in blocks of up to 128 values and splits longer runs in halves (a
    multiple of 8 on the left); doing the same gives the same rounding, bit
    for bit. The halving is done with an explicit stack, not by recursion
    (numba's cache does not load recursive functions reliably).
    """
    if n <= _PW_BLOCKSIZE:
        return _block_sum(a, start, n)
    size = 256
    starts = np.empty(size, dtype=np.int64)
    counts = np.empty(size, dtype=np.int64)  # -1 marks "add the last two values"
    values = np.empty(size)
    top = 0
    held = 0
    starts[0] = start
    counts[0] = n
    top = 1
    while top > 0:
        top -= 1
        s = starts[top]
        m = counts[top]
        if m < 0:
            right = values[held - 1]
            left = values[held - 2]
            held -= 2
            values[held] = left + right
            held += 1
        elif m <= _PW_BLOCKSIZE:
            values[held] = _block_sum(a, s, m)
            held += 1
        else:
            half = m // 2
            half -= half % 8
            counts[top] = -1
            starts[top + 1] = s + half
            counts[top + 1] = m - half
            starts[top + 2] = s
            counts[top + 2] = half
            top += 3
    return values[0]


# -- the plan, the draws and the outputs --------------------------------------------------


class KernelPlan(NamedTuple):
    """Everything about the portfolio that does not change between draws: the one plan object of the stages.

    Built by :func:`grex.montecarlo.execution.kernel_plan` from the
    :class:`grex.montecarlo.plan.Plan` of a simulation. ``C`` complexes,
    ``n_years`` years of the simulated horizon from V, ``R`` risks.

    The stages keep per-complex work arrays in *columns*: complex ``c`` sits
    in column ``column[c]``, the complexes ordered (stably) by their pair of
    index groups, so that complexes that share their index factors are
    neighbours and the loops over them run side by side with vector
    instructions; the columns of pair ``k`` are ``first_of_pair[k]`` up to
    ``first_of_pair[k + 1]``.

    Attributes
    ----------
    revenues, linked_costs : ndarray, shape (C, pad + T0 + pad)
        Planned flows that follow the sales curve (the plan's own timing),
        with ``pad`` zero columns on each side, enough for every preimage of
        the re-timing. [EUR, price level]
    pad : int
    anchor, sales_end : ndarray of int, shape (C,)
        Year index of the first sales year, and one past the last.
    has_sales : ndarray of bool, shape (C,)
    static_end : ndarray of int, shape (C,)
        One past the last year with a cost that keeps its timing.
    column : ndarray of int, shape (C,)
    first_of_pair : ndarray of int, shape (cost groups * revenue groups + 1,)
    fixed_costs : ndarray, shape (n_years, C)
        Costs that keep their timing, year first, by column. [EUR, price level]
    column_margin : ndarray, shape (C,)
        Uncertainty margin by column. [decimal]
    cost_group, revenue_group : ndarray of int, shape (C,)
        Row of ``cost_rates`` / ``revenue_rates`` and ``cost_base`` /
        ``revenue_base`` of each complex.
    cost_rates, revenue_rates : ndarray, shape (groups, >= rate_offset + n_years)
        Distinct rate rows of the grid. [decimal per year]
    cost_base, revenue_base : ndarray of int, shape (groups,)
        Grid index of the price level year of each group.
    rate_offset : int
        Years of the rate grid before V.
    shock_costs, shock_prices : bool
        Whether the shocks apply (drivers ``costs``, ``prices``).
    revenue_freeze : int
        Grid index from which revenue rates are zero when ``shock_prices``
        (-1: no freeze).
    book_value : ndarray, shape (C,)
        Boekwaarde at 1-1-V. [EUR]
    discount : ndarray, shape (n_years,)
        :func:`grex.core.discount_factor` of each end index.
    given_end_index : ndarray of int, shape (C,)
    risk_complex, risk_index : ndarray of int, shape (R,)
        Complex and year index of each risk.
    risk_is_cost : ndarray of bool, shape (R,)
    realised_costs, realised_revenues, profit_taken : ndarray, shape (C,)
        [EUR]
    adopted, in_preparation : ndarray of bool, shape (C,)
        Status ``vastgesteld`` (a provision and POC apply) and ``voorbereiding``.
    provision_on_present_value, poc_on_present_value : bool
        The provision and POC bases (else the end value).
    general_reserve : float
        [EUR]
    n_years : int
    valuation_year : int
        V.
    present_value_of_flows : bool
        ``present_value_method = "cash_flows"``: the present value is
        :func:`present_value_of_flows` (``discount`` then holds the factor of
        a flow at the end of each year); else the end value times ``discount``.
    interest_by_year : bool
        The rekenrente is a table of rates per year (:func:`roll_book_value_by_year`).
    interest_rates : ndarray, shape (n_years,)
        The rekenrente of each year where ``interest_by_year`` (the draw's
        ``interest`` is then a shift added to each); zeros else. [decimal per year]
    category_count : int
        K groups of kostensoorten with their own cost index
        (``cost_index_by_category``); 0: every cost follows ``cost_rates``
        through ``cost_group`` (then the three tables below are empty). With
        groups, ``cost_rates`` holds the distinct rate rows of all of them,
        ``cost_group`` is each complex's group of the costs not named (for
        the risks), and the pairs of ``first_of_pair`` are of a combination of
        K cost groups (a row of ``category_groups``) and a revenue group.
    category_groups : ndarray of int, shape (combinations, K)
        The row of ``cost_rates`` of each group of kostensoorten, per combination.
    category_fixed_costs : ndarray, shape (K, n_years, C)
        ``fixed_costs`` per group of kostensoorten, by column. [EUR, price level]
    category_linked_costs : ndarray, shape (K, C, pad + T0 + pad)
        ``linked_costs`` per group of kostensoorten, padded. [EUR, price level]
    category_has_linked : ndarray of bool, shape (K, C)
        Whether a group of kostensoorten of a complex has sales-linked costs
        (only those are re-timed; the others' re-timed costs stay 0).
    market_first, market_complex, market_lag, market_last
        The programme in the markets (issue 15), :class:`grex.market.MarketPlan` on ``n_years``
        years (``market_last``: one past the last year with planned units, per market).
    market_group : ndarray of int, shape (C,)
        The group of kostensoorten of each column's market-sold tied costs (-1: none).
    market_column : ndarray of int, shape (P,)
        The column of each participant (a complex in a market).
    market_begin : ndarray of int, shape (M,)
        The first year with planned units of each market (``n_years``: none).
    market_units_by_year : ndarray, shape (n_years, P)
        The planned units of each participant, by year (the participants of a year side by side).
    market_planned_year, market_planned_units, market_planned_revenue, market_planned_cost : ndarray, shape (P, Y + 1)
        Per participant its planned years with units (> 0), in order, and their units,
        revenues and tied costs, then ``n_years`` and zeros (Y: the most such years of a participant).
    provision_balance : ndarray, shape (C,)
        Provision (voorziening) already formed at 31-12-(V - 1). [EUR]
    foresight, learning_rate, revaluation_years
        The expectation rule of the yearly revaluation
        (:data:`grex.montecarlo.revaluation.FORESIGHT` code, 0: perfect), its
        weight and horizon.
    plan_revenues, plan_linked, plan_cum_revenues, plan_cum_linked, plan_fixed_costs, plan_cost_factor, \
plan_revenue_factor : ndarray
        :class:`grex.montecarlo.revaluation.RevaluationTables`, by complex.
    yearly : bool
        Run :func:`revalue_yearly` (the outputs ``revalued``, ``provision``,
        ``estimate`` then have a row per draw).
    grid_revenues, grid_linked : ndarray, shape (n_years, C)
        :class:`grex.montecarlo.revaluation.PlanGrid`: the expected flows of
        a revaluation on the plan's own grid, year first, by complex. [EUR, price level]
    grid_last : ndarray of int, shape (rows, C)
        The year its expected balance is read at, for the first ``rows``
        revaluations (none under perfect foresight).
    fixed_by_year, cost_factor_by_year, revenue_factor_by_year : ndarray, shape (n_years, C)
        ``plan_fixed_costs``, ``plan_cost_factor``, ``plan_revenue_factor``
        year first (the expected years of all complexes side by side).
    """

    revenues: Any
    linked_costs: Any
    pad: int
    anchor: Any
    sales_end: Any
    has_sales: Any
    static_end: Any
    column: Any
    first_of_pair: Any
    fixed_costs: Any
    column_margin: Any
    cost_group: Any
    cost_rates: Any
    cost_base: Any
    revenue_group: Any
    revenue_rates: Any
    revenue_base: Any
    rate_offset: int
    shock_costs: bool
    shock_prices: bool
    revenue_freeze: int
    book_value: Any
    discount: Any
    given_end_index: Any
    risk_complex: Any
    risk_index: Any
    risk_is_cost: Any
    realised_costs: Any
    realised_revenues: Any
    profit_taken: Any
    adopted: Any
    in_preparation: Any
    provision_on_present_value: bool
    poc_on_present_value: bool
    general_reserve: float
    n_years: int
    valuation_year: int
    # municipal practice (issue 14)
    present_value_of_flows: bool
    interest_by_year: bool
    interest_rates: Any
    category_count: int
    category_groups: Any
    category_fixed_costs: Any
    category_linked_costs: Any
    category_has_linked: Any
    # market (issue 15)
    market_first: Any = None
    market_complex: Any = None
    market_lag: Any = None
    market_last: Any = None
    market_group: Any = None
    market_column: Any = None
    market_begin: Any = None
    market_units_by_year: Any = None
    market_planned_year: Any = None
    market_planned_units: Any = None
    market_planned_revenue: Any = None
    market_planned_cost: Any = None
    # yearly revaluation (issue 16)
    provision_balance: Any = None
    foresight: int = 0
    learning_rate: float = 0.0
    revaluation_years: int = 10
    plan_revenues: Any = None
    plan_linked: Any = None
    plan_cum_revenues: Any = None
    plan_cum_linked: Any = None
    plan_fixed_costs: Any = None
    plan_cost_factor: Any = None
    plan_revenue_factor: Any = None
    yearly: bool = False
    grid_revenues: Any = None
    grid_linked: Any = None
    grid_last: Any = None
    fixed_by_year: Any = None
    cost_factor_by_year: Any = None
    revenue_factor_by_year: Any = None


class Draws(NamedTuple):
    """The driver values of a set of draws (:mod:`grex.montecarlo.streams`).

    Attributes
    ----------
    pace, delay : ndarray, shape (D, C)
        Pace factor [1 = as planned] and start delay [years] of each draw and complex.
    cost_shock, price_shock : ndarray, shape (D, >= n_years)
        Shocks on the index rates from year V. [decimal per year]
    risk : ndarray, shape (D, R)
        Amount of each risk event (0 where it does not happen). [EUR, price level]
    interest : ndarray, shape (D,)
        Rekenrente of each draw; where the plan has a rate per year
        (``KernelPlan.interest_by_year``), the draw's shift of it. [decimal per year]
    """

    pace: Any
    delay: Any
    cost_shock: Any
    price_shock: Any
    risk: Any
    interest: Any
    # market (issue 15)
    absorption: Any = None


class Outputs(NamedTuple):
    """The per-draw results, written by :func:`value_draws`.

    Attributes
    ----------
    end_year : ndarray of int16, shape (D, C)
        E of each draw and complex.
    end_value, present_value : ndarray, shape (D, C)
        [EUR, positive = profit]
    reserve : ndarray, shape (D, years + 1)
        The general reserve path, :func:`grex.montecarlo.reserve.reserve_path`,
        or with a yearly revaluation (``plan.foresight`` > 0) ``revalued``. [EUR]
    revalued : ndarray, shape (D, years + 1)
        The other reading: under perfect foresight the path of
        :func:`revalue_yearly` (the reserve path to the cent), else the
        perfect-foresight path of :func:`reserve_path`. [EUR]
    provision, estimate : ndarray, shape (D, years)
        Provisions held at 31 December of each year and the portfolio's
        present value as each year's revaluation estimates it. [EUR]
    """

    end_year: Any
    end_value: Any
    present_value: Any
    reserve: Any
    # yearly revaluation (issue 16)
    revalued: Any = None
    provision: Any = None
    estimate: Any = None


# -- the stages, in the order a draw passes them ----------------------------------------------


#: Draws the market allocation runs side by side (:func:`allocate_market`): the vector lanes of its loops.
MARKET_LANES = 32
# Rows of the allocation's work arrays: per lane (``lane``), and per participant and lane (``state``).
_TOTAL, _SHARE, _EVERY = 0, 1, 2
_BACKLOG, _LEFT, _TAKEN, _TAKEN_COST, _REST, _HEAD_YEAR = 0, 1, 2, 3, 4, 5
#: Rows of ``state``.
MARKET_STATE_ROWS = 6


@_stage
def _sell_step(
    at, left, rest, taken, taken_cost, year, revenue_t, cost_t, j, due, revenue, cost, units, units_next, year_next,
):  # pragma: no cover - compiled; tested through allocate_market  # fmt: skip
    """One step of the FIFO of :func:`allocate_market` in one lane: sell from planned year ``j`` (where ``due``).

    The lane sells if its oldest planned year with units left (``at``) is
    ``j``, that year is planned by this year (``due``) and it still has
    units to sell this year (``rest`` >= 0): the year whole (``rest >=
    left``: its revenue and cost less what earlier parts took; the head
    moves to year ``j + 1``, planned in ``year_next`` with ``units_next``)
    or a part (its share ``rest / units``); else it keeps its numbers
    (selects, no branches). ``rest`` becomes -1 where the lane is done for
    the year; ``year`` is the planned year of the head.
    """
    here = (rest >= 0.0) & (at == j) & due
    whole = here & (rest >= left)
    part = here & (not (rest >= left)) & (rest > 0.0)
    fraction = rest / units
    r = revenue * fraction
    c = cost * fraction
    whole_revenue = revenue_t + (revenue - taken)
    part_revenue = revenue_t + r
    whole_cost = cost_t + (cost - taken_cost)
    part_cost = cost_t + c
    taken_part = taken + r
    taken_cost_part = taken_cost + c
    rest_after = rest - left
    left_part = left - rest
    revenue_t = whole_revenue if whole else (part_revenue if part else revenue_t)
    cost_t = whole_cost if whole else (part_cost if part else cost_t)
    taken = 0.0 if whole else (taken_part if part else taken)
    taken_cost = 0.0 if whole else (taken_cost_part if part else taken_cost)
    year = year_next if whole else year
    at = j + 1 if whole else at
    left = units_next if whole else (left_part if part else left)
    stop = (here & (not whole)) | (whole & (rest_after == 0.0))
    rest = -1.0 if stop else (rest_after if whole else rest)
    return at, left, rest, taken, taken_cost, year, revenue_t, cost_t


@_stage
def _sell_two_planned_years(
    state, head, p, revenue_row, linked_row, t, j, revenue, cost, units, due, revenue_next, cost_next, units_next,
    units_after, year_next, year_after,
):  # pragma: no cover - compiled; tested through allocate_market  # fmt: skip
    """Two steps of the FIFO of :func:`allocate_market` (:func:`_sell_step`) in one pass over the lanes.

    Participant ``p`` sells in year ``t`` from its planned year ``j``
    (revenue, cost, units), then, where ``due`` (planned by year ``t``),
    from year ``j + 1`` (``revenue_next``, ``cost_next``, ``units_next``,
    planned in ``year_next``; the units of the year after it
    ``units_after``, planned in ``year_after``), in every lane. Each lane's
    numbers stay in registers between the two steps: half the loads and
    stores of a pass per step (the loop runs as vector instructions).
    Returns the lanes that may still sell: units left to sell this year
    and a head planned by year ``t``.
    """
    going = 0
    for b in range(MARKET_LANES):
        at = head[p, b]
        left = state[p, _LEFT, b]
        rest = state[p, _REST, b]
        taken = state[p, _TAKEN, b]
        taken_cost = state[p, _TAKEN_COST, b]
        year = state[p, _HEAD_YEAR, b]
        revenue_t = revenue_row[b]
        cost_t = linked_row[b]
        at, left, rest, taken, taken_cost, year, revenue_t, cost_t = _sell_step(
            at, left, rest, taken, taken_cost, year, revenue_t, cost_t, j, True, revenue, cost, units, units_next,
            year_next,
        )  # fmt: skip
        at, left, rest, taken, taken_cost, year, revenue_t, cost_t = _sell_step(
            at, left, rest, taken, taken_cost, year, revenue_t, cost_t, j + 1, due, revenue_next, cost_next,
            units_next, units_after, year_after,
        )  # fmt: skip
        revenue_row[b] = revenue_t
        linked_row[b] = cost_t
        state[p, _TAKEN, b] = taken
        state[p, _TAKEN_COST, b] = taken_cost
        state[p, _HEAD_YEAR, b] = year
        head[p, b] = at
        state[p, _LEFT, b] = left
        state[p, _REST, b] = rest
        going += 1 if (rest >= 0.0) & (year <= t) else 0
    return going


@_stage
def _sell_opening_years(
    plan, absorption, first, count, m, state, head, market_revenues, market_linked, market_start, market_end,
):  # pragma: no cover - compiled; tested through allocate_market  # fmt: skip
    """The opening years of market ``m`` in :func:`allocate_market`: up to the first in which it binds in a lane.

    From the market's first year with planned units, as long as the market
    takes the whole offer in every lane (the offers' total, the planned units
    of the year, at most the lane's absorption), no lane has a backlog: each
    participant sells its planned year ``t`` whole, alike in every lane, and
    its FIFO is one step at its head, year ``t``. This does that step's
    operations (revenue and tied cost ``+ (planned - 0.0)``, the head and
    its planned year a planned year on and its units left, the first and
    last year of the flows) without the offers, shares and masked steps,
    and returns the year from which :func:`allocate_market` goes on
    (``n_years``: nothing left to sell in any lane). The total is added
    participant by participant as there (``total + (0.0 + units)``, the
    backlog 0), so the numbers are the same bit for bit. Lanes past
    ``count`` sell nothing.
    """
    n_years = plan.n_years
    units_by_year = plan.market_units_by_year
    lo = plan.market_first[m]
    hi = plan.market_first[m + 1]
    t = plan.market_begin[m]
    while t < n_years:
        total = 0.0
        for p in range(lo, hi):
            total = total + (0.0 + units_by_year[t, p])
        if t >= plan.market_last[m] and total == 0.0:  # nothing planned later and nothing left: done
            return n_years
        binds = 0
        for b in range(count):
            binds += 0 if total <= absorption[first + b, m, t] else 1
        if binds > 0:
            return t
        for p in range(lo, hi):
            if units_by_year[t, p] == 0.0:  # nothing offered: no sale
                continue
            q = plan.market_column[p]
            lag = plan.market_lag[p]
            j = head[p, 0]  # planned year t: every earlier one is sold whole, in every lane
            revenue = plan.market_planned_revenue[p, j] - 0.0  # the year whole, less the 0 that parts took
            cost = plan.market_planned_cost[p, j] - 0.0
            units_next = plan.market_planned_units[p, j + 1]
            year_next = plan.market_planned_year[p, j + 1]
            end = (t + lag if t + lag < n_years - 1 else n_years - 1) + 1
            for b in range(count):
                market_revenues[q, t, b] = market_revenues[q, t, b] + revenue
                market_linked[q, t + lag, b] = market_linked[q, t + lag, b] + cost
                head[p, b] = j + 1
                state[p, _LEFT, b] = units_next
                state[p, _HEAD_YEAR, b] = year_next
                market_start[q, b] = t if t < market_start[q, b] else market_start[q, b]
                market_end[q, b] = end if end > market_end[q, b] else market_end[q, b]
        t += 1
    return t


@_stage
def allocate_market(
    plan, absorption, first, count, lane, state, head, market_revenues, market_linked, market_start, market_end,
):  # pragma: no cover - compiled; tested against grex.market.allocate  # fmt: skip
    """Stage *allocate_market* (issue 15): :func:`grex.market.allocate` of up to :data:`MARKET_LANES` draws at once.

    Each year each market sells the units its participants offer (planned
    units of the year plus their backlog) up to the draw's ``absorption``
    (D, M, >= n_years); above it, each sells ``offer * (absorption / total)``.
    The units sold come from the planned years oldest first (FIFO); a
    planned year sold whole brings its revenue (and tied cost) less what
    earlier parts took, a part its share.

    Draws ``first ... first + count - 1`` run side by side, one per lane
    (the last axis of every work array), so that each loop over the lanes
    runs as vector instructions: the offers and their total (added
    participant by participant, in order, in each lane; the offers of a
    year add up the next year's total as they leave their backlogs), the
    share, and the FIFO, a step per planned year (:func:`_sell_step`, two a
    pass over the lanes: :func:`_sell_two_planned_years`) from the oldest
    head of the lanes that sell on, each lane taking part only where its
    own head is. A lane sells in a year exactly where it has units to sell
    (``rest`` > 0) and its head is planned by then (its first step then
    sells the head whole or a part, for the head's units left are > 0), so
    the first and last year of the flows are set from that before the FIFO,
    and lanes that do not sell skip it (``rest`` -1). Every lane does the
    operations of one draw in the order the
    scalar version does them, so the numbers are the numpy version's bit
    for bit whichever draws share a batch; lanes past ``count`` sell
    nothing. Market by market, year by year (a complex in two markets adds
    the second market's flows to the first's, as before); a market's
    opening years, up to the first in which it binds in a lane, without the
    offers, shares and masked steps (:func:`_sell_opening_years`: there each
    participant sells its planned year whole in every lane).

    Work arrays: ``lane`` (3, L), ``state`` (P, :data:`MARKET_STATE_ROWS`, L:
    backlog, units left of the head, revenue and cost its parts took, units
    to sell this year, the head's planned year) and ``head`` (P, L) int.
    Adds to ``market_revenues`` (C, n_years, L) and
    ``market_linked`` (C, >= n_years + the largest lag + 1, L; the rows past
    ``n_years`` take the costs tied to sales too late to count), zeros on
    entry, by column; sets ``market_start``, ``market_end`` (C, L): the
    first year and one past the last that hold such a flow (end 0: none).
    """
    n_years = plan.n_years
    P = plan.market_complex.shape[0]
    units_by_year = plan.market_units_by_year
    sentinel = plan.market_planned_year.shape[1] - 1  # its year is past every year: no more planned units
    for p in range(P):
        q = plan.market_column[p]
        units = plan.market_planned_units[p, 0]
        year = plan.market_planned_year[p, 0]
        for b in range(MARKET_LANES):
            market_start[q, b] = n_years
            market_end[q, b] = 0
            state[p, _BACKLOG, b] = 0.0
            state[p, _LEFT, b] = units
            state[p, _TAKEN, b] = 0.0
            state[p, _TAKEN_COST, b] = 0.0
            head[p, b] = 0 if b < count else sentinel
            state[p, _HEAD_YEAR, b] = year if b < count else n_years
    for m in range(plan.market_first.shape[0] - 1):
        lo = plan.market_first[m]
        hi = plan.market_first[m + 1]
        binding = _sell_opening_years(
            plan, absorption, first, count, m, state, head, market_revenues, market_linked, market_start, market_end
        )
        for t in range(binding, n_years):  # from the first year in which the market binds in a lane
            if t == binding:  # the offers' total, participant by participant (later years': the offers below)
                for b in range(MARKET_LANES):
                    lane[_TOTAL, b] = 0.0
                for p in range(lo, hi):
                    units = units_by_year[t, p]
                    for b in range(MARKET_LANES):
                        lane[_TOTAL, b] = lane[_TOTAL, b] + (state[p, _BACKLOG, b] + units)
            if t >= plan.market_last[m]:  # nothing planned later: done where nothing is left in any lane
                offering = 0
                for b in range(MARKET_LANES):
                    offering += 1 if lane[_TOTAL, b] != 0.0 else 0
                if offering == 0:
                    break
            for b in range(MARKET_LANES):
                a = absorption[first + b, m, t] if b < count else 1.0
                total = lane[_TOTAL, b]
                everything = total <= a
                lane[_SHARE, b] = a / (1.0 if everything else total)
                lane[_EVERY, b] = 1.0 if everything else 0.0
                lane[_TOTAL, b] = 0.0  # next year's total from here
            later = t + 1 if t + 1 < n_years else t  # (the last year's next total is not used)
            for p in range(lo, hi):
                q = plan.market_column[p]
                lag = plan.market_lag[p]
                units = units_by_year[t, p]
                units_later = units_by_year[later, p]
                # the units each lane sells (rest: +inf where it sells everything offered, -1 where nothing)
                oldest = sentinel
                selling = 0
                for b in range(MARKET_LANES):
                    o = state[p, _BACKLOG, b] + units
                    everything = lane[_EVERY, b] > 0.0
                    s = o * lane[_SHARE, b]
                    backlog = 0.0 if everything else o - s
                    state[p, _BACKLOG, b] = backlog
                    lane[_TOTAL, b] = lane[_TOTAL, b] + (backlog + units_later)
                    rest = -1.0 if ((o == 0.0) | (b >= count)) else (np.inf if everything else s)
                    sale = (rest > 0.0) & (state[p, _HEAD_YEAR, b] <= t)
                    state[p, _REST, b] = rest if sale else -1.0
                    at = head[p, b] if sale else sentinel
                    oldest = at if at < oldest else oldest
                    selling += 1 if sale else 0
                if selling == 0:
                    continue
                end = (t + lag if t + lag < n_years - 1 else n_years - 1) + 1
                for b in range(MARKET_LANES):  # (a loop of its own: vector instructions)
                    sale = state[p, _REST, b] > 0.0
                    year = t if sale else n_years
                    market_start[q, b] = year if year < market_start[q, b] else market_start[q, b]
                    year = end if sale else 0
                    market_end[q, b] = year if year > market_end[q, b] else market_end[q, b]
                # the FIFO, a planned year at a time from the oldest head of the lanes that sell
                j = oldest
                revenue_row = market_revenues[q, t]
                linked_row = market_linked[q, t + lag]
                while True:  # two planned years a pass (year j is due, so j + 1 is in the table)
                    due = plan.market_planned_year[p, j + 1] <= t
                    after = j + 2 if due else j + 1  # past the table only where year j + 1 is not due
                    going = _sell_two_planned_years(
                        state,
                        head,
                        p,
                        revenue_row,
                        linked_row,
                        t,
                        j,
                        plan.market_planned_revenue[p, j],
                        plan.market_planned_cost[p, j],
                        plan.market_planned_units[p, j],
                        due,
                        plan.market_planned_revenue[p, j + 1],
                        plan.market_planned_cost[p, j + 1],
                        plan.market_planned_units[p, j + 1],
                        plan.market_planned_units[p, after],
                        plan.market_planned_year[p, j + 1],
                        plan.market_planned_year[p, after],
                    )
                    j += 2
                    if going == 0 or not due or plan.market_planned_year[p, j] > t:
                        break


@_stage
def market_by_draw(
    market_start, market_end, market_revenues, market_linked, draw_revenues, draw_linked, with_linked
):  # pragma: no cover - compiled; tested against the numpy engine
    """The flows of a batch of :func:`allocate_market` laid out draw by draw, for :func:`add_market`.

    :func:`allocate_market` leaves a draw's flows in one lane of
    ``market_revenues`` and ``market_linked`` (C, years, L): a year of one
    draw 256 bytes from the next. This copies the years ``first ... last -
    1`` that hold a flow in any lane (all columns, all lanes) to
    ``draw_revenues`` and ``draw_linked`` (n_years, L, C): a draw's year a
    contiguous row over the columns, as :func:`retime` lays out its flows
    (year by year, the batch's rows of that year side by side in the cache).
    It sets what it read back to zero (the next batch's allocation adds to
    zeros; the rows of ``market_linked`` past ``n_years``, tied costs too
    late to count, are neither read nor reset, as before). Outside a lane's
    own years of flows the copies are the allocation's zeros. Without tied
    costs (``with_linked`` false: no planned cost in the market, so
    ``market_linked`` holds zeros only) the tied costs are neither copied
    nor reset. Returns ``(first, last)`` (``first >= last``: no flow in the
    batch); the rows outside them hold whatever was there (never read).
    """
    C = market_start.shape[0]
    first = draw_revenues.shape[0]
    last = 0
    for q in range(C):
        for b in range(MARKET_LANES):
            end = market_end[q, b]
            if end > 0:
                first = min(first, market_start[q, b])
                last = max(last, end)
    for t in range(first, last):
        for q in range(C):
            for b in range(MARKET_LANES):
                draw_revenues[t, b, q] = market_revenues[q, t, b]
            for b in range(MARKET_LANES):
                market_revenues[q, t, b] = 0.0
        if with_linked:
            for q in range(C):
                for b in range(MARKET_LANES):
                    draw_linked[t, b, q] = market_linked[q, t, b]
                for b in range(MARKET_LANES):
                    market_linked[q, t, b] = 0.0
    return first, last


@_stage
def add_market(
    lane, first, last, with_linked, draw_revenues, draw_linked, market_start, market_end, retimed_revenues,
    retimed_linked, window_lo, window_hi, span_end, needed, bounds,
):  # pragma: no cover - compiled; tested against the numpy engine  # fmt: skip
    """Add the market's flows of one draw (lane ``lane`` of :func:`allocate_market`) to the re-timed ones,
    and widen each window to hold them.

    The flows come from :func:`market_by_draw` (``draw_revenues``,
    ``draw_linked`` and its years ``first ... last - 1``; the market adds
    +0.0 outside them, and to the tied costs where ``with_linked`` is
    false); ``market_start``, ``market_end`` (C, L) are the allocation's
    years of each column's flows in each lane (end 0: none, the column keeps
    its window and its numbers). In each column's new window (the old one
    and the market's years), year by year over the columns side by side
    (vector instructions): the re-timed flow inside the old window, 0.0
    outside it, plus the market's flow (its +0.0 outside its years: the
    window's years before and after them, and those between the two). The
    same operations as column by column, so the same numbers. ``bounds``
    (4, C) int is work space. Returns the years from V the index factors
    must cover.
    """
    C = retimed_revenues.shape[1]
    begin = retimed_revenues.shape[0]
    stop = 0
    for q in range(C):
        end = market_end[q, lane]
        if end == 0:  # no flow in this draw: the column as it is (an empty new window)
            bounds[0, q] = 0
            bounds[1, q] = 0
            bounds[2, q] = 0
            bounds[3, q] = 0
            continue
        start = market_start[q, lane]
        lo = window_lo[q]
        hi = window_hi[q]
        if lo >= hi:
            lo = start
            hi = start
        new_lo = min(lo, start)
        new_hi = max(hi, end)
        bounds[0, q] = new_lo
        bounds[1, q] = new_hi
        bounds[2, q] = lo
        bounds[3, q] = hi
        window_lo[q] = new_lo
        window_hi[q] = new_hi
        span_end[q] = max(span_end[q], new_hi)
        needed = max(needed, span_end[q])
        begin = min(begin, new_lo)
        stop = max(stop, new_hi)
    for t in range(begin, stop):
        held = first <= t < last  # a row of this batch (else the market's +0.0)
        held_linked = held and with_linked
        row = draw_revenues[t if held else 0, lane]
        row_linked = draw_linked[t if held_linked else 0, lane]
        for q in range(C):
            new = (bounds[0, q] <= t) & (t < bounds[1, q])
            inside = (bounds[2, q] <= t) & (t < bounds[3, q])
            revenue = retimed_revenues[t, q]
            linked = retimed_linked[t, q]
            market_revenue = row[q] if held else 0.0
            market_linked = row_linked[q] if held_linked else 0.0
            added_revenue = (revenue if inside else 0.0) + market_revenue
            added_linked = (linked if inside else 0.0) + market_linked
            retimed_revenues[t, q] = added_revenue if new else revenue
            retimed_linked[t, q] = added_linked if new else linked
    return needed


@_stage
def retime_complex(
    revenues, linked_costs, c, pad, anchor_f, lag, p, lo, hi, out_revenues, out_linked, q
):  # pragma: no cover - compiled
    # drivers.retime for the years lo ... hi - 1 of complex c, into column q: the shares of the
    # preimage [a, a + pace] of each simulated year t (the tables carry `pad` zero columns on each
    # side, so no index leaves them). After the first share, ceil(pace) steps of at most a year
    # always suffice (rest < pace, and rest - 1.0 is exact). Like drivers.retime, every step adds
    # its term, also when its share is 0: the term is then a zero, and adding a zero leaves the
    # sum as it is unless the sum is -0.0, which it never is (the first share is > 0, and the
    # tables, sums from +0.0, hold no -0.0; only an amount so small, below 1e-290 EUR, that its
    # product with a share underflows could give one). No branch depends on the data, which
    # keeps the loop fast; paces up to 1 and up to 2 (nearly all draws) have their steps written out.
    # (Unsigned years and indices: the compiler then knows no index wraps around.)
    revenue_row = revenues[c]
    linked_row = linked_costs[c]
    steps = int(math.ceil(p))
    one = np.uint64(1)
    two = np.uint64(2)
    column = np.uint64(q)
    for t in range(np.uint64(max(lo, 0)), np.uint64(max(hi, 0))):
        a = anchor_f + ((t - anchor_f) - lag) * p
        j0 = np.floor(a)
        j = np.uint64(max(int(j0) + pad, 0))
        share = min((j0 + 1.0) - a, p)
        rest = p - share
        revenue = revenue_row[j] * share
        linked = linked_row[j] * share
        if steps == 1:
            share = min(rest, 1.0)
            revenue = revenue + revenue_row[j + one] * share
            linked = linked + linked_row[j + one] * share
        elif steps == 2:
            share = min(rest, 1.0)
            rest = rest - share
            revenue = revenue + revenue_row[j + one] * share
            linked = linked + linked_row[j + one] * share
            share = min(rest, 1.0)
            revenue = revenue + revenue_row[j + two] * share
            linked = linked + linked_row[j + two] * share
        else:
            for m in range(1, steps + 1):
                share = min(rest, 1.0)
                rest = rest - share
                revenue = revenue + revenue_row[j + np.uint64(m)] * share
                linked = linked + linked_row[j + np.uint64(m)] * share
        out_revenues[t, column] = revenue
        out_linked[t, column] = linked


@_stage
def retime(
    revenues, linked_costs, pad, anchor, sales_end, has_sales, static_end, column, risk_complex, risk_index, n_years,
    pace, delay, retimed_revenues, retimed_linked, window_lo, window_hi, span_end,
):  # pragma: no cover - compiled; tested against drivers.retime  # fmt: skip
    """Stage *retime*: :func:`grex.drivers.retime` of one draw, and the years each complex can have a flow in.

    Parameters
    ----------
    revenues, linked_costs, pad, anchor, sales_end, has_sales, static_end, column, risk_complex, risk_index, n_years
        The plan's (:class:`KernelPlan`).
    pace, delay : ndarray, shape (C,)
        The draw's pace factor and start delay of each complex.
    retimed_revenues, retimed_linked : ndarray, shape (n_years, C), output
        Re-timed revenues and sales-linked costs by year and column, written
        for the years of the window only. [EUR, price level]
    window_lo, window_hi, span_end : ndarray of int, shape (C,), output
        By column: the years ``window_lo ... window_hi - 1`` that the sales
        curve can reach (the re-timed flows are zero outside them), and one
        past the last year that can hold a flow (fixed costs, sales, risks).

    Returns
    -------
    int
        Years from V that the index factors of this draw must cover (at least 1).
    """
    R = risk_complex.shape[0]
    needed = 1
    for c in range(pace.shape[0]):
        t_end = static_end[c]
        k_lo = 0
        k_hi = 0
        if has_sales[c]:
            anchor_f = float(anchor[c])
            lag = delay[c]
            k_lo = max(0, int(math.floor(anchor_f + lag)) - 2)
            k_hi = min(n_years, int(math.ceil(anchor_f + lag + (sales_end[c] - anchor_f) / pace[c])) + 2)
            t_end = max(t_end, k_hi)
        for r in range(R):
            if risk_complex[r] == c:
                t_end = max(t_end, risk_index[r] + 1)
        t_end = min(t_end, n_years)
        q = column[c]
        window_lo[q] = k_lo
        window_hi[q] = k_hi
        span_end[q] = t_end
        needed = max(needed, t_end)
        if k_lo < k_hi:
            retime_complex(
                revenues,
                linked_costs,
                c,
                pad,
                float(anchor[c]),
                delay[c],
                pace[c],
                k_lo,
                k_hi,
                retimed_revenues,
                retimed_linked,
                q,
            )
    return needed


@_stage
def retime_categories(plan, pace, delay, window_lo, window_hi, retimed_category):  # pragma: no cover - compiled
    """Stage *retime_categories*: :func:`retime` of the sales-linked costs of each group of kostensoorten.

    Only with a cost index per kostensoort (``plan.category_count``): the
    same re-timing as :func:`retime`, over the same windows (``window_lo``,
    ``window_hi`` by column, from :func:`retime`), two groups at a time,
    into ``retimed_category`` (K, n_years, C), written inside the windows only.
    """
    K = plan.category_count
    if K == 0:
        return
    for c in range(pace.shape[0]):
        q = plan.column[c]
        k_lo = window_lo[q]
        k_hi = window_hi[q]
        if k_lo < k_hi:
            # the groups with sales-linked costs of this complex, two at a time (the others stay 0)
            k = -1
            while True:
                k = k + 1
                while k < K and not plan.category_has_linked[k, c]:
                    k = k + 1
                if k >= K:
                    break
                k2 = k + 1
                while k2 < K and not plan.category_has_linked[k2, c]:
                    k2 = k2 + 1
                if k2 >= K:
                    k2 = k
                retime_complex(
                    plan.category_linked_costs[k],
                    plan.category_linked_costs[k2],
                    c,
                    plan.pad,
                    float(plan.anchor[c]),
                    delay[c],
                    pace[c],
                    k_lo,
                    k_hi,
                    retimed_category[k],
                    retimed_category[k2],
                    q,
                )
                k = k2


@_stage
def index_factors(
    out, rates, base, rate_offset, n_years, shock, use_shock, freeze, cum
):  # pragma: no cover - compiled; tested against grex.core.index_factors
    """Stage *index_factors*: :func:`grex.core.index_factors` of each group of rate row and price level.

    ``out[g, t] = cum[rate_offset + t] / cum[base[g]]`` for ``t < n_years``,
    ``cum`` the cumulative product of ``(1 + rate)`` over the grid (as far as
    these columns and the price level year need it). With ``use_shock`` the
    draw's ``shock`` is added to the rates from V on, and rates from grid
    index ``freeze`` on are zero (:func:`grex.core.freeze_rates`; -1: none).

    Parameters
    ----------
    out : ndarray, shape (groups, >= n_years), output
    rates : ndarray, shape (groups, >= rate_offset + n_years)
    base : ndarray of int, shape (groups,)
    shock : ndarray, shape (>= n_years,)
    cum : ndarray, shape (>= rate_offset + n_years + 1,)
        Work space.
    """
    for g in range(rates.shape[0]):
        product = 1.0
        cum[0] = product
        for s in range(max(rate_offset + n_years - 1, base[g])):
            r = rates[g, s]
            if use_shock:
                if s >= rate_offset:
                    r = r + shock[s - rate_offset]
                if freeze >= 0 and s >= freeze:
                    r = 0.0
            product = product * (1.0 + r)
            cum[s + 1] = product
        b = cum[base[g]]
        for t in range(n_years):
            out[g, t] = cum[rate_offset + t] / b


@_stage
def with_margin(indexed, margin):  # pragma: no cover - compiled
    """The nominal cost of an indexed cost: ``indexed + indexed * margin`` (the uncertainty margin on it)."""
    return indexed + indexed * margin


@_stage
def nominal_flow(cost, revenue, cost_factor, revenue_factor, margin):  # pragma: no cover - compiled
    """:func:`grex.core.nominal_flows` of one complex and year: ``(nominal cost, nominal revenue)``.

    ``indexed = cost * cost_factor``; the nominal cost is :func:`with_margin` of it,
    the nominal revenue ``revenue * revenue_factor``.
    """
    return with_margin(cost * cost_factor, margin), revenue * revenue_factor


@_stage
def _start_totals(total_costs, total_revenues, first_index, last_flow):  # pragma: no cover - compiled
    # The running totals of the nominal_flows stages start at zero, with no first or last flow (-1).
    for q in range(total_costs.shape[0]):
        total_costs[q] = 0.0
        total_revenues[q] = 0.0
        last_flow[q] = -1
        first_index[q] = -1


@_stage
def _flow_at_price_level(fixed_costs, t, q, retimed_revenues, retimed_linked, w_lo, w_hi):  # pragma: no cover
    # A column's flows of year t at price level: (cost, revenue); the re-timed ones only inside its window
    # w_lo ... w_hi - 1 (selects, not branches).
    inside = (w_lo <= t) & (t < w_hi)
    revenue = retimed_revenues[t, q]
    linked = retimed_linked[t, q]
    revenue = revenue if inside else 0.0
    linked = linked if inside else 0.0
    return linked + fixed_costs[t, q], revenue


@_stage
def _book_year(
    t, q, live, cost, revenue, nominal_cost, nominal_revenue, net, total_costs, total_revenues, first_index, last_flow
):  # pragma: no cover - compiled
    # One column's year in the nominal_flows stages: the net flow, the first and last flow, the running totals.
    flow = (cost != 0.0) | (revenue != 0.0)
    last_flow[q] = t if (live & flow) else last_flow[q]
    value = nominal_cost - nominal_revenue
    net[t, q] = value if live else 0.0
    nonzero = (nominal_cost != 0.0) | (nominal_revenue != 0.0)
    first_index[q] = t if (live & (first_index[q] < 0) & nonzero) else first_index[q]
    more_costs = total_costs[q] + nominal_cost
    more_revenues = total_revenues[q] + nominal_revenue
    total_costs[q] = more_costs if live else total_costs[q]
    total_revenues[q] = more_revenues if live else total_revenues[q]


@_stage
def _carry_totals(t, lo, hi, total_costs, total_revenues, cum_costs, cum_revenues):  # pragma: no cover - compiled
    # The running totals after year t, kept for the reserve path's years.
    if t < cum_costs.shape[0]:
        for q in range(np.uint64(lo), np.uint64(hi)):
            cum_costs[t, q] = total_costs[q]
            cum_revenues[t, q] = total_revenues[q]


@_stage
def _carry_totals_on(needed, total_costs, total_revenues, cum_costs, cum_revenues):  # pragma: no cover - compiled
    # The years of the reserve path after the last simulated flow keep the final totals.
    for t in range(needed, cum_costs.shape[0]):
        for q in range(cum_costs.shape[1]):
            cum_costs[t, q] = total_costs[q]
            cum_revenues[t, q] = total_revenues[q]


@_stage
def _pair_by_year(
    fixed_costs, column_margin, lo, hi, needed, cost_row, revenue_row, retimed_revenues, retimed_linked, window_lo,
    window_hi, span_end, net, total_costs, total_revenues, cum_costs, cum_revenues, first_index, last_flow,
):  # pragma: no cover - compiled  # fmt: skip
    # nominal_flows of the columns lo ... hi - 1 year by year, the columns side by side (vector instructions),
    # each complex up to the end of its span (selects, not branches), every year up to `needed`.
    for t in range(needed):
        f_cost = cost_row[t]
        f_revenue = revenue_row[t]
        # (Unsigned columns: the compiler then knows no index wraps around, and vectorises.)
        for q in range(np.uint64(lo), np.uint64(hi)):
            live = t < span_end[q]
            cost, revenue = _flow_at_price_level(
                fixed_costs, t, q, retimed_revenues, retimed_linked, window_lo[q], window_hi[q]
            )
            nominal_cost, nominal_revenue = nominal_flow(cost, revenue, f_cost, f_revenue, column_margin[q])
            _book_year(
                t,
                q,
                live,
                cost,
                revenue,
                nominal_cost,
                nominal_revenue,
                net,
                total_costs,
                total_revenues,
                first_index,
                last_flow,
            )
        _carry_totals(t, lo, hi, total_costs, total_revenues, cum_costs, cum_revenues)


@_stage
def _pair_by_column(
    fixed_costs, column_margin, lo, hi, cost_row, revenue_row, retimed_revenues, retimed_linked, window_lo,
    window_hi, span_end, net, total_costs, total_revenues, cum_costs, cum_revenues, first_index, last_flow,
):  # pragma: no cover - compiled  # fmt: skip
    # nominal_flows of the columns lo ... hi - 1 column by column, each over its own span only, its running
    # totals, first and last flow in registers (the years after the span are not written).
    years = cum_costs.shape[0]
    for q in range(lo, hi):
        end = span_end[q]
        w_lo = window_lo[q]
        w_hi = window_hi[q]
        margin = column_margin[q]
        costs = 0.0
        revenues = 0.0
        first = -1
        last = -1
        column = np.uint64(q)
        for t in range(np.uint64(0), np.uint64(end)):
            cost, revenue = _flow_at_price_level(fixed_costs, t, column, retimed_revenues, retimed_linked, w_lo, w_hi)
            nominal_cost, nominal_revenue = nominal_flow(cost, revenue, cost_row[t], revenue_row[t], margin)
            net[t, column] = nominal_cost - nominal_revenue
            costs = costs + nominal_cost
            revenues = revenues + nominal_revenue
            if t < years:
                cum_costs[t, column] = costs
                cum_revenues[t, column] = revenues
            last = np.int64(t) if ((cost != 0.0) | (revenue != 0.0)) else last
            nonzero = (nominal_cost != 0.0) | (nominal_revenue != 0.0)
            first = np.int64(t) if ((first < 0) & nonzero) else first
        total_costs[q] = costs
        total_revenues[q] = revenues
        first_index[q] = first
        last_flow[q] = last


@_stage
def nominal_flows(
    first_of_pair,
    n_revenue_groups,
    fixed_costs,
    column_margin,
    needed,
    cost_factor,
    revenue_factor,
    retimed_revenues,
    retimed_linked,
    window_lo,
    window_hi,
    span_end,
    net,
    total_costs,
    total_revenues,
    cum_costs,
    cum_revenues,
    first_index,
    last_flow,
):  # pragma: no cover - compiled; tested against the numpy engine
    """Stage *nominal_flows*: indexation and margin (:func:`nominal_flow`), net flows and running totals.

    Pair by pair of index groups, one of two loops over the same operations
    (issue 17), chosen per draw by the work each leaves out:

    - year by year up to ``needed``, the columns of the pair side by side
      (vector instructions), each complex up to the end of its span with
      selects, not branches: fast where most columns are live in most years
      (the standard workload: 50 complexes of 40 years);
    - column by column, each over its own span only, with its running
      totals, first and last flow in registers: fast where the spans differ
      (the example: the longest complex of a draw needs about 28 years, the
      19 complexes together about 212 column-years, not 19 x 28).

    The second runs where the pair's spans add up to less than half of
    ``needed`` times its columns. Both do the same operations per complex
    and year, in year order: the same numbers.

    ``first_of_pair``, ``fixed_costs``, ``column_margin``: the plan's;
    ``n_revenue_groups`` the rows of its ``revenue_rates``.

    Outputs, by column: ``net`` (n_years, C) costs minus revenues [EUR,
    nominal] for the years of the span (the loop by year writes 0 in the
    years after it up to ``needed``, the loop by column leaves them:
    :func:`close_spans` zeroes those a later stage reads); ``total_costs``,
    ``total_revenues`` and, per year of the reserve path, ``cum_costs``,
    ``cum_revenues`` (years, C) the running sums (in year order, as
    ``numpy.cumsum``; the years after a span keep its final totals);
    ``first_index`` the first year with a non-zero nominal flow (-1: none)
    and ``last_flow`` the last year with a non-zero flow at price level (-1:
    none), for :func:`grex.core.end_index`.
    """
    pairs = first_of_pair.shape[0] - 1
    years = cum_costs.shape[0]
    _start_totals(total_costs, total_revenues, first_index, last_flow)
    for k in range(pairs):
        lo = first_of_pair[k]
        hi = first_of_pair[k + 1]
        if lo == hi:
            continue
        cost_row = cost_factor[k // n_revenue_groups]
        revenue_row = revenue_factor[k % n_revenue_groups]
        span_years = 0
        for q in range(lo, hi):
            span_years += span_end[q]
        # the cost of each loop, estimated (tenths of a nanosecond, measured on the benchmark machine): the loop
        # by year runs groups of 32 columns with vector instructions (about 0.3 ns a column-year), the rest one
        # by one (3.5 ns); the loop by column 4.3 ns a year of a span
        vector = (hi - lo) // 32 * 32
        if 43 * span_years < needed * (35 * (hi - lo - vector) + 3 * vector):
            _pair_by_column(
                fixed_costs, column_margin, lo, hi, cost_row, revenue_row, retimed_revenues, retimed_linked, window_lo, window_hi,
                span_end, net, total_costs, total_revenues, cum_costs, cum_revenues, first_index, last_flow,
            )  # fmt: skip
        else:
            _pair_by_year(
                fixed_costs, column_margin, lo, hi, needed, cost_row, revenue_row, retimed_revenues, retimed_linked, window_lo,
                window_hi, span_end, net, total_costs, total_revenues, cum_costs, cum_revenues, first_index,
                last_flow,
            )  # fmt: skip
    # the years of the reserve path after a span keep its final totals (a pass of its own: written inside the
    # loop by column, it made that loop twice as slow)
    for q in range(span_end.shape[0]):
        for t in range(min(span_end[q], years), years):
            cum_costs[t, q] = total_costs[q]
            cum_revenues[t, q] = total_revenues[q]


@_stage
def nominal_flows_by_category(
    plan,
    needed,
    cost_factor,
    revenue_factor,
    retimed_revenues,
    retimed_linked,
    retimed_category,
    window_lo,
    window_hi,
    span_end,
    net,
    total_costs,
    total_revenues,
    cum_costs,
    cum_revenues,
    first_index,
    last_flow,
    indexed,
    market_tied,
):  # pragma: no cover - compiled; tested against the numpy engine
    """Stage *nominal_flows* with a cost index per kostensoort (:func:`grex.core.nominal_flows` with ``indexed_costs``).

    As :func:`nominal_flows`, with the indexed cost of each complex and year
    the sum, group by group from zero, of the group's costs (its re-timed
    sales-linked part plus its fixed part) times the index factor of the
    group's rate row (:meth:`grex.valuation.ModelInputs.indexed_costs`); the
    margin on that sum. The years with a flow still count the costs at
    price level of all groups together. ``indexed`` (C,) is work space.
    ``market_tied`` (n_years, C; no rows without a market): the costs tied to
    the units a market sold (:func:`allocate_market`), added to the group
    ``plan.market_group`` of their column as :func:`grex.montecarlo.numpy_engine._indexed_costs` adds them.
    """
    with_market = market_tied.shape[0] > 0
    K = plan.category_count
    n_revenue_groups = plan.revenue_rates.shape[0]
    pairs = plan.first_of_pair.shape[0] - 1
    _start_totals(total_costs, total_revenues, first_index, last_flow)
    for k in range(pairs):
        lo = plan.first_of_pair[k]
        hi = plan.first_of_pair[k + 1]
        if lo == hi:
            continue
        groups = plan.category_groups[k // n_revenue_groups]
        revenue_row = revenue_factor[k % n_revenue_groups]
        for t in range(needed):
            f_revenue = revenue_row[t]
            for q in range(np.uint64(lo), np.uint64(hi)):
                indexed[q] = 0.0
            for j in range(K):
                f_cost = cost_factor[groups[j], t]
                for q in range(np.uint64(lo), np.uint64(hi)):
                    inside = (window_lo[q] <= t) & (t < window_hi[q])
                    linked = retimed_category[j, t, q]
                    linked = linked if inside else 0.0
                    group_cost = linked + plan.category_fixed_costs[j, t, q]
                    if with_market:  # the market's tied costs of this group (issue 15 with 14b)
                        group_cost = group_cost + (market_tied[t, q] if plan.market_group[q] == j else 0.0)
                    indexed[q] = indexed[q] + group_cost * f_cost
            for q in range(np.uint64(lo), np.uint64(hi)):
                live = t < span_end[q]
                cost, revenue = _flow_at_price_level(
                    plan.fixed_costs, t, q, retimed_revenues, retimed_linked, window_lo[q], window_hi[q]
                )
                nominal_cost = with_margin(indexed[q], plan.column_margin[q])
                nominal_revenue = revenue * f_revenue
                _book_year(
                    t,
                    q,
                    live,
                    cost,
                    revenue,
                    nominal_cost,
                    nominal_revenue,
                    net,
                    total_costs,
                    total_revenues,
                    first_index,
                    last_flow,
                )
            _carry_totals(t, lo, hi, total_costs, total_revenues, cum_costs, cum_revenues)
    _carry_totals_on(needed, total_costs, total_revenues, cum_costs, cum_revenues)


@_stage
def end_index(column, given_end_index, last_flow, last_index):  # pragma: no cover - compiled; tested against core
    """Stage *end_index*: :func:`grex.core.end_index` by column.

    The given end year where there is one (``given_end_index``, by complex),
    but never before the last year with a flow (``last_flow``, -1: none); a
    complex with neither ends in V. ``column``: the plan's.
    """
    for c in range(column.shape[0]):
        q = column[c]
        last_index[q] = max(max(last_flow[q], 0), given_end_index[c])


@_stage
def add_risks(
    risk_complex, risk_index, risk_is_cost, column, cost_group, revenue_group, risk, cost_factor, revenue_factor, net,
    last_index,
):  # pragma: no cover - compiled  # fmt: skip
    """Stage *add_risks*: each risk event adds a cost (or removes revenue) in its year.

    Indexed with the complex's factor of that year, without margin, not
    re-timed; an event moves the end year to its year where that is later.
    ``risk`` (R,) holds the draw's amounts (0: no event). [EUR, price level]
    The other arrays before it are the plan's (:class:`KernelPlan`).
    """
    for r in range(risk.shape[0]):
        c = risk_complex[r]
        q = column[c]
        t = risk_index[r]
        f = cost_factor[cost_group[c], t] if risk_is_cost[r] else revenue_factor[revenue_group[c], t]
        net[t, q] = net[t, q] + risk[r] * f
        if risk[r] != 0.0:
            last_index[q] = max(last_index[q], t)


@_stage
def close_spans(column, book_value, span_end, last_index, net, balance):  # pragma: no cover - compiled
    """Zero the net flows from the end of each span through the end year, and start each balance at the book value.

    (The rows past a span may hold an earlier draw's figures: the work
    arrays are reused from draw to draw.) ``column``, ``book_value``: the plan's.
    """
    for c in range(column.shape[0]):
        q = column[c]
        for t in range(span_end[q], last_index[q] + 1):
            net[t, q] = 0.0
        balance[q] = book_value[c]


@_stage
def roll_book_value(balance, rate, net, last_index):  # pragma: no cover - compiled; tested against grex.core
    """Stage *roll_book_value*: :func:`grex.core.roll_book_value`, complexes side by side.

    ``B_{t+1} = (B_t + rate * B_t) + net_t`` for every year up to and
    including the end year; after it the balance stands still.

    Parameters
    ----------
    balance : ndarray, shape (C,), input and output
        The book value at 1-1-V in, the balance at 31-12-E out. [EUR]
    rate : float
        Rekenrente. [decimal per year]
    net : ndarray, shape (>= max(last_index) + 1, C)
        Net flow of each year. [EUR, nominal]
    last_index : ndarray of int, shape (C,)
        The end year index E - V.
    """
    C = balance.shape[0]
    roll_years = 0
    for q in range(C):
        roll_years = max(roll_years, last_index[q] + 1)
    # independent chains, vectorised over the complexes
    for t in range(roll_years):
        for q in range(C):
            b = balance[q]
            rolled = (b + rate * b) + net[t, q]
            balance[q] = rolled if t <= last_index[q] else b


@_stage
def roll_book_value_by_year(balance, shift, rates, net, last_index):  # pragma: no cover - compiled
    """Stage *roll_book_value* with a rekenrente per year (:func:`grex.core.roll_book_value`, ``rate_by_year``).

    As :func:`roll_book_value`, with the rate of year t ``rates[t] + shift``
    (the draw's shift of ``montecarlo.interest`` added to every year's rate).
    """
    C = balance.shape[0]
    roll_years = 0
    for q in range(C):
        roll_years = max(roll_years, last_index[q] + 1)
    for t in range(roll_years):
        rate = rates[t] + shift
        for q in range(C):
            b = balance[q]
            rolled = (b + rate * b) + net[t, q]
            balance[q] = rolled if t <= last_index[q] else b


@_stage
def present_value_of_flows(plan, net, last_index, terms, partial, out):  # pragma: no cover - compiled
    """Stage *present_value_of_flows*: :func:`grex.core.present_value_of_flows` of every complex, by column.

    ``out[q] = -book_value + sum_t (revenues_t - costs_t) * discount[t]``
    over the draw's nominal flows (``-net``: margin and risks included,
    interest left out) of the years V ... E, the later years of the horizon
    as zeros (as :func:`grex.core.valuate`), summed over the years in
    numpy's pairwise order (:func:`pairwise_sum`), the complexes side by side:
    up to 128 years as eight interleaved partial sums (numpy's block), longer
    horizons column by column through :func:`pairwise_sum`. ``terms``
    (n_years, C), ``partial`` (8, C) are work space.
    """
    n = terms.shape[0]
    C = terms.shape[1]
    for t in range(n):
        f = plan.discount[t]
        for q in range(C):
            value = -net[t, q] * f
            terms[t, q] = value if t <= last_index[q] else 0.0
    if n > _PW_BLOCKSIZE:
        column = np.empty(n)
        for q in range(C):
            for t in range(n):
                column[t] = terms[t, q]
            out[q] = pairwise_sum(column, 0, n)
    elif n < 8:
        for q in range(C):
            out[q] = -0.0
        for t in range(n):
            for q in range(C):
                out[q] = out[q] + terms[t, q]
    else:
        for k in range(8):
            for q in range(C):
                partial[k, q] = terms[k, q]
        i = 8
        stop = n - (n % 8)
        while i < stop:
            for k in range(8):
                for q in range(C):
                    partial[k, q] = partial[k, q] + terms[i + k, q]
            i += 8
        for q in range(C):
            out[q] = ((partial[0, q] + partial[1, q]) + (partial[2, q] + partial[3, q])) + (
                (partial[4, q] + partial[5, q]) + (partial[6, q] + partial[7, q])
            )
        while i < n:
            for q in range(C):
                out[q] = out[q] + terms[i, q]
            i += 1
    for c in range(C):
        q = plan.column[c]
        out[q] = out[q] - plan.book_value[c]


@_stage
def provision(result, applies):  # pragma: no cover - compiled; tested against grex.core.provision
    """:func:`grex.core.provision` of one complex: the full expected loss, as a positive amount."""
    return -result if (applies and result < 0.0) else 0.0


@_stage
def poc_profit(
    result, realised_costs, remaining_costs, realised_revenues, remaining_revenues, profit_taken, applies
):  # pragma: no cover - compiled; tested against grex.core.poc_profit
    """:func:`grex.core.poc_profit` of one complex (the shares only where the profit uses them)."""
    if not (applies and result > 0.0 and realised_revenues > 0.0):
        return 0.0
    whole_costs = realised_costs + remaining_costs
    cost_share = realised_costs / whole_costs if whole_costs != 0.0 else 0.0
    whole_revenues = realised_revenues + remaining_revenues
    revenue_share = realised_revenues / whole_revenues if whole_revenues != 0.0 else 0.0
    return cost_share * revenue_share * result - profit_taken


@_stage
def reserve_entries(
    realised_costs,
    realised_revenues,
    profit_taken,
    provision_balance,
    adopted_complex,
    in_preparation,
    provision_on_present_value,
    poc_on_present_value,
    n_years,
    c,
    q,
    end_value,
    present_value,
    last,
    start,
    cum_costs,
    cum_revenues,
    total_costs,
    total_revenues,
    change,
):  # pragma: no cover - compiled; tested against grex.montecarlo.reserve.reserve_path
    """Stage *reserve_entries*: the entries of complex ``c`` in the general reserve path, added to ``change``.

    The conventions of :func:`grex.montecarlo.reserve.reserve_path`: the
    dotation, the provision formed less the balance at 31-12-(V - 1)
    (returned; charged in year V by :func:`reserve_path`),
    the interim profit (POC) of each year before the end year, the expected
    loss of a complex in preparation in its start year, the settlement in the
    end year. ``change`` (years,) is set by complex 0 and added to by the
    others, in the order of the complexes (as ``numpy.sum`` over them).
    The arguments before ``c`` are the plan's (:class:`KernelPlan`;
    ``adopted_complex`` its ``adopted``).
    """
    years = change.shape[0]
    provision_result = present_value if provision_on_present_value else end_value
    result = present_value if poc_on_present_value else end_value
    adopted = adopted_complex[c]
    provision_formed = provision(provision_result, adopted)
    expected_loss = max(-provision_result, 0.0) if in_preparation[c] else 0.0
    pt = profit_taken[c]
    # poc_profit is 0.0 in every year where the complex is not adopted or its result not positive: its divisions
    # only where it can give a profit (issue 17). The interim profit taken by each year, its entry and the
    # settlement (with the profit taken before the end year, `before` there) in one pass over the years.
    poc = adopted and result > 0.0
    before = pt
    for y in range(years):
        value = 0.0
        if poc:
            column_y = min(y, n_years - 1)
            cc = cum_costs[column_y, q]
            cr = cum_revenues[column_y, q]
            value = poc_profit(
                result,
                realised_costs[c] + cc,
                total_costs - cc,
                realised_revenues[c] + cr,
                total_revenues - cr,
                pt,
                adopted,
            )
        taken = pt + value
        entry = taken - before if y < last else 0.0
        entry -= expected_loss if y == start else 0.0
        settlement = end_value + provision_formed + expected_loss - before
        entry += settlement if y == last else 0.0
        change[y] = entry if c == 0 else change[y] + entry
        before = taken
    return provision_formed - provision_balance[c]


@_stage
def reserve_path(general_reserve, change, provisions, out):  # pragma: no cover - compiled
    """Stage *reserve_path*: the reserve at 1-1-V, then at 31 December of each year.

    The dotations (``provisions`` (C,), summed in numpy's pairwise order)
    are charged in year V; ``out`` (years + 1,) is written.
    """
    change[0] -= pairwise_sum(provisions, 0, provisions.shape[0])
    out[0] = general_reserve
    running = 0.0
    for y in range(change.shape[0]):
        running = change[y] if y == 0 else running + change[y]
        out[y + 1] = general_reserve + running


@_stage
def _planned_curves(cum_revenues, revenue_table, cum_linked, linked_table, c, x):  # pragma: no cover - compiled
    # grex.montecarlo.revaluation._curve of the revenues and the linked costs at one value x: the planned
    # curves summed from plan time 0 to x (one plan year and fraction for both).
    P = revenue_table.shape[1]
    if x >= P:
        return cum_revenues[c, P], cum_linked[c, P]
    if x <= 0.0:
        return 0.0, 0.0
    j = min(max(int(math.floor(x)), 0), P - 1)
    fraction = x - float(j)
    return cum_revenues[c, j] + fraction * revenue_table[c, j], cum_linked[c, j] + fraction * linked_table[c, j]


@_stage
def _expected_sales(
    cum_revenues,
    revenue_table,
    cum_linked,
    linked_table,
    fixed_costs,
    sales,
    last,
    sales_end,
    fixed_end,
    c,
    s,
    x,
    speed,
    steps,
):  # pragma: no cover - compiled
    # The expected sales of complex c from year s on, as the revaluation at the end of year s - 1 expects
    # them (the plan's curve from plan time x at `speed` plan years per year), into steps[0 (revenues) /
    # 1 (linked costs), t, c]; returns the year the expected balance is read at (at least `last`). One
    # pass over the expected years, the curve read once at each year boundary (the upper bound of year t
    # is the lower bound of year t + 1: the same number); it stops once nothing more can flow (past the
    # plan's last sales year, no fixed cost left, the end year passed): the numpy version adds exact zeros
    # for those years. (The arrays come one by one: a stage called in a loop takes no plan.)
    T = fixed_costs.shape[1]
    lo_revenue = 0.0
    lo_linked = 0.0
    if sales:
        lo_revenue, lo_linked = _planned_curves(
            cum_revenues, revenue_table, cum_linked, linked_table, c, x + (s - s) * speed
        )
    for t in range(s, T):
        if t >= fixed_end and t > last:
            if not sales:
                break
            if x + (t - s) * speed >= sales_end:
                break
        revenue = 0.0
        linked = 0.0
        if sales:
            hi = x + (t - s + 1) * speed if t < T - 1 else np.inf
            hi_revenue, hi_linked = _planned_curves(cum_revenues, revenue_table, cum_linked, linked_table, c, hi)
            revenue = hi_revenue - lo_revenue
            linked = hi_linked - lo_linked
            lo_revenue = hi_revenue
            lo_linked = hi_linked
        steps[0, t, c] = revenue
        steps[1, t, c] = linked
        cost = linked + fixed_costs[c, t]
        last = max(last, t) if ((cost != 0.0) | (revenue != 0.0)) else last
    return last


@_stage
def _roll_expected(
    grid_revenues,
    grid_linked,
    fixed_costs,
    cost_factor,
    revenue_factor,
    rates,
    s,
    through,
    interest,
    last,
    on_grid,
    steps,
    cost_level,
    revenue_level,
    margin,
    expected,
    costs,
    revenues,
):  # pragma: no cover - compiled
    # The expected years s ... through of every complex side by side (vector instructions): indexation at
    # the expected price level, margin, the remaining nominal costs and revenues summed in year order, the
    # expected balance rolled at the rekenrente (rates[t] + interest; interest alone where rates has no
    # rows); complex c up to its year last[c] (after it nothing flows: the numpy version adds exact zeros
    # and keeps the balance read there). The flows at price level are the plan grid's (grid_revenues,
    # grid_linked) where on_grid[c], else the draw's (steps, from _expected_sales); fixed_costs and the
    # plan's index factors year first (n_years, C).
    C = fixed_costs.shape[1]
    by_year = rates.shape[0] > 0
    for t in range(s, through + 1):
        rate = rates[t] + interest if by_year else interest
        for c in range(np.uint64(0), np.uint64(C)):
            live = t <= last[c]
            grid = on_grid[c] != 0
            revenue = grid_revenues[t, c] if grid else steps[0, t, c]
            linked = grid_linked[t, c] if grid else steps[1, t, c]
            cost = linked + fixed_costs[t, c]
            nominal_cost, nominal_revenue = nominal_flow(
                cost, revenue, cost_factor[t, c] * cost_level[c], revenue_factor[t, c] * revenue_level[c], margin[c]
            )
            more_costs = costs[c] + nominal_cost
            more_revenues = revenues[c] + nominal_revenue
            balance = expected[c]
            rolled = (balance + rate * balance) + (nominal_cost - nominal_revenue)
            costs[c] = more_costs if live else costs[c]
            revenues[c] = more_revenues if live else revenues[c]
            expected[c] = rolled if live else balance


@_stage
def revalue_yearly(
    plan,
    d,
    interest,
    pace,
    delay,
    cost_shock,
    price_shock,
    net,
    cum_costs,
    cum_revenues,
    total_costs,
    total_revenues,
    first_index,
    last_index,
    cost_factor,
    revenue_factor,
    cum,
    change,
    out,
):  # pragma: no cover - compiled; tested against grex.montecarlo.revaluation.revalue_yearly
    """Stage *revalue_yearly*: the yearly revaluation of one draw (issue 16), after the roll.

    :func:`grex.montecarlo.revaluation.revalue_yearly` for draw ``d``, the
    same operations in the same order: at the end of each year of the path
    the portfolio is valued again (realised flows and book value through the
    year as the draw made them, the remaining flows as then expected under
    ``plan.foresight``); the provisions are formed or released, the interim
    profit taken on that estimate, a complex in preparation charged in its
    start year, each complex settled in its end year. Writes
    ``out.revalued[d]``, ``out.provision[d]`` and ``out.estimate[d]``
    (``out.end_value`` and ``out.present_value`` of the draw must be
    written). ``cost_factor``, ``revenue_factor`` (groups, n_years),
    ``cum`` and ``change`` (years,) are work space.

    Revaluation by revaluation, the complexes side by side: the expected
    sales of each complex at its expected pace (on the plan's own grid read
    from ``plan.grid_revenues``, ``grid_linked``, ``grid_last``, else the
    curve read year by year, :func:`_expected_sales`), then the expected
    years of all complexes at once (:func:`_roll_expected`), then the
    entries complex by complex, added in the order of the complexes.
    """
    T = plan.n_years
    C = plan.column.shape[0]
    years = change.shape[0]
    rule = plan.foresight
    horizon = plan.revaluation_years
    weight = plan.learning_rate
    estimated = min(years, horizon) if rule > 0 else 0  # the revaluations with an expected future
    if rule > 1 and estimated > 0:
        # the draw's price level of the years revalued (the adaptive rule's; the roll needed the factors
        # only as far as its flows, and the factor of a year does not depend on how many years are made)
        n = min(estimated, T)
        index_factors(
            cost_factor, plan.cost_rates, plan.cost_base, plan.rate_offset, n, cost_shock, plan.shock_costs, -1, cum
        )
        index_factors(
            revenue_factor,
            plan.revenue_rates,
            plan.revenue_base,
            plan.rate_offset,
            n,
            price_shock,
            plan.shock_prices,
            plan.revenue_freeze,
            cum,
        )
    held = out.provision[d]
    estimate = out.estimate[d]
    for i in range(years):
        change[i] = 0.0
        held[i] = 0.0
        estimate[i] = 0.0
    # per complex: the book value, the provision, the profit taken and the loss charged so far; the
    # revaluation's expected balance and remaining nominal costs and revenues, its expected price levels
    # (what the side-by-side pass writes in arrays of its own: the compiler can then tell them apart)
    lanes = np.empty((7, C))
    actual = lanes[0]
    previous_provision = lanes[1]
    previous_taken = lanes[2]
    charged = lanes[3]
    cost_level = lanes[4]
    revenue_level = lanes[5]
    margin = lanes[6]
    expected = np.empty(C)
    remaining_costs = np.empty(C)
    remaining_revenues = np.empty(C)
    flags = np.empty((2, C), dtype=np.int64)
    last = flags[0]  # the year the expected balance is read at (-1: no estimate)
    on_grid = flags[1]
    steps = np.empty((2, T if estimated > 0 else 0, C))
    grid_rows = plan.grid_last.shape[0]
    for c in range(C):
        actual[c] = plan.book_value[c]
        previous_provision[c] = plan.provision_balance[c]
        previous_taken[c] = plan.profit_taken[c]
        charged[c] = 0.0
        margin[c] = plan.column_margin[plan.column[c]]
    for i in range(years):
        t_i = min(i, T - 1)
        rate = plan.interest_rates[t_i] + interest if plan.interest_by_year else interest
        for c in range(C):
            q = plan.column[c]
            rolled = (actual[c] + rate * actual[c]) + (net[t_i, q] if i < T else 0.0)
            actual[c] = rolled if i <= last_index[q] else actual[c]
        if i < estimated:
            s = i + 1
            through = s - 1
            for c in range(C):
                expected[c] = actual[c]
                remaining_costs[c] = 0.0
                remaining_revenues[c] = 0.0
                cost_level[c] = 1.0
                revenue_level[c] = 1.0
                on_grid[c] = 1
                last[c] = -1
                if i >= last_index[plan.column[c]]:  # (a settled complex needs no estimate)
                    continue
                x = float(s)
                speed = 1.0
                if plan.has_sales[c]:
                    anchor = float(plan.anchor[c])
                    observed = 1.0
                    if s > anchor:
                        begun = (s - anchor) - delay[c]
                        x = anchor + max(begun, 0.0) * pace[c]
                        observed = (x - anchor) / begun if begun > 0.0 else 1.0
                    if rule != 1:
                        speed = max((1.0 - weight) + weight * observed, _MIN_PACE)
                if rule != 1:
                    cost_level[c] = (1.0 - weight) + weight * (
                        cost_factor[plan.cost_group[c], t_i] / plan.plan_cost_factor[c, t_i]
                    )
                    revenue_level[c] = (1.0 - weight) + weight * (
                        revenue_factor[plan.revenue_group[c], t_i] / plan.plan_revenue_factor[c, t_i]
                    )
                if s >= T:  # no expected year left
                    last[c] = min(max(s, plan.given_end_index[c]), T - 1)
                elif speed == 1.0 and x == float(s) and i < grid_rows:
                    last[c] = plan.grid_last[i, c]
                else:
                    on_grid[c] = 0
                    last[c] = _expected_sales(
                        plan.plan_cum_revenues, plan.plan_revenues, plan.plan_cum_linked, plan.plan_linked,
                        plan.plan_fixed_costs, plan.has_sales[c], min(max(s, plan.given_end_index[c]), T - 1),
                        plan.sales_end[c], plan.static_end[c], c, s, x, speed, steps,
                    )  # fmt: skip
                through = max(through, last[c])
            _roll_expected(
                plan.grid_revenues, plan.grid_linked, plan.fixed_by_year, plan.cost_factor_by_year,
                plan.revenue_factor_by_year, plan.interest_rates[: T if plan.interest_by_year else 0], s, through,
                interest, last, on_grid, steps, cost_level, revenue_level, margin, expected, remaining_costs,
                remaining_revenues,
            )  # fmt: skip
        for c in range(C):
            q = plan.column[c]
            E = last_index[q]
            end_value = out.end_value[d, c]
            present_value = out.present_value[d, c]
            pt = plan.profit_taken[c]
            adopted = plan.adopted[c]
            cc = cum_costs[i, q]
            cr = cum_revenues[i, q]
            if i >= estimated or i >= E:
                ev = end_value
                pv = present_value
                costs = total_costs[q] - cc
                revenues = total_revenues[q] - cr
            else:
                ev = -expected[c]
                pv = ev * plan.discount[last[c]]
                costs = remaining_costs[c]
                revenues = remaining_revenues[c]
            basis = pv if plan.provision_on_present_value else ev
            required = provision(basis, adopted)
            result = pv if plan.poc_on_present_value else ev
            taken = pt + poc_profit(
                result, plan.realised_costs[c] + cc, costs, plan.realised_revenues[c] + cr, revenues, pt, adopted
            )
            loss = max(-basis, 0.0) if plan.in_preparation[c] else 0.0
            open_ = i < E
            first = open_ and i == max(first_index[q], 0)
            entry = -(required - previous_provision[c]) + (taken - previous_taken[c])
            entry = entry - (loss if first else 0.0)
            settlement = end_value + previous_provision[c] + charged[c] - previous_taken[c]
            entry = entry if open_ else (settlement if i == E else 0.0)
            change[i] = change[i] + entry
            held[i] = held[i] + (required if open_ else 0.0)
            estimate[i] = estimate[i] + (pv if open_ else present_value)
            charged[c] = loss if first else charged[c]
            previous_provision[c] = required if open_ else previous_provision[c]
            previous_taken[c] = taken if open_ else previous_taken[c]
    path = out.revalued[d]
    path[0] = plan.general_reserve
    running = 0.0
    for i in range(years):
        running = change[i] if i == 0 else running + change[i]
        path[i + 1] = plan.general_reserve + running


def _value_draws(draws, plan, out):  # pragma: no cover - compiled per variant; tested against the numpy engine
    """Value a set of draws: end year, end value, present value and reserve path of each.

    The body of :func:`value_draws`, compiled once per variant (:func:`kernel_for`): the
    branches of the stages a variant leaves out (``_MARKET`` ... ``_YEARLY`` false) are
    removed before compiling.

    Each draw passes the stages in this order (the comments mark where two
    stages still to come enter):

    1. :func:`allocate_market` (only with a market; at every
       :data:`MARKET_LANES`-th draw, for the batch of draws from it): the
       programme's units sold as each draw's absorption allows, shared pro rata;
       then :func:`market_by_draw` lays the batch's flows out draw by draw;
    2. :func:`retime` the revenues and sales-linked costs, then
       :func:`add_market` adds the market's flows;
    3. :func:`index_factors` of the cost and the revenue rate groups, with the
       draw's shocks;
    4. :func:`nominal_flows`: indexation, margin, net flows, running totals
       (with a cost index per kostensoort :func:`retime_categories` and
       :func:`nominal_flows_by_category`);
    5. :func:`end_index`, then :func:`add_risks` (which can move it);
    6. :func:`close_spans` and :func:`roll_book_value` with the draw's rekenrente
       (:func:`roll_book_value_by_year` with a rate per year);
    7. *(the yearly revaluation along the path comes after 9)*
    8. end value and present value (discounting by the table of
       :func:`grex.core.discount_factor`, or :func:`present_value_of_flows`);
    9. :func:`reserve_entries` of each complex (:func:`provision`,
       :func:`poc_profit`) and the :func:`reserve_path`;
    10. :func:`revalue_yearly` (issue 16): the path with a revaluation at the
        end of each year; it replaces the reserve path where
        ``plan.foresight`` is not perfect.

    Parameters
    ----------
    draws : Draws
    plan : KernelPlan
    out : Outputs
        Written for every draw.
    """
    D, C = draws.pace.shape
    n_years = plan.n_years
    # The plan's arrays the stages of every variant use, taken from it once: a stage that took the plan (some 65
    # arrays) would cost a reference count update of each of them per call wherever numba fails to prune those
    # (issue 17; python benchmarks/refcounts.py counts them).
    revenues = plan.revenues
    linked_costs = plan.linked_costs
    pad = plan.pad
    anchor = plan.anchor
    sales_end = plan.sales_end
    has_sales = plan.has_sales
    static_end = plan.static_end
    column = plan.column
    first_of_pair = plan.first_of_pair
    n_revenue_groups = plan.revenue_rates.shape[0]
    fixed_costs = plan.fixed_costs
    column_margin = plan.column_margin
    cost_group = plan.cost_group
    revenue_group = plan.revenue_group
    book_value = plan.book_value
    discount = plan.discount
    given_end_index = plan.given_end_index
    risk_complex = plan.risk_complex
    risk_index = plan.risk_index
    risk_is_cost = plan.risk_is_cost
    realised_costs = plan.realised_costs
    realised_revenues = plan.realised_revenues
    profit_taken = plan.profit_taken
    provision_balance = plan.provision_balance
    adopted = plan.adopted
    in_preparation = plan.in_preparation
    provision_on_present_value = plan.provision_on_present_value
    poc_on_present_value = plan.poc_on_present_value
    valuation_year = plan.valuation_year
    cost_rates = plan.cost_rates
    cost_base = plan.cost_base
    revenue_rates = plan.revenue_rates
    revenue_base = plan.revenue_base
    rate_offset = plan.rate_offset
    general_reserve = plan.general_reserve
    years = out.reserve.shape[1] - 1
    G = plan.rate_offset + n_years
    # Work arrays, reused from draw to draw: per group, per year and column (year first: contiguous
    # rows for the loops over the columns), per column, per year of the reserve path.
    cum = np.empty(G + 1)
    cost_factor = np.empty((plan.cost_rates.shape[0], n_years))
    revenue_factor = np.empty((plan.revenue_rates.shape[0], n_years))
    net = np.zeros((n_years, C))
    retimed_revenues = np.zeros((n_years, C))
    retimed_linked = np.zeros((n_years, C))
    retimed_category = np.zeros((plan.category_count, n_years, C))
    indexed = np.empty(C)
    terms = np.empty((n_years if plan.present_value_of_flows else 0, C))
    partial = np.empty((8, C))
    flows_value = np.empty(C)
    cum_costs = np.empty((years, C))
    cum_revenues = np.empty((years, C))
    window_lo = np.empty(C, dtype=np.int64)
    window_hi = np.empty(C, dtype=np.int64)
    span_end = np.empty(C, dtype=np.int64)
    last_flow = np.empty(C, dtype=np.int64)
    first_index = np.empty(C, dtype=np.int64)
    last_index = np.empty(C, dtype=np.int64)
    total_costs = np.empty(C)
    total_revenues = np.empty(C)
    balance = np.empty(C)
    provisions = np.empty(C)
    change = np.empty(years)
    # the market (issue 15): a batch of MARKET_LANES draws allocated at once, a lane per draw
    n_participants = plan.market_complex.shape[0]
    market_years = n_years if n_participants > 0 else 0
    market_lane = np.empty((3, MARKET_LANES))
    market_state = np.empty((n_participants, MARKET_STATE_ROWS, MARKET_LANES))
    market_head = np.empty((n_participants, MARKET_LANES), dtype=np.int64)
    market_revenues = np.zeros((C, market_years, MARKET_LANES))
    linked_years = market_years + (np.max(plan.market_lag) + 1 if n_participants > 0 else 0)
    market_linked = np.zeros((C, linked_years, MARKET_LANES))
    market_start = np.zeros((C, MARKET_LANES), dtype=np.int64)
    market_end = np.zeros((C, MARKET_LANES), dtype=np.int64)
    # the batch's flows draw by draw (market_by_draw; read in its years first ... last - 1 only, so not
    # zeroed: megabytes, each call) and add_market's work space; the tied costs only where the market
    # has any (else market_linked holds zeros only)
    draw_revenues = np.empty((market_years, MARKET_LANES, C))
    draw_linked = np.empty((market_years, MARKET_LANES, C))
    market_first = 0
    market_last = 0
    market_bounds = np.empty((4, C if n_participants > 0 else 0), dtype=np.int64)
    with_linked = False
    for p in range(n_participants):
        for j in range(plan.market_planned_cost.shape[1]):
            with_linked = with_linked or plan.market_planned_cost[p, j] != 0.0
    with_market_tied = _MARKET and _BY_CATEGORY and n_participants > 0 and plan.category_count > 0
    market_tied = np.zeros((n_years, C) if with_market_tied else (0, C))
    # yearly revaluation (issue 16)
    revalue_change = np.empty(years)
    for d in range(D):
        for y in range(years):
            change[y] = -0.0
        lane = d % MARKET_LANES
        if _MARKET and n_participants > 0 and lane == 0:  # the next batch of draws
            allocate_market(
                plan, draws.absorption, d, min(MARKET_LANES, D - d), market_lane, market_state, market_head,
                market_revenues, market_linked, market_start, market_end,
            )  # fmt: skip
            market_first, market_last = market_by_draw(
                market_start, market_end, market_revenues, market_linked, draw_revenues, draw_linked, with_linked
            )
        needed = retime(
            revenues, linked_costs, pad, anchor, sales_end, has_sales, static_end, column, risk_complex, risk_index,
            n_years, draws.pace[d], draws.delay[d], retimed_revenues, retimed_linked, window_lo, window_hi, span_end,
        )  # fmt: skip
        if (
            _MARKET and _BY_CATEGORY and with_market_tied
        ):  # the market's tied costs kept apart for their group of kostensoorten
            for t in range(n_years):
                held = with_linked and market_first <= t < market_last
                for q in range(C):
                    market_tied[t, q] = draw_linked[t, lane, q] if held else 0.0
        if _MARKET and n_participants > 0:
            needed = add_market(
                lane, market_first, market_last, with_linked, draw_revenues, draw_linked, market_start, market_end,
                retimed_revenues, retimed_linked, window_lo, window_hi, span_end, needed, market_bounds,
            )  # fmt: skip
        index_factors(
            cost_factor,
            cost_rates,
            cost_base,
            rate_offset,
            needed,
            draws.cost_shock[d],
            plan.shock_costs,
            -1,
            cum,
        )
        index_factors(
            revenue_factor,
            revenue_rates,
            revenue_base,
            rate_offset,
            needed,
            draws.price_shock[d],
            plan.shock_prices,
            plan.revenue_freeze,
            cum,
        )
        if not _BY_CATEGORY or plan.category_count == 0:
            nominal_flows(
                first_of_pair,
                n_revenue_groups,
                fixed_costs,
                column_margin,
                needed,
                cost_factor,
                revenue_factor,
                retimed_revenues,
                retimed_linked,
                window_lo,
                window_hi,
                span_end,
                net,
                total_costs,
                total_revenues,
                cum_costs,
                cum_revenues,
                first_index,
                last_flow,
            )
        else:  # a cost index per kostensoort
            retime_categories(plan, draws.pace[d], draws.delay[d], window_lo, window_hi, retimed_category)
            nominal_flows_by_category(
                plan,
                needed,
                cost_factor,
                revenue_factor,
                retimed_revenues,
                retimed_linked,
                retimed_category,
                window_lo,
                window_hi,
                span_end,
                net,
                total_costs,
                total_revenues,
                cum_costs,
                cum_revenues,
                first_index,
                last_flow,
                indexed,
                market_tied,
            )
        end_index(column, given_end_index, last_flow, last_index)
        add_risks(
            risk_complex, risk_index, risk_is_cost, column, cost_group, revenue_group, draws.risk[d], cost_factor,
            revenue_factor, net, last_index,
        )  # fmt: skip
        close_spans(column, book_value, span_end, last_index, net, balance)
        if _RATE_BY_YEAR and plan.interest_by_year:
            roll_book_value_by_year(balance, draws.interest[d], plan.interest_rates, net, last_index)
        else:
            roll_book_value(balance, draws.interest[d], net, last_index)
        # (7. yearly revaluation along the path: after the reserve path, stage revalue_yearly)
        if _PV_OF_FLOWS and plan.present_value_of_flows:
            present_value_of_flows(plan, net, last_index, terms, partial, flows_value)
        for c in range(C):
            q = column[c]
            last = last_index[q]
            ev = -balance[q]
            if _PV_OF_FLOWS and plan.present_value_of_flows:
                pv = flows_value[q]
            else:
                pv = ev * discount[last]
            out.end_year[d, c] = valuation_year + last
            out.end_value[d, c] = ev
            out.present_value[d, c] = pv
            provisions[c] = reserve_entries(
                realised_costs,
                realised_revenues,
                profit_taken,
                provision_balance,
                adopted,
                in_preparation,
                provision_on_present_value,
                poc_on_present_value,
                n_years,
                c,
                q,
                ev,
                pv,
                last,
                max(first_index[q], 0),
                cum_costs,
                cum_revenues,
                total_costs[q],
                total_revenues[q],
                change,
            )
        reserve_path(general_reserve, change, provisions, out.reserve[d])
        # 7. yearly revaluation along the path (issue 16)
        if not _YEARLY or not plan.yearly:
            continue
        revalue_yearly(
            plan,
            d,
            draws.interest[d],
            draws.pace[d],
            draws.delay[d],
            draws.cost_shock[d],
            draws.price_shock[d],
            net,
            cum_costs,
            cum_revenues,
            total_costs,
            total_revenues,
            first_index,
            last_index,
            cost_factor,
            revenue_factor,
            cum,
            revalue_change,
            out,
        )
        if plan.foresight > 0:  # the rule's path becomes the reserve path; today's reading is kept beside it
            for y in range(years + 1):
                perfect = out.reserve[d, y]
                out.reserve[d, y] = out.revalued[d, y]
                out.revalued[d, y] = perfect


# -- the variants of value_draws: each scenario compiles only the stages it uses --

#: The stages a variant of :func:`value_draws` may leave out, in the order of :func:`variant`'s flags
#: (the market of issue 15, a cost index per kostensoort, a rekenrente per year, the present value of
#: the flows, the yearly revaluation of issue 16), with the word each adds to the variant's name.
VARIANT_STAGES = ("market", "categories", "rate_by_year", "pv_of_flows", "yearly")
# The module's own values: every stage (the body read as a whole). A variant compiles the body with
# its own values of these names, so numba drops the branches of the stages it leaves out before it
# inlines and compiles them.
_MARKET = _BY_CATEGORY = _RATE_BY_YEAR = _PV_OF_FLOWS = _YEARLY = True
_FLAG_NAMES = ("_MARKET", "_BY_CATEGORY", "_RATE_BY_YEAR", "_PV_OF_FLOWS", "_YEARLY")
_kernels: dict[tuple[bool, ...], Any] = {}
_kernels_lock = threading.Lock()


def variant(plan: KernelPlan) -> tuple[bool, ...]:
    """Which stages the plan uses: one flag per entry of :data:`VARIANT_STAGES`."""
    market = plan.market_complex is not None and plan.market_complex.shape[0] > 0
    return (
        market,
        plan.category_count > 0,
        bool(plan.interest_by_year),
        bool(plan.present_value_of_flows),
        bool(plan.yearly),
    )


def variant_name(flags: tuple[bool, ...]) -> str:
    """The name of a variant's compiled function (and of its files in numba's cache): ``value_draws``,
    ``value_draws_market``, ``value_draws_market_yearly`` ..."""
    return "_".join(["value_draws", *(stage for stage, on in zip(VARIANT_STAGES, flags, strict=True) if on)])


def kernel_for(plan: KernelPlan) -> Any:
    """The compiled :func:`value_draws` for the stages the plan uses (:func:`variant`), compiled on its first call.

    Each variant is the body :func:`_value_draws` with its own values of the flags, under its own
    name, so numba caches it in its own files (the index of a cached function is its name and its
    bytecode, which the variants share) and compiles only the stages it keeps: the first simulation
    of a kind of scenario compiles its variant once per install. A variant with more stages gives
    the same numbers for a plan that does not use them (the branches test the plan too).
    """
    return _kernel(variant(plan))


def _variant_function(flags: tuple[bool, ...]) -> types.FunctionType:
    """The body :func:`_value_draws` as the Python function of one variant (not compiled yet)."""
    namespace = dict(globals())
    namespace.update(zip(_FLAG_NAMES, flags, strict=True))
    name = variant_name(flags)
    body = types.FunctionType(_value_draws.__code__, namespace, name)
    body.__qualname__ = name  # numba names the variant's cache files after it
    body.__doc__ = _value_draws.__doc__
    return body


def _kernel(flags: tuple[bool, ...]) -> Any:
    """The compiled variant of ``flags`` (one dispatcher per variant and process)."""
    kernel = _kernels.get(flags)
    if kernel is None:
        with _kernels_lock:
            kernel = _kernels.get(flags)
            if kernel is None:
                kernel = _kernels[flags] = _compiled(_variant_function(flags))
    return kernel


def value_draws(draws: Draws, plan: KernelPlan, out: Outputs) -> None:
    """Value a set of draws with the variant of the kernel its plan needs (:func:`kernel_for`, :func:`_value_draws`)."""
    kernel_for(plan)(draws, plan, out)


# -- the random-number transforms (the numpy versions are in grex.montecarlo.streams and grex.drivers) --

#: 2**53: a double of ``Generator.random`` times this is a whole number.
_TWO53 = 9007199254740992.0
_TWO53_INVERSE = 1.0 / 9007199254740992.0
#: exp(-2): the bound of the central approximation of Cephes ``ndtri``.
_EXP_M2 = 0.13533528323661269189
_ONE_MINUS_EXP_M2 = 1.0 - 0.13533528323661269189
#: sqrt(2 pi).
_S2PI = 2.50662827463100050242e0
# z = sqrt(-2 log y) between 2 and 8.
_P1 = np.array(
    [
        4.05544892305962419923e0,
        3.15251094599893866154e1,
        5.71628192246421288162e1,
        4.40805073893200834700e1,
        1.46849561928858024014e1,
        2.18663306850790267539e0,
        -1.40256079171354495875e-1,
        -3.50424626827848203418e-2,
        -8.57456785154685413611e-4,
    ]
)
_Q1 = np.array(
    [
        1.57799883256466749731e1,
        4.53907635128879210584e1,
        4.13172038254672030440e1,
        1.50425385692907503408e1,
        2.50464946208309415979e0,
        -1.42182922854787788574e-1,
        -3.80806407691578277194e-2,
        -9.33259480895457427372e-4,
    ]
)
# z between 8 and 64.
_P2 = np.array(
    [
        3.23774891776946035970e0,
        6.91522889068984211695e0,
        3.93881025292474443415e0,
        1.33303460815807542389e0,
        2.01485389549179081538e-1,
        1.23716634817820021358e-2,
        3.01581553508235416007e-4,
        2.65806974686737550832e-6,
        6.23974539184983293730e-9,
    ]
)
_Q2 = np.array(
    [
        6.02427039364742014255e0,
        3.67983563856160859403e0,
        1.37702099489081330271e0,
        2.16236993594496635890e-1,
        1.34204006088543189037e-2,
        3.28014464682127739104e-4,
        2.89247864745380683936e-6,
        6.79019408009981274425e-9,
    ]
)


@_compiled
def _polevl(x, coef):  # pragma: no cover - compiled
    # Cephes polevl: Horner's scheme from the highest coefficient.
    ans = coef[0]
    for i in range(1, coef.shape[0]):
        ans = ans * x + coef[i]
    return ans


@_compiled
def _p1evl(x, coef):  # pragma: no cover - compiled
    # Cephes p1evl: as polevl with a leading coefficient 1 left out of coef.
    ans = x + coef[0]
    for i in range(1, coef.shape[0]):
        ans = ans * x + coef[i]
    return ans


@_compiled
def _ndtri_central(y0):  # pragma: no cover - compiled
    # Cephes ndtri for exp(-2) < y0 <= 1 - exp(-2): ndtri.c's P0 / Q0 in y^2 (y = y0 - 0.5) written out
    # (Horner, as polevl and p1evl evaluate them) so that a loop over values can use vector instructions.
    y = y0 - 0.5
    y2 = y * y
    num = (((-5.99633501014107895267e1 * y2 + 9.80010754185999661536e1) * y2 - 5.66762857469070293439e1) * y2
           + 1.39312609387279679503e1) * y2 - 1.23916583867381258016e0  # fmt: skip
    den = (((((((y2 + 1.95448858338141759834e0) * y2 + 4.67627912898881538453e0) * y2 + 8.63602421390890590575e1) * y2
           - 2.25462687854119370527e2) * y2 + 2.00260212380060660359e2) * y2 - 8.20372256168333339912e1) * y2
           + 1.59056225126211695515e1) * y2 - 1.18331621121330003142e0  # fmt: skip
    x = y + y * (y2 * num / den)
    return x * _S2PI


@_compiled
def _ndtri_tail(y0):  # pragma: no cover - compiled
    # Cephes ndtri for 0 < y0 <= exp(-2) or 1 - exp(-2) < y0 < 1.
    upper = y0 > _ONE_MINUS_EXP_M2
    y = 1.0 - y0 if upper else y0  # selects, not branches: the two tails come in random order
    x = math.sqrt(-2.0 * math.log(y))
    x0 = x - math.log(x) / x
    z = 1.0 / x
    if x < 8.0:
        x1 = z * _polevl(z, _P1) / _p1evl(z, _Q1)
    else:
        x1 = z * _polevl(z, _P2) / _p1evl(z, _Q2)
    x = x0 - x1
    return x if upper else -x


@_compiled
def ndtri(y0):  # pragma: no cover - compiled; tested against scipy.special.ndtri
    """The inverse of the standard normal CDF, as :func:`scipy.special.ndtri` computes it.

    A port of Cephes ``ndtri`` (scipy's implementation): the same rational
    approximations, evaluated with the same operations in the same order, and
    ``log`` and ``sqrt`` of the C library; the results are bit-identical to
    scipy's (``tests/test_kernel.py`` checks ten million values, tails
    included).

    Parameters
    ----------
    y0 : float
        A probability.

    Returns
    -------
    float
        ``x`` with ``Phi(x) = y0``; -inf at 0, inf at 1, NaN outside [0, 1].
    """
    if y0 == 0.0:
        return -np.inf
    if y0 == 1.0:
        return np.inf
    if not (0.0 < y0 < 1.0):
        return np.nan
    if _EXP_M2 < y0 <= _ONE_MINUS_EXP_M2:
        return _ndtri_central(y0)
    return _ndtri_tail(y0)


@_compiled
def _open_uniform(r):  # pragma: no cover - compiled
    # grex.montecarlo.streams._uniform: the middle of the 2**-53 cell of a double of Generator.random.
    # Dividing by a power of two and multiplying by its inverse give the same double.
    return (np.floor(r * _TWO53) + 0.5) * _TWO53_INVERSE


@_compiled
def normals(raw, out):  # pragma: no cover - compiled; tested against the numpy version
    """``ndtri(_uniform(...))`` of :mod:`grex.montecarlo` for the doubles ``raw`` of ``Generator.random``.

    Two passes: the central approximation for every value (no branch, so
    vector instructions), then the tails (about 27 % of the values) over a
    list of their positions. Each value gets the operations of :func:`ndtri`.

    Parameters
    ----------
    raw : ndarray, shape (n,)
        Doubles in [0, 1) from ``numpy.random.Generator.random``.
    out : ndarray, shape (n,), output
        Standard normals, ``ndtri((floor(raw * 2**53) + 0.5) / 2**53)``.
    """
    _normals_into(raw, out, np.empty(raw.shape[0], dtype=np.int64))


@_compiled
def _normals_into(raw, out, tails):  # pragma: no cover - compiled; tested through normals
    # normals with the list of tail positions in `tails` (>= raw.shape[0]).
    n = raw.shape[0]
    for i in range(n):
        out[i] = _ndtri_central(_open_uniform(raw[i]))
    count = 0
    for i in range(n):
        u = _open_uniform(raw[i])
        tails[count] = i
        count += 1 if (u <= _EXP_M2 or u > _ONE_MINUS_EXP_M2) else 0
    for k in range(count):
        i = tails[k]
        out[i] = _ndtri_tail(_open_uniform(raw[i]))


@_compiled
def correlate(normals, root, out):  # pragma: no cover - compiled; tested against the numpy version
    """:func:`grex.drivers.correlate` for rows of normals: the same products, added in the same order.

    Parameters
    ----------
    normals : ndarray, shape (n, k)
        Independent standard normals.
    root : ndarray, shape (k, k)
    out : ndarray, shape (n, k), output
        ``((normals[:, 0] * root[j, 0]) + normals[:, 1] * root[j, 1]) + ...`` in column j.
    """
    n, k = normals.shape
    for r in range(n):
        for j in range(k):
            value = normals[r, 0] * root[j, 0]
            for i in range(1, k):
                value = value + normals[r, i] * root[j, i]
            out[r, j] = value


@_compiled
def _triangular(u, low, mode, high):  # pragma: no cover - compiled
    # grex.drivers.triangular_ppf for one value, the same operations.
    width = high - low
    split = (mode - low) / width if width > 0 else 0.0
    if u < split:
        return low + math.sqrt(u * width * (mode - low))
    return high - math.sqrt((1.0 - u) * width * (high - mode))


@_compiled
def _distribution(u, low, mode, high, uniform):  # pragma: no cover - compiled
    # grex.drivers.distribution_ppf for one value, the same operations.
    if uniform:
        return low + u * (high - low)
    return _triangular(u, low, mode, high)


@_compiled
def timing_values(
    raw_pace,
    raw_delay,
    market,
    pace_low,
    pace_mode,
    pace_high,
    pace_uniform,
    delay_low,
    delay_mode,
    delay_high,
    delay_uniform,
    use_pace,
    use_delay,
    pace,
    delay,
):  # pragma: no cover - compiled; tested against the numpy version
    """Pace and delay of each draw and complex from the doubles of stream 0 (``montecarlo.streams._timing``).

    Parameters
    ----------
    raw_pace, raw_delay : ndarray, shape (D, C)
        Doubles of ``Generator.random`` for the complex pace and the delay.
    market : ndarray, shape (D,)
        Market pace factor of each draw.
    pace_low, pace_mode, pace_high, delay_low, delay_mode, delay_high : ndarray, shape (C,)
        Distributions of the complex pace factor and the delay [years]: extremes and mode.
    pace_uniform, delay_uniform : ndarray of bool, shape (C,)
        Uniform distributions (else triangular).
    use_pace, use_delay : bool
        Whether the drivers ``pace`` and ``delay`` keep their spread (else 1 and 0).
    pace, delay : ndarray, shape (D, C), output
        ``market * distribution_ppf(u_pace)`` and ``distribution_ppf(u_delay)``.
    """
    D, C = raw_pace.shape
    for d in range(D):
        m = market[d]
        for c in range(C):
            if use_pace:
                u = _open_uniform(raw_pace[d, c])
                pace[d, c] = m * _distribution(u, pace_low[c], pace_mode[c], pace_high[c], pace_uniform[c])
            else:
                pace[d, c] = 1.0
            if use_delay:
                u = _open_uniform(raw_delay[d, c])
                delay[d, c] = _distribution(u, delay_low[c], delay_mode[c], delay_high[c], delay_uniform[c])
            else:
                delay[d, c] = 0.0


@_compiled
def distribution_values(u, low, mode, high, uniform, out):  # pragma: no cover - compiled; tested
    """:func:`grex.drivers.distribution_ppf` of one distribution at the uniforms ``u`` (n,), into ``out`` (n,).

    The same operations as the numpy version (:func:`_distribution`), without
    its temporary arrays: for the market pace and the rekenrente of a block
    (issue 17: their numpy transforms cost more than the doubles under them).
    """
    for i in range(u.shape[0]):
        out[i] = _distribution(u[i], low, mode, high, uniform)


@_compiled
def risk_amounts(raw, probability, low, mode, high, uniform, out):  # pragma: no cover - compiled; tested
    """The amount of each risk event of each draw (0 where it does not happen): ``montecarlo.streams._risks``.

    ``raw`` (2 D R,) holds the doubles of stream 2 in their order: D x R for
    whether each event happens (``u < probability``), then D x R for its
    amount (:func:`_distribution` of the risk's impact). ``out`` (D, R).
    """
    D, R = out.shape
    for d in range(D):
        for r in range(R):
            happens = _open_uniform(raw[d * R + r]) < probability[r]
            u = _open_uniform(raw[D * R + d * R + r])
            amount = _distribution(u, low[r], mode[r], high[r], uniform[r])
            out[d, r] = amount if happens else 0.0


@_compiled
def reaches(pace, delay, anchor, sales_end, has_sales, out):  # pragma: no cover - compiled; tested
    """Per draw, the years from V that hold its re-timed flows: ``montecarlo.execution._reach``.

    ``out[d]`` is the largest ``ceil((anchor + delay) + (sales_end - anchor) / pace)`` of a complex with
    sales, at least 0 (as :func:`needed_years`, draw by draw). ``pace``, ``delay`` (D, C), ``out`` (D,).
    """
    D, C = pace.shape
    for d in range(D):
        most = 0.0
        for c in range(C):
            if has_sales[c]:
                reach = np.ceil((float(anchor[c]) + delay[d, c]) + float(sales_end[c] - anchor[c]) / pace[d, c])
                most = max(most, reach)
        out[d] = most


@_compiled
def needed_years(pace, delay, anchor, sales_end, has_sales):  # pragma: no cover - compiled
    """``montecarlo.streams._needed_years``: years from V that hold every re-timed flow of these draws.

    Parameters
    ----------
    pace, delay : ndarray, shape (D, C)
    anchor, sales_end : ndarray of int, shape (C,)
    has_sales : ndarray of bool, shape (C,)

    Returns
    -------
    int
        The largest ``ceil(anchor + delay + (sales_end - anchor) / pace)`` of a complex with sales, at least 0.
    """
    D, C = pace.shape
    most = 0.0
    for d in range(D):
        for c in range(C):
            if has_sales[c]:
                reach = math.ceil((float(anchor[c]) + delay[d, c]) + float(sales_end[c] - anchor[c]) / pace[d, c])
                if reach > most:
                    most = reach
    return int(most)


@_compiled
def index_shocks(
    first, later, cost_persistence, cost_sd, price_persistence, price_sd, cost_shock, price_shock
):  # pragma: no cover - compiled; tested against the numpy version
    """The AR(1) cost and price shocks of :func:`grex.drivers.ar1` from correlated innovations.

    Parameters
    ----------
    first : ndarray, shape (D, 3)
        Correlated normals of stream 0 (market pace, cost, price); columns 1
        and 2 are the innovations of year 0.
    later : ndarray, shape (D, T - 1, 2)
        Correlated (cost, price) innovations of years 1 ... T - 1.
    cost_persistence, cost_sd, price_persistence, price_sd : float
        The AR(1) parameters (sd 0 for a driver without spread).
    cost_shock, price_shock : ndarray, shape (D, T), output
        ``x_t = persistence * x_{t-1} + sd * e_t`` with ``x_{-1} = 0``.
    """
    D, T = cost_shock.shape
    for d in range(D):
        cost = cost_persistence * 0.0 + cost_sd * first[d, 1]
        price = price_persistence * 0.0 + price_sd * first[d, 2]
        cost_shock[d, 0] = cost
        price_shock[d, 0] = price
        for t in range(1, T):
            cost = cost_persistence * cost + cost_sd * later[d, t - 1, 0]
            price = price_persistence * price + price_sd * later[d, t - 1, 1]
            cost_shock[d, t] = cost
            price_shock[d, t] = price


@_compiled
def index_shocks_by_draw(
    first,
    raw,
    root,
    years,
    cost_persistence,
    cost_sd,
    price_persistence,
    price_sd,
    normal,
    later,
    cost_shock,
    price_shock,
):  # pragma: no cover - compiled; tested against the numpy version
    """:func:`normals`, :func:`correlate` and :func:`index_shocks` of each draw over its own first years only.

    ``raw`` (D, 2 (T - 1)) holds the doubles of stream 1 (``montecarlo.streams``):
    for each draw, the (cost, price) pairs of years 1 ... T - 1. Draw ``d``
    gets its shocks of years ``0 ... years[d] - 1`` (``1 <= years[d] <= T``);
    the later entries of its rows of ``later`` (D, T - 1, 2) and
    ``cost_shock``, ``price_shock`` (D, T) are left as they were (``normal``,
    (D, 2 (T - 1)), is work space). ``first`` and ``root`` as for :func:`index_shocks` and
    :func:`correlate` (``root`` 2 x 2: the cost and price innovations). Each number
    written is the one the three functions give over all T years: a normal
    depends on its own double, an innovation on its own pair, a shock on the
    earlier years of its draw. Issue 17: the normals are made in place in each
    draw's row of ``normal`` (C-contiguous, the shape of ``raw``), the
    correlation and the AR(1) recursion in one pass per draw, the operations
    of the three functions in their order (``tests/test_kernel.py`` compares
    the shocks with the numpy version's).
    """
    D = raw.shape[0]
    # 1. the normals of each draw's doubles, in place in its row of `normal`: the central approximation
    # for every value (vector instructions), the tails (about 27 %) after it over a list of their
    # positions, as :func:`normals` does (issue 17: without copying the doubles into one run first)
    total = 0
    for d in range(D):
        total += 2 * (years[d] - 1)
    tails = np.empty(total, dtype=np.int64)
    count = 0
    for d in range(D):
        row = raw[d]
        out = normal[d]
        for i in range(2 * (years[d] - 1)):
            out[i] = _ndtri_central(_open_uniform(row[i]))
        for i in range(2 * (years[d] - 1)):
            u = _open_uniform(row[i])
            tails[count] = d * raw.shape[1] + i
            count += 1 if (u <= _EXP_M2 or u > _ONE_MINUS_EXP_M2) else 0
    flat_raw = raw.reshape(-1)
    flat = normal.reshape(-1)
    for k in range(count):
        i = tails[k]
        flat[i] = _ndtri_tail(_open_uniform(flat_raw[i]))
    # 2. per draw, :func:`correlate` of each (cost, price) pair and the AR(1) recursion of
    # :func:`index_shocks`, in one pass over its years
    r00 = root[0, 0]
    r01 = root[0, 1]
    r10 = root[1, 0]
    r11 = root[1, 1]
    for d in range(D):
        out = normal[d]
        cost = cost_persistence * 0.0 + cost_sd * first[d, 1]
        price = price_persistence * 0.0 + price_sd * first[d, 2]
        cost_shock[d, 0] = cost
        price_shock[d, 0] = price
        for t in range(1, years[d]):
            n0 = out[2 * (t - 1)]
            n1 = out[2 * (t - 1) + 1]
            e_cost = n0 * r00 + n1 * r01
            e_price = n0 * r10 + n1 * r11
            later[d, t - 1, 0] = e_cost
            later[d, t - 1, 1] = e_price
            cost = cost_persistence * cost + cost_sd * e_cost
            price = price_persistence * price + price_sd * e_price
            cost_shock[d, t] = cost
            price_shock[d, t] = price


@_compiled
def absorption_block(
    state, first, later, correlation, independent, persistence, scale, low, mode, high, uniform, drawn, reach, out
):  # pragma: no cover - compiled; tested against the numpy version
    """The markets' absorption of a block in one pass, draw by draw: :func:`grex.montecarlo.streams._absorption`.

    Per draw: its ``M * reach`` doubles of stream 4 (as :func:`pcg64_fill`
    makes them from ``state``, drawn only where a market's absorption is
    drawn, as there); for each drawn market the normals ``eps_t`` of its
    doubles (:func:`normals`), the path ``x_t = persistence * x_{t-1} +
    scale * (correlation * n_t + independent * eps_t)`` (``x_0 =
    correlation * n_0 + independent * eps_0``, ``n_t`` the land-price
    innovation of year t), its :func:`ndtr` (as :func:`normal_cdf`) and the
    market's distribution there: the same operations in the same order, so
    the same numbers, with the draw's numbers in a few kilobytes.

    Parameters
    ----------
    state : ndarray of uint64, shape (4,)
        Stream 4's state and increment (:func:`pcg64_seed`).
    first : ndarray, shape (D, 3)
        Correlated normals of stream 0; column 2 is the price innovation of year 0.
    later : ndarray, shape (D, >= reach - 1, 2)
        Correlated (cost, price) innovations of years 1, 2, ...
    correlation, independent, persistence, scale : ndarray, shape (M,)
        ``price_correlation``, ``sqrt(1 - price_correlation**2)``, ``persistence``
        and ``sqrt(1 - persistence**2)`` of each market.
    low, mode, high : ndarray, shape (M,)
        Extremes and mode of each market's absorption.
    uniform, drawn : ndarray of bool, shape (M,)
        A uniform distribution (else triangular); whether the market's absorption
        is drawn (else every year takes the mode).
    reach : int
        Years drawn (R).
    out : ndarray, shape (D, M, T >= R), output
        The units each market takes each year: the distribution at the path's
        ``ndtr`` in the drawn markets' first R years, the mode elsewhere (the
        years past the markets' reach are never read).
    """
    D, M, T = out.shape
    R = reach
    any_drawn = False
    for m in range(M):
        any_drawn = any_drawn or drawn[m]
    raw = np.empty(M * R)
    eps = np.empty(R)
    x = np.empty(R)
    tails = np.empty(R, dtype=np.int64)
    tail_values = np.empty(R)
    s_hi = state[0]
    s_lo = state[1]
    i_hi = state[2]
    i_lo = state[3]
    for d in range(D):
        if any_drawn:  # the draw's doubles of the stream, every market's (the stream's order)
            s_hi, s_lo = _pcg64_doubles(s_hi, s_lo, i_hi, i_lo, raw)
        for m in range(M):
            if not drawn[m]:
                for t in range(T):
                    out[d, m, t] = mode[m]
                continue
            _normals_into(raw[m * R : (m + 1) * R], eps, tails)
            rho = correlation[m]
            root = independent[m]
            phi = persistence[m]
            s = scale[m]
            path = rho * first[d, 2] + root * eps[0]
            x[0] = path
            for t in range(1, R):
                path = phi * path + s * (rho * later[d, t - 1, 1] + root * eps[t])
                x[t] = path
            _normal_cdf_into(x, x, tails, tail_values)
            for t in range(R):
                out[d, m, t] = _distribution(x[t], low[m], mode[m], high[m], uniform[m])
            for t in range(R, T):
                out[d, m, t] = mode[m]


# -- PCG64, numpy's bit generator, for the doubles a draw reads (issue 17) ----------------------------

#: The 128-bit multiplier of PCG64 (``PCG_DEFAULT_MULTIPLIER_128`` of numpy's pcg64.h), high and low words.
PCG64_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
_PCG_MULT_HI = np.uint64(PCG64_MULTIPLIER >> 64)
_PCG_MULT_LO = np.uint64(PCG64_MULTIPLIER & 0xFFFFFFFFFFFFFFFF)
_U32_MASK = np.uint64(0xFFFFFFFF)
_U32 = np.uint64(32)
_U11 = np.uint64(11)
_U58 = np.uint64(58)
_U63 = np.uint64(63)
_U64 = np.uint64(64)
_U0 = np.uint64(0)
_U1 = np.uint64(1)


@_compiled
def _mulhi(a, b):  # pragma: no cover - compiled
    # The high 64 bits of the 128-bit product of two 64-bit words (four 32-bit products).
    a0 = a & _U32_MASK
    a1 = a >> _U32
    b0 = b & _U32_MASK
    b1 = b >> _U32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    mid = (p00 >> _U32) + (p01 & _U32_MASK) + (p10 & _U32_MASK)
    return a1 * b1 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32)


@_compiled
def _affine128(a_hi, a_lo, c_hi, c_lo, s_hi, s_lo):  # pragma: no cover - compiled
    # a * s + c modulo 2**128, each a pair of 64-bit words (high, low).
    lo = a_lo * s_lo
    hi = _mulhi(a_lo, s_lo) + a_lo * s_hi + a_hi * s_lo
    out_lo = lo + c_lo
    carry = _U1 if out_lo < lo else _U0
    return hi + c_hi + carry, out_lo


@_compiled
def _pcg64_double(s_hi, s_lo):  # pragma: no cover - compiled
    # numpy's next_double of the state s (after its step): XSL-RR output, its top 53 bits times 2**-53.
    xored = s_hi ^ s_lo
    rot = s_hi >> _U58
    word = (xored >> rot) | (xored << ((_U64 - rot) & _U63))
    return np.float64(word >> _U11) * _TWO53_INVERSE


@_compiled
def _pcg64_compose(a_hi, a_lo, c_hi, c_lo, b_hi, b_lo, d_hi, d_lo):  # pragma: no cover - compiled
    # The affine map x -> a (b x + d) + c = (a b) x + (a d + c), modulo 2**128.
    ab_hi, ab_lo = _affine128(a_hi, a_lo, _U0, _U0, b_hi, b_lo)
    adc_hi, adc_lo = _affine128(a_hi, a_lo, c_hi, c_lo, d_hi, d_lo)
    return ab_hi, ab_lo, adc_hi, adc_lo


@_compiled
def pcg64_jump(inc_hi, inc_lo, steps):  # pragma: no cover - compiled; tested against numpy's advance
    """``steps`` steps of a PCG64 stream at once: ``(a_hi, a_lo, c_hi, c_lo)`` with ``state -> a state + c``.

    One step is ``state m + inc`` (mod 2**128); the map of ``steps`` of them is
    found by squaring (``a = m**steps``, ``c = inc (1 + m + ... + m**(steps - 1))``).
    """
    a_hi, a_lo, c_hi, c_lo = _U0, _U1, _U0, _U0  # the identity
    b_hi, b_lo, d_hi, d_lo = _PCG_MULT_HI, _PCG_MULT_LO, inc_hi, inc_lo  # one step, squared as we go
    k = steps
    while k > 0:
        if k & 1:
            a_hi, a_lo, c_hi, c_lo = _pcg64_compose(b_hi, b_lo, d_hi, d_lo, a_hi, a_lo, c_hi, c_lo)
        b_hi, b_lo, d_hi, d_lo = _pcg64_compose(b_hi, b_lo, d_hi, d_lo, b_hi, b_lo, d_hi, d_lo)
        k >>= 1
    return a_hi, a_lo, c_hi, c_lo


@_compiled
def pcg64_rows(state, skip, width, counts, out):  # pragma: no cover - compiled; tested against numpy
    """Rows of doubles of one PCG64 stream, as ``numpy.random.Generator.random`` makes them, only where read.

    After the first ``skip`` doubles of the stream, row ``d`` holds the next
    doubles ``d * width ... (d + 1) * width - 1`` (``Generator.random((D, width))``);
    only the first ``counts[d]`` of them are made, into ``out[d, :counts[d]]`` (the
    rest of ``out`` is left as it was). From one row's start to the next is one
    affine map of the 128-bit state (:func:`pcg64_jump`), so the doubles no row
    reads cost nothing.

    Parameters
    ----------
    state : ndarray of uint64, shape (4,)
        The stream's state before its first double and its increment, high and low
        words (:func:`pcg64_seed`; ``PCG64.state["state"]``).
    skip, width : int
        Doubles before row 0; doubles of a row.
    counts : ndarray of int64, shape (D,)
        Doubles wanted of each row, at most ``width``.
    out : ndarray, shape (D, >= max(counts)), output
    """
    i_hi = state[2]
    i_lo = state[3]
    a_hi, a_lo, c_hi, c_lo = pcg64_jump(i_hi, i_lo, skip)
    row_hi, row_lo = _affine128(a_hi, a_lo, c_hi, c_lo, state[0], state[1])
    a_hi, a_lo, c_hi, c_lo = pcg64_jump(i_hi, i_lo, width)
    for d in range(counts.shape[0]):
        s_hi = row_hi
        s_lo = row_lo
        for i in range(counts[d]):
            s_hi, s_lo = _affine128(_PCG_MULT_HI, _PCG_MULT_LO, i_hi, i_lo, s_hi, s_lo)
            out[d, i] = _pcg64_double(s_hi, s_lo)
        row_hi, row_lo = _affine128(a_hi, a_lo, c_hi, c_lo, row_hi, row_lo)


# -- the normal CDF, as scipy.special.ndtr computes it (issue 17: the simulation without scipy) -------------

#: sqrt(1/2) (``M_SQRT1_2``).
_SQRT1_2 = 0.70710678118654752440
#: Cephes ``MAXLOG``: log(2**1024), the largest argument of exp.
_MAXLOG = 7.09782712893383996843e2
# Cephes ndtr.c (xsf/cephes/ndtr.h): erfc for 1 <= x < 8 (P / Q), for x >= 8 (R / S), erf for |x| < 1 (T / U).
_NDTR_P = np.array(
    [
        2.46196981473530512524e-10,
        5.64189564831068821977e-1,
        7.46321056442269912687e0,
        4.86371970985681366614e1,
        1.96520832956077098242e2,
        5.26445194995477358631e2,
        9.34528527171957607540e2,
        1.02755188689515710272e3,
        5.57535335369399327526e2,
    ]
)
_NDTR_Q = np.array(
    [
        1.32281951154744992508e1,
        8.67072140885989742329e1,
        3.54937778887819891062e2,
        9.75708501743205489753e2,
        1.82390916687909736289e3,
        2.24633760818710981792e3,
        1.65666309194161350182e3,
        5.57535340817727675546e2,
    ]
)
_NDTR_R = np.array(
    [
        5.64189583547755073984e-1,
        1.27536670759978104416e0,
        5.01905042251180477414e0,
        6.16021097993053585195e0,
        7.40974269950448939160e0,
        2.97886665372100240670e0,
    ]
)
_NDTR_S = np.array(
    [
        2.26052863220117276590e0,
        9.39603524938001434673e0,
        1.20489539808096656605e1,
        1.70814450747565897222e1,
        9.60896809063285878198e0,
        3.36907645100081516050e0,
    ]
)


@_compiled
def _erfc_large(x):  # pragma: no cover - compiled
    # Cephes erfc for x >= 1: exp(-x^2) P(x) / Q(x); 0 where exp(-x^2) underflows (as Cephes' `under`).
    z = -x * x
    if z < -_MAXLOG:
        return 0.0
    z = math.exp(z)
    if x < 8.0:
        p = _polevl(x, _NDTR_P)
        q = _p1evl(x, _NDTR_Q)
    else:
        p = _polevl(x, _NDTR_R)
        q = _p1evl(x, _NDTR_S)
    return (z * p) / q


@_compiled
def ndtr(a):  # pragma: no cover - compiled; tested against scipy.special.ndtr
    """The standard normal CDF, as :func:`scipy.special.ndtr` computes it.

    A port of Cephes ``ndtr`` (scipy's, in its xsf library): ``0.5 + 0.5 erf(x)``
    for ``|x| < 1``, else ``0.5 erfc(|x|)`` (``1 -`` that for ``x > 0``), with
    ``x = a / sqrt(2)``; the same rational approximations, evaluated with the
    same operations in the same order, and ``exp`` of the C library. The results
    are bit-identical to scipy's (``tests/test_kernel.py``: tails, the branch
    points, 0, the infinities and NaN included).

    Parameters
    ----------
    a : float

    Returns
    -------
    float
        ``Phi(a)``; NaN at NaN.
    """
    if math.isnan(a):
        return np.nan
    x = a * _SQRT1_2
    z = abs(x)
    if z < 1.0:
        return _ndtr_central(a)
    y = 0.5 * _erfc_large(z)
    return 1.0 - y if x > 0 else y


@_compiled
def _ndtr_central(a):  # pragma: no cover - compiled
    # Cephes ndtr for |a / sqrt(2)| < 1: 0.5 + 0.5 erf(x), erf(x) = x T(x^2) / U(x^2) (erf(-x) = -erf(x): the
    # same double, rounding is symmetric); the polynomials written out (Horner, as polevl and p1evl evaluate
    # them) so that a loop over values can use vector instructions.
    x = a * _SQRT1_2
    zz = x * x
    num = (((9.60497373987051638749e0 * zz + 9.00260197203842689217e1) * zz + 2.23200534594684319226e3) * zz
           + 7.00332514112805075473e3) * zz + 5.55923013010394962768e4  # fmt: skip
    den = ((((zz + 3.35617141647503099647e1) * zz + 5.21357949780152679795e2) * zz + 4.59432382970980127987e3) * zz
           + 2.26290000613890934246e4) * zz + 4.92673942608635921086e4  # fmt: skip
    return 0.5 + 0.5 * (x * num / den)


@_compiled
def _normal_cdf_into(x, out, tails, tail_values):  # pragma: no cover - compiled; tested through normal_cdf
    # normal_cdf with work space for the positions and values of the tails (each >= x.shape[0]).
    n = x.shape[0]
    count = 0
    for i in range(n):  # the values outside the central part (and NaN), kept before `out` (maybe `x`) is written
        a = x[i]
        tails[count] = i
        tail_values[count] = a
        count += 0 if abs(a * _SQRT1_2) < 1.0 else 1
    for i in range(n):
        out[i] = _ndtr_central(x[i])
    for k in range(count):
        out[tails[k]] = ndtr(tail_values[k])


@_compiled
def normal_cdf(x, out):  # pragma: no cover - compiled; tested against scipy.special.ndtr
    """:func:`ndtr` of each value of ``x`` (n,), into ``out`` (n,) (``out`` may be ``x``).

    As :func:`normals`, two passes: the central part (``0.5 + 0.5 erf``, no
    branch, so vector instructions) for every value, then the others (about
    16 % of standard normals, and NaN) over a list of their positions. Each
    value gets the operations of :func:`ndtr`.
    """
    n = x.shape[0]
    _normal_cdf_into(x, out, np.empty(n, dtype=np.int64), np.empty(n))


# -- numpy's SeedSequence and PCG64 seeding, for the streams of a block (issue 17) -------------------------

_MASK32 = np.uint64(0xFFFFFFFF)
_XSHIFT = np.uint64(16)
_SEED_INIT_A = np.uint64(0x43B0D7E5)
_SEED_MULT_A = np.uint64(0x931E8875)
_SEED_INIT_B = np.uint64(0x8B51F9DD)
_SEED_MULT_B = np.uint64(0x58F38DED)
_SEED_MIX_L = np.uint64(0xCA01F9DD)
_SEED_MIX_R = np.uint64(0x4973F715)
_U1_ = np.uint64(1)


@_compiled
def _mix(x, y):  # pragma: no cover - compiled
    # SeedSequence's mix of two 32-bit words (each product and difference modulo 2**32).
    result = ((_SEED_MIX_L * x) - (_SEED_MIX_R * y)) & _MASK32
    return result ^ (result >> _XSHIFT)


@_compiled
def pcg64_seeds(entropy, out):  # pragma: no cover - compiled; tested against numpy
    """:func:`pcg64_seed` of the streams ``0 ... S - 1`` of a spawn key: ``entropy`` ends in the stream.

    ``entropy`` (uint64, (n,)): as for :func:`pcg64_seed`, its last word the stream's
    number (overwritten); ``out`` (uint64, (S, 4)): the state of each stream.
    """
    for stream in range(out.shape[0]):
        entropy[entropy.shape[0] - 1] = stream
        pcg64_seed(entropy, out[stream])


@_compiled
def pcg64_seed(entropy, out):  # pragma: no cover - compiled; tested against numpy
    """The PCG64 state of ``PCG64(SeedSequence(...))`` from the assembled entropy of the seed sequence.

    A port of numpy's ``SeedSequence`` (its pool of 4 words mixed from
    ``entropy``, then ``generate_state(4, uint64)``) and of ``pcg64_set_seed``
    (state 0, increment ``2 inc + 1``, a step, plus the seed's state, a step):
    the same 32-bit hashes in the same order.

    Parameters
    ----------
    entropy : ndarray of uint64, shape (n,)
        32-bit words (``SeedSequence.get_assembled_entropy()``: the seed's words,
        padded with zeros to 4 where a spawn key follows, then the spawn key's).
    out : ndarray of uint64, shape (4,), output
        The state (high, low word) before the first double, and the increment (high, low word):
        ``PCG64.state["state"]``.
    """
    pool = np.zeros(4, dtype=np.uint64)
    hash_const = _SEED_INIT_A
    n = entropy.shape[0]
    for i in range(4):
        value = entropy[i] if i < n else _U0
        value = value ^ hash_const
        hash_const = (hash_const * _SEED_MULT_A) & _MASK32
        value = (value * hash_const) & _MASK32
        pool[i] = value ^ (value >> _XSHIFT)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                value = pool[i_src] ^ hash_const
                hash_const = (hash_const * _SEED_MULT_A) & _MASK32
                value = (value * hash_const) & _MASK32
                pool[i_dst] = _mix(pool[i_dst], value ^ (value >> _XSHIFT))
    for i_src in range(4, n):
        for i_dst in range(4):
            value = entropy[i_src] ^ hash_const
            hash_const = (hash_const * _SEED_MULT_A) & _MASK32
            value = (value * hash_const) & _MASK32
            pool[i_dst] = _mix(pool[i_dst], value ^ (value >> _XSHIFT))
    # generate_state(4, uint64): 8 words from the pool in cycle, paired little-endian into 64-bit words
    words = np.zeros(8, dtype=np.uint64)
    hash_const = _SEED_INIT_B
    for i in range(8):
        value = pool[i % 4] ^ hash_const
        hash_const = (hash_const * _SEED_MULT_B) & _MASK32
        value = (value * hash_const) & _MASK32
        words[i] = value ^ (value >> _XSHIFT)
    seed_hi = words[0] | (words[1] << _U32)
    seed_lo = words[2] | (words[3] << _U32)
    inc_hi = words[4] | (words[5] << _U32)
    inc_lo = words[6] | (words[7] << _U32)
    # pcg64_set_seed: inc = (inc << 1) | 1; state = 0; step; state += seed; step
    i_hi = (inc_hi << _U1_) | (inc_lo >> _U63)
    i_lo = (inc_lo << _U1_) | _U1_
    s_hi, s_lo = _affine128(_PCG_MULT_HI, _PCG_MULT_LO, i_hi, i_lo, _U0, _U0)
    s_lo2 = s_lo + seed_lo
    carry = _U1 if s_lo2 < s_lo else _U0
    s_hi, s_lo = _affine128(_PCG_MULT_HI, _PCG_MULT_LO, i_hi, i_lo, s_hi + seed_hi + carry, s_lo2)
    out[0] = s_hi
    out[1] = s_lo
    out[2] = i_hi
    out[3] = i_lo


@_compiled
def pcg64_fill(state, out):  # pragma: no cover - compiled; tested against numpy
    """The first ``out.shape[0]`` doubles of a PCG64 stream, as ``Generator.random(out=out)`` makes them.

    ``state`` (uint64, (4,)): the state and the increment, high and low words (:func:`pcg64_seed`).
    """
    _pcg64_doubles(state[0], state[1], state[2], state[3], out)


@_compiled
def _pcg64_doubles(s_hi, s_lo, i_hi, i_lo, out):  # pragma: no cover - compiled; tested through pcg64_fill
    # The next out.shape[0] doubles of the stream in state (s_hi, s_lo), increment (i_hi, i_lo); the state after.
    for i in range(out.shape[0]):
        s_hi, s_lo = _affine128(_PCG_MULT_HI, _PCG_MULT_LO, i_hi, i_lo, s_hi, s_lo)
        out[i] = _pcg64_double(s_hi, s_lo)
    return s_hi, s_lo


@_compiled
def block_timing(
    state,
    root,
    market_low,
    market_mode,
    market_high,
    market_uniform,
    pace_low,
    pace_mode,
    pace_high,
    pace_uniform,
    delay_low,
    delay_mode,
    delay_high,
    delay_uniform,
    use_pace,
    use_delay,
    raw,
    normal,
    z,
    market,
    pace,
    delay,
):  # pragma: no cover - compiled; tested against the numpy version (montecarlo.streams._timing)
    """Stream 0 of a block in one call: ``montecarlo.streams._timing``, the same numbers bit for bit.

    The doubles of the stream (:func:`pcg64_fill` from ``state``, into ``raw``, shape
    (D (3 + 2 C),)), the normals of the first 3 D (:func:`normals`, into ``normal``,
    (D, 3)) correlated by ``root`` (:func:`correlate`, into ``z``), the market pace
    (:func:`ndtr` of ``z[:, 0]`` and the market's distribution, into ``market`` (D,);
    1 where ``use_pace`` is off) and the pace and delay of each complex
    (:func:`timing_values`, into ``pace``, ``delay`` (D, C)). Issue 17: one compiled call
    instead of six, each with its Python call and argument checks, per block.
    """
    D, C = pace.shape
    pcg64_fill(state, raw)
    normals(raw[: 3 * D], normal.reshape(-1))
    correlate(normal, root, z)
    for d in range(D):
        if use_pace:
            market[d] = _distribution(ndtr(z[d, 0]), market_low, market_mode, market_high, market_uniform)
        else:
            market[d] = 1.0
    timing_values(
        raw[3 * D : (3 + C) * D].reshape((D, C)),
        raw[(3 + C) * D :].reshape((D, C)),
        market,
        pace_low,
        pace_mode,
        pace_high,
        pace_uniform,
        delay_low,
        delay_mode,
        delay_high,
        delay_uniform,
        use_pace,
        use_delay,
        pace,
        delay,
    )
