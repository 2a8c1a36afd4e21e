"""Reading portfolio files: a folder of CSV or Parquet files, or an Excel workbook."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException
from pyarrow import ArrowException

from grex.errors import InputError
from grex.portfolio import (
    COST_CATEGORIES,
    FLOW_COLUMNS,
    FLOW_TYPES,
    PROJECT_COLUMNS,
    REVENUE_CATEGORIES,
    STATUSES,
    Portfolio,
)

__all__ = ["read_portfolio"]

_TABLES = ("projects", "flows")


def read_portfolio(path: str | Path) -> Portfolio:
    """Read and check a portfolio.

    Parameters
    ----------
    path : str or Path
        A folder holding ``projects.csv`` and ``flows.csv`` (or
        ``projects.parquet`` and ``flows.parquet``), or an Excel workbook
        (``.xlsx``) with the sheets ``projects`` and ``flows``. CSV files are
        UTF-8, comma-separated, with a header row; leading lines that start
        with ``#`` are comments.

    Raises
    ------
    InputError
        Naming the file, the row (CSV: its line number) and the column, for a
        missing file or column, an unknown column, a duplicate project id, a
        flow naming an unknown project, a negative, empty or non-numeric
        amount, an unknown status, type or category, or a rate written as a
        percentage.
    """
    path = Path(path)
    if path.is_dir():
        raw = {}
        for table in _TABLES:
            csv_file, parquet_file = path / f"{table}.csv", path / f"{table}.parquet"
            if csv_file.is_file() and parquet_file.is_file():
                raise InputError(path, None, f"holds both {table}.csv and {table}.parquet; keep one")
            if csv_file.is_file():
                raw[table] = (_read_csv(csv_file), str(csv_file))
            elif parquet_file.is_file():
                raw[table] = (_read_parquet(parquet_file), str(parquet_file))
            else:
                raise InputError(path, None, f"portfolio folder has no {table}.csv or {table}.parquet")
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        if not path.is_file():
            raise InputError(path, None, "portfolio workbook not found")
        raw = {table: (_read_sheet(path, table), f"{path}[{table}]") for table in _TABLES}
    elif not path.exists():
        raise InputError(path, None, "portfolio not found (a folder of CSV or Parquet files, or an .xlsx workbook)")
    else:
        raise InputError(path, None, "a portfolio is a folder of CSV or Parquet files, or an .xlsx workbook")
    projects = _check_projects(*raw["projects"])
    flows = _check_flows(*raw["flows"], projects=projects)
    return Portfolio(projects, flows, raw["projects"][1], raw["flows"][1])


# -- reading: every table becomes strings plus a row label per row -----------


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(path, None, f"not a UTF-8 text file: {error}") from None
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (lines[start].lstrip().startswith("#") or not lines[start].strip()):
        start += 1
    if start == len(lines):
        raise InputError(path, None, "has no header row")
    try:
        rows = list(csv.reader(lines[start:]))
    except csv.Error as error:  # a field over the csv module's limit (131,072 characters), a NUL byte
        raise InputError(path, None, f"cannot be read as CSV: {error}") from None
    header = [h.strip() for h in rows[0]]
    records, labels = [], []
    for offset, row in enumerate(rows[1:], start=1):
        line = start + offset + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(path, f"line {line}", f"has {len(row)} fields where the header has {len(header)}")
        records.append([cell.strip() for cell in row])
        labels.append(f"line {line}")
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame.attrs["rows"] = labels
    return frame


def _stringify(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    def text(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    out = pd.DataFrame({str(c).strip(): [text(v) for v in frame[c]] for c in frame.columns}, dtype=object)
    out.attrs["rows"] = labels
    return out


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, ArrowException) as error:
        raise InputError(path, None, f"cannot be read as Parquet: {error}") from None
    return _stringify(frame, [f"row {i + 1}" for i in range(len(frame))])


def _read_sheet(path: Path, sheet: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    except ValueError as error:
        raise InputError(path, f"sheet {sheet!r}", f"cannot be read: {error}") from None
    except (OSError, KeyError, BadZipFile, InvalidFileException) as error:
        raise InputError(path, None, f"cannot be read as an Excel workbook: {error}") from None
    return _stringify(frame, [f"row {i + 2}" for i in range(len(frame))])


# -- checking -----------------------------------------------------------------


def _check_columns(frame: pd.DataFrame, source: str, spec: dict[str, tuple[str, ...]]) -> None:
    allowed = spec["required"] + spec["optional"]
    for column in frame.columns:
        if column not in allowed:
            raise InputError(source, f"column {column!r}", f"unknown column; expected {', '.join(allowed)}")
    for column in spec["required"]:
        if column not in frame.columns:
            raise InputError(source, f"column {column!r}", "required column is missing")
    if len(set(frame.columns)) != len(frame.columns):
        raise InputError(source, None, "a column appears twice in the header")


class _Cells:
    """Typed access to one string column, with messages that name the row."""

    def __init__(self, frame: pd.DataFrame, source: str) -> None:
        self.frame = frame
        self.source = source
        self.rows: list[str] = frame.attrs["rows"]

    def fail(self, i: int, column: str, message: str) -> InputError:
        return InputError(self.source, f"{self.rows[i]}, column {column!r}", message)

    def values(self, column: str) -> list[str]:
        if column not in self.frame.columns:
            return [""] * len(self.frame)
        return list(self.frame[column])

    def text(self, column: str, *, choices: tuple[str, ...] | None = None) -> list[str]:
        out = []
        for i, value in enumerate(self.values(column)):
            if not value:
                raise self.fail(i, column, "is empty")
            if choices is not None and value not in choices:
                raise self.fail(i, column, f"{value!r} is not one of {', '.join(choices)}")
            out.append(value)
        return out

    def number(
        self,
        column: str,
        *,
        required: bool,
        check: Callable[[float], str | None] | None = None,
    ) -> list[float]:
        out = []
        for i, value in enumerate(self.values(column)):
            if not value:
                if required:
                    raise self.fail(i, column, "is empty; a number is required")
                out.append(math.nan)
                continue
            try:
                number = float(value.replace("_", ""))
            except ValueError:
                raise self.fail(i, column, f"{value!r} is not a number") from None
            if not math.isfinite(number):
                raise self.fail(i, column, f"{value!r} is not a finite number")
            if check is not None and (problem := check(number)):
                raise self.fail(i, column, problem)
            out.append(number)
        return out

    def year(self, column: str, *, required: bool) -> list[int | None]:
        out: list[int | None] = []
        for i, number in enumerate(self.number(column, required=required)):
            if math.isnan(number):
                out.append(None)
            elif not number.is_integer() or not 1900 <= number <= 2200:
                raise self.fail(i, column, f"{self.values(column)[i]!r} is not a year such as 2024")
            else:
                out.append(int(number))
        return out

    def flag(self, column: str) -> list[bool]:
        truth = {
            "true": True,
            "1": True,
            "yes": True,
            "ja": True,
            "false": False,
            "0": False,
            "no": False,
            "nee": False,
        }
        out = []
        for i, value in enumerate(self.values(column)):
            if not value:
                out.append(False)
            elif value.lower() in truth:
                out.append(truth[value.lower()])
            else:
                raise self.fail(i, column, f"{value!r} is not true or false")
        return out


def _non_negative(number: float) -> str | None:
    return (
        f"{number:g} is negative; amounts are positive (costs and revenues are separate types)" if number < 0 else None
    )


def _decimal_rate(number: float) -> str | None:
    if abs(number) >= 1:
        return f"{number:g} looks like a percentage: write rates as decimals (0.02 for 2%)"
    return None


def _decimal_share(number: float) -> str | None:
    return _decimal_rate(number) or (f"{number:g} is negative" if number < 0 else None)


def _check_projects(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    _check_columns(frame, source, PROJECT_COLUMNS)
    if frame.empty:
        raise InputError(source, None, "has no complexes")
    cells = _Cells(frame, source)
    ids = cells.text("project")
    seen: dict[str, int] = {}
    for i, project in enumerate(ids):
        if project in seen:
            raise cells.fail(i, "project", f"duplicate project id {project!r} (also {cells.rows[seen[project]]})")
        seen[project] = i
    return pd.DataFrame(
        {
            "project": ids,
            "name": cells.text("name"),
            "status": cells.text("status", choices=STATUSES),
            "book_value": cells.number("book_value", required=True),
            "realised_costs": cells.number("realised_costs", required=True, check=_non_negative),
            "realised_revenues": cells.number("realised_revenues", required=True, check=_non_negative),
            "profit_taken": cells.number("profit_taken", required=True),
            "end_year": pd.array(cells.year("end_year", required=False), dtype="Int64"),
            "price_level": pd.array(cells.year("price_level", required=False), dtype="Int64"),
            "uncertainty_margin": cells.number("uncertainty_margin", required=False, check=_decimal_share),
            "cost_index": cells.number("cost_index", required=False, check=_decimal_rate),
            "revenue_index": cells.number("revenue_index", required=False, check=_decimal_rate),
            "row": cells.rows,
        }
    )


def _check_flows(frame: pd.DataFrame, source: str, *, projects: pd.DataFrame) -> pd.DataFrame:
    _check_columns(frame, source, FLOW_COLUMNS)
    cells = _Cells(frame, source)
    known = set(projects["project"])
    project = cells.text("project")
    for i, name in enumerate(project):
        if name not in known:
            raise cells.fail(i, "project", f"unknown project {name!r}: not in the projects table")
    types = cells.text("type", choices=FLOW_TYPES)
    categories = cells.text("category")
    for i, (kind, category) in enumerate(zip(types, categories, strict=True)):
        allowed = COST_CATEGORIES if kind == "cost" else REVENUE_CATEGORIES
        if category not in allowed:
            raise cells.fail(i, "category", f"{category!r} is not a {kind} category; expected {', '.join(allowed)}")
    return pd.DataFrame(
        {
            "project": project,
            "year": pd.array(cells.year("year", required=True), dtype="int64"),
            "type": types,
            "category": categories,
            "amount": cells.number("amount", required=True, check=_non_negative),
            "sales_linked": cells.flag("sales_linked"),
            "row": cells.rows,
        }
    )
