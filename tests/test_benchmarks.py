"""The benchmark suite runs and reports every figure of issue 4 (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys

import numba  # noqa: F401 - a hard dependency: a broken install fails the suite, it does not skip
import pytest

from conftest import ROOT


def run_benchmark(*flags: str) -> dict:
    """The JSON of ``benchmarks/run.py FLAGS --quick --json`` (a failing run fails the test)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), *flags, "--quick", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout)


@pytest.mark.slow
def test_quick_benchmark_reports_every_figure():
    results = run_benchmark()
    assert results["quick"] is True
    assert {
        "machine",
        "montecarlo",
        "numpy_twin",
        "loop_reference",
        "streaming_pass",
        "memory",
        "scaling",
        "compile",
        "deterministic",
        "grex_run",
        "targets",
    } <= set(results)
    assert {"cpu", "cpus_usable", "numpy", "numba", "OPENBLAS_CORETYPE"} <= set(results["machine"])
    mc = results["montecarlo"]
    assert mc["cells"] == mc["draws"] * mc["complexes"] * mc["years"]
    assert mc["drivers"] == ["pace", "delay", "costs", "prices", "interest", "risks"] and mc["risks"] > 0
    assert mc["cells_per_second"] > 0 and len(mc["seconds"]) >= 1
    assert results["loop_reference"]["ratio"] > 0 and results["streaming_pass"]["ratio"] > 0
    # The loop reference is the judge: its present values agree with the simulation's.
    assert results["loop_reference"]["compared_complex_draws"] > 0
    assert results["loop_reference"]["max_relative_difference_present_value"] < 1e-9
    assert results["memory"]["peak_bytes"] > results["memory"]["result_bytes"] > 0
    assert set(results["scaling"]) == {"draws", "complexes", "years"}
    for sweep in results["scaling"].values():
        assert len(sweep["sizes"]) == len(sweep["seconds"]) >= 3 and "exponent" in sweep
    assert results["compile"]["filled_cache"]["first_call_seconds"] > 0
    assert results["deterministic"]["compute_seconds"] > 0 and results["grex_run"]["median_seconds"] > 0
    assert set(results["targets"]) == {
        "cells_per_second",
        "streaming_ratio",
        "loop_ratio",
        "peak_memory_bytes_at_1m_draws",
        "deterministic_1000x40_seconds",
        "grex_run_seconds",
        "market_ratio",
    }
    market = results["market"]  # issue 15: the market allocation on and off, same workload
    assert market["cells_per_second_on"] > 0 and market["cells_per_second_off"] > 0 and market["ratio"] > 0


def _run_module():
    """``benchmarks/run.py`` as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    return run


def test_the_user_path_reports_the_run_of_the_median_ratio():
    run = _run_module()
    assert run.median_run([(0.3, "a"), (0.1, "b"), (0.2, "c")]) == (0.2, "c")
    assert run.median_run([(0.2, "a"), (0.1, "b")]) == (0.1, "b")  # the lower of an even count
    assert run.median_run([(0.5, "a")]) == (0.5, "a")


def test_the_full_overlap_ratio_spreads_the_cpu_seconds_over_the_cores():
    run = _run_module()
    # 361 million cells, 4.8 CPU seconds on 2 cores: at best 2.4 s, 150.4 M cells/s; a stream of 1,600 M: 0.094
    assert run.full_overlap_ratio(361_000_000, 4.8, 2, 1.6e9) == pytest.approx(361e6 / 2.4 / 1.6e9)
    assert run.full_overlap_ratio(361_000_000, 4.8, 2, 1.6e9) == pytest.approx(0.0940104, rel=1e-6)
    assert run.full_overlap_ratio(361_000_000, 4.8, 4, 1.6e9) == pytest.approx(2 * 0.0940104, rel=1e-6)


def test_the_allocation_bound_adds_the_allocation_to_the_block_without_markets():
    import importlib.util

    spec = importlib.util.spec_from_file_location("market_block", ROOT / "benchmarks" / "market_block.py")
    assert spec is not None and spec.loader is not None
    block = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(block)
    # 10.5 ms a block without markets, 13.0 ms of allocation: at best 10.5 / 23.5
    assert block.allocation_bound(0.0105, 0.0130) == pytest.approx(0.4468085, rel=1e-6)
    assert block.allocation_bound(0.0105, 0.0) == 1.0


@pytest.mark.slow
def test_user_path_reports_the_whole_process_and_where_its_time_goes():
    path = run_benchmark("--user-path")["user_path"]
    assert path["complexes"] == 19 and path["planned_years"] == 19  # the example
    assert [run["draws"] for run in path["runs"]] == [4096, 20_000]
    for run in path["runs"]:
        assert run["cells"] == run["draws"] * 19 * 19
        assert run["peak_bytes"] > 0 and run["cells_per_second"] > 0 and run["ratio_to_stream"] > 0
        # the bound of full overlap: the same cells over the CPU seconds spread over the cores
        assert path["cores"] >= 1
        bound = run["cells"] / (run["cpu_seconds"] / path["cores"]) / run["stream_cells_per_second"]
        assert run["ratio_at_full_overlap"] == pytest.approx(bound)
        assert [r["ratio_to_stream"] for r in run["repeats"]] == [run["ratio_to_stream"]]  # one process in --quick
        # the steps grex -v logs, and the rest of the wall time (interpreter, imports, console)
        assert {"the draws", "writing draws.parquet beside the draws"} <= set(run["steps"])
        assert "the horizon pass" not in run["steps"]  # the example's blocks of draws each run over their own years
        assert 0 < run["steps"]["start, imports and console (the rest)"] < run["seconds"]


def test_per_draw_splits_the_cpu_of_a_draw_into_random_numbers_and_kernel():
    # issue 17: the figure of benchmarks/README.md "Per-draw CPU of the example"
    split = run_benchmark("--per-draw")["per_draw"]
    assert split["draws"] == 4096 and split["threads"] == 1
    for name in ("example", "standard"):
        r = split[name]
        # both wrapped functions ran (a wrapper the simulation does not call leaves its part out)
        assert r["random_numbers"] > 0 and r["kernel"] > 0
        assert r["random_numbers"] + r["kernel"] < r["whole"]


@pytest.mark.slow
def test_scale_reports_the_full_run_both_paths_and_the_scaling_in_each_dimension():
    results = run_benchmark("--scale")
    assert results["quick"] is True and len(results["load"]["before"]) == len(results["load"]["after"]) == 3
    scale = results["scale"]
    assert scale["size"] == {"complexes": 40, "years": 12, "draws": 4096}
    assert scale["cells"] == 40 * 12 * 4096
    full, process = scale["simulate"], scale["process"]
    # the result's arrays: end year (int16), end value and present value per draw and complex, the reserve path
    assert full["result_bytes"] == 4096 * 40 * (2 + 8 + 8) + 4096 * 11 * 8 + 4096 * 8
    assert full["peak_bytes"] >= full["before_bytes"] > 0 and full["cpu_seconds"] > 0
    assert full["estimate_bytes"] > 0 and full["simulated_years"] >= 12
    assert {"the draws", "assembling the result"} <= set(full["steps"])
    assert "the horizon pass" not in full["steps"]  # each block of draws runs over its own years
    # the whole process read the scenario from files and wrote every draw: the same figures as simulate()
    assert process["draws_parquet_rows"] == 4096 * 40 and process["draws_parquet_bytes"] > 0
    assert process["same_figures_as_api"] is True
    assert process["peak_bytes"] > 0 and 0 < process["steps"]["the draws"] < process["seconds"]
    assert set(scale["scaling"]) == {"draws", "complexes", "years"}
    assert scale["scaling"]["draws"]["sizes"] == [1024, 2048, 4096]
    assert scale["scaling"]["complexes"]["sizes"] == [10, 20, 40]
    assert scale["scaling"]["years"]["sizes"] == [3, 6, 12]
    for axis, sweep in scale["scaling"].items():
        assert [point[axis] for point in sweep["points"]] == sweep["sizes"]
        assert all(point["seconds"] > 0 and point["peak_bytes"] > 0 for point in sweep["points"])
        assert "exponent_seconds" in sweep and "exponent_cpu_seconds" in sweep
    assert set(scale["targets"]) == {
        "peak_bytes_simulate",
        "peak_bytes_process",
        "linear_in_each_dimension",
        "estimate_at_least_the_peak",
    }


@pytest.mark.slow
def test_startup_reports_whole_processes_in_turns_and_the_parts_of_the_kernels_start():
    started = run_benchmark("--startup")["startup"]
    assert started["rounds"] == 3
    for setting in ("bytecode cached", "environment as is"):
        commands = started[setting]["commands"]
        assert set(commands) == {
            "python -c pass",
            "python -c 'import numpy'",
            "grex --help",
            "grex run",
            "grex simulate --draws 1024",
        }
        for c in commands.values():
            assert len(c["cpu"]) == len(c["wall"]) == 3 and c["cpu_seconds"] > 0 and c["wall_seconds"] > 0
        run, numpy = commands["grex run"], commands["python -c 'import numpy'"]
        assert started[setting]["grex_run_cpu_above_numpy"] == run["cpu_seconds"] - numpy["cpu_seconds"]
    kernel = started["kernel_start"]
    assert {"import numba", "import grex.kernel", "the first simulation of 1,024 draws"} <= set(kernel["parts"])
    loaded = {name: found for name, _, found in kernel["loads"]}
    assert loaded["value_draws"] and loaded["block_timing"]  # the example's kernel and a helper, from numba's cache
    assert kernel["scipy.special imported"] is False  # the random numbers' ndtr is compiled (issue 17)
    assert kernel["scipy.linalg imported"] is False  # numba's BLAS check without it (grex.numba_start)
    assert set(started["targets"]) == {"grex_run_cpu_above_numpy"}
