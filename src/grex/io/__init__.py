"""All reading and writing of files: ``read_*`` and ``write_*``."""

from grex.io.portfolio import read_portfolio
from grex.io.results import write_atomically, write_valuation
from grex.io.scenario import read_scenario

__all__ = ["read_portfolio", "read_scenario", "write_atomically", "write_simulation", "write_valuation"]


def __getattr__(name: str):  # imported on first use: the simulation pulls in scipy
    if name == "write_simulation":
        from grex.io.simulation import write_simulation

        return write_simulation
    raise AttributeError(f"module 'grex.io' has no attribute {name!r}")
