"""Start-up (issue 17): ``grex run`` and ``grex --help`` import only what they need.

Each command runs in a fresh interpreter, which then reports the modules it
imported; no timings are asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "assen-2024.toml"

#: Imported only where needed: the Monte Carlo engines, scipy (the numpy twin's inverse normal CDF), numba, and
#: openpyxl (Excel workbooks; the example is CSV).
HEAVY = (
    "scipy",
    "numba",
    "openpyxl",
    "grex.kernel",
    "grex.montecarlo.execution",
    "grex.montecarlo.numpy_engine",
    "tqdm",
    # the grid's expansion and the Monte Carlo's random numbers and yearly revaluation: not for a scenario without
    # a grid, nor for checking the Monte Carlo references
    "grex.batch",
    "grex.montecarlo.streams",
    "grex.montecarlo.revaluation",
    "multiprocessing",
)


def _modules_after(argv: list[str]) -> set[str]:
    code = (
        "import json, sys\n"
        "from grex.cli import main\n"
        "try:\n"
        f"    status = main({argv!r})\n"
        "except SystemExit as stop:\n"
        "    status = stop.code\n"
        "print(json.dumps([status, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    status, modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == 0, out.stderr
    return set(modules)


def test_grex_run_imports_neither_scipy_nor_numba_nor_the_engines(tmp_path):
    modules = _modules_after(["run", str(EXAMPLE), "--out", str(tmp_path / "out")])
    assert "grex.montecarlo.plan" in modules  # the Monte Carlo references were checked
    assert not [name for name in HEAVY if name in modules]


def test_grex_help_imports_no_numeric_library():
    modules = _modules_after(["--help"])
    assert not [name for name in (*HEAVY, "numpy", "pandas", "pyarrow") if name in modules]


def test_the_names_of_grex_montecarlo_load_on_first_use():
    code = (
        "import sys, grex.montecarlo as mc\n"
        "before = 'grex.montecarlo.execution' in sys.modules\n"
        "from grex.montecarlo import simulate, BLOCK, Simulation, check_references\n"
        "from grex.montecarlo.execution import simulate as direct\n"
        "print(before, simulate is direct, BLOCK, sorted(set(mc.__all__) - set(dir(mc))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "True", "1024", "[]"]


_COLLECTOR_CODE = """
import gc, json, sys
collections = []
gc.callbacks.append(lambda phase, info: phase == "stop" and collections.append(info["generation"]))
import grex.cli as cli
pause, resume = cli._pause_collector, cli._resume_collector
paused = []  # collections made while the collector was paused
def paused_():
    pause()
    paused.append(len(collections))
frozen_at_resume = [0]
kernel_at_resume = []
registries_at_resume = []
def resumed():
    if cli._collector["paused"]:
        paused[-1] = len(collections) - paused[-1]
        kernel_at_resume.append("grex.kernel" in sys.modules)
        registries_at_resume.append("numba.np.arraymath" in sys.modules)  # numba's registries: the kernel loaded
    resume()
    frozen_at_resume[0] = gc.get_freeze_count()
cli._pause_collector, cli._resume_collector = paused_, resumed
cli._end_process = lambda status: None  # the command's process would end in main(): here it returns, to report
sys.argv = ["grex", *json.loads(sys.argv[1])]
status = cli.main({argv})
# frozen at the end: more than what was frozen after reading (the objects of the work too)
print(json.dumps([status, paused, gc.isenabled(), gc.get_freeze_count() > frozen_at_resume[0], kernel_at_resume,
                  registries_at_resume]))
"""


def _collector_after(argv, as_command_line):
    code = _COLLECTOR_CODE.format(argv="None" if as_command_line else "sys.argv[1:]")
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_command_line_imports_and_reads_without_collecting_and_freezes_before_exit(tmp_path):
    """The grex process: no cyclic collection until the input is read, then the collector on again; at the end
    every object frozen, so that the interpreter's shutdown does not scan them."""
    status, paused, enabled, frozen, kernel, registries = _collector_after(
        ["run", str(EXAMPLE), "--out", str(tmp_path / "o")], True
    )
    assert status == 0
    assert paused == [0]  # paused once, and no collection until the input was read
    assert enabled and frozen
    assert kernel == [False] and registries == [False]  # grex run: no numba


def test_main_called_from_python_leaves_the_collector_alone(tmp_path):
    status, paused, enabled, frozen, kernel, registries = _collector_after(
        ["run", str(EXAMPLE), "--out", str(tmp_path / "o")], False
    )
    assert status == 0
    assert paused == [] and enabled and not frozen and kernel == []


def test_a_simulation_imports_numba_before_the_collector_resumes(tmp_path, monkeypatch):
    """numba's objects, and those of loading the kernel from its cache, are frozen with the libraries' rather than
    scanned while the draws start (issue 17)."""
    monkeypatch.delenv("GREX_ENGINE", raising=False)
    argv = ["simulate", str(EXAMPLE), "--draws", "300", "--out", str(tmp_path / "s")]
    status, paused, enabled, frozen, kernel, registries = _collector_after(argv, True)
    # paused until the first draws were valued: numba's registries (loading the kernel from its cache) made then
    assert status == 0 and paused == [0] and enabled
    assert kernel == [True] and registries == [True]


_BLAS_CHECK_CODE = """
import json, sys
import numpy as np
import grex.kernel as kernel
out = np.empty(3)
kernel.pcg64_fill(np.array([1, 2, 3, 4], dtype=np.uint64), out)  # the first compiled call: numba's registries
import numba.np.arraymath as arraymath, numba.np.linalg as linalg
before = ["scipy.linalg" in sys.modules, arraymath._HAVE_BLAS, linalg.ensure_blas.__qualname__,
          linalg.__loader__ is linalg.__spec__.loader, type(linalg.__loader__).__name__]
import scipy.linalg, scipy.linalg.cython_blas
linalg.ensure_blas()
print(json.dumps(before + [callable(scipy.linalg.cho_factor), hasattr(scipy.linalg.cython_blas, "__pyx_capi__")]))
"""


def test_loading_the_kernel_does_not_import_scipy_linalg_and_numba_keeps_its_blas_check():
    """numba's array math checks for a BLAS by importing scipy.linalg (0.2 s of a simulation's start): grex defers
    the check to one that finds scipy.linalg.cython_blas without importing it (grex.numba_start). numba's answer
    (_HAVE_BLAS) is the same, its ensure_blas is its own again afterwards, scipy.linalg imports as before."""
    out = subprocess.run([sys.executable, "-c", _BLAS_CHECK_CODE], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        False,
        True,
        "ensure_blas",
        True,
        "SourceFileLoader",
        True,
        True,
    ]


def test_the_deferred_blas_check_answers_as_numba_would(monkeypatch):
    from grex import numba_start

    assert numba_start.cython_blas_found()
    monkeypatch.setattr(numba_start.importlib.util, "find_spec", lambda name: None)
    assert not numba_start.cython_blas_found()  # no scipy: numba's check would fail to import it too
