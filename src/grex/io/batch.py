"""Running a batch of scenario files: reading them, simulating them in parts, writing the dataset and comparison.

:func:`run_batch` reads the scenario files (a ``[grid]`` table expands into
one scenario per combination, :func:`grex.batch.expand_grid`), values each
portfolio, runs its Monte Carlo in parts (:mod:`grex.batch` for where the
parts run) and writes per scenario a partition of the batch dataset and its
headline figures.

Layout of a batch folder ``DIR``::

    DIR/dataset/draws/scenario=<name>/part-0.parquet
    DIR/dataset/draws/scenario=<name>/_complete.json
    DIR/dataset/complexes/scenario=<name>/part-0.parquet
    DIR/dataset/reserve_path/scenario=<name>/part-0.parquet
    DIR/dataset/provision_path/scenario=<name>/part-0.parquet    (yearly revaluation only)
    DIR/dataset/reserve_years/scenario=<name>/part-0.parquet     (yearly revaluation only)
    DIR/comparison.csv
    DIR/comparison.xlsx

``dataset/`` holds three Parquet datasets, and two more where a scenario has a
yearly revaluation (``[montecarlo] foresight = "plan"`` or ``"adaptive"``), each partitioned by scenario in
the Hive style, ``<name>`` readable as it is but for the characters that
:func:`grex.io.paths.safe_name` percent-encodes (path separators, ``%``, control
characters, a leading dot; pyarrow decodes them) and, past 255 bytes, cut
with a hash suffix (:func:`read_batch` takes the name from the marker), so that
``pandas.read_parquet("DIR/dataset/draws")`` reads every scenario with a
``scenario`` column (or use :func:`read_batch`, which reads the complete
scenarios only):

``draws``
    One row per draw and complex: ``draw, project, end_year, end_value,
    present_value`` [EUR] (as ``grex simulate``'s ``draws.parquet``).
``complexes``
    One row per complex: the deterministic figures of ``complexes.csv``
    (:data:`grex.valuation.COMPLEX_COLUMNS`) and from the Monte Carlo
    ``p5, p50, p95`` of the present value, ``probability_of_loss`` and
    ``required_capacity`` [EUR].
``reserve_path``
    The general reserve per year: ``year, deterministic, p5, ..., p95`` [EUR]
    (as ``reserve_path.csv``): under ``plan`` or ``adaptive`` the path of the
    yearly revaluation, under ``perfect`` (the default) the path it always was.
``provision_path``
    Yearly revaluation only: per year ``year, provision_p5, ..., provision_p95,
    probability_reserve_below_zero, required_capacity`` (as
    ``provision_path.csv``, at full precision) [EUR, decimal].
``reserve_years``
    Yearly revaluation only: one row per draw and year, ``draw, year, reserve,
    provision, estimate`` [EUR] (as ``reserve_years.parquet``).

A perfect-foresight scenario has no partition of the last two (its
provisions are those of ``grex run`` and its reserve path is ``reserve_path``),
so a batch without a yearly revaluation is written as before they existed.

Each partition is written in a hidden temporary folder of grex and swapped
into place (:func:`grex.io.paths.swap_in`), so none is ever half-written, and
temporary folders of killed runs are removed by the next; ``_complete.json`` is written last
(through a temporary name) and holds the completion key (input hash, draws,
seed, grex version; ``yearly_revaluation`` for a scenario with one), the
tables written and the scenario's headline figures. Files and folders
whose names start with ``.`` or ``_`` are skipped by pyarrow's dataset reader.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import sys
import uuid
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from grex import __version__
from grex.batch import (
    CHUNK_DRAWS,
    SCHEDULER_TIMEOUT,
    BatchResult,
    Failure,
    _in_process,
    _Job,
    _on_pool,
    _simulate_part,
    comparison_frame,
    completion_key,
    connect,
    expand_grid,
    headline,
    pool_chosen,
)
from grex.errors import InputError, OutputError, shown
from grex.io.cluster import announce_dashboard, check_environment, check_shared_folder, make_cluster
from grex.io.paths import MAX_NAME_BYTES, OUTPUT_MARKER, make_staging, safe_name, swap_in, write_marker
from grex.io.portfolio import read_portfolio
from grex.io.results import ILLUSTRATIVE_NOTICE, _clean, write_json
from grex.io.scenario import read_scenario_table
from grex.io.storage import Location, StorageError, expand_url, is_url, local_input, location
from grex.limits import MAX_WORKERS, check_draws, check_horizon, check_memory
from grex.montecarlo import BLOCK, assemble, simulation_horizon
from grex.progress import Steps
from grex.scenario import Scenario
from grex.valuation import input_hash, value_portfolio

__all__ = [
    "MARKER",
    "PARTITION_KEY",
    "REVALUATION_TABLES",
    "run_batch",
    "TABLES",
    "partition_dir",
    "read_batch",
    "read_batch_scenarios",
    "read_marker",
    "write_comparison",
    "write_partition",
]

log = logging.getLogger(__name__)

#: The tables of the batch dataset every scenario has.
TABLES = ("draws", "complexes", "reserve_path")
#: The tables only a scenario with a yearly revaluation has (``[montecarlo] foresight`` plan or adaptive).
REVALUATION_TABLES = ("provision_path", "reserve_years")
#: Name of the completion marker in a scenario's ``draws`` partition.
MARKER = "_complete.json"
#: Timestamp written into the workbook (created and modified) and its zip entries,
#: so that the same batch gives the same bytes.
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def read_batch_scenarios(paths: Sequence[str | Path]) -> tuple[list[tuple[Scenario, Path]], list[Failure]]:
    """Read the scenario files of a batch, grids expanded; a file may be a URL (:func:`grex.io.storage.local_input`).

    Returns
    -------
    scenarios : list of (Scenario, Path)
        Every scenario that passed its checks, with its file, in order.
    failures : list of Failure
        Files that could not be read or checked, and scenario names used twice.

    Raises
    ------
    StorageError
        A URL whose storage cannot be read (no answer, denied credentials,
        an unknown bucket): the whole batch stops, before any work.
    """
    scenarios: list[tuple[Scenario, Path]] = []
    failures: list[Failure] = []
    seen: dict[str, Path] = {}
    for given in [url for path in paths for url in expand_url(path)]:
        path = local_input(given)  # a URL: its copy here (StorageError where the storage cannot be read)
        name = None
        try:
            data, sources = read_scenario_table(path)
            name = data.get("name") if isinstance(data.get("name"), str) else None
            expanded = [Scenario.from_dict(t, source=path, sources=sources) for t in expand_grid(data, path)]
        except StorageError:
            raise
        except InputError as error:
            failures.append(Failure(shown(str(path)), name, _reason(error, path)))
            continue
        for scenario in expanded:
            if scenario.name in seen:
                failures.append(
                    Failure(
                        shown(str(path)),
                        scenario.name,
                        shown(f"scenario name {scenario.name!r} is already used by {seen[scenario.name]}"),
                    )
                )
                continue
            seen[scenario.name] = path
            scenarios.append((scenario, path))
    return scenarios, failures


def _reason(error: InputError, path: Path) -> str:
    if error.source == str(path):
        return shown(": ".join(p for p in (error.location, error.message) if p))
    return str(error)


#: The partition key of the batch datasets.
PARTITION_KEY = "scenario="


def partition_dir(out_dir: str | Path, table: str, name: str) -> Path:
    """Folder of a scenario's partition of a table: ``DIR/dataset/<table>/scenario=<name>``.

    ``<name>`` is :func:`grex.io.paths.safe_name` of the scenario name:
    ``scenario=disconto-tempo[discount_rate=0.01,market_pace.mode=0.8]``.
    """
    return Path(out_dir) / "dataset" / table / (PARTITION_KEY + safe_name(name, reserve=len(PARTITION_KEY)))


def _legacy_partition_dir(out_dir: str | Path, table: str, name: str) -> Path | None:
    """Where grex put the partition before names were readable (``<name>`` percent-encoded whole).

    None where that name is no possible file name (too long), or is today's.
    """
    folder = f"scenario={quote(name, safe='')}"
    legacy = Path(out_dir) / "dataset" / table / folder
    if len(folder.encode()) > MAX_NAME_BYTES or legacy == partition_dir(out_dir, table, name):
        return None
    return legacy


def _folder(name: str) -> str:
    """The partition folder's name of a scenario: ``scenario=<safe name>``."""
    return PARTITION_KEY + safe_name(name, reserve=len(PARTITION_KEY))


def read_marker(out_dir: str | Path | Location, name: str) -> dict[str, Any] | None:
    """The completion marker of a scenario, or None where it is not complete."""
    if isinstance(out_dir, Location):
        data = out_dir.read_bytes("dataset", "draws", _folder(name), MARKER)
        try:
            return None if data is None else json.loads(data.decode("utf-8"))
        except ValueError:
            return None
    path = partition_dir(out_dir, "draws", name) / MARKER
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_partition(
    out_dir: str | Path | Location, valuation: Any, simulation: Any, *, key: dict[str, Any], headline: dict[str, Any]
) -> None:
    """Write a scenario's partitions of its tables, then its completion marker.

    The tables are :data:`TABLES`, and :data:`REVALUATION_TABLES` for a
    scenario with a yearly revaluation; the marker's ``tables`` lists those
    written. An earlier marker is removed first, so a scenario interrupted
    while being rewritten is not taken for complete, and so are partitions of
    revaluation tables the scenario no longer has (rewritten with ``foresight
    = "perfect"``), so that the dataset read whole holds none of them.
    """
    name = valuation.scenario.name
    frames = _partition_frames(valuation, simulation)
    if isinstance(out_dir, Location):
        _write_remote_partition(out_dir, name, frames, key, headline)
        return
    marker = partition_dir(out_dir, "draws", name) / MARKER
    marker.unlink(missing_ok=True)
    legacy = _legacy_partition_dir(out_dir, "draws", name)
    if legacy is not None:
        (legacy / MARKER).unlink(missing_ok=True)
    written = [table for table, _ in frames]
    for table in REVALUATION_TABLES:
        if table not in written:
            shutil.rmtree(partition_dir(out_dir, table, name), ignore_errors=True)
    for table, frame in frames:
        _replace_partition(partition_dir(out_dir, table, name), frame)
    staging = marker.with_name(f".{MARKER}.{uuid.uuid4().hex}.tmp")
    write_json(staging, {"scenario": name, "key": key, "tables": _tables(written), "headline": headline})
    os.replace(staging, marker)
    for table in TABLES:  # the same scenario under the old percent-encoded name would be read twice
        legacy = _legacy_partition_dir(out_dir, table, name)
        if legacy is not None and legacy.is_dir():
            shutil.rmtree(legacy, ignore_errors=True)


def _partition_frames(valuation: Any, simulation: Any) -> list[tuple[str, pd.DataFrame]]:
    """A scenario's rows of its tables, in the order they are written (draws last).

    With a yearly revaluation (``simulation.provision_held`` set) also
    ``provision_path`` (:meth:`~grex.montecarlo.Simulation.provision_path`, as
    ``provision_path.csv`` at full precision) and ``reserve_years``
    (:meth:`~grex.montecarlo.Simulation.revaluation_frame`, as
    ``reserve_years.parquet``, ``draw`` as int32 as in ``draws``, ``year`` as int16).
    """
    draws = simulation.to_frame()
    draws["draw"] = draws["draw"].astype("int32")
    per_complex = simulation.per_complex().drop(columns=["deterministic"])
    complexes = valuation.complexes().merge(per_complex, on="project", how="left", validate="one_to_one")
    frames = [("complexes", complexes), ("reserve_path", simulation.reserve_path())]
    if simulation.provision_held is not None:  # the yearly revaluation (issue 16)
        years = simulation.revaluation_frame().astype({"draw": "int32", "year": "int16"})
        frames += [("provision_path", simulation.provision_path()), ("reserve_years", years)]
    return [*frames, ("draws", draws)]


def _tables(written: Sequence[str]) -> list[str]:
    """The marker's ``tables``: those written, in the order of :data:`TABLES` then :data:`REVALUATION_TABLES`."""
    return [table for table in (*TABLES, *REVALUATION_TABLES) if table in written]


def _write_remote_partition(
    place: Location, name: str, frames: list[tuple[str, pd.DataFrame]], key: dict[str, Any], row: dict[str, Any]
) -> None:
    """The partitions and marker at a URL: the marker removed first, each file moved into place, the marker last."""
    folder = _folder(name)
    place.remove("dataset", "draws", folder, MARKER)
    written = [table for table, _ in frames]
    for table in REVALUATION_TABLES:
        if table not in written:  # a scenario rewritten without its yearly revaluation
            place.remove("dataset", table, folder, "part-0.parquet")
    for table, frame in frames:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        place.write_bytes(("dataset", table, folder, "part-0.parquet"), buffer.getvalue())
    marker = {"scenario": name, "key": key, "tables": _tables(written), "headline": row}
    text = json.dumps(_clean(marker), indent=2, ensure_ascii=False) + "\n"
    place.write_bytes(("dataset", "draws", folder, MARKER), text.encode("utf-8"))


def _replace_partition(target: Path, frame: pd.DataFrame) -> None:
    staging = make_staging(target.parent)
    try:
        frame.to_parquet(staging / "part-0.parquet", index=False)
        swap_in(staging, target, keep_foreign=False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_batch(out_dir: str | Path | Location, table: str = "draws") -> pd.DataFrame:
    """One table of a batch's dataset, complete scenarios only, with a ``scenario`` column first.

    ``table`` is one of :data:`TABLES` or :data:`REVALUATION_TABLES`; the
    latter hold the scenarios with a yearly revaluation only (those whose
    marker lists the table), and are empty (a ``scenario`` column only) where
    there are none.
    """
    if table not in (*TABLES, *REVALUATION_TABLES):
        raise InputError(None, "table", f"must be one of {', '.join((*TABLES, *REVALUATION_TABLES))}, not {table!r}")
    frames = []
    seen: set[str] = set()
    if isinstance(out_dir, Location):
        for entry in out_dir.folders("dataset", "draws"):
            data = out_dir.read_bytes("dataset", "draws", entry, MARKER) if entry.startswith(PARTITION_KEY) else None
            if data is None:
                continue
            marker = json.loads(data.decode("utf-8"))
            name = marker["scenario"]
            if name in seen:
                continue
            seen.add(name)
            if table not in marker.get("tables", TABLES):
                continue
            content = out_dir.read_bytes("dataset", table, entry, "part-0.parquet")
            frame = pd.read_parquet(io.BytesIO(content or b""))
            frame.insert(0, "scenario", name)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"scenario": []})
    root = Path(out_dir) / "dataset" / "draws"
    for folder in sorted(root.glob("scenario=*")) if root.is_dir() else []:
        marker = folder / MARKER
        if not marker.is_file():
            continue
        data = json.loads(marker.read_text(encoding="utf-8"))
        name = data["scenario"]
        if name in seen:
            continue
        seen.add(name)
        if table not in data.get("tables", TABLES):
            continue
        part = folder.parent.parent / table / folder.name / "part-0.parquet"
        frame = pd.read_parquet(part)
        frame.insert(0, "scenario", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"scenario": []})


def write_comparison(out_dir: str | Path | Location, comparison: pd.DataFrame) -> None:
    """Write ``comparison.csv`` and ``comparison.xlsx``, each through a temporary name.

    The CSV holds every value at full precision (floats as Python writes
    them, so they read back exactly), ``True``/``False``, and empty cells for
    figures that do not apply; it is a plain table (no comment lines: the
    ``illustrative`` row says which scenarios are made up). The workbook holds the same table on sheet ``vergelijking``, with a
    Dutch label beside each key and number formats by kind of figure (the
    notice on sheet ``toelichting``), its created and modified dates and the
    dates of its zip entries fixed, so the same batch gives the same bytes.
    """
    if isinstance(out_dir, Location):
        buffer = io.StringIO()
        comparison.to_csv(buffer, index=False, lineterminator="\n")
        out_dir.write_bytes(("comparison.csv",), buffer.getvalue().encode("utf-8"))
        out_dir.write_bytes(("comparison.xlsx",), _workbook(comparison, _illustrative(comparison)))
        return
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / OUTPUT_MARKER).is_file():
        write_marker(out_dir)
    illustrative = _illustrative(comparison)
    buffer = io.StringIO()
    comparison.to_csv(buffer, index=False, lineterminator="\n")
    _write_bytes(out_dir / "comparison.csv", buffer.getvalue().encode("utf-8"))
    _write_bytes(out_dir / "comparison.xlsx", _workbook(comparison, illustrative))


def _illustrative(comparison: pd.DataFrame) -> bool:
    row = comparison[comparison["figure"] == "illustrative"]
    return bool(len(row)) and any(v is True for v in row.iloc[0, 1:])


def _write_bytes(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        staging.write_bytes(data)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


#: Number formats of the comparison workbook by kind of figure (Excel's codes: a Dutch Excel shows
#: ``€ 1.234.567``, ``12,5%``, ``1,05``); the cells keep every value at full precision.
_FORMATS = {
    "amount": '"€" #,##0;"€" -#,##0',
    "share": "0.0%",
    "ratio": "0.00",
    "count": "#,##0",
    "year": "0",
}


def _workbook(comparison: pd.DataFrame, illustrative: bool) -> bytes:
    """``comparison.xlsx``: the key, its Dutch label, then a column per scenario; typed cells with number
    formats, full precision kept; columns as wide as their contents; dates fixed (the same bytes each time)."""
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from grex.batch import FIGURE_LABELS

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "vergelijking"
    scenarios = list(comparison.columns[1:])
    sheet.append(["figuur", "omschrijving", *scenarios])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="left" if cell.column <= 2 else "right", wrap_text=True)
    widths = [len("figuur"), len("omschrijving"), *(min(len(str(s)), 24) for s in scenarios)]
    for row in comparison.itertuples(index=False):
        key, values = row[0], row[1:]
        label, kind = FIGURE_LABELS.get(key, (key, "text"))
        if kind == "flag":
            values = tuple(None if v is None else ("ja" if v else "nee") for v in values)
        sheet.append([key, label, *(None if v is None else v for v in values)])
        widths[0], widths[1] = max(widths[0], len(str(key))), max(widths[1], len(label))
        for j, value in enumerate(values):
            cell = sheet.cell(sheet.max_row, 3 + j)
            if kind in _FORMATS and isinstance(value, (int, float)) and not isinstance(value, bool):
                cell.number_format = _FORMATS[kind]
                shown = f"€ {value:,.0f}" if kind == "amount" else f"{value:,.2f}"
            else:
                shown = "" if value is None else str(value)
            cell.alignment = Alignment(horizontal="right")
            widths[2 + j] = max(widths[2 + j], min(len(shown) + 1, 70))
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = width + 2
    sheet.freeze_panes = "C2"
    notes = workbook.create_sheet("toelichting")
    notes.append(
        [
            f"grex {__version__}: kerncijfers van elk scenario van de batch (README, 'Batches'); "
            "bedragen in euro's, volledige waarden in de cellen."
        ]
    )
    if illustrative:
        notes.append([ILLUSTRATIVE_NOTICE])
    notes.column_dimensions["A"].width = 120
    fixed = dt.datetime(*FIXED_TIME)
    workbook.properties.created = fixed
    workbook.properties.creator = f"grex {__version__}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _fix_zip(buffer.getvalue(), fixed.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _fix_zip(data: bytes, stamp: str) -> bytes:
    """The workbook's zip with fixed entry dates and the modified date of its core properties fixed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{stamp}\g<2>", text)
                content = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, content)
    return out.getvalue()


# -- running a batch: read the scenarios, simulate them in parts, write the dataset --


def run_batch(
    paths: Sequence[str | Path],
    out_dir: str | Path | Location,
    *,
    draws: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | Any | None = None,
    chunk_draws: int = CHUNK_DRAWS,
    progress: bool = False,
    scheduler_timeout: float = SCHEDULER_TIMEOUT,
    on_scenario: Callable[[str, str], None] | None = None,
    engine: str | None = None,
    threads: int | None = None,
    auto: bool = True,
    cluster: str | None = None,
    retries: int = 2,
    allow_mismatch: bool = False,
    on_start: Callable[[], None] | None = None,
) -> BatchResult:
    """Run a batch of scenarios and write its dataset and comparison.

    Parameters
    ----------
    paths : sequence of str or Path
        Scenario files (TOML); a file with a ``[grid]`` table stands for its
        combinations (:func:`grex.batch.expand_grid`), not for its base.
    out_dir : str or Path
        The batch folder (:func:`write_partition` for its layout): a local
        path, or an fsspec URL (``s3://bucket/batch``, ``gcs://``, ``abfs://``,
        ``file://``; :mod:`grex.io.storage`).
    draws, seed : int or None, keyword-only
        Draws and seed of every scenario; None takes each scenario's
        ``montecarlo.draws`` and ``montecarlo.seed``.
    workers : int, keyword-only
        Local processes; 1 (default) runs in this process.
    scheduler : str or distributed.Client or None, keyword-only
        Address of a Dask scheduler (``tcp://host:8786``), or a Client; the
        Monte Carlo parts run on its workers, and the worker that finishes a
        scenario writes its partitions to ``out_dir`` (a local path must then
        be on storage the workers share, or use a URL); only the headline
        figures come back. Scenario files are read here.
    cluster : str or None, keyword-only
        Start the named cluster for this batch and close it after
        (:func:`grex.io.cluster.make_cluster`: ``"local"``, or a name under
        ``grex.clusters`` in Dask's configuration); not with ``scheduler``.
    retries : int, keyword-only
        On a Dask cluster: times a failed task (a lost worker included) is
        run again before its scenario is reported as failed.
    allow_mismatch : bool, keyword-only
        On a Dask cluster: run although a worker's grex, Python, numpy, numba
        or C library differs from this process's (a warning; the results are
        then not promised bit-identical). False: an error before any work.
    chunk_draws : int, keyword-only
        Draws of one part, a multiple of :data:`~grex.montecarlo.BLOCK`.
    progress : bool, keyword-only
        Show a progress bar of draws and scenarios done on stderr.
    on_start : callable or None, keyword-only
        Called once without arguments when every scenario file has been
        read and, on a cluster, the workers are reached: the work starts
        (the command line then says whether the kernel compiles first).
    scheduler_timeout : float, keyword-only
        Seconds to wait for the scheduler. [s]
    on_scenario : callable, optional
        Called with ``(name, status)`` as each scenario is done, status
        ``"ran"`` or ``"skipped"``.
    auto : bool, keyword-only
        With ``workers > 1``, run in this process when the Monte Carlo is too
        small for worker processes to pay off (:func:`grex.batch.pool_pays_off`),
        and log why; False always starts the pool.
    engine, threads : keyword-only
        As for :func:`grex.montecarlo.simulate`, in every process that runs
        parts (the results do not depend on them).

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        Bad arguments or an unreachable scheduler (nothing runs). A bad
        scenario is not raised: it is in ``BatchResult.failures``.
    """
    place: Path | Location
    if isinstance(out_dir, Location):
        place = out_dir
    else:
        place = location(str(out_dir)) if is_url(out_dir) else Path(out_dir)
    for name, value, low in (("draws", draws, 1), ("seed", seed, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low):
            raise InputError(None, f"--{name}", f"must be a whole number ≥ {low}, not {value!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InputError(None, "--workers", f"must be a whole number from 1 to {MAX_WORKERS}, not {workers!r}")
    if chunk_draws <= 0 or chunk_draws % BLOCK:
        raise InputError(None, "chunk_draws", f"must be a positive multiple of {BLOCK}, not {chunk_draws!r}")
    if not paths:
        raise InputError(None, "scenarios", "name at least one scenario file")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InputError(None, "--retries", f"must be a whole number ≥ 0, not {retries!r}")
    if scheduler is not None and cluster is not None:
        raise InputError(None, "--cluster", "starts a cluster; --scheduler names a running one: give one of them")
    if (scheduler is not None or cluster is not None) and workers > 1:
        option = "--scheduler" if scheduler is not None else "--cluster"
        raise InputError(None, "--workers", f"runs a local pool; with {option} the cluster's workers run the batch")
    scenarios, failures = read_batch_scenarios(paths)  # remote files fetched (or refused) before a cluster starts
    client, own_client, own_cluster = None, False, None
    if cluster is not None:
        own_cluster = make_cluster(cluster)
        try:
            client, own_client = connect(own_cluster, scheduler_timeout), True
        except BaseException:
            own_cluster.close()
            raise
    elif isinstance(scheduler, str):
        client, own_client = connect(scheduler, scheduler_timeout), True
    elif scheduler is not None:
        client = scheduler
    if client is not None:
        try:
            if own_cluster is not None:
                client.wait_for_workers(1)
            check_environment(client, allow_mismatch=allow_mismatch)
            if isinstance(place, Path):
                check_shared_folder(client, place)
        except BaseException:
            if own_client:
                client.close()
            if own_cluster is not None:
                own_cluster.close()
            raise
        announce_dashboard(client)
    if on_start is not None:
        on_start()

    try:
        order = [s.name for s, _ in scenarios]
        rows: dict[str, dict[str, Any]] = {}
        skipped: list[str] = []
        jobs: list[_Job] = []
        portfolios: dict[Path, Any] = {}
        preparing = Steps("batch", len(scenarios), show=progress)
        for scenario, source in scenarios:
            preparing.next(f"reading{'' if client is not None else ' and valuing'} {scenario.name}")
            try:
                if scenario.portfolio not in portfolios:
                    portfolios[scenario.portfolio] = read_portfolio(scenario.portfolio)
                portfolio = portfolios[scenario.portfolio]
                n_draws = scenario.montecarlo.draws if draws is None else int(draws)
                n_seed = scenario.montecarlo.seed if seed is None else int(seed)
                if client is not None:  # valued on a worker (_prepare_on_worker): here only its completion key
                    valuation = None
                    key = completion_key(_Hashed(input_hash(scenario, portfolio), scenario), n_draws, n_seed)  # type: ignore[arg-type]
                else:
                    valuation = value_portfolio(scenario, portfolio)
                    key = completion_key(valuation, n_draws, n_seed)
                marker = read_marker(place, scenario.name)
                if marker is not None and marker.get("key") == key:
                    rows[scenario.name] = marker["headline"]
                    skipped.append(scenario.name)
                    if on_scenario:
                        on_scenario(scenario.name, "skipped")
                    continue
                check_draws(n_draws, "key montecarlo.draws" if draws is None else "--draws", minimum=1, source=source)
                n_years = 0  # on a cluster: found by the worker that values the scenario
                if valuation is not None:
                    n_years = _horizon(valuation, n_draws, n_seed, engine, threads)
                jobs.append(_Job(scenario, portfolio, valuation, n_draws, n_seed, n_years, key, engine, threads))  # type: ignore[arg-type]
            except (InputError, OutputError) as error:
                failures.append(Failure(shown(str(source)), scenario.name, str(error)))
        preparing.close()

        ran: list[str]
        tasks = [(i, start, stop) for i, job in enumerate(jobs) for start, stop in job.chunks(chunk_draws)]
        remaining = {i: len(job.chunks(chunk_draws)) for i, job in enumerate(jobs)}
        if client is not None:
            bar = _progress(sum(job.draws for job in jobs), len(order), len(skipped), progress)
            ran = []
            try:
                _run_on_cluster(jobs, chunk_draws, client, place, retries, bar, rows, ran, failures, on_scenario)
            finally:
                bar.close()
            bar.set_postfix_str(f"scenarios {len(rows)}/{len(order)}")
            results: Any = iter(())
        elif workers > 1 and tasks and (not auto or pool_chosen(jobs, workers)):
            results = _on_pool(jobs, tasks, workers)
        else:
            results = _in_process(jobs, tasks)
        if client is None:
            bar = _progress(sum(job.draws for job in jobs), len(order), len(skipped), progress)
            ran = []
        try:
            for (index, start, stop), arrays, raised in results:
                job = jobs[index]
                if job.failed:
                    continue
                if raised is not None:
                    job.failed = True
                    failures.append(
                        Failure(shown(str(job.scenario.source)), job.scenario.name, _failure_reason(raised))
                    )
                    bar.update(job.draws - sum(len(p["present_value"]) for p in job.parts.values()))
                    job.parts.clear()
                    continue
                job.parts[start] = arrays
                bar.update(stop - start)
                remaining[index] -= 1
                if remaining[index]:
                    continue
                parts = [job.parts[s] for s in sorted(job.parts)]
                arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
                job.parts.clear()
                simulation = assemble(job.scenario, job.portfolio, seed=job.seed, n_years=job.n_years, arrays=arrays)
                row = headline(job.valuation, simulation)
                write_partition(place, job.valuation, simulation, key=job.key, headline=row)
                rows[job.scenario.name] = row
                ran.append(job.scenario.name)
                bar.set_postfix_str(f"scenarios {len(rows)}/{len(order)}")
                if on_scenario:
                    on_scenario(job.scenario.name, "ran")
        finally:
            bar.close()
            if hasattr(results, "close"):
                results.close()
        complete = [rows[name] for name in order if name in rows]
        write_comparison(place, comparison_frame(complete))
        failures.sort(key=lambda f: _position(f, order))
        return BatchResult(place, tuple(complete), tuple(n for n in order if n in ran), tuple(skipped), tuple(failures))
    finally:
        if own_client and client is not None:
            client.close()
        if own_cluster is not None:
            own_cluster.close()


class _Hashed:
    """What :func:`grex.batch.completion_key` reads of a valuation: its input hash and its scenario (not yet valued)."""

    def __init__(self, input_hash: str, scenario: Scenario) -> None:
        self.input_hash = input_hash
        self.scenario = scenario


def _horizon(valuation: Any, draws: int, seed: int, engine: str | None, threads: int | None) -> int:
    """A valued scenario's checks before its Monte Carlo (horizon, memory), then its horizon pass: years to simulate."""
    scenario = valuation.scenario
    check_horizon(scenario, inputs=valuation.inputs)
    check_memory(draws, valuation.inputs.n_complexes, "batch")
    return simulation_horizon(scenario, valuation.portfolio, draws=draws, seed=seed, engine=engine, threads=threads)


def _prepare_on_worker(
    scenario: Scenario, portfolio: Any, draws: int, seed: int, engine: str | None, threads: int | None
) -> tuple[Any, int] | InputError | OutputError:
    """On a worker: value a scenario and run its horizon pass (as the client does for a run without a cluster).

    Returns ``(valuation, n_years)``, or the scenario's error as a value: a
    mistake in the scenario is reported, not retried.
    """
    try:
        valuation = value_portfolio(scenario, portfolio)
        return valuation, _horizon(valuation, draws, seed, engine, threads)
    except (InputError, OutputError) as error:
        return error


def _part_on_worker(
    scenario: Scenario,
    portfolio: Any,
    prepared: tuple[Any, int] | Exception,
    seed: int,
    start: int,
    stop: int,
    engine: str | None,
    threads: int | None,
) -> dict[str, np.ndarray] | None:
    """On a worker: one part of a scenario's Monte Carlo on the horizon its preparation found (None if it failed)."""
    if isinstance(prepared, Exception):
        return None
    return _simulate_part(scenario, portfolio, seed, start, stop, prepared[1], engine, threads)


def _finish_scenario(
    scenario: Scenario,
    portfolio: Any,
    prepared: tuple[Any, int] | Exception,
    seed: int,
    key: dict[str, Any],
    out_dir: Path | Location,
    *parts: dict[str, np.ndarray],
) -> tuple[dict[str, Any], str]:
    """On a worker: join a scenario's parts, write its partitions and marker, return its headline and the worker."""
    if isinstance(prepared, Exception):
        raise prepared
    valuation, n_years = prepared
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    simulation = assemble(scenario, portfolio, seed=seed, n_years=n_years, arrays=arrays)
    row = headline(valuation, simulation)
    write_partition(out_dir, valuation, simulation, key=key, headline=row)
    try:
        from distributed import get_worker

        worker = str(get_worker().address)
    except (ImportError, ValueError):
        worker = "this process"
    return row, worker


#: Priority of the task that finishes a scenario: before any further part, so that a scenario's parts
#: leave the workers' memory as soon as they are all there.
FINISH_PRIORITY = 1_000_000


def _run_on_cluster(
    jobs: list[_Job],
    chunk_draws: int,
    client: Any,
    out_dir: Path | Location,
    retries: int,
    bar: Any,
    rows: dict[str, dict[str, Any]],
    ran: list[str],
    failures: list[Failure],
    on_scenario: Callable[[str, str], None] | None,
) -> None:
    """The jobs on a Dask cluster: the parts, then per scenario a task that writes it where the worker is.

    Only the headline figures come back to this process; the draws go from
    the workers that drew them to the worker that writes the scenario.
    """
    from distributed import as_completed

    shared: dict[int, Any] = {}
    meta: dict[str, tuple[str, int, int]] = {}
    finishes: dict[str, Any] = {}  # the client holds a scenario's result until it has read it, not longer
    pending = []
    for i, job in enumerate(jobs):
        if id(job.portfolio) not in shared:  # a portfolio is used by many scenarios: on every worker
            shared[id(job.portfolio)] = client.scatter(job.portfolio, broadcast=True, hash=False)
        portfolio = shared[id(job.portfolio)]
        # the scenario (a few kB) travels inside its tasks: no round trip per scenario (a scatter waited on busy
        # workers, the client's serial cost of a batch), and a lost worker loses no scenario (Dask runs it again)
        scenario = job.scenario
        prepared = client.submit(
            _prepare_on_worker,
            scenario,
            portfolio,
            job.draws,
            job.seed,
            job.engine,
            job.threads,
            pure=False,
            retries=retries,
            priority=-i,
        )
        parts = []
        for start, stop in job.chunks(chunk_draws):
            part = client.submit(
                _part_on_worker,
                scenario,
                portfolio,
                prepared,
                job.seed,
                start,
                stop,
                job.engine,
                job.threads,
                pure=False,
                retries=retries,
                priority=-i,
            )
            meta[part.key] = ("part", i, stop - start)
            parts.append(part)
        finish = client.submit(
            _finish_scenario,
            scenario,
            portfolio,
            prepared,
            job.seed,
            job.key,
            out_dir,
            *parts,
            pure=False,
            retries=retries,
            priority=FINISH_PRIORITY,
        )
        meta[finish.key] = ("finish", i, job.draws)
        finishes[finish.key] = finish
        pending += parts
        pending.append(finish)
    drawn = [0] * len(jobs)
    completed = as_completed(pending, loop=client.loop)
    del pending
    try:
        for future in completed:
            kind, index, draws = meta[future.key]
            job = jobs[index]
            if kind == "part":
                if future.status == "finished":
                    drawn[index] += draws
                    bar.update(draws)
                continue
            name = job.scenario.name
            # released once read: a worker lost later does not make Dask run a finished scenario again
            finishes.pop(future.key, None)
            if future.status != "finished":
                failures.append(Failure(shown(str(job.scenario.source)), name, _failure_reason(future.exception())))
                log.warning("scenario %s: failed (%s)", name, _failure_reason(future.exception()))
                bar.update(job.draws - drawn[index])
                continue
            row, worker = future.result()
            rows[name] = row
            ran.append(name)
            log.info("scenario %s: done on worker %s (%d/%d)", name, worker, len(ran), len(jobs))
            bar.set_postfix_str(f"scenarios {len(rows)}/{len(jobs)}")
            if on_scenario:
                on_scenario(name, "ran")
    finally:
        client.cancel(list(finishes.values()))


def _position(failure: Failure, order: list[str]) -> tuple[int, str]:
    return (order.index(failure.scenario) if failure.scenario in order else -1, failure.source)


def _failure_reason(error: BaseException) -> str:
    if isinstance(error, InputError):
        return str(error)
    return f"unexpected error {type(error).__name__}: {error}"


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, scenarios: int, skipped: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm import tqdm

    bar = tqdm(total=total, unit="draw", unit_scale=True, desc="batch", file=sys.stderr, dynamic_ncols=True)
    bar.set_postfix_str(f"scenarios {skipped}/{scenarios}")
    return bar
