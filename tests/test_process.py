"""The whole ``grex`` process (issue 17): the work after the draws on two threads, the end of the process.

No timings are asserted: these check that the faster paths give the same figures and the same
observable behaviour (output, status, exit functions) as the plain ones.
"""

from __future__ import annotations

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


def _command(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    # stdout block-buffered, as into a pipe or a file: what the process prints must be flushed before it ends
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False, env=env
    )


#: The ``grex`` command as its script runs it, with an exit function registered first and a line after ``main()``.
_AS_THE_SCRIPT = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('exit function ran', file=sys.stderr))\n"
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
    lines = [line for line in done.stderr.splitlines() if line != "exit function ran"]
    assert len(lines) == 1 and "missing.toml" in lines[0]


def test_main_called_from_python_returns_its_status(tmp_path):
    from grex.cli import main

    assert main(["run", str(EXAMPLE), "--out", str(tmp_path / "run")]) == 0
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
