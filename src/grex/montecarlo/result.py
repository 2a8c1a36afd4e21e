"""The Monte Carlo result: :class:`Simulation`, and :func:`assemble` that makes one of per-draw arrays."""

from __future__ import annotations

import math
import mmap
import os
import sys
import threading
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from grex import __version__
from grex.drivers import DRIVERS, MonteCarlo
from grex.montecarlo.plan import make_plan
from grex.montecarlo.reserve import RESERVE_YEARS, reserve_path
from grex.portfolio import Portfolio
from grex.reserves import nar_grade, resistance_ratio
from grex.scenario import Scenario
from grex.valuation import Valuation, value_portfolio

__all__ = ["PATH_PERCENTILES", "PERCENTILES", "Simulation", "assemble"]

#: Percentiles of the portfolio present value in :meth:`Simulation.percentiles`.
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
#: Percentiles per year of the reserve path.
PATH_PERCENTILES = (5, 25, 50, 75, 95)
#: Batches for the batch-means standard error of the required capacity.
BATCHES = 20

# -- the result -----------------------------------------------------------------


def _quantile(values: NDArray[np.float64], level: float) -> float:
    """The level-quantile by the inverse of the empirical CDF (no interpolation)."""
    return float(np.quantile(values, level, method="inverted_cdf"))


#: Arrays of at least this many bytes get memory of their own (:func:`own_pages`).
_OWN_MAPPING_BYTES = 4 << 20


def own_pages(shape: tuple[int, ...], dtype: Any = np.float64) -> NDArray[Any]:
    """An uninitialised output array; a large one in an anonymous memory mapping of its own.

    numpy advises the kernel to back arrays of 4 MiB and more with huge pages.
    Where transparent huge pages are on ``madvise`` with direct
    defragmentation (the default of many Linux distributions), a first write
    to such memory can wait for the kernel to compact memory into a huge
    page: on a machine whose memory is in use this cost a simulation of
    100,000 draws about 0.1 s of system time (``benchmarks/README.md``).
    The simulation's outputs (written once, draw by draw) and the sort buffer
    of :func:`percentiles_along_draws` gain nothing from huge pages, so they
    take plain pages of an anonymous mapping (``mmap``) instead. The array
    behaves as any other; the mapping is freed with it.
    """
    count = math.prod(shape)
    size = count * np.dtype(dtype).itemsize
    if size < _OWN_MAPPING_BYTES:
        return np.empty(shape, dtype=dtype)
    if hasattr(mmap, "MAP_PRIVATE"):  # a private mapping: plain anonymous memory, not shared memory
        mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    else:  # Windows
        mapping = mmap.mmap(-1, size)
    return np.frombuffer(mapping, dtype=dtype, count=count).reshape(shape)


#: ``madvise`` advice of Linux 5.14 and later: fault the pages in, writable, leaving what they hold as it is.
_MADV_POPULATE_WRITE = 23
#: Bytes of each array :func:`prefault` asks for at a time (so that a stop request is seen soon).
_PREFAULT_BYTES = 8 << 20


def prefault(arrays: Sequence[NDArray[Any]], stop: threading.Event | None = None) -> int:
    """Fault in the memory of arrays of :func:`own_pages`, leading rows first, without changing what they hold.

    The outputs of a simulation are fresh memory: each of their 4 KiB pages
    is faulted in (zeroed by the kernel) on its first write, about 110,000
    pages and 0.2 to 0.3 s of system time for 1,000,000 draws of the example,
    taken by the threads that value the draws. Run in a thread of its own
    (:func:`grex.montecarlo.execution._run_range`), this takes those faults
    while the draws start (loading the compiled kernel holds one core and
    the GIL, the other core waits), so the threads that value the draws find
    their pages in place. ``madvise(MADV_POPULATE_WRITE)`` writes nothing
    into the pages: values the draws have written already stay, so it may
    run beside them. The rows are taken in slices of about 8 MB of each
    array in turn, ``stop`` (where set) ending the work between slices; ctypes
    releases the GIL during each call. Arrays not of :func:`own_pages` (smaller
    than 4 MiB: numpy's memory) are left alone, and so is everything where
    the system has no such advice (not Linux, a kernel before 5.14): nothing
    changes but the time. Returns the bytes faulted in.
    """
    arrays = [a for a in arrays if a.nbytes >= _OWN_MAPPING_BYTES and a.flags.c_contiguous and a.ndim >= 1]
    if not arrays or not sys.platform.startswith("linux"):
        return 0
    try:
        import ctypes  # noqa: PLC0415 - only where there is work

        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    page = mmap.PAGESIZE
    rows = len(arrays[0])
    step = max(1, min(_PREFAULT_BYTES // max(a.nbytes // max(len(a), 1), 1) for a in arrays))
    done = 0
    for first in range(0, rows, step):
        for array in arrays:
            if stop is not None and stop.is_set():
                return done
            row_bytes = array.nbytes // max(len(array), 1)
            start = array.ctypes.data + min(first, len(array)) * row_bytes
            end = array.ctypes.data + min(first + step, len(array)) * row_bytes
            aligned = start - start % page
            if end <= aligned:
                continue
            if madvise(aligned, end - aligned, _MADV_POPULATE_WRITE) != 0:
                return done  # not supported here (EINVAL), or no memory: the first writes fault as before
            done += end - aligned
    return done


#: Draws from which :func:`percentiles_along_draws` sorts its columns on more than one thread.
PARALLEL_SORT_DRAWS = 100_000


def _sort_threads(draws: int, columns: int) -> int:
    """Threads for sorting ``columns`` columns of ``draws`` draws: up to two, where each sort is long enough.

    A sort of 100,000 doubles takes about 0.5 ms; below that a thread costs
    more than it saves. Two at most: the sorts read and write memory, and the
    work after a simulation (when this runs) is short.
    """
    if draws < PARALLEL_SORT_DRAWS or columns < 2:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(2, cpus, columns))


def percentiles_along_draws(values: NDArray[np.float64], levels: Collection[float]) -> NDArray[np.float64]:
    """``np.percentile(values, levels, axis=0)`` to the bit, by one sort of each column.

    numpy's ``percentile`` selects the order statistics it needs by one
    partition at a dozen positions (two per level and both ends), which on a
    million draws takes about 20 ms a column; one sort takes about 6 ms, after
    which each level is numpy's own linear interpolation (method ``linear``:
    the virtual index ``(n - 1) q``, its floor and the next, ``a + (b - a) g``
    or, where ``g >= 0.5``, ``b - (b - a)(1 - g)``), done here with the same
    operations in the same order. A column holding NaN gives NaN, as numpy's;
    one with a zero where a level reads is left to numpy (-0.0 and 0.0).
    ``tests/test_properties.py`` checks the equality on generated arrays.
    Each column is sorted in one buffer of plain pages (not huge pages,
    whose first writes can wait for the kernel to compact memory): the
    values themselves are left as they are. From :data:`PARALLEL_SORT_DRAWS`
    draws the columns are shared out between two threads, each with a buffer
    of its own (issue 17: the work after the draws, the reserve path's
    eleven columns, runs on one core otherwise); each column's figures are
    the same whichever thread sorts it.
    """
    values = np.asarray(values)
    n = len(values)
    levels = tuple(levels)
    if n < 2 or values.dtype != np.float64:
        return np.asarray(np.percentile(values, levels, axis=0))
    q = np.true_divide(np.asarray(levels), 100)
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    after = previous + 1
    previous[virtual >= n - 1] = after[virtual >= n - 1] = -1  # numpy's bounds: the last, or the first
    previous[virtual < 0] = after[virtual < 0] = 0
    previous, after = previous.astype(np.intp), after.astype(np.intp)
    gamma = np.asarray(virtual - previous, dtype=virtual.dtype)[:, np.newaxis]
    grid = values.reshape(n, -1)  # one column per series of draws
    a, b = np.empty((len(q), grid.shape[1])), np.empty((len(q), grid.shape[1]))
    last = np.empty(grid.shape[1])

    def order(columns: range) -> None:
        column = own_pages((n,))
        for c in columns:
            column[:] = grid[:, c]
            column.sort()
            a[:, c], b[:, c], last[c] = column[previous], column[after], column[-1]

    threads = _sort_threads(n, grid.shape[1])
    if threads == 1:
        order(range(grid.shape[1]))
    else:  # the columns shared out, each thread sorting in a buffer of its own (numpy's sort releases the GIL)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(order, (range(i, grid.shape[1], threads) for i in range(threads))))
    with np.errstate(invalid="ignore", over="ignore"):  # infinities give what numpy's give (NaN, inf)
        diff = b - a
        result = np.add(a, diff * gamma)
        np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    np.copyto(result, last, where=np.isnan(last))
    # Equal values differ in their bits only as -0.0 and 0.0, whose order a sort and a partition may
    # choose differently: a column with a zero where a level reads is numpy's own.
    zero = ((a == 0) | (b == 0)).any(axis=0)
    if zero.any():
        result[:, zero] = np.percentile(grid[:, zero], levels, axis=0)
    return result.reshape((len(q),) + values.shape[1:])


@dataclass(frozen=True)
class Simulation:
    """The Monte Carlo result; per-draw arrays have the draws on the leading axis.

    Attributes
    ----------
    draws : int
    seed : int
        The seed used (drawn from fresh entropy where none was given).
    drivers : tuple of str
        The drivers that kept their spread.
    parameters : MonteCarlo
        The ``[montecarlo]`` table as used.
    projects : ndarray of str, shape (C,)
    end_year : ndarray of int16, shape (D, C)
        End year E of each complex in each draw.
    end_value : ndarray, shape (D, C)
        Eindwaarde at 31-12-E. [EUR, nominal, positive = profit]
    present_value : ndarray, shape (D, C)
        Contante waarde at 1-1-V. [EUR, positive = profit]
    portfolio_present_value : ndarray, shape (D,)
        Sum over the complexes. [EUR]
    base : Valuation
        The deterministic valuation (``grex run``).
    confidence : float
        Confidence level of the required capacity. [decimal]
    required_capacity : float
        Risk-based benodigde weerstandscapaciteit: the ``confidence``-quantile
        (inverse empirical CDF) of the loss ``base PV - simulated PV`` of the
        portfolio, risk register included; zero where that quantile is not a
        loss. [EUR]
    required_capacity_standard_error : float
        Monte Carlo standard error of that quantile by batch means: the draws
        in :data:`BATCHES` consecutive batches, the quantile of each, their
        standard deviation over ``sqrt(BATCHES)``; NaN under 200 draws. [EUR]
    expected_shortfall : float
        Mean of the worst ``ceil((1 - confidence) * draws)`` losses: the
        average loss beyond the required capacity. [EUR]
    probability_of_loss : float
        Share of draws whose portfolio present value is below the
        deterministic one. [decimal]
    reserve_years : ndarray of int, shape (RESERVE_YEARS + 1,)
        Years of the reserve path: V - 1 (the valuation date) to V + 9.
    reserve : ndarray, shape (D, RESERVE_YEARS + 1)
        General reserve at 31 December of each year per draw. [EUR]
    deterministic_reserve : ndarray, shape (RESERVE_YEARS + 1,)
        The same for the deterministic valuation. [EUR]
    probability_reserve_below_zero : float
        Share of draws whose general reserve falls below zero at the end of
        one of the ten years V ... V + 9. [decimal]
    iflo_norm : float
        Required resistance reserve by the IFLO norm (deterministic). [EUR]
    available_capacity : float or None
        Weerstandsreserve grondbedrijf available (``reserves.resistance_reserve``). [EUR]
    ratio : float or None
        available / required capacity.
    grade : str or None
        NAR grade letter of the ratio.
    n_years : int
        Years of the simulated horizon from V.
    alternative_reserve : ndarray, shape (D, RESERVE_YEARS + 1), or None
        The other reading of each draw's reserve path: under ``foresight =
        "perfect"`` the path of the yearly revaluation machinery
        (:mod:`grex.montecarlo.revaluation`; the same as ``reserve`` to the
        cent), under ``plan`` or ``adaptive`` the perfect-foresight path
        (``reserve`` is then the rule's). [EUR]
    provision_held : ndarray, shape (D, RESERVE_YEARS), or None
        Provisions held at 31 December of V ... V + 9 per draw. [EUR]
    estimate : ndarray, shape (D, RESERVE_YEARS), or None
        The portfolio's present value (at 1-1-V) as each year's revaluation
        estimates it, per draw. [EUR]
    """

    draws: int
    seed: int
    drivers: tuple[str, ...]
    parameters: MonteCarlo
    projects: NDArray[np.str_]
    end_year: NDArray[np.int16]
    end_value: NDArray[np.float64]
    present_value: NDArray[np.float64]
    portfolio_present_value: NDArray[np.float64]
    base: Valuation
    confidence: float
    required_capacity: float
    required_capacity_standard_error: float
    expected_shortfall: float
    probability_of_loss: float
    reserve_years: NDArray[np.int64]
    reserve: NDArray[np.float64] = field(repr=False)
    deterministic_reserve: NDArray[np.float64] = field(repr=False)
    probability_reserve_below_zero: float
    iflo_norm: float
    available_capacity: float | None
    ratio: float | None
    grade: str | None
    n_years: int
    # yearly revaluation (issue 16)
    alternative_reserve: NDArray[np.float64] | None = field(default=None, repr=False)
    provision_held: NDArray[np.float64] | None = field(default=None, repr=False)
    estimate: NDArray[np.float64] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        from grex.display import simulation_repr

        return simulation_repr(self)

    def _repr_html_(self) -> str:
        from grex.display import simulation_html

        return simulation_html(self)

    def percentiles(self) -> dict[str, float]:
        """Percentiles P5 ... P95 of the portfolio present value. [EUR]"""
        values = percentiles_along_draws(self.portfolio_present_value, PERCENTILES)
        return {f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}

    def per_complex(self) -> pd.DataFrame:
        """Per complex: ``project, p5, p50, p95`` of the present value, ``probability_of_loss``
        (present value below the deterministic one), ``required_capacity`` (the
        confidence-quantile of the loss against the deterministic present
        value, at least zero), and the ``deterministic`` present value. [EUR]"""
        base = self.base.result.present_value
        rows = []
        spread = percentiles_along_draws(self.present_value, (5, 50, 95))
        for c, project in enumerate(self.projects):
            values = self.present_value[:, c]
            loss = base[c] - values
            p5, p50, p95 = spread[:, c]
            rows.append(
                {
                    "project": project,
                    "p5": p5,
                    "p50": p50,
                    "p95": p95,
                    "probability_of_loss": float(np.mean(loss > 0)),
                    "required_capacity": max(_quantile(loss, self.confidence), 0.0),
                    "deterministic": float(base[c]),
                }
            )
        return pd.DataFrame(rows)

    def reserve_path(self, percentiles: NDArray[np.float64] | None = None) -> pd.DataFrame:
        """The general reserve per year: ``year, deterministic, p5, p25, p50, p75, p95``.

        Year Y holds the reserve at 31 December of Y; the first row, V - 1,
        is the reserve at the valuation date. Conventions: :func:`reserve_path`. [EUR]
        ``percentiles``, where given, are those of ``reserve`` already computed,
        ``percentiles_along_draws(reserve, PATH_PERCENTILES)`` (:func:`grex.io.simulation.simulate_to`
        sorts them while the result is assembled).
        """
        table = {"year": self.reserve_years, "deterministic": self.deterministic_reserve}
        values = percentiles_along_draws(self.reserve, PATH_PERCENTILES) if percentiles is None else percentiles
        for p, row in zip(PATH_PERCENTILES, values, strict=True):
            table[f"p{p}"] = row
        return pd.DataFrame(table)

    def provision_path(self) -> pd.DataFrame:
        """Per year V ... V + 9 the provisions held and what each year's MPG would report.

        Columns: ``year``; ``provision_p5`` ... ``provision_p95`` the
        percentiles over the draws of the provisions held at 31 December
        (after that year's revaluation) [EUR]; ``probability_reserve_below_zero``
        the share of draws whose general reserve is below zero at 31 December
        [decimal]; ``required_capacity`` the ``confidence``-quantile (inverse
        empirical CDF, at least 0) of the loss that year's revaluation has
        recognised: the deterministic present value less the portfolio
        present value as then estimated [EUR].
        """
        if self.provision_held is None or self.estimate is None:
            raise ValueError("this simulation holds no yearly revaluation")
        V = int(self.reserve_years[0]) + 1
        table: dict[str, Any] = {"year": np.arange(V, V + RESERVE_YEARS)}
        values = percentiles_along_draws(self.provision_held, PATH_PERCENTILES)
        for p, row in zip(PATH_PERCENTILES, values, strict=True):
            table[f"provision_p{p}"] = row
        table["probability_reserve_below_zero"] = np.mean(self.reserve[:, 1:] < 0, axis=0)
        base = float(self.base.result.present_value.sum())
        table["required_capacity"] = [
            max(_quantile(base - self.estimate[:, i], self.confidence), 0.0) for i in range(RESERVE_YEARS)
        ]
        return pd.DataFrame(table)

    def first_year_below_zero(self) -> dict[str, float]:
        """The share of draws whose general reserve first falls below zero in each year (``never`` too)."""
        below = self.reserve[:, 1:] < 0
        first = np.where(below.any(axis=1), np.argmax(below, axis=1), -1)
        V = int(self.reserve_years[0]) + 1
        out = {str(V + i): float(np.mean(first == i)) for i in range(RESERVE_YEARS)}
        out["never"] = float(np.mean(first < 0))
        return out

    def revaluation_frame(self) -> pd.DataFrame:
        """One row per draw and year: ``draw, year, reserve, provision, estimate`` (the draw-level yearly figures)."""
        if self.provision_held is None or self.estimate is None:
            raise ValueError("this simulation holds no yearly revaluation")
        D = len(self.reserve)
        V = int(self.reserve_years[0]) + 1
        return pd.DataFrame(
            {
                "draw": np.repeat(np.arange(D), RESERVE_YEARS),
                "year": np.tile(np.arange(V, V + RESERVE_YEARS), D),
                "reserve": self.reserve[:, 1:].ravel(),
                "provision": self.provision_held.ravel(),
                "estimate": self.estimate.ravel(),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per draw and complex: ``draw, project, end_year, end_value, present_value``."""
        D, C = self.present_value.shape
        return pd.DataFrame(
            {
                "draw": np.repeat(np.arange(D), C),
                "project": np.tile(self.projects, D),
                "end_year": self.end_year.ravel(),
                "end_value": self.end_value.ravel(),
                "present_value": self.present_value.ravel(),
            }
        )

    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds."""
        scenario = self.base.scenario
        grade = nar_grade(self.ratio)
        return {
            "scenario": scenario.name,
            "grex_version": __version__,
            "valuation_year": scenario.valuation_year,
            "illustrative": scenario.illustrative,
            "input_hash": self.base.input_hash,
            "draws": self.draws,
            "seed": self.seed,
            "drivers": list(self.drivers),
            "deterministic_present_value": float(self.base.result.present_value.sum()),
            "percentiles": self.percentiles(),
            "mean_present_value": float(self.portfolio_present_value.mean()),
            "probability_of_loss": self.probability_of_loss,
            "confidence": self.confidence,
            "required_capacity": self.required_capacity,
            "required_capacity_standard_error": self.required_capacity_standard_error,
            "expected_shortfall": self.expected_shortfall,
            "iflo_norm": self.iflo_norm,
            "available_resistance_reserve": self.available_capacity,
            "ratio": self.ratio,
            "grade": self.grade,
            "grade_label": None if grade is None else grade[1],
            "general_reserve": scenario.reserves.general_reserve,
            "probability_reserve_below_zero": self.probability_reserve_below_zero,
            "parameters": scenario.to_json(),
            # yearly revaluation (issue 16)
            **(
                {}
                if self.provision_held is None
                else {
                    "foresight": self.parameters.foresight,
                    "first_year_reserve_below_zero": self.first_year_below_zero(),
                }
            ),
        }


def assemble(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    seed: int,
    n_years: int,
    arrays: dict[str, NDArray[Any]],
    drivers: Collection[str] | None = None,
) -> Simulation:
    """The :class:`Simulation` of per-draw arrays (the third step of :func:`simulate`)."""
    plan = make_plan(scenario, portfolio, drivers)
    base = value_portfolio(scenario, portfolio)
    inputs = plan.inputs
    end_year, end_value = arrays["end_year"], arrays["end_value"]
    present_value, reserve = arrays["present_value"], arrays["reserve"]
    draws = len(present_value)
    portfolio_pv = present_value.sum(axis=1)
    base_pv = float(base.result.present_value.sum())
    loss = base_pv - portfolio_pv
    q = scenario.reserves.confidence
    required = max(_quantile(loss, q), 0.0)
    if draws >= 10 * BATCHES:
        batch_quantiles = [_quantile(part, q) for part in np.array_split(loss, BATCHES)]
        standard_error = float(np.std(batch_quantiles, ddof=1) / math.sqrt(BATCHES))
    else:
        standard_error = math.nan
    tail = math.ceil((1.0 - q) * draws)
    expected_shortfall = float(np.mean(np.partition(loss, draws - tail)[draws - tail :]))
    deterministic = reserve_path(
        general_reserve=plan.general_reserve,
        nominal_costs=base.result.costs,
        nominal_revenues=base.result.revenues,
        end_index=base.result.end_index,
        end_value=base.result.end_value,
        present_value=base.result.present_value,
        inputs=base.inputs,
        in_preparation=plan.in_preparation,
    )
    available = scenario.reserves.resistance_reserve
    ratio = None if available is None else resistance_ratio(available, required)
    grade = nar_grade(ratio)
    return Simulation(
        draws=draws,
        seed=seed,
        drivers=tuple(d for d in DRIVERS if d in plan.active),
        parameters=scenario.montecarlo,
        projects=inputs.projects,
        end_year=end_year,
        end_value=end_value,
        present_value=present_value,
        portfolio_present_value=portfolio_pv,
        base=base,
        confidence=q,
        required_capacity=required,
        required_capacity_standard_error=standard_error,
        expected_shortfall=expected_shortfall,
        probability_of_loss=float(np.mean(loss > 0)),
        reserve_years=np.arange(scenario.valuation_year - 1, scenario.valuation_year + RESERVE_YEARS),
        reserve=reserve,
        deterministic_reserve=deterministic,
        probability_reserve_below_zero=float(np.mean((reserve[:, 1:] < 0).any(axis=1))),
        iflo_norm=base.iflo_norm(),
        available_capacity=available,
        ratio=ratio,
        grade=None if grade is None else grade[0],
        n_years=n_years,
        alternative_reserve=arrays.get("revalued"),
        provision_held=arrays.get("provision"),
        estimate=arrays.get("estimate"),
    )
