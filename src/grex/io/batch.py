"""Reading the scenarios of a batch and writing its dataset and comparison.

Layout of a batch folder ``DIR`` (:func:`grex.batch.run_batch`)::

    DIR/dataset/draws/scenario=<name>/part-0.parquet
    DIR/dataset/draws/scenario=<name>/_complete.json
    DIR/dataset/complexes/scenario=<name>/part-0.parquet
    DIR/dataset/reserve_path/scenario=<name>/part-0.parquet
    DIR/comparison.csv
    DIR/comparison.xlsx

``dataset/`` holds three Parquet datasets, each partitioned by scenario in
the Hive style (``<name>`` percent-encoded, as pyarrow decodes it), so that
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

Each partition is written in a hidden temporary folder and renamed into
place, so none is ever half-written; ``_complete.json`` is written last
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
import tempfile
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
from grex.io.results import ILLUSTRATIVE_NOTICE, write_json
from grex.io.scenario import read_scenario_table
from grex.scenario import Scenario

__all__ = [
    "MARKER",
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


def partition_dir(out_dir: str | Path, table: str, name: str) -> Path:
    """Folder of a scenario's partition of a table: ``DIR/dataset/<table>/scenario=<name>``."""
    return Path(out_dir) / "dataset" / table / f"scenario={quote(name, safe='')}"


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
    draws = simulation.to_frame()
    draws["draw"] = draws["draw"].astype("int32")
    per_complex = simulation.per_complex().drop(columns=["deterministic"])
    complexes = valuation.complexes().merge(per_complex, on="project", how="left", validate="one_to_one")
    for table, frame in (("complexes", complexes), ("reserve_path", simulation.reserve_path()), ("draws", draws)):
        _replace_partition(partition_dir(out_dir, table, name), frame)
    staging = marker.with_name(f".{MARKER}.{uuid.uuid4().hex}.tmp")
    write_json(staging, {"scenario": name, "key": key, "tables": list(TABLES), "headline": headline})
    os.replace(staging, marker)


def _replace_partition(target: Path, frame: pd.DataFrame) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
    try:
        frame.to_parquet(staging / "part-0.parquet", index=False)
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def read_batch(out_dir: str | Path, table: str = "draws") -> pd.DataFrame:
    """One table of a batch's dataset, complete scenarios only, with a ``scenario`` column first."""
    if table not in TABLES:
        raise InputError(None, "table", f"must be one of {', '.join(TABLES)}, not {table!r}")
    frames = []
    root = Path(out_dir) / "dataset" / "draws"
    for folder in sorted(root.glob("scenario=*")) if root.is_dir() else []:
        marker = folder / MARKER
        if not marker.is_file():
            continue
        name = json.loads(marker.read_text(encoding="utf-8"))["scenario"]
        frame = pd.read_parquet(partition_dir(out_dir, table, name) / "part-0.parquet")
        frame.insert(0, "scenario", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"scenario": []})


def write_comparison(out_dir: str | Path, comparison: pd.DataFrame) -> None:
    """Write ``comparison.csv`` and ``comparison.xlsx``, each through a temporary name.

    The CSV holds every value at full precision (floats as Python writes
    them, so they read back exactly), ``True``/``False``, and empty cells for
    figures that do not apply; an illustrative batch gets a first comment
    line. The workbook holds the same table on sheet ``vergelijking``, with a
    Dutch label beside each key and number formats by kind of figure (the
    notice on sheet ``toelichting``), its created and modified dates and the
    dates of its zip entries fixed, so the same batch gives the same bytes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
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
