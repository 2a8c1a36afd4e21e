"""All reading and writing of files: ``read_*`` and ``write_*``."""

from grex.io.portfolio import read_portfolio
from grex.io.results import write_atomically, write_valuation
from grex.io.scenario import read_scenario

__all__ = ["read_portfolio", "read_scenario", "write_atomically", "write_valuation"]
