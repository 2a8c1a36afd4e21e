"""The compiled kernel keeps numba's reference-count calls out of its loops (issue 17).

An array bound to a new name in a compiled stage costs an atomic increment and decrement of its
reference count unless numba's pruning pass removes them; where it fails to, a stage that takes
the plan costs about 130 of them per call, and the kernel ran four to five times slower. The
count comes from ``benchmarks/refcounts.py`` (the plain kernel under gdb, breakpoints on
``NRT_incref`` and ``NRT_decref``): about 15 to 18 per draw now, some 2,300 in the slow form.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.skipif(shutil.which("gdb") is None, reason="counting needs gdb")
def test_the_kernel_keeps_few_reference_count_calls_per_draw():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "refcounts.py"), "--draws", "64"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if run.returncode != 0 and "gdb gave no count" in run.stderr:
        pytest.skip(f"gdb could not run the kernel here: {run.stderr.strip()[-200:]}")
    assert run.returncode == 0, run.stderr
    per_draw = float(run.stdout.split()[0])
    # one call's set-up (about 90 calls) spread over 64 draws, and the few per draw
    assert 0 < per_draw < 60, run.stdout
