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
