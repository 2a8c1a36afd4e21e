"""Writing a Monte Carlo result: ``draws.parquet``, ``reserve_path.csv``, ``provision_path.csv``,
``reserve_years.parquet``, ``summary.json``."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from grex.io.results import (
    ILLUSTRATIVE_NOTICE,
    provenance,
    reserve_summary,
    with_provenance,
    write_atomically,
    write_csv,
    write_json,
)
from grex.montecarlo import Simulation
from grex.montecarlo.result import PATH_PERCENTILES, percentiles_along_draws
from grex.reserves import reserve_figures
from grex.valuation import Valuation

__all__ = ["DrawsWriter", "row_group_draws", "simulate_to", "write_draws", "write_reserve_years", "write_simulation"]

log = logging.getLogger("grex")

#: Draws per Parquet row group: memory while writing stays bounded whatever the number of draws.
ROW_GROUP_DRAWS = 50_000
#: Rows (draws x complexes) per Parquet row group at most: a portfolio of more than 20 complexes has
#: fewer draws per group, so that memory while writing stays bounded whatever the number of complexes.
ROW_GROUP_ROWS = 1_000_000


#: The columns of ``draws.parquet``. None holds a missing value: declared so, the file has no
#: definition levels to write or read (``pandas.read_parquet`` gives the same frame either way).
DRAWS_SCHEMA = pa.schema(
    [
        pa.field("draw", pa.int64(), nullable=False),
        pa.field("project", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("end_year", pa.int16(), nullable=False),
        pa.field("end_value", pa.float64(), nullable=False),
        pa.field("present_value", pa.float64(), nullable=False),
    ]
)
#: How ``draws.parquet`` is encoded, chosen by measurement (:class:`DrawsWriter`; ``benchmarks/README.md``,
#: "The encoding of draws.parquet"): ``draw`` and ``end_year`` delta-encoded, ``project`` a dictionary (it
#: reads back as a categorical column), these three snappy-compressed; the amounts plain and not compressed
#: (nearly all distinct: snappy gains nothing on them); statistics (min and max per row group, which let a
#: reader skip row groups) for ``draw`` only.
DRAWS_ENCODING: dict[str, Any] = {
    "use_dictionary": ["project"],
    "column_encoding": {"draw": "DELTA_BINARY_PACKED", "end_year": "DELTA_BINARY_PACKED"},
    "compression": {
        "draw": "snappy",
        "project": "snappy",
        "end_year": "snappy",
        "end_value": "none",
        "present_value": "none",
    },
    "write_statistics": ["draw"],
}


def row_group_draws(complexes: int) -> int:
    """Draws per row group of ``draws.parquet``: :data:`ROW_GROUP_DRAWS`, fewer where that would make
    more than :data:`ROW_GROUP_ROWS` rows, at least one.

    Each group is built whole before it is written (the ``draw`` and
    ``project`` columns are made for it: 12 bytes a row), and the Parquet
    writer encodes it in memory: at 1,000 complexes a group of 50,000 draws
    would be 50 million rows and about 0.6 GB besides the results
    (``benchmarks/README.md``, "Scale"). Up to 20 complexes nothing changes.
    """
    return max(1, min(ROW_GROUP_DRAWS, ROW_GROUP_ROWS // max(int(complexes), 1)))


def write_simulation(simulation: Simulation, out_dir: str | Path) -> Path:
    """Write the files of a simulation into ``out_dir``, whole or not at all.

    ``draws.parquet``: one row per draw and complex (``draw, project,
    end_year, end_value, present_value``) [EUR]; ``reserve_path.csv``: the
    general reserve per year (``year, deterministic, p5, p25, p50, p75,
    p95``) [EUR]; ``provision_path.csv``: :meth:`Simulation.provision_path`;
    ``reserve_years.parquet``: :meth:`Simulation.revaluation_frame`;
    ``summary.json``: :meth:`Simulation.summary`. The CSV
    is a plain table; an illustrative scenario's notice is in the summary
    and, with the provenance, in the metadata of ``draws.parquet``.
    """
    with write_atomically(out_dir) as staging:
        write_draws(simulation, staging / "draws.parquet")
        _write_rest(simulation, staging)
    return Path(out_dir)


def simulate_to(
    valuation: Valuation, out_dir: str | Path, *, started: Callable[[], None] | None = None, **simulate: Any
) -> Simulation:
    """Simulate ``valuation``'s scenario and portfolio and write the files of :func:`write_simulation` into ``out_dir``.

    The same files, byte for byte, as ``write_simulation(grex.montecarlo.simulate(valuation.scenario,
    valuation.portfolio, **simulate), out_dir)``, but ``draws.parquet`` is
    written as the draws are valued (:class:`DrawsWriter` fed by the
    ``on_draws`` of :func:`grex.montecarlo.simulate`), beside the threads
    that value the next chunks, rather than after the whole simulation. The
    folder still appears whole or not at all: everything is written into the
    staging folder of :func:`grex.io.results.write_atomically`, which an error
    or an interruption removes. ``started``, where given, is called once, in
    this thread, when the first chunk of draws is valued (the compiled kernel
    loaded; the ``grex`` command resumes its garbage collector there).
    """
    from grex.montecarlo import simulate as run  # noqa: PLC0415 - the engines only where they run

    with write_atomically(out_dir) as staging:
        seed = simulate.pop("seed", None)
        if seed is None:  # the seed is in the file's metadata, which is written first: draw it here
            seed = int(np.random.SeedSequence().entropy % 2**63)  # type: ignore[operator]
        draws = simulate.pop("draws", None)
        if draws is None:
            draws = valuation.scenario.montecarlo.draws
        about = {**provenance(valuation.scenario, valuation.input_hash), "draws": draws, "seed": seed}
        waiting = [] if started is None else [started]
        reserve_path = _ReservePercentiles()
        try:
            with DrawsWriter(staging / "draws.parquet", valuation.inputs.projects, about) as writer:

                def on_draws(arrays: Mapping[str, Any], done: int) -> None:
                    while waiting:
                        waiting.pop()()
                    if done == draws:  # every draw valued: the reserve path's sorts beside the rest of the work
                        reserve_path.start(arrays["reserve"])
                    writer.write(arrays, done)

                try:
                    simulation = run(
                        valuation.scenario, valuation.portfolio, draws=draws, seed=seed, on_draws=on_draws, **simulate
                    )
                finally:
                    while waiting:  # no chunk valued (an error): called all the same
                        waiting.pop()()
                during, during_cpu = writer.seconds, writer.cpu_seconds
        except BaseException:
            reserve_path.result()  # an error (or Ctrl-C) after the last draws: the sorts end before it goes on
            raise
        log.debug("simulate: writing draws.parquet beside the draws: %.2f s (%.2f s CPU)", during, during_cpu)
        log.debug(
            "simulate: writing the rest of draws.parquet after them: %.2f s (%.2f s CPU)",
            writer.seconds - during,
            writer.cpu_seconds - during_cpu,
        )
        start, cpu = time.perf_counter(), time.process_time()
        _write_rest(simulation, staging, reserve_path.result())
        log.debug(
            "simulate: writing the other files: %.2f s (%.2f s CPU)",
            time.perf_counter() - start,
            time.process_time() - cpu,
        )
    return simulation


def _write_rest(simulation: Simulation, staging: Path, reserve_percentiles: Any = None) -> None:
    """The files of :func:`write_simulation` but ``draws.parquet`` (``reserve_percentiles``: see
    :meth:`Simulation.reserve_path`)."""
    write_csv(simulation.reserve_path(reserve_percentiles), staging / "reserve_path.csv")
    if simulation.provision_held is not None:  # the yearly revaluation (issue 16)
        write_csv(simulation.provision_path(), staging / "provision_path.csv")
        write_reserve_years(simulation, staging / "reserve_years.parquet")
    reserves = simulation.base.scenario.reserves
    figures = reserve_figures(
        reserves.norm, simulation.available_capacity, simulation.iflo_norm, simulation.required_capacity
    )
    summary = reserve_summary(simulation.summary(), figures)
    if simulation.base.scenario.illustrative:
        summary = {"notice": ILLUSTRATIVE_NOTICE, **summary}
    write_json(staging / "summary.json", summary)


class _ReservePercentiles:
    """The percentiles of the reserve path (:meth:`Simulation.reserve_path`) sorted in a thread of their own.

    Issue 17: once the last draws are valued, the work left is serial (the
    last row groups of ``draws.parquet``, assembling the result, the other
    files) and sorting the reserve path's eleven columns of draws was the
    largest part of it. Started from the last ``on_draws`` call, the sorts
    run beside the rest, on the core the threads that valued the draws have
    left; :meth:`result` waits for them. The figures are those of
    ``percentiles_along_draws(reserve, PATH_PERCENTILES)`` in this thread, the
    same function on the same array (nothing writes to it any more). An error
    in the thread gives None: the caller then sorts in its own thread, where
    the error shows.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._values: Any = None

    def start(self, reserve: Any) -> None:
        if self._thread is not None:
            return

        def run() -> None:
            with contextlib.suppress(Exception):
                self._values = percentiles_along_draws(reserve, PATH_PERCENTILES)

        self._thread = threading.Thread(target=run, name="grex-reserve-path", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        """The percentiles (None where not started, or where the thread failed); waits for the thread."""
        if self._thread is None:
            return None
        self._thread.join()
        return self._values


class DrawsWriter:
    """``draws.parquet`` written :func:`row_group_draws` draws at a time, as soon as they are valued.

    :meth:`write` takes the per-draw arrays (``end_year``, ``end_value``,
    ``present_value``, shape (draws, complexes)) and the number of leading
    draws that are final, and writes every whole row group among them;
    :meth:`close` writes the rest. Row groups, encodings and metadata are
    those of :func:`write_draws`, so the file is the same byte for byte
    whether it is written during or after the simulation.

    The encoding (:data:`DRAWS_SCHEMA`, :data:`DRAWS_ENCODING`) was chosen by
    measuring the CPU seconds of writing 1,000,000 draws x 19 complexes (19
    million rows) and the file's size under each option
    (``benchmarks/writing.py``; the table is in ``benchmarks/README.md``, "The
    encoding of draws.parquet"). What costs is per value, not per byte: a
    dictionary on ``draw`` (50,000 distinct values a row group) or
    ``end_year`` hashes every value, min and max statistics compare every
    value, and definition levels (declared nullable) are written for every
    value. So ``draw`` and ``end_year`` are delta-encoded (smaller than their
    dictionaries and cheaper), ``project`` stays a dictionary (written from
    its codes, no hashing; it reads back as a categorical column), the
    amounts are plain and not compressed (nearly all distinct: no dictionary,
    no compression helps them; snappy costs a little and makes them no
    smaller), the columns are declared without missing values, and only
    ``draw`` keeps its statistics. About half the CPU of the encoding before
    (dictionaries for ``draw, project, end_year``, statistics of every column)
    and 2 % smaller; ``pandas.read_parquet`` gives the same frame. No other
    compression is both smaller and cheaper: none (4 % larger) and lz4 cost
    more, zstd and byte-stream-split amounts make the file 5 to 11 % smaller
    at about twice the CPU. An int32 ``draw`` would read back as int32.
    """

    def __init__(
        self,
        path: Path,
        projects: Iterable[Any],
        about: Mapping[str, Any],
        *,
        schema: pa.Schema | None = None,
        encoding: Mapping[str, Any] | None = None,
    ) -> None:
        self._projects = pa.array([str(p) for p in projects], type=pa.string())
        self._codes = np.arange(len(self._projects), dtype=np.int32)
        self._group = row_group_draws(len(self._codes))
        # schema and encoding other than DRAWS_SCHEMA and DRAWS_ENCODING: for benchmarks/writing.py only
        self._schema = with_provenance(DRAWS_SCHEMA if schema is None else schema, dict(about))
        self._writer = pq.ParquetWriter(path, self._schema, **(DRAWS_ENCODING if encoding is None else encoding))
        self._written = 0
        #: Seconds spent writing so far (wall), and the CPU seconds of the writing thread among them.
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self._arrays: Mapping[str, Any] | None = None
        self._done = 0
        # the draw and project columns of a whole row group, made once: the draw column is shifted per group
        C = len(self._codes)
        self._draw = np.repeat(np.arange(self._group, dtype=np.int64), C)
        self._project = pa.DictionaryArray.from_arrays(np.tile(self._codes, self._group), self._projects)

    def write(self, arrays: Mapping[str, Any], done: int) -> None:
        """Write the whole row groups among draws ``0 ... done - 1`` not yet written."""
        self._arrays, self._done = arrays, done
        while self._done - self._written >= self._group:
            self._row_group(self._written + self._group)

    def close(self) -> None:
        """Write the draws not yet written and close the file (a file of no draws has one empty row group)."""
        try:
            if self._done == 0:
                self._row_group(0)
            while self._written < self._done:
                self._row_group(min(self._done, self._written + self._group))
        finally:
            self._writer.close()

    def __enter__(self) -> DrawsWriter:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.close()
        else:  # the staging folder goes; only the file handle needs closing
            self._writer.close()

    def _row_group(self, stop: int) -> None:
        clock, cpu = time.perf_counter(), time.thread_time()
        start = self._written
        n = stop - start
        C = len(self._codes)
        arrays = self._arrays
        if arrays is None:
            end_year = np.zeros(0, np.int16)
            end_value = present_value = np.zeros(0)
        else:
            end_year = arrays["end_year"][start:stop].ravel()
            end_value = arrays["end_value"][start:stop].ravel()
            present_value = arrays["present_value"][start:stop].ravel()
        if n == self._group:
            draw, project = self._draw + start, self._project
        else:
            draw = np.repeat(np.arange(start, stop, dtype=np.int64), C)
            project = pa.DictionaryArray.from_arrays(np.tile(self._codes, n), self._projects)
        table = pa.table(
            {
                "draw": draw,
                "project": project,
                "end_year": end_year,
                "end_value": end_value,
                "present_value": present_value,
            },
            schema=self._schema,
        )
        self._writer.write_table(table)
        self._written = stop
        self.seconds += time.perf_counter() - clock
        self.cpu_seconds += time.thread_time() - cpu


def write_draws(simulation: Simulation, path: Path) -> None:
    """``draws.parquet``: the rows of :meth:`Simulation.to_frame`, written in row groups.

    The table is never built whole: a million draws of fifty complexes are
    written :func:`row_group_draws` draws (20,000) at a time, the ``project`` column
    dictionary-encoded (it reads back as a categorical column). The file
    metadata holds the provenance (:func:`grex.io.results.read_provenance`).
    """
    base = simulation.base
    about = {**provenance(base.scenario, base.input_hash), "draws": simulation.draws, "seed": simulation.seed}
    arrays = {
        "end_year": simulation.end_year,
        "end_value": simulation.end_value,
        "present_value": simulation.present_value,
    }
    with DrawsWriter(path, simulation.projects, about) as writer:
        writer.write(arrays, len(simulation.present_value))


def write_reserve_years(simulation: Simulation, path: Path) -> None:
    """``reserve_years.parquet``: the draw-level yearly figures of :meth:`Simulation.revaluation_frame`.

    One row per draw and year V ... V + 9 (``draw, year, reserve, provision,
    estimate``) [EUR], written :data:`ROW_GROUP_DRAWS` draws at a time; the
    provenance in the file metadata. Encoded as ``draws.parquet`` is
    (:class:`DrawsWriter`): ``draw`` and ``year`` delta-encoded, the amounts
    plain and not compressed, no missing values declared, statistics for
    ``draw`` only.
    """
    base = simulation.base
    about = {**provenance(base.scenario, base.input_hash), "draws": simulation.draws, "seed": simulation.seed}
    schema = with_provenance(
        pa.schema(
            [
                pa.field("draw", pa.int64(), nullable=False),
                pa.field("year", pa.int16(), nullable=False),
                pa.field("reserve", pa.float64(), nullable=False),
                pa.field("provision", pa.float64(), nullable=False),
                pa.field("estimate", pa.float64(), nullable=False),
            ]
        ),
        about,
    )
    assert simulation.provision_held is not None and simulation.estimate is not None
    D, years = simulation.provision_held.shape
    V = int(simulation.reserve_years[0]) + 1
    # the encoding of draws.parquet (DRAWS_ENCODING) for the same kinds of column: a third of the CPU of
    # pyarrow's defaults (a dictionary tried on every column, statistics of every column), a tenth smaller
    encoding = {
        "use_dictionary": False,
        "column_encoding": {"draw": "DELTA_BINARY_PACKED", "year": "DELTA_BINARY_PACKED"},
        "compression": {"draw": "snappy", "year": "snappy", "reserve": "none", "provision": "none", "estimate": "none"},
        "write_statistics": ["draw"],
    }
    with pq.ParquetWriter(path, schema, **encoding) as writer:
        for start in range(0, max(D, 1), ROW_GROUP_DRAWS):
            stop = min(D, start + ROW_GROUP_DRAWS)
            n = stop - start
            table = pa.table(
                {
                    "draw": np.repeat(np.arange(start, stop, dtype=np.int64), years),
                    "year": np.tile(np.arange(V, V + years, dtype=np.int16), n),
                    "reserve": simulation.reserve[start:stop, 1:].ravel(),
                    "provision": simulation.provision_held[start:stop].ravel(),
                    "estimate": simulation.estimate[start:stop].ravel(),
                },
                schema=schema,
            )
            writer.write_table(table)
