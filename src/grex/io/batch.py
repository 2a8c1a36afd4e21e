"""Reading the scenarios of a batch and writing its dataset and comparison.

Layout of a batch folder ``DIR`` (:func:`grex.batch.run_batch`)::

    DIR/dataset/draws/scenario=<name>/part-0.parquet
    DIR/dataset/draws/scenario=<name>/_complete.json
    DIR/dataset/complexes/scenario=<name>/part-0.parquet
    DIR/dataset/reserve_path/scenario=<name>/part-0.parquet
    DIR/comparison.csv
    DIR/comparison.xlsx

``dataset/`` holds three Parquet datasets, each partitioned by scenario in
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
    The general reserve per year: ``year, deterministic, p5, ..., p95`` [EUR].

Each partition is written in a hidden temporary folder of grex and swapped
into place (:func:`grex.io.paths.swap_in`), so none is ever half-written, and
temporary folders of killed runs are removed by the next; ``_complete.json`` is written last
(through a temporary name) and holds the completion key (input hash, draws,
seed, grex version) and the scenario's headline figures. Files and folders
whose names start with ``.`` or ``_`` are skipped by pyarrow's dataset reader.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from grex import __version__
from grex.batch import Failure, expand_grid
from grex.errors import InputError
from grex.io.paths import MAX_NAME_BYTES, OUTPUT_MARKER, make_staging, safe_name, swap_in, write_marker
from grex.io.results import ILLUSTRATIVE_NOTICE, write_json
from grex.io.scenario import read_scenario_table
from grex.scenario import Scenario

__all__ = [
    "MARKER",
    "PARTITION_KEY",
    "TABLES",
    "partition_dir",
    "read_batch",
    "read_batch_scenarios",
    "read_marker",
    "write_comparison",
    "write_partition",
]

#: The tables of the batch dataset.
TABLES = ("draws", "complexes", "reserve_path")
#: Name of the completion marker in a scenario's ``draws`` partition.
MARKER = "_complete.json"
#: Timestamp written into the workbook (created and modified) and its zip entries,
#: so that the same batch gives the same bytes.
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def read_batch_scenarios(paths: Sequence[str | Path]) -> tuple[list[tuple[Scenario, Path]], list[Failure]]:
    """Read the scenario files of a batch, grids expanded.

    Returns
    -------
    scenarios : list of (Scenario, Path)
        Every scenario that passed its checks, with its file, in order.
    failures : list of Failure
        Files that could not be read or checked, and scenario names used twice.
    """
    scenarios: list[tuple[Scenario, Path]] = []
    failures: list[Failure] = []
    seen: dict[str, Path] = {}
    for path in map(Path, paths):
        name = None
        try:
            data, sources = read_scenario_table(path)
            name = data.get("name") if isinstance(data.get("name"), str) else None
            expanded = [Scenario.from_dict(t, source=path, sources=sources) for t in expand_grid(data, path)]
        except InputError as error:
            failures.append(Failure(str(path), name, _reason(error, path)))
            continue
        for scenario in expanded:
            if scenario.name in seen:
                failures.append(
                    Failure(
                        str(path),
                        scenario.name,
                        f"scenario name {scenario.name!r} is already used by {seen[scenario.name]}",
                    )
                )
                continue
            seen[scenario.name] = path
            scenarios.append((scenario, path))
    return scenarios, failures


def _reason(error: InputError, path: Path) -> str:
    if error.source == str(path):
        return ": ".join(p for p in (error.location, error.message) if p)
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


def read_marker(out_dir: str | Path, name: str) -> dict[str, Any] | None:
    """The completion marker of a scenario, or None where it is not complete."""
    path = partition_dir(out_dir, "draws", name) / MARKER
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_partition(
    out_dir: str | Path, valuation: Any, simulation: Any, *, key: dict[str, Any], headline: dict[str, Any]
) -> None:
    """Write a scenario's partitions of the three tables, then its completion marker.

    An earlier marker is removed first, so a scenario interrupted while
    being rewritten is not taken for complete.
    """
    name = valuation.scenario.name
    marker = partition_dir(out_dir, "draws", name) / MARKER
    marker.unlink(missing_ok=True)
    legacy = _legacy_partition_dir(out_dir, "draws", name)
    if legacy is not None:
        (legacy / MARKER).unlink(missing_ok=True)
    draws = simulation.to_frame()
    draws["draw"] = draws["draw"].astype("int32")
    per_complex = simulation.per_complex().drop(columns=["deterministic"])
    complexes = valuation.complexes().merge(per_complex, on="project", how="left", validate="one_to_one")
    for table, frame in (("complexes", complexes), ("reserve_path", simulation.reserve_path()), ("draws", draws)):
        _replace_partition(partition_dir(out_dir, table, name), frame)
    staging = marker.with_name(f".{MARKER}.{uuid.uuid4().hex}.tmp")
    write_json(staging, {"scenario": name, "key": key, "tables": list(TABLES), "headline": headline})
    os.replace(staging, marker)
    for table in TABLES:  # the same scenario under the old percent-encoded name would be read twice
        legacy = _legacy_partition_dir(out_dir, table, name)
        if legacy is not None and legacy.is_dir():
            shutil.rmtree(legacy, ignore_errors=True)


def _replace_partition(target: Path, frame: pd.DataFrame) -> None:
    staging = make_staging(target.parent)
    try:
        frame.to_parquet(staging / "part-0.parquet", index=False)
        swap_in(staging, target, keep_foreign=False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_batch(out_dir: str | Path, table: str = "draws") -> pd.DataFrame:
    """One table of a batch's dataset, complete scenarios only, with a ``scenario`` column first."""
    if table not in TABLES:
        raise InputError(None, "table", f"must be one of {', '.join(TABLES)}, not {table!r}")
    frames = []
    seen: set[str] = set()
    root = Path(out_dir) / "dataset" / "draws"
    for folder in sorted(root.glob("scenario=*")) if root.is_dir() else []:
        marker = folder / MARKER
        if not marker.is_file():
            continue
        name = json.loads(marker.read_text(encoding="utf-8"))["scenario"]
        if name in seen:
            continue
        seen.add(name)
        part = folder.parent.parent / table / folder.name / "part-0.parquet"
        frame = pd.read_parquet(part)
        frame.insert(0, "scenario", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"scenario": []})


def write_comparison(out_dir: str | Path, comparison: pd.DataFrame) -> None:
    """Write ``comparison.csv`` and ``comparison.xlsx``, each through a temporary name.

    The CSV holds every value at full precision (floats as Python writes
    them, so they read back exactly), ``True``/``False``, and empty cells for
    figures that do not apply; an illustrative batch gets a first comment
    line. The workbook holds the same table on sheet ``vergelijking`` (the
    notice on sheet ``toelichting``) with its created and modified dates and
    the dates of its zip entries fixed, so the same batch gives the same bytes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / OUTPUT_MARKER).is_file():
        write_marker(out_dir)
    illustrative = _illustrative(comparison)
    buffer = io.StringIO()
    if illustrative:
        buffer.write(f"# {ILLUSTRATIVE_NOTICE}\n")
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


def _workbook(comparison: pd.DataFrame, illustrative: bool) -> bytes:
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "vergelijking"
    sheet.append(list(comparison.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in comparison.itertuples(index=False):
        sheet.append([None if v is None else v for v in row])
    sheet.freeze_panes = "B2"
    sheet.column_dimensions["A"].width = 34
    notes = workbook.create_sheet("toelichting")
    notes.append([f"grex {__version__}: headline figures of every scenario of the batch (README, 'Batches')."])
    if illustrative:
        notes.append([ILLUSTRATIVE_NOTICE])
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
