"""The entry points for a notebook or a script: files in, model run, results out.

The model (:mod:`grex.valuation`, :mod:`grex.montecarlo`, :mod:`grex.diff`,
:mod:`grex.batch`, ...) takes scenarios and portfolios as objects and never
reads or writes a file; :mod:`grex.io` reads and writes them. This module sits
above both and composes them, as the command line does:

>>> from grex.api import simulate                                # doctest: +SKIP
>>> simulation = simulate("scenarios/assen-2024.toml")           # doctest: +SKIP

The layers, top to bottom (``tests/test_layers.py`` holds the imports to it):
``cli`` → ``api`` → ``io``, ``report``, ``plot`` → ``sensitivity``, ``batch``,
``diff`` → ``montecarlo`` → ``kernel`` → ``valuation`` → ``core``, ``drivers``,
``reserves``, ``scenario``, ``portfolio``; a module imports only modules below it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from grex.diff import DiffResult, diff
from grex.io import read_portfolio, read_scenario
from grex.io.batch import run_batch
from grex.montecarlo import Simulation
from grex.montecarlo import simulate as _simulate
from grex.portfolio import Portfolio
from grex.scenario import Scenario

__all__ = ["diff_scenarios", "load", "run_batch", "simulate"]


def load(scenario: Scenario | str | Path, portfolio: Portfolio | None = None) -> tuple[Scenario, Portfolio]:
    """A scenario and its portfolio: read from files where a path is given.

    ``scenario`` is a :class:`~grex.scenario.Scenario` or the path of a
    scenario file (TOML); ``portfolio`` defaults to the scenario's own
    (``scenario.portfolio``, read from its files).

    Raises
    ------
    InputError
        Bad input in the scenario or the portfolio.
    """
    if isinstance(scenario, (str, Path)):
        scenario = read_scenario(scenario)
    if portfolio is None:
        portfolio = read_portfolio(scenario.portfolio)
    return scenario, portfolio


def simulate(
    scenario: Scenario | str | Path,
    portfolio: Portfolio | None = None,
    draws: int | None = None,
    seed: int | None = None,
    *,
    chunk_size: int | None = None,
    progress: bool = False,
    drivers: Collection[str] | None = None,
    engine: str | None = None,
    threads: int | None = None,
) -> Simulation:
    """Monte Carlo of a scenario (an object or the path of a scenario file).

    As :func:`grex.montecarlo.simulate`, with defaults for a notebook: the
    portfolio is the scenario's own where none is given (see :func:`load`),
    and ``draws`` and ``seed`` default to the scenario's ``montecarlo.draws``
    and ``montecarlo.seed`` (as ``grex simulate`` does), so the same call
    gives the same figures. For a seed from fresh entropy call
    :func:`grex.montecarlo.simulate` with ``seed=None``.
    """
    scenario, portfolio = load(scenario, portfolio)
    return _simulate(
        scenario,
        portfolio,
        draws=scenario.montecarlo.draws if draws is None else draws,
        seed=scenario.montecarlo.seed if seed is None else seed,
        chunk_size=chunk_size,
        progress=progress,
        drivers=drivers,
        engine=engine,
        threads=threads,
    )


def diff_scenarios(
    before_path: str | Path, after_path: str | Path, *, order: str | Iterable[str] | None = None
) -> DiffResult:
    """Read two scenario files and their portfolios and run :func:`grex.diff.diff`.

    Raises
    ------
    InputError
        Bad input in either scenario or portfolio, unmatched complexes (same id,
        different name), a bad order.
    """
    sides = [load(path) for path in (before_path, after_path)]
    return diff(sides[0], sides[1], order=order)
