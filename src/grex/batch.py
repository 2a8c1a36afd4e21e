"""Scenario batches: many scenarios, each valued and simulated, compared side by side.

The model side of a batch: grids (a ``[grid]`` table expands into one
scenario per combination, :func:`expand_grid`), the headline figures of a
scenario and the comparison table, and where the Monte Carlo parts of whole
random-number blocks (:func:`grex.montecarlo.simulate_range`) run: in this
process, on a local process pool (``workers > 1``) or on a Dask cluster
(``scheduler``); the random numbers of a draw do not depend on where it
runs, so the results are identical, bit for bit, in all three.
:func:`grex.io.batch.run_batch` reads the scenario files, runs them and
writes the dataset (files are io's part; this module reads and writes none).

A scenario whose partition is complete for the same inputs (input hash,
draws, seed, grex version) is skipped; a scenario that fails is reported
with its file and reason, and the others still run.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import itertools
import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from grex import __version__
from grex.drivers import MonteCarlo
from grex.errors import InputError
from grex.montecarlo import BLOCK
from grex.reserves import reserve_figures
from grex.scenario import Scenario
from grex.valuation import Valuation

if TYPE_CHECKING:  # the engines (and scipy, numba) are imported where a part runs, not by grex run's grid check
    from grex.montecarlo import Simulation

__all__ = [
    "CHUNK_DRAWS",
    "COMPARISON_FIGURES",
    "GRID_TABLES",
    "REVALUATION_FIGURES",
    "BatchResult",
    "Failure",
    "comparison_frame",
    "check_grid",
    "completion_key",
    "expand_grid",
    "grid_size",
    "headline",
    "pool_pays_off",
]

#: Draws of one Monte Carlo part sent to a worker (a multiple of BLOCK).
CHUNK_DRAWS = 8 * BLOCK
#: Tables of a scenario a grid key may point into (``market``: a key of one of its ``[market.NAME]`` tables).
GRID_TABLES = ("parameters", "reserves", "montecarlo", "market")
#: Most scenarios one grid may expand into.
MAX_GRID = 10_000
#: Seconds to wait for a Dask scheduler before giving up.
SCHEDULER_TIMEOUT = 10.0
#: Seconds a local worker process needs before its first part: the interpreter, importing grex and
#: loading the compiled kernel from numba's cache (``python benchmarks/batch_workers.py`` measures it).
WORKER_START = 2.0
#: Complex-year-draw cells one process values per second in the parts of a batch (the same benchmark).
#: What decides is the product, the cells a process values while a worker starts: 190 M (measured
#: 5.0 s x 37.6 M/s = 188 M on a loaded 2-core machine; load slows both alike).
PART_RATE = 95e6

log = logging.getLogger(__name__)

#: Rows of the comparison table, in order (see :func:`headline` for their meaning).
COMPARISON_FIGURES = (
    "illustrative",
    "valuation_year",
    "input_hash",
    "draws",
    "seed",
    "present_value",
    "present_value_mean",
    "present_value_p5",
    "present_value_p10",
    "present_value_p25",
    "present_value_p50",
    "present_value_p75",
    "present_value_p90",
    "present_value_p95",
    "provision",
    "poc_profit",
    "confidence",
    "required_capacity",
    "required_capacity_standard_error",
    "expected_shortfall",
    "probability_of_loss",
    "iflo_norm",
    "available_resistance_reserve",
    "norm",
    "required_capacity_policy",
    "ratio",
    "grade",
    "ratio_risk",
    "grade_risk",
    "ratio_iflo",
    "grade_iflo",
    "general_reserve",
    "lowest_general_reserve",
    "lowest_general_reserve_p5",
    "probability_reserve_below_zero",
)
#: Rows added to the comparison table where a scenario of the batch has a yearly revaluation
#: (``[montecarlo] foresight = "plan"`` or ``"adaptive"``), after :data:`COMPARISON_FIGURES`; a batch
#: without one gives the table it gave before these rows existed (see :func:`headline`).
REVALUATION_FIGURES = (
    "foresight",
    "first_year_reserve_below_zero_p50",
)

#: Per figure of the comparison: its Dutch label and its kind (``amount`` [EUR], ``share`` [decimal],
#: ``ratio``, ``count``, ``year``, ``text``, ``flag``), for the workbook's labels and number formats.
FIGURE_LABELS: dict[str, tuple[str, str]] = {
    "illustrative": ("Illustratief (verzonnen cijfers)", "flag"),
    "valuation_year": ("Waarderingsjaar (1-1)", "year"),
    "input_hash": ("Invoer-hash (SHA-256)", "text"),
    "draws": ("Aantal trekkingen", "count"),
    "seed": ("Seed", "year"),
    "present_value": ("Contante waarde portefeuille (deterministisch)", "amount"),
    "present_value_mean": ("Contante waarde portefeuille: gemiddelde simulatie", "amount"),
    "present_value_p5": ("Contante waarde portefeuille: P5", "amount"),
    "present_value_p10": ("Contante waarde portefeuille: P10", "amount"),
    "present_value_p25": ("Contante waarde portefeuille: P25", "amount"),
    "present_value_p50": ("Contante waarde portefeuille: P50 (mediaan)", "amount"),
    "present_value_p75": ("Contante waarde portefeuille: P75", "amount"),
    "present_value_p90": ("Contante waarde portefeuille: P90", "amount"),
    "present_value_p95": ("Contante waarde portefeuille: P95", "amount"),
    "provision": ("Verliesvoorzieningen", "amount"),
    "poc_profit": ("Tussentijdse winstneming", "amount"),
    "confidence": ("Zekerheidsniveau benodigde weerstandscapaciteit", "share"),
    "required_capacity": ("Benodigde weerstandscapaciteit risicogestuurd", "amount"),
    "required_capacity_standard_error": ("Standaardfout benodigde weerstandscapaciteit", "amount"),
    "expected_shortfall": ("Verwacht tekort voorbij het zekerheidsniveau", "amount"),
    "probability_of_loss": ("Kans contante waarde lager dan deterministisch", "share"),
    "iflo_norm": ("Benodigde weerstandscapaciteit volgens IFLO-norm", "amount"),
    "available_resistance_reserve": ("Beschikbare weerstandsreserve", "amount"),
    "norm": ("Norm van het beleid (iflo, risk of max)", "text"),
    "required_capacity_policy": ("Benodigde weerstandscapaciteit volgens beleid", "amount"),
    "ratio": ("Ratio weerstandsvermogen volgens beleid", "ratio"),
    "grade": ("Waardering (NAR) volgens beleid", "text"),
    "ratio_risk": ("Ratio beschikbaar / risicogestuurd benodigd", "ratio"),
    "grade_risk": ("Waardering (NAR) t.o.v. risicogestuurd", "text"),
    "ratio_iflo": ("Ratio beschikbaar / IFLO-norm", "ratio"),
    "grade_iflo": ("Waardering (NAR) t.o.v. IFLO-norm", "text"),
    "general_reserve": ("Algemene reserve grondbedrijf 1-1", "amount"),
    "lowest_general_reserve": ("Laagste algemene reserve in tien jaar (deterministisch)", "amount"),
    "lowest_general_reserve_p5": ("Laagste algemene reserve in tien jaar (P5)", "amount"),
    "probability_reserve_below_zero": ("Kans algemene reserve binnen tien jaar onder nul", "share"),
    "foresight": ("Verwachtingsregel jaarlijkse herwaardering (perfect, plan of adaptive)", "text"),
    "first_year_reserve_below_zero_p50": (
        "Mediaan eerste jaar algemene reserve onder nul (trekkingen waarin zij onder nul komt)",
        "year",
    ),
}


# -- grids ----------------------------------------------------------------------


def _flatten(table: Any, source: Any, prefix: str = "") -> list[tuple[str, list[Any]]]:
    """``[grid]`` as (dotted key, values): nested tables and quoted dotted keys alike."""
    out = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _flatten(value, source, f"{name}.")
        elif isinstance(value, list) and value:
            out.append((name, value))
        else:
            raise InputError(source, f"key grid.{name}", f"must be a non-empty list of values, not {value!r}")
    return out


def _format(value: Any) -> str:
    """A grid value as written in a scenario name: short and free of path separators."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return "(" + ";".join(f"{k}={_format(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "(" + ";".join(_format(v) for v in value) + ")"
    return str(value).replace("/", "-").replace("\\", "-")


def _defaults(part: str) -> dict[str, Any]:
    # A grid key into a driver table the file does not write starts from the
    # table's defaults (setting only ``mode`` of a missing triangle would fix it).
    value: Any = getattr(MonteCarlo(), part, None)
    return dict(value.to_json()) if hasattr(value, "to_json") else {}


def _apply(data: Mapping[str, Any], key: str, value: Any, source: Any) -> dict[str, Any]:
    out = deepcopy(dict(data))
    parts = key.split(".")
    if parts[0] not in GRID_TABLES or len(parts) < 2:
        raise InputError(
            source,
            f"key grid.{key}",
            f"must name a value in one of the tables {', '.join(GRID_TABLES)} (e.g. parameters.discount_rate)",
        )
    if parts[0] == "market":
        _check_market_key(data, parts, key, source)
    table = out
    for depth, part in enumerate(parts[:-1]):
        if part not in table:
            table[part] = _defaults(part) if depth == 1 and parts[0] == "montecarlo" else {}
        elif not isinstance(table[part], Mapping):
            where = ".".join(parts[: depth + 1])
            raise InputError(source, f"key grid.{key}", f"{where} is a single value in the scenario, not a table")
        else:
            table[part] = dict(table[part])
        table = table[part]
    table[parts[-1]] = deepcopy(value)
    return out


def _check_market_key(data: Mapping[str, Any], parts: list[str], key: str, source: Any) -> None:
    """A grid key into ``[market.NAME]``: a key of a market the scenario writes (a grid does not add a market)."""
    from grex.market import MARKET_KEYS  # noqa: PLC0415

    markets = data.get("market")
    names = list(markets) if isinstance(markets, Mapping) else []
    if len(parts) < 3:
        raise InputError(
            source,
            f"key grid.{key}",
            "must name a key of a market, e.g. market.housing.absorption or ...absorption.mode",
        )
    if parts[1] not in names:
        have = f"its markets are {', '.join(names)}" if names else "it has no [market] table"
        raise InputError(source, f"key grid.{key}", f"market {parts[1]!r} is not in the scenario; {have}")
    if parts[2] not in MARKET_KEYS:
        raise InputError(
            source,
            f"key grid.{key}",
            f"{parts[2]!r} is not a key of a market; expected one of {', '.join(MARKET_KEYS)}",
        )


def grid_size(data: Mapping[str, Any]) -> int:
    """Number of scenarios a merged scenario table expands into (1 without a grid)."""
    grid = data.get("grid")
    if not isinstance(grid, Mapping) or not grid:
        return 1
    return math.prod(len(values) for _, values in _flatten(grid, None))


def expand_grid(data: Mapping[str, Any], source: Any = None) -> list[dict[str, Any]]:
    """The scenario tables of the combinations of a ``[grid]`` table.

    Parameters
    ----------
    data : mapping
        A merged scenario table (:func:`grex.io.read_scenario_table`).
    source : str or Path, optional
        The scenario file, for error messages.

    Returns
    -------
    list of dict
        Without a grid, the table itself (without ``grid``). With one, a table
        per combination of the listed values, in the order of the keys with
        the last key varying fastest, named
        ``<name>[<key>=<value>,...]`` where ``<key>`` is the grid key without
        its first part (``discount_rate`` for ``parameters.discount_rate``).

    Notes
    -----
    A grid key is a dotted path into ``[parameters]``, ``[reserves]``,
    ``[montecarlo]`` or a ``[market.NAME]`` the scenario writes:
    ``"parameters.discount_rate" = [0.01, 0.02]`` or, the same,
    ``parameters.discount_rate = [0.01, 0.02]`` under ``[grid]``;
    ``"market.housing.absorption.mode" = [250, 300]`` varies one value of a
    market's absorption, ``"market.housing.absorption" = [250, 300]`` replaces
    it. A missing driver table of ``[montecarlo]`` starts from its defaults;
    a market the scenario does not write is an error.

    Raises
    ------
    InputError
        A grid key outside those tables, naming an unknown parameter, market
        or market key, or a
        value that fails the checks of :class:`~grex.scenario.Scenario`; the
        message names the grid key.

    Examples
    --------
    >>> base = {"name": "base", "portfolio": "p", "valuation_year": 2024,
    ...         "grid": {"parameters.discount_rate": [0.01, 0.03], "parameters": {"interest_rate": [0.0]}}}
    >>> [t["name"] for t in expand_grid(base)]
    ['base[discount_rate=0.01,interest_rate=0.0]', 'base[discount_rate=0.03,interest_rate=0.0]']
    """
    base = {k: v for k, v in data.items() if k != "grid"}
    keys = check_grid(data, source)
    if not keys:
        return [base]
    out = []
    for combination in itertools.product(*(values for _, values in keys)):
        table = base
        for (key, _), value in zip(keys, combination, strict=True):
            table = _apply(table, key, value, source)
        label = ",".join(
            f"{key.split('.', 1)[1]}={_format(value)}" for (key, _), value in zip(keys, combination, strict=True)
        )
        table["name"] = f"{base.get('name')}[{label}]"
        out.append(table)
    return out


def check_grid(data: Mapping[str, Any], source: Any = None) -> list[tuple[str, list[Any]]]:
    """Check the ``[grid]`` table of a merged scenario table without expanding it.

    Returns the grid's (dotted key, values), empty without a grid. Raises
    :class:`InputError` naming the grid key for an empty or non-table grid, a
    key that is not a non-empty list of values, a key outside
    :data:`GRID_TABLES` or naming an unknown parameter, a value that fails
    the checks of :class:`~grex.scenario.Scenario`, and a grid of more than
    :data:`MAX_GRID` combinations. ``grex validate``, ``run`` and ``simulate``
    run it, as ``grex batch`` does through :func:`expand_grid`.
    """
    if "grid" not in data:
        return []
    grid = data["grid"]
    if not isinstance(grid, Mapping):
        raise InputError(source, "key grid", "must be a table of dotted keys with lists of values")
    if not grid:
        raise InputError(source, "key grid", "is empty: give at least one key with a list of values, or leave it out")
    base = {k: v for k, v in data.items() if k != "grid"}
    keys = _flatten(grid, source)
    size = math.prod(len(values) for _, values in keys)
    if size > MAX_GRID:
        raise InputError(source, "key grid", f"expands into {size:,} scenarios; at most {MAX_GRID:,} are allowed")
    # each key and value on its own first: an error names the grid key
    for key, values in keys:
        for value in values:
            try:
                Scenario.from_dict(_apply(base, key, value, source), source=source)
            except InputError as error:
                if error.location == f"key grid.{key}":
                    raise
                where = f"{error.location}: " if error.location else ""
                raise InputError(source, f"key grid.{key}", f"value {value!r}: {where}{error.message}") from None
    return keys


# -- headline figures -------------------------------------------------------------


def _number(value: Any) -> Any:
    """A figure for the comparison: NaN becomes None, numpy scalars Python numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def headline(valuation: Valuation, simulation: Simulation) -> dict[str, Any]:
    """The headline figures of a scenario: a column of the comparison table.

    Keys are those of :data:`COMPARISON_FIGURES` plus ``scenario``:
    ``present_value`` the deterministic present value of the portfolio,
    ``present_value_mean`` and ``present_value_p5`` ... ``_p95`` its Monte Carlo
    mean and percentiles; ``provision`` and ``poc_profit`` the deterministic
    totals; ``required_capacity`` (at ``confidence``), its standard error,
    ``expected_shortfall`` and ``probability_of_loss`` from the Monte Carlo;
    ``iflo_norm``; ``norm`` the required capacity the policy uses
    (``[reserves] norm``: iflo, risk or max) and ``required_capacity_policy``
    its amount; ``ratio`` and ``grade`` (NAR) the available resistance reserve
    against that capacity, ``ratio_risk`` and ``grade_risk`` against the
    risk-based ``required_capacity``, ``ratio_iflo`` and ``grade_iflo``
    against the IFLO norm (:func:`grex.reserves.reserve_figures`); ``general_reserve`` at the valuation date,
    ``lowest_general_reserve`` the lowest year-end value of its deterministic
    path and ``lowest_general_reserve_p5`` of its P5 path over the next ten
    years, and ``probability_reserve_below_zero``. Amounts [EUR]; shares as
    decimals. No timings and no paths: the same inputs give the same figures.

    The reserve figures follow the scenario's ``[montecarlo] foresight``:
    under ``plan`` or ``adaptive`` the reserve path is that of the yearly
    revaluation (:meth:`grex.montecarlo.Simulation.reserve_path`). The keys of
    :data:`REVALUATION_FIGURES`: ``foresight`` the rule, and
    ``first_year_reserve_below_zero_p50`` the median (inverse empirical CDF:
    the lower middle value where the count is even) of the first year in
    which the general reserve ends below zero, over the draws in which it does
    so within the ten years (:func:`first_year_below_zero_p50`); None where
    no draw does. Both are given for every scenario, perfect foresight too.
    """
    scenario = valuation.scenario
    totals = valuation.totals()["total"]
    percentiles = simulation.percentiles()
    path = simulation.reserve_path()
    reserves = scenario.reserves
    figures = reserve_figures(
        reserves.norm, reserves.resistance_reserve, valuation.iflo_norm(), simulation.required_capacity
    )
    row: dict[str, Any] = {
        "scenario": scenario.name,
        "illustrative": scenario.illustrative,
        "valuation_year": scenario.valuation_year,
        "input_hash": valuation.input_hash,
        "draws": simulation.draws,
        "seed": simulation.seed,
        "present_value": totals["present_value"],
        "present_value_mean": float(simulation.portfolio_present_value.mean()),
        **{f"present_value_{k}": v for k, v in percentiles.items()},
        "provision": totals["provision"],
        "poc_profit": totals["poc_profit"],
        "confidence": simulation.confidence,
        "required_capacity": simulation.required_capacity,
        "required_capacity_standard_error": simulation.required_capacity_standard_error,
        "expected_shortfall": simulation.expected_shortfall,
        "probability_of_loss": simulation.probability_of_loss,
        "iflo_norm": valuation.iflo_norm(),
        "available_resistance_reserve": scenario.reserves.resistance_reserve,
        **{k: figures[k] for k in ("norm", "required_capacity_policy", "ratio", "grade")},
        **{k: figures[k] for k in ("ratio_risk", "grade_risk", "ratio_iflo", "grade_iflo")},
        "general_reserve": scenario.reserves.general_reserve,
        "lowest_general_reserve": float(path["deterministic"].iloc[1:].min()),
        "lowest_general_reserve_p5": float(path["p5"].iloc[1:].min()),
        "probability_reserve_below_zero": simulation.probability_reserve_below_zero,
        # the yearly revaluation (issue 16): shown in the comparison where a scenario of the batch has one
        "foresight": simulation.parameters.foresight,
        "first_year_reserve_below_zero_p50": first_year_below_zero_p50(
            simulation.reserve, int(simulation.reserve_years[0]) + 1
        ),
    }
    return {k: _number(v) for k, v in row.items()}


def first_year_below_zero_p50(reserve: np.ndarray, first_year: int) -> int | None:
    """The median first year in which the general reserve ends below zero, over the draws in which it does.

    ``reserve`` has shape (draws, 1 + years): the reserve at the valuation
    date, then at 31 December of ``first_year``, ``first_year + 1``, ...
    (:attr:`grex.montecarlo.Simulation.reserve`). The median is the inverse
    empirical CDF at one half (an even count gives the lower middle year);
    None where no draw's reserve ends a year below zero.

    Examples
    --------
    >>> reserve = np.array([[5, 1, -1, -2], [5, 4, 3, 2], [5, -1, 2, 3], [5, 4, 3, -1]])
    >>> first_year_below_zero_p50(reserve, 2024)  # first below zero: 2025, never, 2024, 2026
    2025
    """
    below = np.asarray(reserve)[:, 1:] < 0
    hit = below.any(axis=1)
    if not hit.any():
        return None
    first = np.argmax(below[hit], axis=1)
    return first_year + int(np.quantile(first, 0.5, method="inverted_cdf"))


def comparison_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The comparison table: a row per figure (:data:`COMPARISON_FIGURES`), a column per scenario.

    The first column, ``figure``, names the row; then one column per
    scenario in batch order, holding the values of :func:`headline`. The rows
    of :data:`REVALUATION_FIGURES` follow where a scenario has a yearly
    revaluation (``foresight`` plan or adaptive), so a batch without one gives
    the table it gave before they existed.
    """
    figures: tuple[str, ...] = COMPARISON_FIGURES
    if any(row.get("foresight") not in (None, "perfect") for row in rows):  # the yearly revaluation's rows
        figures += REVALUATION_FIGURES
    table: dict[str, list[Any]] = {"figure": list(figures)}
    for row in rows:
        table[row["scenario"]] = [row.get(figure) for figure in figures]
    return pd.DataFrame(table, dtype=object)


def completion_key(valuation: Valuation, draws: int, seed: int) -> dict[str, Any]:
    """What makes a scenario's partition complete: same inputs, draws, seed and grex version.

    A scenario with a yearly revaluation (``foresight`` plan or adaptive) adds
    ``"yearly_revaluation": True``: its partition holds the revaluation's
    tables, so a marker written by a grex whose batches did not carry them
    does not match and the scenario runs again.
    """
    key: dict[str, Any] = {
        "input_hash": valuation.input_hash,
        "draws": int(draws),
        "seed": int(seed),
        "grex_version": __version__,
    }
    if valuation.scenario.montecarlo.foresight != "perfect":
        key["yearly_revaluation"] = True
    return key


# -- running ---------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A scenario of the batch that did not run.

    Attributes
    ----------
    source : str
        The scenario file.
    scenario : str or None
        Its name, where it was read.
    reason : str
        What is wrong (the message of the error).
    """

    source: str
    scenario: str | None
    reason: str

    def __str__(self) -> str:
        name = f" (scenario {self.scenario!r})" if self.scenario else ""
        return f"{self.source}{name}: {self.reason}"


@dataclass(frozen=True)
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    out_dir : Path or grex.io.storage.Location
        The batch folder: a local path, or the URL it was written to.
    rows : tuple of dict
        Headline figures (:func:`headline`) of every complete scenario, in batch order.
    ran, skipped : tuple of str
        Names of the scenarios run now, and of those skipped as complete.
    failures : tuple of Failure
    """

    out_dir: Any
    rows: tuple[dict[str, Any], ...]
    ran: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def comparison(self) -> pd.DataFrame:
        """The comparison table (:func:`comparison_frame`)."""
        return comparison_frame(self.rows)


@dataclass
class _Job:
    scenario: Scenario
    portfolio: Any
    valuation: Valuation
    draws: int
    seed: int
    n_years: int
    key: dict[str, Any]
    engine: str | None = None
    threads: int | None = None
    parts: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    failed: bool = False

    def chunks(self, size: int) -> list[tuple[int, int]]:
        return [(start, min(self.draws, start + size)) for start in range(0, self.draws, size)]


def simulate_range(*args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
    """:func:`grex.montecarlo.simulate_range`, its engines imported on first use (not by ``grex run``)."""
    from grex.montecarlo import simulate_range as run  # noqa: PLC0415

    return run(*args, **kwargs)


def _simulate_part(
    scenario: Scenario,
    portfolio: Any,
    seed: int,
    start: int,
    stop: int,
    n_years: int,
    engine: str | None = None,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """One part of a Monte Carlo (a task on a worker)."""
    return simulate_range(
        scenario, portfolio, seed=seed, start=start, stop=stop, n_years=n_years, engine=engine, threads=threads
    )


Task = tuple[int, int, int]  # job index, start, stop


def _in_process(jobs: list[_Job], tasks: list[Task]) -> Iterator[tuple[Task, Any, BaseException | None]]:
    for task in tasks:
        job = jobs[task[0]]
        if job.failed:
            continue
        try:
            result = _simulate_part(
                job.scenario, job.portfolio, job.seed, task[1], task[2], job.n_years, job.engine, job.threads
            )
        except Exception as error:  # reported as the scenario's failure
            yield task, None, error
        else:
            yield task, result, None


def _worker_init(parent: int, deathsig: bool) -> None:
    """Set up a pool worker: it dies with its parent and leaves Ctrl-C to the parent.

    On Linux the kernel sends the worker SIGKILL when the process that
    started it dies (``prctl(PR_SET_PDEATHSIG)``; ``deathsig`` only where the
    pool was started from the main thread, as the signal follows the thread
    that started the worker). Everywhere, a watch thread ends the worker
    once its parent is gone (it is then adopted by another process).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if deathsig and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the signal was set
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="grex-parent-watch", daemon=True).start()


#: Parts queued per pool worker beyond those running: enough to keep the workers busy, few enough
#: that finished parts do not pile up (memory stays bounded whatever the number of draws).
QUEUED_PER_WORKER = 2


def _on_pool(jobs: list[_Job], tasks: list[Task], workers: int) -> Iterator[tuple[Task, Any, BaseException | None]]:
    context = multiprocessing.get_context("spawn")
    initargs = (os.getpid(), threading.current_thread() is threading.main_thread())
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_init, initargs=initargs
    )
    futures: dict[concurrent.futures.Future[Any], Task] = {}
    pending = iter(tasks)

    def submit(count: int) -> None:
        while count > 0:
            task = next(pending, None)
            if task is None:
                return
            job = jobs[task[0]]
            if job.failed:
                continue
            futures[
                pool.submit(
                    _simulate_part,
                    job.scenario,
                    job.portfolio,
                    job.seed,
                    task[1],
                    task[2],
                    job.n_years,
                    job.engine,
                    job.threads,
                )
            ] = task
            count -= 1

    finished = False
    try:
        submit(workers * (1 + QUEUED_PER_WORKER))
        while futures:
            done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: futures[f]):
                task = futures.pop(future)
                error = future.exception()
                yield task, None if error else future.result(), error
                submit(1)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted or closed early: stop the workers now rather than finish their parts
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()


def connect(address: str, timeout: float = SCHEDULER_TIMEOUT) -> Any:
    """A ``dask.distributed.Client`` on the scheduler at ``address``.

    Raises
    ------
    InputError
        dask.distributed is not installed (``pip install grex[dask]``), or
        the scheduler does not answer within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            None, "--scheduler", "running on a Dask cluster needs dask.distributed: pip install 'grex[dask]'"
        ) from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(
            None, "--scheduler", f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({error})"
        ) from None


def _on_dask(jobs: list[_Job], tasks: list[Task], client: Any) -> Iterator[tuple[Task, Any, BaseException | None]]:
    from distributed import as_completed

    # the same scenario and portfolio travel once per worker, not once per part
    shared = {}
    for i, job in enumerate(jobs):
        if any(t[0] == i for t in tasks):
            shared[i] = client.scatter([job.scenario, job.portfolio], broadcast=True, hash=False)
    futures = {}
    for task in tasks:
        job = jobs[task[0]]
        scenario, portfolio = shared[task[0]]
        future = client.submit(
            _simulate_part,
            scenario,
            portfolio,
            job.seed,
            task[1],
            task[2],
            job.n_years,
            job.engine,
            job.threads,
            pure=False,
        )
        futures[future.key] = (task, future)
    try:
        for future in as_completed([f for _, f in futures.values()], loop=client.loop):
            task = futures[future.key][0]
            if future.status == "error":
                yield task, None, future.exception()
            else:
                yield task, future.result(), None
    finally:
        client.cancel([f for _, f in futures.values()])


# -- when a local pool pays off ----------------------------------------------------


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool_pays_off(cells: float, workers: int, cpus: int | None = None) -> tuple[bool, float, float]:
    """Whether ``workers`` local processes would finish a batch's Monte Carlo sooner than this process.

    The parts of ``cells`` complex-year-draw cells take about ``cells /``
    :data:`PART_RATE` seconds here; spread over ``min(workers, cpus)``
    processes they save that time times ``1 - 1 / min(workers, cpus)``, and
    the processes first need :data:`WORKER_START` seconds to start (side by
    side). Returns ``(pays_off, seconds_here, seconds_saved)``.

    Examples
    --------
    >>> pool_pays_off(28e6, 2, cpus=2)[0]  # the example batch at 2,000 draws: 0.6 s of work
    False
    >>> pool_pays_off(1e9, 2, cpus=2)[0]  # 20 s of work: 10 s saved
    True
    >>> pool_pays_off(1e9, 4, cpus=1)[0]  # one CPU: processes only take turns
    False
    """
    used = max(1, min(workers, _cpus() if cpus is None else cpus))
    here = cells / PART_RATE
    saved = here * (1 - 1 / used)
    return saved > WORKER_START, here, saved


def pool_chosen(jobs: Sequence[_Job], workers: int) -> bool:
    """Whether to start the pool for these jobs (:func:`pool_pays_off`); says why not in the log."""
    cells = float(sum(job.draws * job.valuation.inputs.n_complexes * job.n_years for job in jobs))
    pays, here, saved = pool_pays_off(cells, workers)
    if not pays:
        cpus = _cpus()
        if min(workers, cpus) <= 1:
            why = f"with {cpus} CPU, worker processes would only take turns"
        else:
            why = (
                f"{min(workers, cpus)} workers would save about {saved:.1f} s but need about {WORKER_START:.0f} s "
                f"to start (Python, grex and the compiled kernel each); they pay off from about "
                f"{_break_even(workers, cpus) / 1e6:,.0f} M cells"
            )
        log.info(
            "--workers %d: running in this process: the Monte Carlo is about %.1f s of work (%.0f M cells); %s",
            workers,
            here,
            cells / 1e6,
            why,
        )
    return pays


def _break_even(workers: int, cpus: int) -> float:
    """Cells from which ``workers`` processes pay off (``workers, cpus >= 2``)."""
    return WORKER_START * PART_RATE / (1 - 1 / max(2, min(workers, cpus)))
