"""Whole ``grex -v simulate`` processes of two (or more) checkouts, taking turns (issue 17).

``python benchmarks/ab_simulate.py [--rounds 8] [--draws 1000000] NAME=SRC NAME=SRC ...``

Each ``SRC`` is the ``src`` folder of a checkout of grex (``PYTHONPATH`` is set to it). Every
process runs the example with its bytecode cached (a ``PYTHONPYCACHEPREFIX`` per checkout in a
folder of this run) and the kernel in numba's cache (one small run of each first, not counted),
as ``benchmarks/run.py --user-path`` runs it; the checkouts take turns, in alternating order, so
that other work on the machine weighs on all alike. Prints, per checkout, the medians of the wall
and CPU seconds (user + system of the process) and of the steps ``grex -v`` logs, and the load
average. No figure is asserted anywhere: on a shared machine compare the CPU seconds and medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from run import _STEP, EXAMPLE, ROOT, _process  # noqa: E402 - benchmarks/ on the path first

STEPS = ("reading the scenario and portfolio", "the draws", "assembling the result", "writing the other files")


def run(rounds: int, draws: int, checkouts: dict[str, str], tmp: Path) -> dict[str, dict[str, float]]:
    base = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    envs = {
        name: {**base, "PYTHONPATH": src, "PYTHONPYCACHEPREFIX": str(tmp / f"bytecode-{i}")}
        for i, (name, src) in enumerate(checkouts.items())
    }
    command = [sys.executable, "-m", "grex.cli", "-v", "simulate", str(EXAMPLE)]
    for env in envs.values():  # bytecode and numba's cache filled
        subprocess.run(
            [*command, "--draws", "1024", "--out", str(tmp / "warm")], env=env, capture_output=True, check=True
        )
    runs: dict[str, list[tuple[float, float, dict[str, float]]]] = {name: [] for name in checkouts}
    for i in range(rounds):
        order = list(envs.items()) if i % 2 == 0 else list(reversed(envs.items()))
        for name, env in order:
            out = tmp / f"out-{i}"
            done = _process([*command, "--draws", str(draws), "--out", str(out)], env=env, inherit=False)
            steps = {m["step"]: float(m["seconds"]) for m in map(_STEP.match, done["stderr"].splitlines()) if m}
            runs[name].append((done["seconds"], done["cpu_seconds"], steps))
            subprocess.run(["rm", "-rf", str(out)], check=True)
    return {
        name: {
            "wall": statistics.median(r[0] for r in rs),
            "cpu": statistics.median(r[1] for r in rs),
            **{step: statistics.median(r[2].get(step, float("nan")) for r in rs) for step in STEPS},
        }
        for name, rs in runs.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("checkouts", nargs="+", help="NAME=SRC: a name and the src folder of a checkout")
    args = parser.parse_args(argv)
    checkouts = dict(item.split("=", 1) for item in args.checkouts)
    before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        medians = run(args.rounds, args.draws, checkouts, Path(tmp))
    print(
        f"grex -v simulate {EXAMPLE.relative_to(ROOT)} --draws {args.draws:,}, {args.rounds} rounds taking turns; "
        f"load average before {before[0]:.2f}, after {os.getloadavg()[0]:.2f}; medians:"
    )
    for name, m in medians.items():
        print(
            f"  {name}: {m['wall']:.3f} s wall, {m['cpu']:.3f} s CPU; "
            + "; ".join(f"{step} {m[step]:.3f} s" for step in STEPS)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
