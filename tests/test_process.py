"""The whole ``grex`` process (issue 17): the work after the draws on two threads, the end of the process.

No timings are asserted: these check that the faster paths give the same figures and the same
observable behaviour (output, status, exit functions) as the plain ones.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "assen-2024.toml"


def _same_bits(a, b) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def test_sort_threads_two_at_most_and_only_for_long_columns(monkeypatch):
    from grex.montecarlo import result

    monkeypatch.setattr(result.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert result._sort_threads(1_000_000, 11) == 2  # four CPUs: still two
    assert result._sort_threads(1_000_000, 1) == 1  # one column
    assert result._sort_threads(result.PARALLEL_SORT_DRAWS - 1, 11) == 1  # short columns
    monkeypatch.setattr(result.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert result._sort_threads(1_000_000, 11) == 1  # one CPU


def test_percentiles_on_two_threads_are_numpys_to_the_bit(monkeypatch):
    from grex.montecarlo import result

    monkeypatch.setattr(result, "_sort_threads", lambda draws, columns: 2)  # two threads, whatever the size
    rng = np.random.default_rng(17)
    values = rng.normal(size=(2_001, 7)) * 1e6
    values[::5] = np.round(values[::5], -6)  # ties
    before = values.copy()
    levels = (5, 10, 25, 50, 75, 90, 95)
    _same_bits(result.percentiles_along_draws(values, levels), np.percentile(values, levels, axis=0))
    # hand-worked, the two columns on two threads: P25 of 1, 2, 3, 4 at virtual index 0.75 is 1.75, of the
    # same x 10 (unsorted) 17.5; P50 at 1.5 is 2.5 and 25.0
    hand = np.array([[4.0, 40.0], [1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    assert result.percentiles_along_draws(hand, (25, 50)).tolist() == [[1.75, 17.5], [2.5, 25.0]]
    assert before.tobytes() == values.tobytes()


def _command(code: str, *args: str, **env_: str) -> subprocess.CompletedProcess[str]:
    # stdout block-buffered, as into a pipe or a file: what the process prints must be flushed before it ends
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONUNBUFFERED", "OPENBLAS_NUM_THREADS")}
    env.update(env_)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False, env=env
    )


#: The ``grex`` command as its script runs it, with an exit function registered first and a line after ``main()``.
_AS_THE_SCRIPT = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: print('exit function ran', file=sys.stderr))\n"
    "atexit.register(lambda: print('blas threads', os.environ.get('OPENBLAS_NUM_THREADS'), file=sys.stderr))\n"
    "from grex.cli import main\n"
    "status = main()\n"
    "print('after main', status)\n"
    "sys.exit(status)\n"
)


def test_the_command_ends_its_process_with_its_status_output_and_exit_functions(tmp_path):
    done = _command(_AS_THE_SCRIPT, "run", str(EXAMPLE), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "after main" not in done.stdout  # the process ended in main(), without the interpreter's teardown
    assert "klasse" in done.stdout  # the console output is all there (flushed before the end)
    assert done.stdout.rstrip().endswith("(voldoende)")
    assert "exit function ran" in done.stderr  # functions registered with atexit still run
    assert "written to" in done.stderr  # and the log lines
    assert (tmp_path / "run" / "summary.json").is_file()


def test_the_command_ends_with_status_2_on_bad_input(tmp_path):
    done = _command(_AS_THE_SCRIPT, "run", str(tmp_path / "missing.toml"))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line != "exit function ran" and "blas" not in line]
    assert len(lines) == 1 and "missing.toml" in lines[0]


def test_the_command_runs_openblas_on_one_thread_unless_told(tmp_path):
    done = _command(_AS_THE_SCRIPT, "run", str(EXAMPLE), "--out", str(tmp_path / "a"))
    assert done.returncode == 0 and "blas threads 1" in done.stderr
    done = _command(_AS_THE_SCRIPT, "run", str(EXAMPLE), "--out", str(tmp_path / "b"), OPENBLAS_NUM_THREADS="2")
    assert done.returncode == 0 and "blas threads 2" in done.stderr


def test_the_command_ends_as_before_where_a_thread_is_left(tmp_path):
    # a thread that is not a daemon, alive until main() has returned (the interpreter waits for it), however
    # long the command takes
    code = (
        "import threading\n"
        "left = threading.Event()\n"
        "threading.Thread(target=left.wait, args=(120,)).start()\n"
        + _AS_THE_SCRIPT.replace("print('after main', status)\n", "print('after main', status)\nleft.set()\n")
    )
    assert "left.set()" in code
    done = _command(code, "run", str(EXAMPLE), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "after main 0" in done.stdout  # main() returned: the interpreter's own end
    assert (tmp_path / "run" / "summary.json").is_file()


def test_main_called_from_python_returns_its_status(tmp_path):
    from grex.cli import main

    assert main(["run", str(EXAMPLE), "--out", str(tmp_path / "run")]) == 0
    assert main(["run", str(tmp_path / "missing.toml")]) == 2


def _resident_bytes(address: int) -> int | None:
    """Rss of the mapping of this process that holds ``address`` (/proc/self/smaps), None where unknown."""
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return None
    inside = False
    for line in lines:
        first = line.split(" ", 1)[0]
        if "-" in first and ":" not in first:
            low, high = (int(part, 16) for part in first.split("-"))
            inside = low <= address < high
        elif inside and line.startswith("Rss:"):
            return int(line.split()[1]) * 1024
    return None


def test_prefault_brings_in_the_pages_and_keeps_what_they_hold():
    from grex.montecarlo import result

    rows = 100_000
    out = result.own_pages((rows, 19))  # 15.2 MB: memory of its own, no page of it touched yet
    before = _resident_bytes(out.ctypes.data)
    out[:10] = 7.0  # written before the prefault (as the draws may be): it must stay
    out[-1] = -3.0
    done = result.prefault([out, np.empty((rows, 2))])  # the second, under 4 MiB, is numpy's: left alone
    after = _resident_bytes(out.ctypes.data)
    if sys.platform.startswith("linux") and done:
        assert done >= out.nbytes
        # the kernel may merge the mapping with a neighbouring one: what grew is what counts (two pages written)
        assert before is not None and after is not None
        assert after - before >= out.nbytes - 3 * mmap.PAGESIZE
    assert (out[:10] == 7.0).all() and (out[-1] == -3.0).all()
    assert not out[10:-1].any()  # fresh memory reads as zeros, and the prefault wrote nothing


def test_prefault_stops_when_asked():
    import threading

    from grex.montecarlo import result

    stop = threading.Event()
    stop.set()
    assert result.prefault([result.own_pages((100_000, 19))], stop) == 0


def test_simulation_the_same_with_and_without_the_prefault(monkeypatch):
    from grex.io import read_portfolio, read_scenario
    from grex.montecarlo import execution, simulate

    scenario = read_scenario(EXAMPLE)
    portfolio = read_portfolio(scenario.portfolio)
    calls = []

    def counted(arrays, stop=None):
        calls.append(len(arrays))
        return prefault(arrays, stop)

    prefault = execution.prefault
    monkeypatch.setattr(execution, "_cpus", lambda: 2)
    monkeypatch.setattr(execution, "prefault", counted)
    draws = 30_720  # 4.7 MB per amount: outputs of memory of their own
    with_it = simulate(scenario, portfolio, draws=draws, seed=17, threads=2)
    assert calls == [4]  # end_year, end_value, present_value, reserve
    monkeypatch.setattr(execution, "_cpus", lambda: 1)  # one CPU: no prefault
    without = simulate(scenario, portfolio, draws=draws, seed=17, threads=2)
    assert calls == [4]
    for name in ("end_year", "end_value", "present_value", "reserve"):
        assert getattr(with_it, name).tobytes() == getattr(without, name).tobytes(), name


def test_chunks_of_the_compiled_kernel_hand_worked():
    from grex.montecarlo.execution import BLOCK, _chunk_size

    # the example: 19 complexes x 99 years a block = 1024 x 1881 = 1,926,144 cells; 8,000,000 of them make
    # 4 whole blocks; the numpy engine keeps to 2,000,000 cells: 1 block
    assert _chunk_size("numba", 1_000_000, 19, 99, 2) == 4 * BLOCK
    assert _chunk_size("numpy", 1_000_000, 19, 99, 2) == BLOCK
    # 100 blocks on 2 threads: at least 8 chunks a thread -> 100 // 16 = 6 blocks, capped at 4 by the cells
    assert _chunk_size("numba", 100 * BLOCK, 19, 99, 2) == 4 * BLOCK
    # 40 blocks on 2 threads: 40 // 16 = 2 blocks a chunk; 20 blocks: 1
    assert _chunk_size("numba", 40 * BLOCK, 19, 99, 2) == 2 * BLOCK
    assert _chunk_size("numba", 20 * BLOCK, 19, 99, 2) == BLOCK
    # 1,000 complexes x 40 years: a block alone is 40,960,000 cells: one block a chunk
    assert _chunk_size("numba", 1_000_000, 1000, 40, 2) == BLOCK


def test_simulation_the_same_in_chunks_of_several_blocks():
    from grex.io import read_portfolio, read_scenario
    from grex.montecarlo import simulate
    from grex.montecarlo.execution import BLOCK

    scenario = read_scenario(EXAMPLE)
    portfolio = read_portfolio(scenario.portfolio)
    draws = 40 * BLOCK - 100  # the default: chunks of 2 blocks, the last one short
    default = simulate(scenario, portfolio, draws=draws, seed=23, threads=2, engine="numba")
    by_block = simulate(scenario, portfolio, draws=draws, seed=23, threads=2, engine="numba", chunk_size=BLOCK)
    for name in ("end_year", "end_value", "present_value", "reserve"):
        assert getattr(default, name).tobytes() == getattr(by_block, name).tobytes(), name
    assert default.n_years == by_block.n_years


def test_simulate_to_says_once_when_the_draws_have_started(tmp_path):
    import pytest

    from grex.errors import InputError
    from grex.io import read_portfolio, read_scenario
    from grex.io.simulation import simulate_to
    from grex.valuation import value_portfolio

    scenario = read_scenario(EXAMPLE)
    valuation = value_portfolio(scenario, read_portfolio(scenario.portfolio))
    calls: list[int] = []
    simulate_to(valuation, tmp_path / "a", draws=3000, seed=1, chunk_size=1024, started=lambda: calls.append(1))
    assert calls == [1]  # once, though three chunks were valued
    with pytest.raises(InputError):  # no draw valued: called all the same (the command's collector resumes)
        simulate_to(valuation, tmp_path / "b", draws=0, seed=1, started=lambda: calls.append(2))
    assert calls == [1, 2]
    assert not (tmp_path / "b").exists()
