"""CPU time of one block of draws with the market allocation on and off (issue 15), one thread.

``python benchmarks/market_block.py [--rounds N]`` builds the workload of
``benchmarks/run.py --market-only`` (50 complexes x 40 years, the
``wonen_vrij`` and ``bedrijven`` revenues as a programme, two binding
markets) and times, with ``time.thread_time`` (CPU time of this thread, so
that other processes on the machine count little), the random numbers of a
block of 1,024 draws (:func:`grex.montecarlo.streams._block_compiled`) and
the kernel on them (:func:`grex.kernel.kernel_for`), blocks 0-3, ``N``
rounds after one to load the compiled code; it prints the medians and the
ratio of the throughput with the markets on to that without them (CPU per
block off / on), then the market allocation alone
(:func:`grex.kernel.allocate_market` on the same blocks' absorption, a
batch of ``MARKET_LANES`` draws at a time, as the kernel calls it) and the
ratio it leaves at best (:func:`allocation_bound`), and
the allocation followed, as in the kernel, by :func:`grex.kernel.market_by_draw` for each batch and
:func:`grex.kernel.add_market` for each draw (and the difference of the two), then the markets'
absorption random numbers alone (stream 4: :func:`grex.montecarlo.streams._absorption_compiled`).
The kernel's first call compiles its variant (about 25 s with a market, once per install).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

BLOCK_DRAWS = 1024


def _block_values(plan: Any, block: int, scratch: Any) -> tuple[dict[str, Any], int]:
    """The drivers of block ``block`` of seed 1 (each draw's index shocks over its own years), and the block's years."""
    from grex.montecarlo import execution
    from grex.montecarlo.streams import _block_compiled

    reach = np.empty(0)

    def shock_years(pace: Any, delay: Any) -> Any:
        nonlocal reach
        reach = execution._reach(plan, pace, delay)
        return execution._shock_years(plan, reach, 0)

    values = _block_compiled(plan, 1, block, scratch, shock_years)
    return values, execution._block_years(plan, reach)


def block_times(scenario: Any, portfolio: Any, rounds: int) -> tuple[float, float]:
    """Median CPU seconds of the random numbers and of the kernel per block of draws."""
    from grex.kernel import Draws, Outputs, kernel_for
    from grex.montecarlo import execution
    from grex.montecarlo.plan import make_plan
    from grex.montecarlo.streams import _Scratch

    plan = make_plan(scenario, portfolio, None)
    fixed = execution.kernel_plan(plan, plan.bound_years)
    kernel = kernel_for(fixed)
    scratch = _Scratch(plan)
    C = plan.inputs.n_complexes
    years = execution.RESERVE_YEARS
    out = Outputs(
        np.empty((BLOCK_DRAWS, C), np.int16),
        np.empty((BLOCK_DRAWS, C)),
        np.empty((BLOCK_DRAWS, C)),
        np.empty((BLOCK_DRAWS, years + 1)),
        np.empty((1, years + 1)),
        np.empty((1, years)),
        np.empty((1, years)),
    )
    no_market = np.zeros((BLOCK_DRAWS, 0, 1))
    random_numbers, kernel_seconds = [], []
    for repeat in range(rounds + 1):
        for block in range(4):
            clock = time.thread_time()
            values, n_years = _block_values(plan, block, scratch)
            middle = time.thread_time()
            kernel(
                Draws(
                    values["pace"],
                    values["delay"],
                    values["cost_shock"],
                    values["price_shock"],
                    np.ascontiguousarray(values["risk"]),
                    values["interest"],
                    values["absorption"] if plan.market is not None else no_market,
                ),
                fixed._replace(n_years=n_years, revenue_freeze=execution._revenue_freeze(plan, n_years)),
                out,
            )
            end = time.thread_time()
            if repeat > 0:  # the first round loads the compiled code
                random_numbers.append(middle - clock)
                kernel_seconds.append(end - middle)
    return statistics.median(random_numbers), statistics.median(kernel_seconds)


def _allocation_inputs(scenario: Any, portfolio: Any) -> tuple[Any, ...]:
    """The absorptions and plans of four blocks of draws, and the allocation's work arrays, for the timings below."""
    from grex.kernel import MARKET_LANES, MARKET_STATE_ROWS
    from grex.montecarlo import execution
    from grex.montecarlo.plan import make_plan
    from grex.montecarlo.streams import _Scratch

    plan = make_plan(scenario, portfolio, None)
    fixed = execution.kernel_plan(plan, plan.bound_years)
    scratch = _Scratch(plan)
    C, L, P = plan.inputs.n_complexes, MARKET_LANES, len(fixed.market_complex)
    blocks = []
    for block in range(4):
        values, n_years = _block_values(plan, block, scratch)
        blocks.append((np.ascontiguousarray(values["absorption"]), fixed._replace(n_years=n_years)))
    lane, state = np.empty((3, L)), np.empty((P, MARKET_STATE_ROWS, L))
    head = np.empty((P, L), dtype=np.int64)
    start, end = np.zeros((C, L), dtype=np.int64), np.zeros((C, L), dtype=np.int64)
    return C, L, blocks, lane, state, head, start, end


def allocation_time(scenario: Any, portfolio: Any, rounds: int) -> float:
    """Median CPU seconds of the market allocation alone per block of draws."""
    from grex.kernel import allocate_market

    C, L, blocks, lane, state, head, start, end = _allocation_inputs(scenario, portfolio)
    seconds = []
    for repeat in range(rounds + 1):
        for absorption, block_plan in blocks:
            revenues = np.zeros((C, block_plan.n_years, L))
            linked = np.zeros((C, block_plan.n_years + int(np.max(block_plan.market_lag)) + 1, L))
            clock = time.thread_time()
            for first in range(0, BLOCK_DRAWS, L):  # the flows add up over the batches: no matter here
                allocate_market(block_plan, absorption, first, L, lane, state, head, revenues, linked, start, end)
            if repeat > 0:  # the first round loads the compiled code
                seconds.append(time.thread_time() - clock)
    return statistics.median(seconds)


def add_market_time(scenario: Any, portfolio: Any, rounds: int) -> float:
    """Median CPU seconds per block of the market allocation, :func:`grex.kernel.market_by_draw` and
    :func:`grex.kernel.add_market` for each draw.

    Each draw's re-timed flows are the market's alone, in a window of years 10 ... 29 (as if
    :func:`grex.kernel.retime` had set it), so that ``add_market`` also adds the window's other years.
    """
    from numba import njit

    from grex.kernel import MARKET_LANES, add_market, allocate_market, market_by_draw

    @njit(error_model="numpy")
    def batches(
        plan, absorption, lane, state, head, revenues, linked, start, end, retimed, retimed_linked, lo, hi, span
    ):
        C, n_years = retimed.shape[1], retimed.shape[0]
        draw_revenues, draw_linked = np.empty((n_years, MARKET_LANES, C)), np.empty((n_years, MARKET_LANES, C))
        with_linked = np.any(plan.market_planned_cost != 0.0)
        bounds = np.empty((4, C), dtype=np.int64)
        for first in range(0, BLOCK_DRAWS, MARKET_LANES):
            allocate_market(plan, absorption, first, MARKET_LANES, lane, state, head, revenues, linked, start, end)
            begin, stop = market_by_draw(start, end, revenues, linked, draw_revenues, draw_linked, with_linked)
            for b in range(MARKET_LANES):
                for q in range(lo.shape[0]):
                    lo[q], hi[q], span[q] = 10, 30, 30
                add_market(
                    b, begin, stop, with_linked, draw_revenues, draw_linked, start, end, retimed, retimed_linked, lo, hi,
                    span, 0, bounds,
                )  # fmt: skip

    C, L, blocks, lane, state, head, start, end = _allocation_inputs(scenario, portfolio)
    lo, hi, span = (np.zeros(C, dtype=np.int64) for _ in range(3))
    seconds = []
    for repeat in range(rounds + 1):
        for absorption, block_plan in blocks:
            revenues = np.zeros((C, block_plan.n_years, L))
            linked = np.zeros((C, block_plan.n_years + int(np.max(block_plan.market_lag)) + 1, L))
            retimed, retimed_linked = np.zeros((block_plan.n_years, C)), np.zeros((block_plan.n_years, C))
            clock = time.thread_time()
            batches(
                block_plan,
                absorption,
                lane,
                state,
                head,
                revenues,
                linked,
                start,
                end,
                retimed,
                retimed_linked,
                lo,
                hi,
                span,
            )
            if repeat > 0:  # the first round compiles and loads the code
                seconds.append(time.thread_time() - clock)
    return statistics.median(seconds)


def absorption_time(scenario: Any, portfolio: Any, rounds: int) -> float:
    """Median CPU seconds per block of the markets' absorption random numbers alone (stream 4, issue 15).

    :func:`grex.montecarlo.streams._absorption_compiled` on blocks 0-3 of seed 1, after
    :func:`grex.montecarlo.streams._block_compiled` made their other numbers; each time with the
    block's streams seeded afresh, as a block's first use of them.
    """
    from grex.montecarlo.plan import make_plan
    from grex.montecarlo.streams import _absorption_compiled, _block_compiled, _Scratch

    plan = make_plan(scenario, portfolio, None)
    w = _Scratch(plan)
    inputs = []
    for block in range(4):
        _block_compiled(plan, 1, block, w)
        inputs.append((w.z.copy(), w.later.copy()))
    seconds = []
    for repeat in range(rounds + 1):
        for block, (first, later) in enumerate(inputs):
            w.states_of = None
            clock = time.thread_time()
            _absorption_compiled(plan, 1, block, first, later, w)
            if repeat > 0:  # the first round loads the compiled code
                seconds.append(time.thread_time() - clock)
    return statistics.median(seconds)


def allocation_bound(off_seconds: float, allocation_seconds: float) -> float:
    """The ratio on / off (CPU per block off over on) if the allocation were all the markets cost.

    With the markets on, a block costs at least what it costs without them
    plus the allocation alone (the markets' absorption, ``market_by_draw`` and
    ``add_market`` come on top), so the ratio is at most
    ``off / (off + allocation)``.
    """
    return off_seconds / (off_seconds + allocation_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the four blocks (default 3)")
    args = parser.parse_args()
    from run import market_workload

    on, off, portfolio = market_workload(50, 40)
    figures = {}
    for name, scenario in (("on", on), ("off", off)):
        figures[name] = block_times(scenario, portfolio, args.rounds)
        random_ms, kernel_ms = (1e3 * s for s in figures[name])
        print(f"markets {name}: random numbers {random_ms:.1f} ms, kernel {kernel_ms:.1f} ms per block of 1,024 draws")
    ratio = sum(figures["off"]) / sum(figures["on"])
    print(f"ratio (throughput on / off, CPU per block): {ratio:.2f}")
    allocation_ms = 1e3 * allocation_time(on, portfolio, args.rounds)
    print(f"market allocation alone: {allocation_ms:.1f} ms per block of 1,024 draws")
    bound = allocation_bound(sum(figures["off"]), allocation_ms / 1e3)
    print(f"ratio if the allocation were the markets' only cost (off / (off + allocation)): {bound:.2f}")
    with_add_ms = 1e3 * add_market_time(on, portfolio, args.rounds)
    print(f"market allocation and add_market: {with_add_ms:.1f} ms per block of 1,024 draws")
    print(f"add_market's part (market_by_draw and add_market): {with_add_ms - allocation_ms:.1f} ms per block")
    absorption_ms = 1e3 * absorption_time(on, portfolio, 3 * args.rounds)
    print(f"markets' absorption random numbers alone: {absorption_ms:.2f} ms per block of 1,024 draws")


if __name__ == "__main__":
    main()
