"""Monte Carlo over sale pace, indexation, interest and project risks, feeding the resistance reserve.

:func:`simulate` draws the drivers of :mod:`grex.drivers` (pace, delay, cost
and price index shocks, the interest rate, the risk register), re-times every
complex's revenues and sales-linked costs along its planned sales curve, and
values every draw by the rules of :mod:`grex.core`.

The package is laid out in the order the work flows:

- :mod:`~grex.montecarlo.plan`: the :class:`~grex.montecarlo.plan.Plan`,
  everything that does not change between draws (read from the scenario and
  the portfolio once);
- :mod:`~grex.montecarlo.streams`: the random numbers, block by block, and
  the driver values made of them (streams 0 to 3);
- two engines that value draws with the same random numbers and the same
  results bit for bit: :mod:`~grex.montecarlo.numpy_engine` (whole-array
  passes over ``(draws, complexes, years)`` with the functions of
  :mod:`grex.core`) and the compiled kernel of :mod:`grex.kernel` (numba; one
  sweep per draw, made of stages named after the functions of
  :mod:`grex.core` and tested bit for bit against them);
- :mod:`~grex.montecarlo.reserve`: the general reserve path;
- :mod:`~grex.montecarlo.result`: :class:`Simulation` and :func:`assemble`;
- :mod:`~grex.montecarlo.execution`: :func:`simulate` and its steps, the
  chunks of draws on threads, the output arrays. The engine and the thread
  count are arguments; nothing in the package reads the environment.

Draws are processed in chunks, so memory stays bounded whatever their number.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from grex.errors import InputError

if TYPE_CHECKING:
    from grex.montecarlo.execution import CHUNK_CELLS, ENGINES, simulate, simulate_range, simulation_horizon
    from grex.montecarlo.numpy_engine import trace, value_settings
    from grex.montecarlo.plan import Plan, check_references, make_plan
    from grex.montecarlo.reserve import RESERVE_YEARS, reserve_path
    from grex.montecarlo.result import BATCHES, PATH_PERCENTILES, PERCENTILES, Simulation, assemble
    from grex.montecarlo.streams import BLOCK

#: Name -> module of the names of this package, imported on first use: ``grex run`` checks the Monte Carlo
#: references of a scenario (:func:`check_references`, in :mod:`~grex.montecarlo.plan`) without importing the
#: engines, scipy or numba.
_EXPORTS = {
    **dict.fromkeys(("CHUNK_CELLS", "ENGINES", "simulate", "simulate_range", "simulation_horizon"), "execution"),
    **dict.fromkeys(("trace", "value_settings"), "numpy_engine"),
    **dict.fromkeys(("Plan", "check_references", "make_plan"), "plan"),
    **dict.fromkeys(("RESERVE_YEARS", "reserve_path"), "reserve"),
    **dict.fromkeys(("BATCHES", "PATH_PERCENTILES", "PERCENTILES", "Simulation", "assemble"), "result"),
    "BLOCK": "streams",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'grex.montecarlo' has no attribute {name!r}")
    value = getattr(import_module(f"grex.montecarlo.{module}"), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "BATCHES",
    "BLOCK",
    "CHUNK_CELLS",
    "ENGINES",
    "PATH_PERCENTILES",
    "PERCENTILES",
    "RESERVE_YEARS",
    "InputError",
    "Plan",
    "Simulation",
    "assemble",
    "check_references",
    "make_plan",
    "reserve_path",
    "simulate",
    "simulate_range",
    "simulation_horizon",
    "trace",
    "value_settings",
]
