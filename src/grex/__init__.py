"""grex: Dutch municipal land development (grondexploitatie) under the BBV.

The conventions are written out in ``docs/`` of the repository (``docs/README.md``
indexes them); the core is :mod:`grex.core`, its plain-loop twin
:mod:`grex.reference`, files are read and written by :mod:`grex.io`.
In a notebook the main objects are at
the top level, imported on first use so that ``import grex`` stays fast::

    import grex
    scenario = grex.read_scenario("scenarios/assen-2024.toml")
    valuation = grex.value_portfolio(scenario, grex.read_portfolio(scenario.portfolio))
    valuation                      # the headline figures
    valuation.complexes()          # the MPG table per complex (a DataFrame)
    simulation = grex.simulate(scenario, valuation.portfolio, draws=2000, seed=2024)
    difference = grex.diff_scenarios("scenarios/assen-2023.toml", "scenarios/assen-2024.toml")

Log messages go to the logger ``"grex"`` (standard :mod:`logging`); the
command ``grex`` shows them on stderr (``-q`` fewer, ``-v`` more).
"""

import logging as _logging
from importlib import import_module as _import_module
from typing import Any as _Any

__version__ = "0.1.0"

#: Name → module of the objects importable from ``grex`` (loaded on first use).
_EXPORTS = {
    "read_scenario": "grex.io",
    "read_portfolio": "grex.io",
    "write_valuation": "grex.io",
    "write_simulation": "grex.io",
    "value_portfolio": "grex.valuation",
    "Valuation": "grex.valuation",
    "simulate": "grex.api",
    "Simulation": "grex.montecarlo",
    "diff_scenarios": "grex.api",
    "diff": "grex.diff",
    "DiffResult": "grex.diff",
    "sensitivity": "grex.sensitivity",
    "Sensitivity": "grex.sensitivity",
    "run_batch": "grex.io.batch",
    "BatchResult": "grex.batch",
    "build_report": "grex.report",
    "write_report": "grex.io.report",
    "Scenario": "grex.scenario",
    "Portfolio": "grex.portfolio",
    "InputError": "grex.errors",
}

__all__ = ["__version__", *_EXPORTS]

_logging.getLogger(__name__).addHandler(_logging.NullHandler())


def __getattr__(name: str) -> _Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'grex' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({n for n in globals() if not n.startswith("_")} | set(_EXPORTS) | {"__version__"})
