"""The grex benchmark suite: ``python benchmarks/run.py [--json] [--quick] [--revaluation] [--startup] [--user-path] [--per-draw] [--scale] [--compile-only]``.

Measures, in one process and one run (issue 4):

- Monte Carlo throughput in complex-year-draw cells per second on the
  standard workload (50 complexes x 40 years x 100,000 draws, every driver
  on: pace and delay re-timing, index shocks, risk events, interest with
  its spread, discounting), as the median of several repetitions; cells are draws x
  complexes x years of the deterministic horizon;
- the vectorised numpy twin (``engine="numpy"``) on fewer draws;
- the same work by the loop implementation (:func:`grex.reference.value_complex`,
  fed per draw with the re-timed flows and shocked rates of
  :func:`grex.montecarlo.trace`) on a subsample of draws, and the ratio; the
  loop's present values are checked against the simulation's;
- one streaming numpy pass (``np.add`` over float64 arrays, as many cells)
  and the ratio of the core to it;
- peak memory (``VmHWM``) of a 1,000,000-draw simulation in a child
  process, and scaling exponents of time in draws, complexes and years
  (least-squares slope of log time on log size);
- the compile time of the kernel (first call with an empty numba cache, and
  with the cache filled); with ``--compile-only`` only that, for the example and
  the variants of the kernel of the market and yearly-revaluation examples;
- the deterministic valuation of 1,000 complexes x 40 years, and the whole
  ``grex run`` process on the example scenario, import time included;
- with ``--user-path`` only (issue 17): the whole ``grex simulate`` process on
  the example at 100,000 and 1,000,000 draws (three processes each, each after
  a streaming pass of its own; the median ratio reported), its peak memory, its
  cells per second against the streaming pass, and where its time goes;
- with ``--startup`` only (issue 17, item 3): ``python``, ``import numpy``,
  ``grex --help``, ``grex run`` and a small ``grex simulate`` as whole
  processes taking turns (CPU and wall seconds, medians), with every module's
  bytecode cached and with the environment as it is, and the parts of the
  kernel's start (importing numba, numba's cache loads; whether scipy.special
  and scipy.linalg were imported);
- with ``--per-draw`` only (issue 17): the CPU seconds per draw of one
  thread's simulation, split into the random numbers of the blocks
  (``_block_compiled``) and the kernel (``value_draws``), on the example and
  on the standard workload (``--draws``; run it with another checkout on
  ``PYTHONPATH`` to compare two versions with the same script);
- with ``--scale`` only (issue 17, item 5): 1,000 complexes x 40 years x
  100,000 draws via ``simulate()`` and as the whole ``grex simulate`` process
  (peak memory, wall and CPU seconds), and its scaling in draws, complexes
  and years.

Timings depend on the machine; the output names it. ``--quick`` runs small
sizes as a smoke test (its figures are not the headline ones).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "assen-2024.toml"
#: The standard workload of issue 4.
STANDARD = {"complexes": 50, "years": 40, "draws": 100_000}
QUICK = {"complexes": 10, "years": 20, "draws": 4096}
SEED = 2024
#: Threads of the simulations (``--threads``); None: the CPUs this process may use.
THREADS: int | None = None


def timed(function: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def machine() -> dict[str, Any]:
    """The machine and the software the figures come from."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "threads": THREADS,
    }
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as handle:
            info["memory_gib"] = round(int(handle.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def workload(n_complexes: int, n_years: int, seed: int = 1) -> tuple[Any, Any]:
    """A synthetic portfolio with the example's ``[montecarlo]`` table and six risks.

    Every driver has a spread: pace (market and complex), delay, cost and
    price shocks, and a risk register of three cost and three revenue events.
    """
    from grex.drivers import Risk, Triangular
    from grex.io import read_scenario
    from grex.synthetic import synthetic_portfolio

    scenario, portfolio = synthetic_portfolio(n_complexes, n_years, seed=seed)
    mc = replace(read_scenario(EXAMPLE).montecarlo, complexes={})
    projects = list(portfolio.projects["project"])
    V = scenario.valuation_year
    risks = tuple(
        Risk(
            project=projects[(7 * i) % n_complexes],
            name=f"risk {i}",
            probability=0.15 + 0.1 * i,
            impact=Triangular(1e5, 3e5, 1.5e6),
            year=V + 1 + (2 * i) % (n_years - 1),
            type="cost" if i % 2 == 0 else "revenue",
        )
        for i in range(6)
    )
    return replace(scenario, montecarlo=mc, risks=risks), portfolio


def market_workload(n_complexes: int, n_years: int) -> tuple[Any, Any, Any]:
    """:func:`workload` with its sales as a programme (issue 15): scenarios with and without the markets.

    The ``wonen_vrij`` revenues become dwellings at EUR 60,000 and the
    ``bedrijven`` revenues hectares at EUR 950,000; ``[market.housing]`` and
    ``[market.business]`` absorb the average yearly plan (mode; low 80%,
    high 120%, persistence 0.5, correlation 0.5 with the land price), so
    the market binds in the busy years of many draws.
    Returns the scenario with the markets, the same scenario without them
    (the programme then re-timed by pace and delay, as any revenue) and the
    portfolio.
    """
    import pandas as pd

    from grex.market import parse_markets
    from grex.portfolio import Portfolio

    scenario, portfolio = workload(n_complexes, n_years)
    flows = portfolio.flows
    sales = (flows["type"] == "revenue") & flows["category"].isin(["wonen_vrij", "bedrijven"])
    housing = flows["category"] == "wonen_vrij"
    price = np.where(housing, 60_000.0, 950_000.0)
    programme = pd.DataFrame(
        {
            "project": flows["project"][sales],
            "year": flows["year"][sales],
            "segment": flows["category"][sales],
            "unit": np.where(housing, "dwelling", "ha")[sales],
            "quantity": (flows["amount"] / price)[sales],
            "price": price[sales],
        }
    ).reset_index(drop=True)
    keep = flows[~sales].drop(columns="row").reset_index(drop=True)
    with_programme = Portfolio(portfolio.projects.drop(columns="row"), keep, programme=programme)
    per_year = programme.groupby(["segment", "year"])["quantity"].sum().groupby(level=0).mean()

    def market(segment: str, unit: str) -> dict[str, Any]:
        mode = float(per_year[segment])
        absorption = {"low": 0.8 * mode, "mode": mode, "high": 1.2 * mode}
        return {
            "segments": [segment],
            "unit": unit,
            "absorption": absorption,
            "persistence": 0.5,
            "price_correlation": 0.5,
        }

    markets = parse_markets(
        {"housing": market("wonen_vrij", "dwelling"), "business": market("bedrijven", "ha")}, "benchmark"
    )
    return replace(scenario, markets=markets), scenario, with_programme


def market_throughput(size: dict[str, int], draws: int, repeat: int) -> dict[str, Any]:
    """Cells per second with the market allocation on, against the same workload without it (issue 15)."""
    on, off, portfolio = market_workload(size["complexes"], size["years"])
    simulate_seconds(on, portfolio, 2 * 1024, 1)  # load the compiled kernel
    simulate_seconds(off, portfolio, 2 * 1024, 1)
    seconds_on, sim = simulate_seconds(on, portfolio, draws, repeat)
    seconds_off, _ = simulate_seconds(off, portfolio, draws, repeat)
    cells = draws * size["complexes"] * size["years"]
    on_median, off_median = statistics.median(seconds_on), statistics.median(seconds_off)
    return {
        "complexes": size["complexes"],
        "years": size["years"],
        "draws": draws,
        "cells": cells,
        "simulated_years": sim.n_years,
        "seconds_on": seconds_on,
        "seconds_off": seconds_off,
        "cells_per_second_on": cells / on_median,
        "cells_per_second_off": cells / off_median,
        "ratio": off_median / on_median,
    }


def streaming_pass(cells: int, repeat: int) -> float:
    """Seconds of one ``np.add(a, b, out=c)`` over float64 arrays of ``cells`` values (median).

    Three arrays of ``cells`` values (4.8 GB for the standard workload),
    touched once before timing: one pass over main memory, as the issue
    defines it.
    """
    a = np.ones(cells)
    b = np.ones(cells)
    c = np.zeros(cells)
    np.add(a, b, out=c)
    seconds = statistics.median(timed(lambda: np.add(a, b, out=c), repeat))
    return seconds


def simulate_seconds(
    scenario: Any, portfolio: Any, draws: int, repeat: int, engine: str | None = None
) -> tuple[list[float], Any]:
    """Seconds of ``repeat`` whole :func:`grex.montecarlo.simulate` calls, and the last result."""
    from grex.montecarlo import simulate

    result: list[Any] = []

    def run() -> None:
        result.append(simulate(scenario, portfolio, draws=draws, seed=SEED, engine=engine, threads=THREADS))

    times = timed(run, repeat)
    return times, result[-1]


def montecarlo_throughput(size: dict[str, int], repeat: int) -> dict[str, Any]:
    """Cells per second of the whole simulation (median), with the default engine."""
    from grex.montecarlo.execution import _engine, _threads

    scenario, portfolio = workload(size["complexes"], size["years"])
    simulate_seconds(scenario, portfolio, 2 * 1024, 1)  # load the compiled kernel
    times, sim = simulate_seconds(scenario, portfolio, size["draws"], repeat)
    cells = size["draws"] * size["complexes"] * size["years"]
    median = statistics.median(times)
    return {
        **size,
        "cells": cells,
        "engine": _engine(None),
        "threads": _threads(THREADS),
        "simulated_years": sim.n_years,
        "risks": len(scenario.risks),
        "drivers": list(sim.drivers),
        "seconds": times,
        "median_seconds": median,
        "cells_per_second": cells / median,
    }


def revaluation_cost(size: dict[str, int], draws: int, repeat: int) -> dict[str, Any]:
    """Seconds of a simulation with ten yearly revaluations per draw (``foresight = "adaptive"``, and
    ``"plan"``, issue 16) against the same simulation without them (``"perfect"``): the three run in
    turn, ``repeat`` rounds; wall and CPU seconds (``time.process_time``, all threads), medians, and
    their ratios (target: adaptive at most 5x perfect). CPU seconds move less with other jobs' load."""
    from grex.montecarlo import simulate

    scenario, portfolio = workload(size["complexes"], size["years"])
    rules = {
        rule: scenario
        if rule == "perfect"
        else replace(scenario, montecarlo=replace(scenario.montecarlo, foresight=rule))
        for rule in ("perfect", "adaptive", "plan")
    }
    simulate(rules["adaptive"], portfolio, draws=2 * 1024, seed=SEED, threads=THREADS)  # load the compiled kernel
    wall: dict[str, list[float]] = {rule: [] for rule in rules}
    cpu: dict[str, list[float]] = {rule: [] for rule in rules}
    for _ in range(repeat):
        for rule, chosen in rules.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            simulate(chosen, portfolio, draws=draws, seed=SEED, threads=THREADS)
            wall[rule].append(time.perf_counter() - start)
            cpu[rule].append(time.process_time() - start_cpu)

    def ratio(times: dict[str, list[float]], rule: str) -> float:
        return statistics.median(times[rule]) / statistics.median(times["perfect"])

    return {
        **size,
        "draws": draws,
        "perfect_seconds": wall["perfect"],
        "adaptive_seconds": wall["adaptive"],
        "plan_seconds": wall["plan"],
        "perfect_cpu_seconds": cpu["perfect"],
        "adaptive_cpu_seconds": cpu["adaptive"],
        "plan_cpu_seconds": cpu["plan"],
        "ratio": ratio(wall, "adaptive"),
        "cpu_ratio": ratio(cpu, "adaptive"),
        "plan_ratio": ratio(wall, "plan"),
        "plan_cpu_ratio": ratio(cpu, "plan"),
    }


def numpy_twin(size: dict[str, int], draws: int) -> dict[str, Any]:
    """Cells per second of the vectorised numpy implementation (the one before the kernel)."""
    scenario, portfolio = workload(size["complexes"], size["years"])
    times, _ = simulate_seconds(scenario, portfolio, draws, 1, engine="numpy")
    cells = draws * size["complexes"] * size["years"]
    return {"draws": draws, "cells": cells, "seconds": times[0], "cells_per_second": cells / times[0]}


def loop_reference(size: dict[str, int], draws: int) -> dict[str, Any]:
    """The loop implementation on the first ``draws`` draws of the standard workload.

    Only the calls of :func:`grex.reference.value_complex` are timed; preparing
    their inputs (re-timing by :func:`grex.montecarlo.trace`, dictionaries) is
    not. The loop knows no risk register, so its present values are compared
    with the simulation's for the complexes without a risk event in that draw.
    """
    from grex.montecarlo import simulate, trace
    from grex.reference import value_complex
    from grex.valuation import build_inputs

    scenario, portfolio = workload(size["complexes"], size["years"])
    sim = simulate(scenario, portfolio, draws=draws, seed=SEED)
    inputs = build_inputs(scenario, portfolio)
    V = scenario.valuation_year
    risk_complex = [list(inputs.projects).index(r.project) for r in scenario.risks]
    grid_start = V - inputs.rate_offset
    jobs, checked = [], []
    for d in range(draws):
        t = trace(scenario, portfolio, seed=SEED, draw=d, n_years=sim.n_years)
        hit = {c for c, amount in zip(risk_complex, t["risk"], strict=True) if amount != 0}
        for c in range(inputs.n_complexes):
            years, grid = t["years"], t["grid_years"]
            end = inputs.given_end_index[c]
            jobs.append(
                {
                    "valuation_year": V,
                    "book_value": float(inputs.book_value[c]),
                    "costs": {int(y): float(v) for y, v in zip(years, t["costs"][c], strict=True) if v},
                    "revenues": {int(y): float(v) for y, v in zip(years, t["revenues"][c], strict=True) if v},
                    "interest_rate": t["interest_rate"],
                    "discount_rate": inputs.discount_rate,
                    "uncertainty_margin": float(inputs.uncertainty_margin[c]),
                    "cost_index": {int(y): float(r) for y, r in zip(grid, t["cost_rates"][c], strict=True)},
                    "revenue_index": {int(y): float(r) for y, r in zip(grid, t["revenue_rates"][c], strict=True)},
                    "price_level": int(grid_start + inputs.price_level_offset[c]),
                    "end_year": int(V + end) if end else None,
                    "index_revenues_after_max_duration": True,  # trace's rates have the freeze applied
                }
            )
            checked.append((d, c, c not in hit))
    start = time.perf_counter()
    results = [value_complex(**job) for job in jobs]
    seconds = time.perf_counter() - start
    differences = [
        abs(r.present_value - sim.present_value[d, c]) / max(abs(sim.present_value[d, c]), 1.0)
        for r, (d, c, compare) in zip(results, checked, strict=True)
        if compare
    ]
    cells = draws * size["complexes"] * size["years"]
    return {
        "draws": draws,
        "cells": cells,
        "seconds": seconds,
        "cells_per_second": cells / seconds,
        "compared_complex_draws": len(differences),
        "max_relative_difference_present_value": max(differences, default=0.0),
    }


def _child(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object last."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


_MEMORY_CODE = """
import json, sys, time
sys.path.insert(0, {benchmarks!r})

def high_water():
    # VmHWM: this process's peak resident memory (ru_maxrss would carry the parent's over exec).
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmHWM"))

from run import workload
from grex.montecarlo import simulate
scenario, portfolio = workload({complexes}, {years})
simulate(scenario, portfolio, draws=16, seed=1)
before = high_water()
start = time.perf_counter()
sim = simulate(scenario, portfolio, draws={draws}, seed=2024)
seconds = time.perf_counter() - start
peak = high_water()
arrays = sum(a.nbytes for a in (sim.end_year, sim.end_value, sim.present_value, sim.reserve, sim.portfolio_present_value))
print(json.dumps({{"peak_bytes": peak, "before_bytes": before, "result_bytes": arrays, "seconds": seconds}}))
"""


def peak_memory(size: dict[str, int], draws: int) -> dict[str, Any]:
    """Peak resident memory of a child process that runs one simulation of ``draws`` draws."""
    code = _MEMORY_CODE.format(
        benchmarks=str(ROOT / "benchmarks"), draws=draws, **{k: size[k] for k in ("complexes", "years")}
    )
    out = _child(code)
    cells = draws * size["complexes"] * size["years"]
    return {"draws": draws, **out, "cells_per_second": cells / out["seconds"]}


_COMPILE_CODE = """
import json, time
start = time.perf_counter()
import grex.kernel
imported = time.perf_counter() - start
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import simulate
scenario = read_scenario({example!r})
portfolio = read_portfolio(scenario.portfolio)
start, cpu = time.perf_counter(), time.process_time()
simulate(scenario, portfolio, draws=16, seed=1)
first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
start = time.perf_counter()
simulate(scenario, portfolio, draws=16, seed=1)
second = time.perf_counter() - start
print(json.dumps({{"import_seconds": imported, "first_call_seconds": first, "first_call_cpu_seconds": first_cpu,
                  "next_call_seconds": second}}))
"""
#: The scenarios of ``--compile-only``: each compiles its own variant of the kernel (issue 17).
COMPILE_SCENARIOS = ("assen-2024", "assen-2024-markt", "kredietcrisis-2008-jaarlijks")


def compile_time(*, cold: bool = True, example: Path = EXAMPLE) -> dict[str, Any]:
    """The kernel's first call in a fresh process: with an empty numba cache, and with the cache filled.

    ``cold=False`` skips the empty cache (a compile of a few seconds) and
    reports ``None`` for it. ``example``: the scenario, whose stages choose
    the variant of the kernel that compiles (the example's: the plain one).
    """
    code = _COMPILE_CODE.format(example=str(example))
    if not cold:
        return {"empty_cache": None, "filled_cache": _child(code)}
    with tempfile.TemporaryDirectory() as cache:
        empty = _child(code, {"NUMBA_CACHE_DIR": cache})
        filled = _child(code, {"NUMBA_CACHE_DIR": cache})
    return {"empty_cache": empty, "filled_cache": filled}


def _fit(sizes: list[int], seconds: list[float]) -> float:
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def scaling(size: dict[str, int], quick: bool) -> dict[str, Any]:
    """Exponents of time in draws, complexes and years (log-log least squares), median of 3 runs each."""
    repeat = 1 if quick else 3
    base_draws = 1024 if quick else 20_000
    sweeps: dict[str, list[tuple[int, float]]] = {"draws": [], "complexes": [], "years": []}
    scenario, portfolio = workload(size["complexes"], size["years"])
    for draws in [base_draws * k for k in ((1, 2, 4) if quick else (1, 2, 4, 8))]:
        sweeps["draws"].append((draws, statistics.median(simulate_seconds(scenario, portfolio, draws, repeat)[0])))
    for complexes in (size["complexes"] // 2, size["complexes"], 2 * size["complexes"], 4 * size["complexes"]):
        s, p = workload(complexes, size["years"])
        sweeps["complexes"].append((complexes, statistics.median(simulate_seconds(s, p, base_draws, repeat)[0])))
    for years in (size["years"] // 2, size["years"], 2 * size["years"]):
        s, p = workload(size["complexes"], years)
        sweeps["years"].append((years, statistics.median(simulate_seconds(s, p, base_draws, repeat)[0])))
    return {
        axis: {
            "sizes": [n for n, _ in points],
            "seconds": [t for _, t in points],
            "exponent": _fit([n for n, _ in points], [t for _, t in points]),
        }
        for axis, points in sweeps.items()
    }


def deterministic(n_complexes: int, n_years: int, repeat: int) -> dict[str, Any]:
    """The deterministic core (``ModelInputs.valuate``) and the whole valuation with its tables."""
    from grex.synthetic import synthetic_portfolio
    from grex.valuation import build_inputs, value_portfolio

    scenario, portfolio = synthetic_portfolio(n_complexes, n_years, seed=1)
    inputs = build_inputs(scenario, portfolio)
    compute = statistics.median(timed(inputs.valuate, repeat))
    whole = statistics.median(timed(lambda: value_portfolio(scenario, portfolio), repeat))
    return {"complexes": n_complexes, "years": n_years, "compute_seconds": compute, "with_tables_seconds": whole}


def grex_run_process(repeat: int, tmp: Path) -> dict[str, Any]:
    """The whole ``grex run`` process on the example (median), interpreter start and imports included."""
    command = [sys.executable, "-m", "grex.cli", "run", str(EXAMPLE), "--out", str(tmp / "run")]
    times = timed(lambda: subprocess.run(command, check=True, capture_output=True), repeat)
    return {"seconds": times, "median_seconds": statistics.median(times)}


_USER_PATH_CODE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "seconds": seconds, "peak_bytes": usage.ru_maxrss * 1024,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime, "stderr": done.stderr}))
"""

#: ``grex -v`` logs the seconds of each step as ``grex: simulate: <step>: <seconds> s``.
_STEP = re.compile(r"^grex: simulate: (?P<step>.+?): (?P<seconds>[0-9.]+) s(?: \((?P<note>.*)\))?$")

_IN_ALL = re.compile(r"^grex: simulate: (?P<seconds>[0-9.]+) s in all$")


def _process(command: list[str], env: dict[str, str] | None = None, inherit: bool = True) -> dict[str, Any]:
    """Run ``command`` as a process of a fresh interpreter: wall seconds, its peak resident memory, its stderr.

    The interpreter in between runs nothing but the command, so its
    ``RUSAGE_CHILDREN`` peak is the command's own. ``env`` is added to this
    process's environment, or (``inherit=False``) is the whole environment.
    """
    out = subprocess.run(
        [sys.executable, "-c", _USER_PATH_CODE, *command],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})} if inherit else env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise RuntimeError(f"{command} failed: {result['stderr'][-2000:]}")
    return result


def full_overlap_ratio(cells: int, cpu_seconds: float, cores: int, stream_rate: float) -> float:
    """The ratio to the stream a process doing ``cpu_seconds`` of work would reach with its CPU spread evenly
    over ``cores`` cores from its first instant to its last: ``cells / (cpu_seconds / cores) / stream_rate``.

    No overlap of its serial parts (start, imports, reading, numba's load,
    the tail) with the draws can make the process faster than its CPU
    seconds over the cores, so this bounds ``ratio_to_stream`` from above
    for as long as the work itself (its CPU seconds) stays what it is.
    """
    return cells / (cpu_seconds / cores) / stream_rate


def median_run(runs: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The run whose first entry (its ratio) is the median of ``runs``: the lower middle one of an even count."""
    ordered = sorted(runs, key=lambda run: run[0])
    return ordered[(len(ordered) - 1) // 2]


def user_path(draw_counts: list[int], stream_cells: int, tmp: Path, repeat: int = 1) -> dict[str, Any]:
    """Issue 17: the whole ``grex -v simulate`` process on the example, as a user waits for it.

    For each number of draws: the wall seconds of the process (interpreter,
    imports, reading, valuing, simulating, writing ``draws.parquet``), its peak
    resident memory, useful cells (draws x complexes x planned years of the
    deterministic valuation) per second, their ratio to one streaming
    ``np.add`` pass measured in this run, and where the time goes: the steps
    ``grex -v`` logs, the rest of the wall time being the interpreter's start,
    the imports and the console output. The processes run with every
    module's bytecode cached, as in an installed grex (pip compiles it): a
    ``PYTHONPYCACHEPREFIX`` of this run, filled by the first run (where the
    environment sets ``PYTHONDONTWRITEBYTECODE`` and runs grex from its
    source folder, as here, every process would otherwise compile grex's
    own modules again: about 0.1 s). The streaming pass runs over
    ``stream_cells`` cells (its rate in cells per second does not depend on
    the size once the arrays are far beyond the caches), so it needs little
    memory whatever the number of draws. The kernel's numba cache is filled
    by a first small run that is not reported.

    Each number of draws runs ``repeat`` times, each process after a
    streaming pass of its own (five, their median): on a virtual machine both
    move from minute to minute (the process by a sixth, the stream by up to
    half), so each ratio takes the stream of its own minute, and the run
    reported is the one with the median ratio; ``repeats`` keeps every run's
    wall seconds, stream and ratio. ``ratio_at_full_overlap`` is the ratio the
    reported run would reach with its CPU seconds spread evenly over the
    machine's cores (:func:`full_overlap_ratio`): the most that overlapping
    its serial parts with the draws could give.
    """
    from grex.io import read_portfolio, read_scenario
    from grex.valuation import build_inputs

    scenario = read_scenario(EXAMPLE)
    inputs = build_inputs(scenario, read_portfolio(scenario.portfolio))
    complexes, years = inputs.n_complexes, inputs.n_years
    cores = machine()["cpus_usable"]
    grex = [sys.executable, "-m", "grex.cli", "-v", "simulate", str(EXAMPLE)]
    cached = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(tmp / "bytecode")
    # the compiled kernel in numba's cache, every module's bytecode in the prefix
    _process([*grex, "--draws", "1024", "--out", str(tmp / "warm")], env=cached, inherit=False)
    streams = []
    runs = []
    for draws in draw_counts:
        out = tmp / f"simulate-{draws}"
        repeats = []
        cells = draws * complexes * years
        for _ in range(repeat):
            stream_seconds = streaming_pass(stream_cells, 5)
            streams.append(stream_seconds)
            result = _process([*grex, "--draws", str(draws), "--out", str(out)], env=cached, inherit=False)
            stream_rate = stream_cells / stream_seconds
            ratio = cells / result["seconds"] / stream_rate
            repeats.append((ratio, stream_rate, result))
        ratio, stream_rate, result = median_run(repeats)
        steps: dict[str, float] = {}
        in_all = float("nan")
        notes: dict[str, str] = {}
        for line in result["stderr"].splitlines():
            match = _STEP.match(line)
            if match:
                steps[match["step"]] = float(match["seconds"])
                if match["note"]:
                    notes[match["step"]] = match["note"]
            match = _IN_ALL.match(line)
            if match:
                in_all = float(match["seconds"])
        runs.append(
            {
                "draws": draws,
                "cells": cells,
                "seconds": result["seconds"],
                "cpu_seconds": result["cpu_seconds"],
                "peak_bytes": result["peak_bytes"],
                "draws_parquet_bytes": (out / "draws.parquet").stat().st_size,
                "cells_per_second": cells / result["seconds"],
                "ratio_to_stream": ratio,
                "stream_cells_per_second": stream_rate,
                # the bound no overlap can pass with the same CPU seconds (full_overlap_ratio)
                "ratio_at_full_overlap": full_overlap_ratio(cells, result["cpu_seconds"], cores, stream_rate),
                "repeats": [
                    {"seconds": r["seconds"], "stream_cells_per_second": rate, "ratio_to_stream": q}
                    for q, rate, r in repeats
                ],
                "steps": {**steps, "start, imports and console (the rest)": result["seconds"] - in_all},
                "notes": notes,
            }
        )
    return {
        "scenario": str(EXAMPLE.relative_to(ROOT)),
        "complexes": complexes,
        "planned_years": years,
        "streaming_pass": {
            "cells": stream_cells,
            "seconds": statistics.median(streams),
            "cells_per_second": stream_cells / statistics.median(streams),
        },
        "bytecode": "cached (PYTHONPYCACHEPREFIX of the run)",
        "cores": cores,
        "load_average": os.getloadavg(),
        "runs": runs,
    }


def per_draw(draws: int, repeat: int) -> dict[str, Any]:
    """Issue 17: CPU microseconds per draw of a one-thread simulation, random numbers and kernel apart.

    On the example and on the standard workload (``draws`` draws each, the
    compiled kernel loaded first): the thread's CPU time in
    ``_block_compiled`` (the random numbers of each block: streams, normals,
    shocks, risks) and in the kernel's ``value_draws``, per draw; the rest
    (``other``) is the chunk loop, the outputs and the result. The minimum of
    ``repeat`` runs (other work on the machine only adds time). Wraps the
    functions by name, so it measures any checkout of grex on the path.
    """
    import grex.kernel as kernel
    from grex.io import read_portfolio, read_scenario
    from grex.montecarlo import execution, simulate

    totals: dict[str, float] = {}
    block = execution._block_compiled
    make = kernel.kernel_for

    def timed_block(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return block(*args, **kwargs)
        finally:
            totals["random_numbers"] = totals.get("random_numbers", 0.0) + time.thread_time() - start

    def timed_kernel(plan: Any) -> Any:
        value_draws = make(plan)

        def run(*args: Any) -> None:
            start = time.thread_time()
            value_draws(*args)
            totals["kernel"] = totals.get("kernel", 0.0) + time.thread_time() - start

        return run

    scenario = read_scenario(EXAMPLE)
    cases = {"example": (scenario, read_portfolio(scenario.portfolio)), "standard": workload(50, 40)}
    results: dict[str, Any] = {"draws": draws, "threads": 1}
    execution._block_compiled, kernel.kernel_for = timed_block, timed_kernel
    try:
        for name, (s, p) in cases.items():
            simulate(s, p, draws=2048, seed=SEED, threads=1)  # the compiled kernel loaded
            best: dict[str, float] = {}
            for _ in range(repeat):
                totals.clear()
                start = time.thread_time()
                simulate(s, p, draws=draws, seed=SEED, threads=1)
                split = {**totals, "whole": time.thread_time() - start}
                split["other"] = split["whole"] - split["random_numbers"] - split["kernel"]
                best = split if not best or split["whole"] < best["whole"] else best
            results[name] = {key: seconds / draws * 1e6 for key, seconds in best.items()}
    finally:
        execution._block_compiled, kernel.kernel_for = block, make
    results["load_average"] = os.getloadavg()
    return results


def format_user_path(r: dict[str, Any]) -> str:
    """The user's path as a short text report."""
    lines = [
        f"grex -v simulate {r['scenario']} ({r['complexes']} complexes x {r['planned_years']} planned years); "
        f"streaming np.add: {r['streaming_pass']['cells_per_second'] / 1e6:.0f} M cells/s; bytecode "
        f"{r.get('bytecode', 'as the environment has it')}; load average "
        + " ".join(f"{x:.2f}" for x in r.get("load_average", ()))
    ]
    for run in r["runs"]:
        lines.append(
            f"  {run['draws']:>9,} draws: {run['seconds']:.2f} s wall ({run['cpu_seconds']:.2f} s CPU), "
            f"peak {run['peak_bytes'] / 1e9:.2f} GB, {run['cells_per_second'] / 1e6:.0f} M cells/s, "
            f"ratio to stream {run['ratio_to_stream']:.3f}"
            + (
                f" (at most {run['ratio_at_full_overlap']:.3f} with its CPU spread over {r['cores']} cores)"
                if "ratio_at_full_overlap" in run
                else ""
            )
            + (
                " (the median of "
                + ", ".join(f"{x['ratio_to_stream']:.3f} ({x['seconds']:.2f} s)" for x in run["repeats"])
                + ")"
                if len(run.get("repeats", ())) > 1
                else ""
            )
        )
        lines.append("      " + "; ".join(f"{step} {seconds:.2f} s" for step, seconds in run["steps"].items()))
    return "\n".join(lines)


# -- start-up (issue 17, item 3) ------------------------------------------------------------------

#: What the kernel's start-up in a ``grex simulate`` process is made of, measured in a fresh interpreter: CPU
#: seconds (``time.process_time``, all threads) of each part, in the order a simulation meets them.
_KERNEL_START_CODE = """
import json, sys, time
T = time.process_time
sys.argv = ["grex"]
import numpy, pandas, pyarrow.parquet
from grex.io import read_portfolio, read_scenario
scenario = read_scenario({example!r})
portfolio = read_portfolio(scenario.portfolio)
parts = {{}}
start = T(); import numba; parts["import numba"] = T() - start
start = T(); import grex.kernel; parts["import grex.kernel"] = T() - start
from numba.core import caching
loads = []
load_overload = caching.Cache.load_overload

def timed_load(self, sig, target_context):
    start = T()
    found = load_overload(self, sig, target_context)
    loads.append([self._name.split(" ")[1], T() - start, found is not None])
    return found

caching.Cache.load_overload = timed_load
from grex.montecarlo import simulate
start = T()
simulate(scenario, portfolio, draws=1024, seed=1, threads=1)
parts["the first simulation of 1,024 draws"] = T() - start
# issue 17: the random numbers' ndtr is compiled (grex.kernel.ndtr), so a simulation no longer imports scipy.special;
# numba's check for a BLAS finds scipy.linalg.cython_blas without importing scipy.linalg (grex.numba_start)
print(json.dumps({{"parts": parts, "loads": loads, "scipy.special imported": "scipy.special" in sys.modules,
                  "scipy.linalg imported": "scipy.linalg" in sys.modules}}))
"""


def _startup_commands(tmp: Path) -> dict[str, list[str]]:
    python = sys.executable
    grex = [python, "-m", "grex.cli"]
    return {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import numpy'": [python, "-c", "import numpy"],
        "grex --help": [*grex, "--help"],
        "grex run": [*grex, "run", str(EXAMPLE), "--out", str(tmp / "run")],
        "grex simulate --draws 1024": [*grex, "simulate", str(EXAMPLE), "--draws", "1024", "--out", str(tmp / "sim")],
    }


def _usage_seconds(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, ``RUSAGE_CHILDREN``) of one run of ``command``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def startup(rounds: int, tmp: Path) -> dict[str, Any]:
    """Issue 17, item 3: the start-up of ``grex``, as whole processes, and what the kernel's start is made of.

    Each command of :func:`_startup_commands` runs ``rounds`` times, the commands taking turns
    (so that other work on the machine weighs on all alike); the medians of wall and CPU seconds.
    Twice: with the bytecode of every module cached (as a package installed by pip, or after its
    first run: ``PYTHONPYCACHEPREFIX`` in a folder of this run, filled by one run of each first),
    and with the environment as it is (where ``PYTHONDONTWRITEBYTECODE`` is set and grex is not
    installed compiled, every process compiles grex's own modules). The figure of the target: the
    CPU seconds of ``grex run`` above those of ``python -c 'import numpy'``. Then, in a fresh
    interpreter, the CPU seconds of the parts of the kernel's start (:data:`_KERNEL_START_CODE`),
    and each function numba loads from its cache.
    """
    commands = _startup_commands(tmp)
    base = {key: value for key, value in os.environ.items() if key not in ("PYTHONPYCACHEPREFIX",)}
    cached = {key: value for key, value in base.items() if key != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(tmp / "bytecode")
    settings = {"bytecode cached": cached, "environment as is": base}
    result: dict[str, Any] = {
        "rounds": rounds,
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "load_before": os.getloadavg(),
    }
    for setting, env in settings.items():
        for command in commands.values():  # fills the bytecode and numba's cache; not measured
            _usage_seconds(command, env)
        runs: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in commands}
        for i in range(rounds):
            order = list(commands.items()) if i % 2 == 0 else list(reversed(commands.items()))
            for name, command in order:
                wall, cpu = _usage_seconds(command, env)
                runs[name]["wall"].append(wall)
                runs[name]["cpu"].append(cpu)
        medians = {
            name: {"wall_seconds": statistics.median(r["wall"]), "cpu_seconds": statistics.median(r["cpu"]), **r}
            for name, r in runs.items()
        }
        numpy_cpu = medians["python -c 'import numpy'"]["cpu_seconds"]
        result[setting] = {
            "commands": medians,
            "grex_run_cpu_above_numpy": medians["grex run"]["cpu_seconds"] - numpy_cpu,
            "grex_run_wall_above_numpy": medians["grex run"]["wall_seconds"]
            - medians["python -c 'import numpy'"]["wall_seconds"],
        }
    result["kernel_start"] = _child(_KERNEL_START_CODE.format(example=str(EXAMPLE)), env=cached)
    result["load_after"] = os.getloadavg()
    result["targets"] = {
        "grex_run_cpu_above_numpy": result["bytecode cached"]["grex_run_cpu_above_numpy"] <= 0.5,
    }
    return result


def format_startup(r: dict[str, Any]) -> str:
    """The start-up as a short text report."""
    lines = [
        f"start-up, median of {r['rounds']} rounds taking turns (load average before {r['load_before']}, "
        f"after {r['load_after']}; PYTHONDONTWRITEBYTECODE={r['PYTHONDONTWRITEBYTECODE']})"
    ]
    for setting in ("bytecode cached", "environment as is"):
        s = r[setting]
        lines.append(
            f"  {setting}: grex run above python -c 'import numpy': {s['grex_run_cpu_above_numpy']:.3f} s CPU, "
            f"{s['grex_run_wall_above_numpy']:.3f} s wall"
        )
        for name, c in s["commands"].items():
            lines.append(f"    {name}: {c['cpu_seconds']:.3f} s CPU, {c['wall_seconds']:.3f} s wall")
    k = r["kernel_start"]
    lines.append(
        "  the kernel's start in a fresh process (CPU s): " + "; ".join(f"{p} {s:.3f}" for p, s in k["parts"].items())
    )
    lines.append(
        "    loaded from numba's cache (the first load starts numba's code generator): "
        + "; ".join(f"{name} {seconds:.3f}" + ("" if found else " (compiled)") for name, seconds, found in k["loads"])
    )
    lines.append(
        f"    scipy.special imported by the simulation: {k.get('scipy.special imported')}; "
        f"scipy.linalg: {k.get('scipy.linalg imported')}"
    )
    lines.append(f"  targets met: {r['targets']}")
    return "\n".join(lines)


# -- scale (issue 17, item 5) ---------------------------------------------------------------------

#: A large city's or a province's portfolio (issue 17, item 5).
SCALE = {"complexes": 1000, "years": 40, "draws": 100_000}
#: ``--scale --quick``: a smoke test whose figures mean nothing.
SCALE_QUICK = {"complexes": 40, "years": 12, "draws": 4096}
#: Peak resident memory the scale run must stay within. [bytes]
SCALE_MEMORY = 4e9
#: Largest exponent of time that counts as linear (log-log fit over a factor of 4).
LINEAR = 1.1


def scale_workload(n_complexes: int, n_years: int) -> tuple[Any, Any]:
    """:func:`workload` with the risk impacts a scenario file can hold (a 5% point of EUR 200,000, not 100,000).

    The standard workload's triangle (5% point 100,000, mode 300,000, 95%
    point 1.5 million) has its lower extreme below zero, which it may have
    in code but which the scenario reader refuses; the scale run reads its
    scenario from a file as a user's run does, and the figures of both paths
    are compared, so both take this one.
    """
    from grex.drivers import Triangular

    scenario, portfolio = workload(n_complexes, n_years)
    impact = Triangular(2e5, 3e5, 1.5e6)
    return replace(scenario, risks=tuple(replace(r, impact=impact) for r in scenario.risks)), portfolio


def _toml(value: Any) -> str:
    """``value`` (plain JSON data) as a TOML value, tables inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def write_scale_scenario(n_complexes: int, n_years: int, folder: Path) -> Path:
    """Write :func:`scale_workload` as a user's files: ``scale.toml`` and ``portfolio/{projects,flows}.csv``."""
    scenario, portfolio = scale_workload(n_complexes, n_years)
    data = scenario.to_json()
    data["portfolio"] = "portfolio"
    del data["montecarlo"]["correlation_order"]  # written for the reader of summary.json; not a key of the file
    (folder / "portfolio").mkdir(parents=True, exist_ok=True)
    portfolio.projects.drop(columns="row").to_csv(folder / "portfolio" / "projects.csv", index=False)
    portfolio.flows.drop(columns="row").to_csv(folder / "portfolio" / "flows.csv", index=False)
    path = folder / "scale.toml"
    path.write_text("".join(f"{key} = {_toml(value)}\n" for key, value in data.items()), encoding="utf-8")
    return path


_SCALE_CODE = """
import json, logging, re, resource, sys, time
sys.path.insert(0, {benchmarks!r})

def high_water():
    # VmHWM: this process's peak resident memory (ru_maxrss would carry the parent's over exec).
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmHWM"))

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

steps = {{}}
step = re.compile(r"^simulate: (?P<step>.+?): (?P<seconds>[0-9.]+) s")

class Steps(logging.Handler):
    def emit(self, record):
        match = step.match(record.getMessage())
        if match:
            steps[match["step"]] = float(match["seconds"])

log = logging.getLogger("grex")
log.setLevel(logging.DEBUG)
log.addHandler(Steps())
from run import scale_workload
from grex.limits import available_memory, memory_needed
from grex.montecarlo import simulate
from grex.valuation import value_portfolio
scenario, portfolio = scale_workload({complexes}, {years})
simulate(scenario, portfolio, draws=1024, seed=1, threads={threads})  # every compiled function loaded from the cache
steps.clear()
before = high_water()
start, cpu_start = time.perf_counter(), cpu()
sim = simulate(scenario, portfolio, draws={draws}, seed={seed}, threads={threads})
seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
peak = high_water()
arrays = (sim.end_year, sim.end_value, sim.present_value, sim.reserve, sim.portfolio_present_value)
print(json.dumps({{
    "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_bytes": peak, "before_bytes": before,
    "result_bytes": sum(a.nbytes for a in arrays), "simulated_years": sim.n_years, "steps": steps,
    "estimate_bytes": memory_needed({draws}, {complexes}), "available_bytes": available_memory(),
    "required_capacity": sim.required_capacity, "input_hash": sim.base.input_hash,
}}))
"""


def scale_point(complexes: int, years: int, draws: int) -> dict[str, Any]:
    """One :func:`grex.montecarlo.simulate` call of :func:`scale_workload` in a fresh process.

    Wall and CPU seconds of the call (all threads), the process's peak
    resident memory (``VmHWM``) and that before the call (interpreter,
    libraries, the portfolio, the kernel loaded), the bytes of the result's
    arrays, the simulated years, the steps ``simulate`` logs, and what
    :func:`grex.limits.memory_needed` estimates for it.
    """
    code = _SCALE_CODE.format(
        benchmarks=str(ROOT / "benchmarks"),
        complexes=complexes,
        years=years,
        draws=draws,
        seed=SEED,
        threads=THREADS,
    )
    out = _child(code)
    cells = draws * complexes * years
    return {"complexes": complexes, "years": years, "draws": draws, "cells": cells, **out}


def scale_process(complexes: int, years: int, draws: int, tmp: Path) -> dict[str, Any]:
    """The whole ``grex -v simulate`` process on :func:`scale_workload` written as files, writing its outputs.

    Wall and CPU seconds and the peak resident memory of the process
    (``RUSAGE_CHILDREN`` of an interpreter that runs nothing else), the size
    and rows of ``draws.parquet``, the steps ``grex -v`` logs, and the
    required capacity and input hash of ``summary.json`` (compared with the
    API run by :func:`scale`).
    """
    import pyarrow.parquet as pq

    scenario = write_scale_scenario(complexes, years, tmp / "scenario")
    out = tmp / "simulation"
    command = [sys.executable, "-m", "grex.cli", "-v", "simulate", str(scenario), "--draws", str(draws)]
    env = {} if THREADS is None else {"GREX_THREADS": str(THREADS)}
    result = _process([*command, "--out", str(out)], env)
    steps: dict[str, float] = {}
    in_all = float("nan")
    for line in result["stderr"].splitlines():
        match = _STEP.match(line)
        if match:
            steps[match["step"]] = float(match["seconds"])
        match = _IN_ALL.match(line)
        if match:
            in_all = float(match["seconds"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    parquet = pq.ParquetFile(out / "draws.parquet")
    return {
        "complexes": complexes,
        "years": years,
        "draws": draws,
        "cells": draws * complexes * years,
        "seconds": result["seconds"],
        "cpu_seconds": result["cpu_seconds"],
        "peak_bytes": result["peak_bytes"],
        "draws_parquet_bytes": (out / "draws.parquet").stat().st_size,
        "draws_parquet_rows": parquet.metadata.num_rows,
        "draws_parquet_row_groups": parquet.metadata.num_row_groups,
        "steps": {**steps, "start, imports, reading, valuing and console (the rest)": result["seconds"] - in_all},
        "required_capacity": summary["required_capacity"],
        "input_hash": summary["input_hash"],
    }


def scale(size: dict[str, int], tmp: Path) -> dict[str, Any]:
    """Issue 17, item 5: the full simulation of ``size``, and series that double each dimension twice.

    The full size via :func:`grex.montecarlo.simulate` (:func:`scale_point`)
    and as the whole ``grex simulate`` process writing its files
    (:func:`scale_process`), with their figures compared; then, from a base
    of a quarter of each dimension (the years from a quarter of the
    full horizon), the draws, the complexes and the years each times 1, 2
    and 4 with the others at the base (the base point shared), each in a
    fresh process, and the exponents of wall and CPU seconds in each
    (least-squares slope of log seconds on log size).
    """
    C, T, D = size["complexes"], size["years"], size["draws"]
    full = scale_point(C, T, D)
    process = scale_process(C, T, D, tmp)
    process["same_figures_as_api"] = (
        process["required_capacity"] == full["required_capacity"] and process["input_hash"] == full["input_hash"]
    )
    base = {"complexes": C // 4, "years": T, "draws": D // 4}
    points: dict[tuple[int, int, int], dict[str, Any]] = {}

    def point(**change: int) -> dict[str, Any]:
        at = {**base, **change}
        key = (at["complexes"], at["years"], at["draws"])
        if key not in points:
            points[key] = scale_point(*key)
        return points[key]

    series = {
        "draws": [point(draws=base["draws"] * k) for k in (1, 2, 4)],
        "complexes": [point(complexes=base["complexes"] * k) for k in (1, 2, 4)],
        "years": [point(years=T // 4 * k) for k in (1, 2, 4)],
    }
    scaling = {}
    for axis, runs in series.items():
        sizes = [run[axis] for run in runs]
        scaling[axis] = {
            "sizes": sizes,
            "points": runs,
            "exponent_seconds": _fit(sizes, [run["seconds"] for run in runs]),
            "exponent_cpu_seconds": _fit(sizes, [run["cpu_seconds"] for run in runs]),
        }
    return {
        "size": dict(size),
        "cells": C * T * D,
        "simulate": full,
        "process": process,
        "scaling": scaling,
        "targets": {
            "peak_bytes_simulate": full["peak_bytes"] <= SCALE_MEMORY,
            "peak_bytes_process": process["peak_bytes"] <= SCALE_MEMORY,
            "linear_in_each_dimension": all(s["exponent_cpu_seconds"] <= LINEAR for s in scaling.values()),
            "estimate_at_least_the_peak": full["estimate_bytes"] >= full["peak_bytes"],
        },
    }


def format_scale(r: dict[str, Any], m: dict[str, Any] | None = None) -> str:
    """The scale run as a short text report (the machine ``m`` of :func:`machine` first, where given)."""
    full, process = r["simulate"], r["process"]
    cells = r["cells"]

    def gb(value: float) -> str:
        return f"{value / 1e9:.2f} GB"

    lines = [] if m is None else [f"machine: {m.get('cpu')}, {m['cpus_usable']} CPUs, {m.get('memory_gib')} GiB"]
    lines += [
        f"scale: {r['size']['complexes']:,} complexes x {r['size']['years']} years x {r['size']['draws']:,} draws "
        f"= {cells / 1e9:.1f} G cells ({full['simulated_years']} simulated years)",
        f"  simulate(): {full['seconds']:.1f} s wall, {full['cpu_seconds']:.1f} s CPU, "
        f"{cells / full['seconds'] / 1e6:.0f} M cells/s; peak {gb(full['peak_bytes'])} "
        f"(before the call {gb(full['before_bytes'])}, result arrays {gb(full['result_bytes'])}); "
        f"grex.limits estimate {gb(full['estimate_bytes'])}",
        "      " + "; ".join(f"{step} {seconds:.2f} s" for step, seconds in full["steps"].items()),
        f"  grex simulate (whole process): {process['seconds']:.1f} s wall, {process['cpu_seconds']:.1f} s CPU, "
        f"peak {gb(process['peak_bytes'])}; draws.parquet {process['draws_parquet_rows']:,} rows, "
        f"{gb(process['draws_parquet_bytes'])}, {process['draws_parquet_row_groups']} row groups; "
        f"same figures as simulate(): {process['same_figures_as_api']}",
        "      " + "; ".join(f"{step} {seconds:.2f} s" for step, seconds in process["steps"].items()),
    ]
    for axis, s in r["scaling"].items():
        lines.append(
            f"  {axis:>9}: exponent {s['exponent_seconds']:.2f} (wall), {s['exponent_cpu_seconds']:.2f} (CPU); "
            + ", ".join(
                f"{p[axis]:,}: {p['seconds']:.2f} s / {p['cpu_seconds']:.2f} s CPU / {gb(p['peak_bytes'])} "
                f"/ {p['simulated_years']} y"
                for p in s["points"]
            )
        )
    lines.append(f"  targets met: {r['targets']}")
    return "\n".join(lines)


TARGETS = {
    "cells_per_second": 100e6,
    "streaming_ratio": 0.15,
    "loop_ratio": 100.0,
    "peak_memory_bytes_at_1m_draws": 1.5e9,
    "deterministic_1000x40_seconds": 0.020,
    "grex_run_seconds": 1.5,
    "market_ratio": 0.5,  # throughput with the market allocation on, at least half of it off (issue 15)
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not the headline figures")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads of the simulations (default: the CPUs this process may use)"
    )
    parser.add_argument(
        "--market-only",
        action="store_true",
        help="only the workload with the market allocation on and off (issue 15), and their ratio",
    )
    parser.add_argument(
        "--revaluation",
        action="store_true",
        help="only the cost of the yearly revaluation (issue 16): adaptive against perfect foresight",
    )
    parser.add_argument(
        "--compile-only",
        action="store_true",
        help="only the first compile with an empty numba cache, of the example and of the variants "
        "of the market and yearly-revaluation examples (issue 17)",
    )
    parser.add_argument(
        "--user-path",
        action="store_true",
        help="only the whole `grex simulate` process on the example at 100,000 and 1,000,000 draws (issue 17)",
    )
    parser.add_argument(
        "--startup",
        action="store_true",
        help="only the start-up (issue 17): python, import numpy, grex --help, grex run and a small grex simulate "
        "as whole processes taking turns, and the parts of the kernel's start",
    )
    parser.add_argument(
        "--per-draw",
        action="store_true",
        help="only the CPU microseconds per draw of one thread, random numbers and kernel apart, on the example "
        "and the standard workload (issue 17)",
    )
    parser.add_argument("--draws", type=int, default=200_000, help="draws of --per-draw (default 200,000)")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only 1,000 complexes x 40 years x 100,000 draws, via simulate() and as the whole `grex simulate`, "
        "and its scaling in each dimension (issue 17, item 5); a few minutes and about 4 GB",
    )
    args = parser.parse_args(argv)
    global THREADS
    THREADS = args.threads
    quick = args.quick
    size = QUICK if quick else STANDARD
    if args.market_only:
        market = market_throughput(size, size["draws"], 1 if quick else 3)
        print(json.dumps({"machine": machine(), "quick": quick, "market": market}, indent=2))
        return 0
    if args.compile_only:
        compiled = {name: compile_time(example=ROOT / "scenarios" / f"{name}.toml") for name in COMPILE_SCENARIOS}
        if args.json:
            print(json.dumps({"machine": machine(), "compile": compiled}, indent=2))
        else:
            for name, c in compiled.items():
                print(
                    f"{name}: first call {c['empty_cache']['first_call_seconds']:.2f} s "
                    f"({c['empty_cache']['first_call_cpu_seconds']:.2f} s CPU) with an empty numba cache, "
                    f"{c['filled_cache']['first_call_seconds']:.2f} s with it filled"
                )
        return 0
    if args.startup:
        with tempfile.TemporaryDirectory() as tmp:
            started = startup(3 if quick else 11, Path(tmp))
        print(
            json.dumps({"machine": machine(), "quick": quick, "startup": started}, indent=2)
            if args.json
            else format_startup(started)
        )
        return 0
    if args.user_path:
        with tempfile.TemporaryDirectory() as tmp:
            path = user_path(
                [4096, 20_000] if quick else [100_000, 1_000_000],
                4_000_000 if quick else 40_000_000,
                Path(tmp),
                1 if quick else 3,
            )
        path["targets"] = {
            "ratio_to_stream_at_1m_draws": None if quick else path["runs"][-1]["ratio_to_stream"] >= 0.10,
            "peak_memory_bytes_at_1m_draws": None if quick else path["runs"][-1]["peak_bytes"] <= 1.5e9,
        }
        print(
            json.dumps({"machine": machine(), "quick": quick, "user_path": path}, indent=2)
            if args.json
            else format_user_path(path)
        )
        return 0
    if args.per_draw:
        split = per_draw(4096 if quick else args.draws, 1 if quick else 3)
        if args.json:
            print(json.dumps({"machine": machine(), "quick": quick, "per_draw": split}, indent=2))
        else:
            for name in ("example", "standard"):
                r = split[name]
                print(
                    f"{name}: {r['whole']:.2f} us CPU per draw (1 thread) = random numbers {r['random_numbers']:.2f}"
                    f" + kernel {r['kernel']:.2f} + other {r['other']:.2f}"
                )
            print(f"  {split['draws']} draws, load average (1, 5, 15 min) {split['load_average']}")
        return 0
    if args.scale:
        load = {"before": os.getloadavg()}  # other work on the machine: 1, 5 and 15 minute load averages
        with tempfile.TemporaryDirectory() as tmp:
            result = scale(SCALE_QUICK if quick else SCALE, Path(tmp))
        load["after"] = os.getloadavg()
        if quick:
            result["targets"] = {key: None for key in result["targets"]}  # small sizes say nothing about them
        print(
            json.dumps({"machine": machine(), "quick": quick, "load": load, "scale": result}, indent=2)
            if args.json
            else format_scale(result, machine())
            + f"\n  load average (1, 5, 15 min) before {load['before']}, after {load['after']}"
        )
        return 0
    if args.revaluation:
        cost = revaluation_cost(size, size["draws"] if quick else 20_000, 3)
        print(
            json.dumps({"machine": machine(), "revaluation": cost}, indent=2)
            if args.json
            else f"yearly revaluation, adaptive / perfect: {cost['ratio']:.2f}x wall, {cost['cpu_ratio']:.2f}x CPU; "
            f"plan / perfect: {cost['plan_ratio']:.2f}x wall, {cost['plan_cpu_ratio']:.2f}x CPU ({cost})"
        )
        return 0

    results: dict[str, Any] = {"machine": machine(), "quick": quick}
    with tempfile.TemporaryDirectory() as tmp:
        results["grex_run"] = grex_run_process(1 if quick else 5, Path(tmp))
    results["deterministic"] = deterministic(100 if quick else 1000, 40, 3 if quick else 11)
    results["compile"] = compile_time(cold=not quick)
    mc = montecarlo_throughput(size, 1 if quick else 5)
    results["montecarlo"] = mc
    results["numpy_twin"] = numpy_twin(size, 1024 if quick else 8192)
    results["numpy_twin"]["ratio_kernel_to_twin"] = mc["cells_per_second"] / results["numpy_twin"]["cells_per_second"]
    loop = loop_reference(size, 2 if quick else 20)
    loop["ratio"] = mc["cells_per_second"] / loop["cells_per_second"]
    results["loop_reference"] = loop
    results["memory"] = peak_memory(size, 20_000 if quick else 1_000_000)
    stream_seconds = streaming_pass(mc["cells"], 3 if quick else 5)
    results["streaming_pass"] = {
        "cells": mc["cells"],
        "seconds": stream_seconds,
        "cells_per_second": mc["cells"] / stream_seconds,
        "ratio": stream_seconds / mc["median_seconds"],
    }
    results["scaling"] = scaling(size, quick)
    results["market"] = market_throughput(size, size["draws"] // 4 if not quick else size["draws"], 1 if quick else 3)
    results["targets"] = {
        "cells_per_second": mc["cells_per_second"] >= TARGETS["cells_per_second"],
        "streaming_ratio": results["streaming_pass"]["ratio"] >= TARGETS["streaming_ratio"],
        "loop_ratio": loop["ratio"] >= TARGETS["loop_ratio"],
        "peak_memory_bytes_at_1m_draws": results["memory"]["peak_bytes"] <= TARGETS["peak_memory_bytes_at_1m_draws"],
        "deterministic_1000x40_seconds": results["deterministic"]["compute_seconds"]
        <= TARGETS["deterministic_1000x40_seconds"],
        "grex_run_seconds": results["grex_run"]["median_seconds"] <= TARGETS["grex_run_seconds"],
        "market_ratio": results["market"]["ratio"] >= TARGETS["market_ratio"],
    }
    if quick:
        results["targets"] = {key: None for key in results["targets"]}  # small sizes say nothing about the targets

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(format_results(results))
    return 0


def format_results(r: dict[str, Any]) -> str:
    """The figures as a short text report."""
    m, mc, loop, stream, mem = r["machine"], r["montecarlo"], r["loop_reference"], r["streaming_pass"], r["memory"]
    lines = [
        f"machine: {m.get('cpu')}, {m['cpus_usable']} CPUs, {m.get('memory_gib')} GiB; python {m['python']}, "
        f"numpy {m['numpy']}, numba {m['numba']}; OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}",
        f"Monte Carlo {mc['complexes']} x {mc['years']} x {mc['draws']:,} draws ({mc['engine']}, {mc['threads']} threads, "
        f"{mc['simulated_years']} simulated years): median {mc['median_seconds']:.3f} s, "
        f"{mc['cells_per_second'] / 1e6:.0f} M cells/s",
        f"numpy twin: {r['numpy_twin']['cells_per_second'] / 1e6:.1f} M cells/s "
        f"(kernel {r['numpy_twin']['ratio_kernel_to_twin']:.0f}x)",
        f"loop reference ({loop['draws']} draws): {loop['cells_per_second'] / 1e6:.2f} M cells/s; ratio {loop['ratio']:.0f}x; "
        f"max relative difference of present value {loop['max_relative_difference_present_value']:.1e}",
        f"streaming np.add over {stream['cells']:,} cells: {stream['seconds']:.3f} s; ratio core/stream {stream['ratio']:.2f}",
        f"peak memory at {mem['draws']:,} draws: {mem['peak_bytes'] / 1e9:.2f} GB (results {mem['result_bytes'] / 1e9:.2f} GB), "
        f"{mem['seconds']:.1f} s, {mem['cells_per_second'] / 1e6:.0f} M cells/s",
        "scaling exponents: " + ", ".join(f"{axis} {s['exponent']:.2f}" for axis, s in r["scaling"].items()),
        "kernel first call in a fresh process: "
        + (
            f"{r['compile']['empty_cache']['first_call_seconds']:.2f} s (empty cache), "
            if r["compile"]["empty_cache"]
            else ""
        )
        + f"{r['compile']['filled_cache']['first_call_seconds']:.2f} s (cache filled)",
        f"deterministic {r['deterministic']['complexes']} x {r['deterministic']['years']}: "
        f"{r['deterministic']['compute_seconds'] * 1e3:.1f} ms compute, "
        f"{r['deterministic']['with_tables_seconds'] * 1e3:.1f} ms with tables",
        f"grex run (whole process): {r['grex_run']['median_seconds']:.2f} s",
        f"market allocation on ({r['market']['draws']:,} draws): {r['market']['cells_per_second_on'] / 1e6:.0f} M cells/s, "
        f"off {r['market']['cells_per_second_off'] / 1e6:.0f} M cells/s; ratio on/off {r['market']['ratio']:.2f}",
        f"targets met: {r['targets']}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
