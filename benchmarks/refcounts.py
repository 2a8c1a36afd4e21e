"""Reference-count calls per draw of the compiled kernel: ``python benchmarks/refcounts.py [--draws N]``.

numba keeps an array alive with a reference count: each array bound to a new
name (an argument of an inlined stage, an array taken from the plan, a view)
costs an atomic ``NRT_incref`` and ``NRT_decref``, unless numba's pruning
pass removes the pair. Where it fails to, the calls stay in the loop, and a
stage that takes ``plan`` (about 65 arrays) then costs some 130 atomic
operations per call: a small change of a stage's branches made the whole
kernel four to five times slower that way (issue 17). This script counts the
calls: it runs the plain kernel (the variant of the example, ``kernel_for``)
on one block of the example's draws under gdb, with a breakpoint on each of
the two functions, and prints the calls per draw. Linux with gdb only; the
kernel is compiled (or loaded from numba's cache) first.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "assen-2024.toml"

#: gdb's part: breakpoints that count and go on, then the counts on exit.
_GDB_SCRIPT = """
set pagination off
set confirm off
handle SIGTRAP stop nopass
run
python
import gdb
addresses = open({addresses!r}).read().split()
total = [0]


class Counter(gdb.Breakpoint):
    def stop(self):
        total[0] += 1
        return False


for address in addresses:
    Counter("*" + address, internal=True)
gdb.execute("continue", to_string=True)
open({result!r}, "w").write(str(total[0]))
end
quit
"""


def inner(draws: int, addresses: str) -> None:
    """Under gdb: capture one block of the example's kernel arguments, warm the kernel, stop, run it once."""
    from numba.core.runtime import nrt

    import grex.kernel as kernel
    from grex.io import read_portfolio, read_scenario
    from grex.montecarlo import simulate

    calls: list[Any] = []
    make = kernel.kernel_for

    def capture(plan: Any) -> Any:
        value_draws = make(plan)

        def run(d: Any, p: Any, o: Any) -> None:
            value_draws(d, p, o)
            calls.append((d, p, o, value_draws))

        return run

    kernel.kernel_for = capture
    scenario = read_scenario(EXAMPLE)
    simulate(scenario, read_portfolio(scenario.portfolio), draws=draws, seed=1, threads=1)
    kernel.kernel_for = make
    d, p, o, value_draws = calls[0]
    value_draws(d, p, o)  # compiled and warm
    library = nrt.rtsys.library
    Path(addresses).write_text(
        f"{library.get_pointer_to_function('NRT_incref')} {library.get_pointer_to_function('NRT_decref')}"
    )
    os.kill(os.getpid(), signal.SIGTRAP)  # gdb sets its breakpoints here
    value_draws(d, p, o)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=256, help="draws of the block counted (default 256)")
    parser.add_argument("--inner", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.draws, args.inner)
        return
    with tempfile.TemporaryDirectory() as tmp:
        addresses, result, script = (str(Path(tmp) / name) for name in ("addresses", "result", "gdb"))
        Path(script).write_text(_GDB_SCRIPT.format(addresses=addresses, result=result))
        command = [sys.executable, __file__, "--draws", str(args.draws), "--inner", addresses]
        run = subprocess.run(["gdb", "-batch", "-x", script, "--args", *command], capture_output=True, text=True)
        if not Path(result).exists():  # gdb could not run the kernel (not installed, no ptrace, an error)
            sys.exit(f"refcounts: gdb gave no count (exit status {run.returncode}): {run.stderr.strip()[-300:]}")
        calls = int(Path(result).read_text())
    print(f"{calls / args.draws:.1f} reference-count calls (NRT_incref, NRT_decref) per draw of the example's kernel")


if __name__ == "__main__":
    main()
