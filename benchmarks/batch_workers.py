"""When do local worker processes pay off in ``grex batch``? ``python benchmarks/batch_workers.py [--json] [--quick]``.

Measures on the example batch (``scenarios/batch-2024``, 11 scenarios once
its grid is expanded):

- the start-up of one worker process (``spawn``, as ``--workers`` uses):
  from submitting a first part to its result, for a part of one
  1,024-draw block, so almost all of it is the interpreter, importing grex
  and loading the compiled kernel from numba's cache; compared with the
  same part in a warm process;
- the rate at which this process values the parts of the batch
  (complex-year-draw cells per second, warm), the figure behind
  :data:`grex.batch.PART_RATE`;
- whole runs, each in a fresh process as a user starts them: one process
  (``workers=1``) against a pool of two forced on (``auto=False``), at
  2,000 and 10,000 draws per scenario; medians of the repetitions.

``--quick`` runs one repetition at 500 draws (a smoke test; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = sorted(str(p) for p in (ROOT / "scenarios" / "batch-2024").glob("*.toml"))


def _one_part() -> float:
    """A worker's first task: one block of the base scenario (imports grex and loads the kernel)."""
    start = time.perf_counter()
    from grex.io import read_portfolio, read_scenario
    from grex.montecarlo import simulate_range, simulation_horizon

    scenario = read_scenario(BATCH[0])
    portfolio = read_portfolio(scenario.portfolio)
    n_years = simulation_horizon(scenario, portfolio, draws=1024, seed=1)
    simulate_range(scenario, portfolio, seed=1, start=0, stop=1024, n_years=n_years)
    return time.perf_counter() - start


def worker_start(repeat: int) -> dict[str, float]:
    """Seconds from submitting a first part to a fresh spawned worker until its result; and warm."""
    cold = []
    context = multiprocessing.get_context("spawn")
    for _ in range(repeat):
        start = time.perf_counter()
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            pool.submit(_one_part).result()
        cold.append(time.perf_counter() - start)
    _one_part()
    warm = statistics.median(_one_part() for _ in range(repeat))
    return {"worker_start_s": statistics.median(cold), "same_part_warm_s": warm}


def part_rate(draws: int) -> dict[str, float]:
    """Cells per second of the batch's parts in this (warm) process."""
    from grex.batch import CHUNK_DRAWS
    from grex.io import read_portfolio
    from grex.io.batch import read_batch_scenarios
    from grex.montecarlo import simulate_range, simulation_horizon

    scenarios, _ = read_batch_scenarios(BATCH)
    jobs = []
    for scenario, _ in scenarios:
        portfolio = read_portfolio(scenario.portfolio)
        jobs.append((scenario, portfolio, simulation_horizon(scenario, portfolio, draws=draws, seed=1)))
    simulate_range(jobs[0][0], jobs[0][1], seed=1, start=0, stop=1024, n_years=jobs[0][2])  # warm
    cells, start = 0, time.perf_counter()
    for scenario, portfolio, n_years in jobs:
        for first in range(0, draws, CHUNK_DRAWS):
            last = min(draws, first + CHUNK_DRAWS)
            out = simulate_range(scenario, portfolio, seed=1, start=first, stop=last, n_years=n_years)
            cells += (last - first) * out["present_value"].shape[1] * n_years
    seconds = time.perf_counter() - start
    return {"draws": draws, "cells": cells, "seconds": seconds, "cells_per_s": cells / seconds}


def whole_run(draws: int, workers: int, repeat: int) -> float:
    """Median seconds of a whole batch in a fresh process (import included), pool forced on for workers > 1."""
    code = (
        "import sys; from grex.io.batch import run_batch; "
        f"run_batch({BATCH!r}, sys.argv[1], draws={draws}, workers={workers}, auto=False)"
    )
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code, out], check=True, env=os.environ.copy())
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--quick", action="store_true", help="one repetition at 500 draws (smoke test)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 2
    sizes = (500,) if args.quick else (2000, 10_000)
    results: dict[str, Any] = {
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        **worker_start(repeat),
        "part_rate": part_rate(sizes[-1]),
        "runs": [],
    }
    for draws in sizes:
        one = whole_run(draws, 1, repeat)
        two = whole_run(draws, 2, repeat)
        results["runs"].append({"draws": draws, "one_process_s": one, "two_workers_s": two, "ratio": two / one})
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"worker start-up (spawn, import, kernel from cache, one block): {results['worker_start_s']:.2f} s")
    print(f"the same part in a warm process: {results['same_part_warm_s']:.3f} s")
    rate = results["part_rate"]
    print(
        f"parts in this process: {rate['cells'] / 1e6:.0f} M cells in {rate['seconds']:.2f} s, "
        f"{rate['cells_per_s'] / 1e6:.0f} M cells/s"
    )
    for run in results["runs"]:
        print(
            f"{run['draws']:>6,} draws: one process {run['one_process_s']:.2f} s, two workers "
            f"{run['two_workers_s']:.2f} s (ratio {run['ratio']:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
