"""Reading portfolio files: a folder of CSV or Parquet files, or an Excel workbook."""

from __future__ import annotations

import csv
import difflib
import re
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import pandas as pd
from pyarrow import ArrowException

from grex.errors import InputError
from grex.io.storage import local_input
from grex.portfolio import (
    BOOK_VALUE_TOLERANCE,
    COST_CATEGORIES,
    FLOW_COLUMNS,
    FLOW_TYPES,
    PROGRAMME_COLUMNS,
    PROJECT_COLUMNS,
    REVENUE_CATEGORIES,
    STATUSES,
    Portfolio,
    check_programme,
    check_tables,
    parse_number,
)
from grex.portfolio import cell_text as _text

__all__ = ["BOOK_VALUE_TOLERANCE", "read_portfolio"]

_TABLES = ("projects", "flows")

#: Names a table may have, as a file stem (``projecten.csv``) or a sheet name (``Projecten``),
#: compared case-insensitively with spaces and hyphens read as underscores. A ``wide`` flows
#: table has one column per year (:func:`_widen`).
TABLE_NAMES = {
    "projects": ("projects", "projecten", "complexen"),
    "flows": ("flows", "kasstromen"),
    "flows_wide": ("flows_wide", "kasstromen_breed", "flows_breed"),
    "programme": ("programme", "programma", "program"),
}

#: Dutch (and other) column names read as the English ones, compared as :data:`TABLE_NAMES`.
COLUMN_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "projects": {
        "project": ("complex", "complexnummer", "complex_nummer", "projectnummer", "project_id", "nummer", "code"),
        "name": ("naam", "complexnaam", "projectnaam", "omschrijving"),
        "status": ("fase",),
        "book_value": ("boekwaarde", "boekwaarde_1_1"),
        "realised_costs": ("gerealiseerde_kosten", "realized_costs"),
        "realised_revenues": ("gerealiseerde_opbrengsten", "realized_revenues"),
        "profit_taken": ("genomen_winst", "reeds_genomen_winst"),
        "end_year": ("eindjaar",),
        "price_level": ("prijspeil", "prijspeiljaar"),
        "uncertainty_margin": ("onzekerheidsmarge", "voorziene_onzekerheden"),
        "cost_index": ("kostenindex", "kostenstijging"),
        "revenue_index": ("opbrengstenindex", "opbrengstenstijging"),
        "provision_balance": ("voorziening", "stand_voorziening"),
        "realised_interest": ("gerealiseerde_rente",),
    },
    "flows": {
        "project": ("complex", "complexnummer", "complex_nummer", "projectnummer", "project_id", "nummer", "code"),
        "year": ("jaar",),
        "type": ("soort",),
        "category": ("categorie", "kostensoort", "opbrengstsoort", "post"),
        "amount": ("bedrag",),
        "sales_linked": ("uitgiftegerelateerd", "volgt_uitgifte", "gekoppeld_aan_uitgifte"),
    },
}

COLUMN_ALIASES["programme"] = {
    "project": COLUMN_ALIASES["flows"]["project"],
    "year": ("jaar",),
    "segment": ("categorie", "opbrengstsoort", "marktsegment"),
    "unit": ("eenheid",),
    "quantity": ("aantal", "hoeveelheid"),
    "price": ("prijs", "prijs_per_eenheid"),
    "cost_per_unit": ("kosten_per_eenheid",),
    "cost_category": ("kostensoort",),
    "cost_lag": ("kosten_vertraging",),
}

#: Values read as the English ones in the text columns (besides any case and spaces for underscores).
VALUE_ALIASES = {"type": {"kosten": "cost", "opbrengsten": "revenue", "costs": "cost", "revenues": "revenue"}}

#: Rows searched for the header (below title rows).
HEADER_ROWS = 10

#: The columns a wide flows table has before its year columns.
_WIDE_KEYS = ("project", "type", "category")


def read_portfolio(path: str | Path) -> Portfolio:
    """Read and check a portfolio.

    Parameters
    ----------
    path : str or Path
        A folder (or an fsspec URL of one: ``s3://bucket/portfolio``) holding ``projects.csv`` and ``flows.csv`` (or
        ``projects.parquet`` and ``flows.parquet``), or an Excel workbook
        (``.xlsx``) with the sheets ``projects`` and ``flows``. Dutch names are
        read as aliases: ``projecten``, ``kasstromen`` for the tables (files or
        sheets, any case) and the columns of :data:`COLUMN_ALIASES`
        (``boekwaarde``, ``jaar``, ``bedrag``, ...). The flows may come as a
        wide table (``flows_wide``/``kasstromen_breed``, or a flows table with
        ``project, type, category`` and one column per year).

        CSV files are UTF-8 (or Windows-1252, as Dutch Excel saves them) with a
        header row; leading lines that start with ``#`` are comments, and the
        header is the first of the first :data:`HEADER_ROWS` lines that holds
        the required columns (title rows above it are skipped). A file whose
        header splits on ``;`` into known columns is Dutch: ``;`` between
        fields, a decimal comma and ``.`` between thousands (``400.000,00``);
        otherwise ``,`` and a decimal point. A first line ``sep=;`` or
        ``sep=,`` (as Excel writes) sets the separator explicitly. Excel cells
        are read by their value; a formula is read by the value Excel saved
        with it.

    Raises
    ------
    InputError
        Naming the file, the row (CSV: its line number) and the column, for a
        missing file or column, an unknown column, a duplicate project id, a
        flow naming an unknown project, an empty or non-numeric amount, a
        negative realised amount or provision balance, an unknown status, type or category, a rate written as a
        percentage, a year column of a wide table that is not a year, or a
        formula cell without a saved value.
    """
    path = local_input(path, "portfolio")  # a URL: its copy (grex.io.storage)
    programme = None
    if path.is_dir():
        raw = {table: _read_file(path, table) for table in _TABLES}
        programme = _read_optional(path, "programme")
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        if not path.is_file():
            raise InputError(path, None, "portfolio workbook not found")
        raw = _read_workbook(path)
        programme = raw.pop("programme", None)
    elif not path.exists():
        raise InputError(path, None, "portfolio not found (a folder of CSV or Parquet files, or an .xlsx workbook)")
    else:
        raise InputError(path, None, "a portfolio is a folder of CSV or Parquet files, or an .xlsx workbook")
    (projects, projects_source), (flows, flows_source) = raw["projects"], raw["flows"]
    projects, flows = check_tables(projects, flows, projects_source=projects_source, flows_source=flows_source)
    if programme is None:
        return Portfolio.checked(projects, flows, projects_source, flows_source)
    checked, flows = check_programme(
        programme[0], projects, flows, programme_source=programme[1], flows_source=flows_source
    )
    return Portfolio.checked(projects, flows, projects_source, flows_source, checked, programme[1])


def _key(name: Any) -> str:
    """A name compared case-insensitively, spaces, hyphens and dots read as underscores."""
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower()).strip("_")


def _names(table: str) -> list[str]:
    if table == "flows":
        return [*TABLE_NAMES["flows"], *TABLE_NAMES["flows_wide"]]
    return list(TABLE_NAMES[table])


def _read_file(folder: Path, table: str) -> tuple[pd.DataFrame, str]:
    """A table of a portfolio folder: ``<name>.csv`` or ``<name>.parquet`` for a name of :data:`TABLE_NAMES`."""
    found = _read_optional(folder, table)
    if found is None:
        names = _names(table)
        raise InputError(
            folder, None, f"portfolio folder has no {table}.csv or {table}.parquet (or {', '.join(names[1:])})"
        )
    return found


def _read_optional(folder: Path, table: str) -> tuple[pd.DataFrame, str] | None:
    """:func:`_read_file`, or None where the folder has no such table (the programme is optional)."""
    names = _names(table)
    found = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in (".csv", ".parquet") and _key(p.stem) in names
    )
    if len(found) > 1:
        listed = " and ".join(p.name for p in found)
        raise InputError(folder, None, f"holds both {listed} for the {table} table; keep one")
    if not found:
        return None
    file = found[0]
    wide = _key(file.stem) in TABLE_NAMES["flows_wide"]
    frame = _read_csv(file, table) if file.suffix.lower() == ".csv" else _read_parquet(file)
    return _shape(frame, table, str(file), wide=wide), str(file)


def _read_workbook(path: Path) -> dict[str, tuple[pd.DataFrame, str]]:
    from openpyxl.utils.exceptions import InvalidFileException  # openpyxl only for a workbook (start-up)

    try:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, BadZipFile, InvalidFileException) as error:
        raise InputError(path, None, f"cannot be read as an Excel workbook: {error}") from None
    try:
        sheets = {_key(name): name for name in workbook.sheetnames}
        out = {}
        for table in (*_TABLES, "programme"):
            matches = [sheets[n] for n in _names(table) if n in sheets]
            if not matches and table == "programme":
                continue
            if len(matches) > 1:
                raise InputError(path, None, f"has the sheets {' and '.join(map(repr, matches))}; keep one")
            if not matches:
                raise InputError(
                    path,
                    None,
                    f"has no sheet {table!r} (or {', '.join(map(repr, _names(table)[1:]))}); "
                    f"its sheets are {', '.join(map(repr, workbook.sheetnames))}",
                )
            sheet = matches[0]
            source = f"{path}[{sheet}]"
            rows = [list(r) for r in workbook[sheet].iter_rows(values_only=True)]
            frame = _from_rows(path, sheet, rows, table, source)
            out[table] = (_shape(frame, table, source, wide=_key(sheet) in TABLE_NAMES["flows_wide"]), source)
        return out
    finally:
        workbook.close()


def _from_rows(path: Path, sheet: str, rows: list[list[Any]], table: str, source: str) -> pd.DataFrame:
    """The table of a sheet: header found among the first rows, empty rows skipped, formulas checked."""
    texts = [[_text(v) for v in row] for row in rows]
    top = _header_row([(i, r) for i, r in enumerate(texts[:HEADER_ROWS]) if any(r)], table)
    if top is None:
        raise InputError(source, None, "has no header row")
    header = texts[top]
    width = max((j + 1 for j, h in enumerate(header) if h), default=0)
    records, labels, missing = [], [], []
    for i in range(top + 1, len(texts)):
        row = (texts[i] + [""] * width)[:width]
        extra = [v for v in texts[i][width:] if v]
        if extra:
            raise InputError(source, f"row {i + 1}", f"has a value {extra[0]!r} right of the last named column")
        if not any(row):
            continue
        missing += [(i, j) for j, v in enumerate(rows[i][:width]) if v is None]
        records.append(row)
        labels.append(f"row {i + 1}")
    if missing:
        _check_formulas(path, sheet, missing, source)
    frame = pd.DataFrame(records, columns=header[:width], dtype=object) if records else _empty(header[:width])
    frame.attrs.update(rows=labels, decimal="auto")
    return frame


def _check_formulas(path: Path, sheet: str, cells: list[tuple[int, int]], source: str) -> None:
    """Refuse a formula whose value Excel did not save (openpyxl and other tools write none)."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        formulas = [list(r) for r in workbook[sheet].iter_rows(values_only=True)]
    finally:
        workbook.close()
    for i, j in cells:
        value = formulas[i][j] if i < len(formulas) and j < len(formulas[i]) else None
        if isinstance(value, str) and value.startswith("="):
            raise InputError(
                source,
                f"cell {get_column_letter(j + 1)}{i + 1}",
                f"holds the formula {value} without a saved value: open the workbook in Excel and save it "
                "(so the calculated values are stored), or paste the values",
            )


def _empty(header: list[str]) -> pd.DataFrame:
    return pd.DataFrame({h: pd.Series([], dtype=object) for h in header})


def _known(table: str) -> dict[str, str]:
    """Every accepted column name (as :func:`_key`) and the English name it stands for."""
    known = {}
    for column, aliases in COLUMN_ALIASES[table].items():
        for name in (column, *aliases):
            known[_key(name)] = column
    spec = _spec(table)
    for column in spec["required"] + spec["optional"]:
        known[_key(column)] = column
    return known


def _spec(table: str) -> dict[str, tuple[str, ...]]:
    return {"projects": PROJECT_COLUMNS, "programme": PROGRAMME_COLUMNS}.get(table, FLOW_COLUMNS)


def _is_year(name: str) -> bool:
    return bool(re.fullmatch(r"(19|20|21)\d\d", name.strip()))


def _header_row(candidates: list[tuple[int, list[str]]], table: str) -> int | None:
    """The first candidate holding every required column (or, for flows, the wide ones and a year), else
    the candidate with most known names; None where there is no candidate."""
    return _best_header([(i, row, None) for i, row in candidates], table)[0]


def _best_header(candidates: list[tuple[int, list[str], Any]], table: str) -> tuple[int | None, Any]:
    known = _known(table)
    spec = _spec(table)
    best: tuple[int, int | None, Any] = (-1, None, None)
    for i, row, extra in candidates:
        columns = {known.get(_key(h)) for h in row if h}
        if set(spec["required"]) <= columns or (
            table == "flows" and set(_WIDE_KEYS) <= columns and any(_is_year(h) for h in row)
        ):
            return i, extra
        score = len(columns - {None})
        if score > best[0]:
            best = (score, i, extra)
    return best[1], best[2]


# -- reading: every table becomes strings plus a row label per row -----------


def _read_csv(path: Path, table: str = "projects") -> pd.DataFrame:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(path, None, f"cannot be read: {error}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        try:  # what Dutch Excel saves as "CSV (gescheiden door lijstscheidingsteken)"
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise InputError(path, None, f"not a UTF-8 (or Windows-1252) text file: {error}") from None
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (lines[start].lstrip().startswith("#") or not lines[start].strip()):
        start += 1
    separators = [",", ";"]
    if start < len(lines) and (override := re.fullmatch(r'"?sep=(.)"?', lines[start].strip(), re.IGNORECASE)):
        separators = [override.group(1)]
        start += 1
    candidates: list[tuple[int, list[str], Any]] = []
    for index in range(start, len(lines)):
        if len(candidates) >= HEADER_ROWS * len(separators):
            break
        if lines[index].lstrip().startswith("#") or not lines[index].strip():
            continue
        for sep in separators:
            fields = _csv_rows(path, [lines[index]], sep)[0]
            candidates.append((index, [f.strip() for f in fields], sep))
    if not candidates:
        raise InputError(path, None, "has no header row")
    top, sep = _best_header(candidates, table)
    if top is None:  # nothing known anywhere: the first line is the header, as ever
        top, _, sep = candidates[0]
    rows = _csv_rows(path, lines[top:], sep)
    header = [h.strip() for h in rows[0]]
    while header and not header[-1]:  # trailing empty header cells, as spreadsheets export them
        header.pop()
    records, labels = [], []
    for offset, row in enumerate(rows[1:], start=1):
        line = top + offset + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and not any(cell.strip() for cell in row[len(header) :]):
            row = row[: len(header)]
        if len(row) != len(header):
            raise InputError(path, f"line {line}", f"has {len(row)} fields where the header has {len(header)}")
        records.append([cell.strip() for cell in row])
        labels.append(f"line {line}")
    frame = pd.DataFrame(records, columns=header, dtype=object) if records else _empty(header)
    frame.attrs.update(rows=labels, decimal="," if sep == ";" else ".")
    return frame


def _csv_rows(path: Path, lines: list[str], sep: str) -> list[list[str]]:
    try:
        return list(csv.reader(lines, delimiter=sep))
    except csv.Error as error:  # a field over the csv module's limit (131,072 characters), a NUL byte
        raise InputError(path, None, f"cannot be read as CSV: {error}") from None


def _stringify(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({_text(c): [_text(v) for v in frame[c]] for c in frame.columns}, dtype=object)
    out.attrs["rows"] = labels
    return out


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, ArrowException) as error:
        raise InputError(path, None, f"cannot be read as Parquet: {error}") from None
    return _stringify(frame, [f"row {i + 1}" for i in range(len(frame))])


def _shape(frame: pd.DataFrame, table: str, source: str, *, wide: bool = False) -> pd.DataFrame:
    """English column names for aliases, English values for Dutch ones, a wide flows table made long.

    The names as written stay in ``attrs["labels"]`` for the messages.
    """
    known = _known(table)
    rows, decimal = frame.attrs.get("rows", []), frame.attrs.get("decimal", ".")
    names: list[str] = []
    labels: dict[str, Any] = {}
    seen: dict[str, str] = {}
    keep: list[int] = []
    for index, original in enumerate(frame.columns):
        if not original:
            if any(frame.iloc[:, index]):
                raise InputError(source, f"column {index + 1}", "holds values but has no name in the header row")
            continue
        name = known.get(_key(original), original)
        if name in seen and name in known.values():
            if seen[name] == original:
                raise InputError(source, f"column {original!r}", "appears twice in the header")
            raise InputError(
                source, f"column {original!r}", f"means the same as column {seen[name]!r} ({name}); keep one"
            )
        seen[name] = original
        names.append(name)
        keep.append(index)
        if name != original:
            labels[name] = original
    out = pd.DataFrame(frame.iloc[:, keep].to_numpy(dtype=object), columns=names, dtype=object)
    for column in ("status", "type", "category"):
        if column in out.columns:
            out[column] = [_value(column, v) for v in out[column]]
    suggestions = {}
    for name in names:
        if name not in known.values() and not _is_year(name):
            close = difflib.get_close_matches(_key(name), list(known), n=1, cutoff=0.6)
            if close:
                alias, english = close[0], known[close[0]]
                suggestions[name] = repr(english) if alias == english else f"{alias!r} ({english})"
    out.attrs.update(rows=list(rows), decimal=decimal, labels=labels, suggestions=suggestions)
    if table == "flows" and (wide or ("year" not in out.columns and "amount" not in out.columns)):
        if wide or any(_is_year(str(c)) for c in out.columns):
            return _widen(out, source)
    return out


def _value(column: str, value: str) -> str:
    choices = {"status": STATUSES, "type": FLOW_TYPES, "category": COST_CATEGORIES + REVENUE_CATEGORIES}[column]
    key = _key(value)
    if value in choices:
        return value
    if key in choices:
        return key
    return VALUE_ALIASES.get(column, {}).get(key, value)


def _widen(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A wide flows table (``project, type, category``, optional ``sales_linked``, one column per year) as
    the long one; empty and zero cells are no flows."""
    labels: dict[str, Any] = frame.attrs["labels"]
    fixed = [c for c in (*_WIDE_KEYS, "sales_linked") if c in frame.columns]
    for column in _WIDE_KEYS:
        if column not in frame.columns:
            raise InputError(source, f"column {column!r}", "required column of a wide flows table is missing")
    years = [c for c in frame.columns if c not in fixed]
    for column in years:
        if not _is_year(str(column)):
            raise InputError(
                source,
                f"column {labels.get(column, column)!r}",
                "is not a year: a wide flows table has the columns project, type, category (sales_linked "
                "optional) and then one column per year (2024, 2025, ...)",
            )
    if not years:
        raise InputError(source, None, "a wide flows table needs one column per year (2024, 2025, ...)")
    decimal = frame.attrs["decimal"]
    records, rows, year_labels = [], [], []
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = dict(zip(frame.columns, row, strict=True))
        for year in years:
            amount = cells[year]
            if not amount or _is_zero(amount, decimal):
                continue
            records.append([*(cells[c] for c in fixed), str(int(year)), amount])
            rows.append(frame.attrs["rows"][i])
            year_labels.append(str(year))
    out = pd.DataFrame(records, columns=[*fixed, "year", "amount"], dtype=object)
    if not records:
        out = _empty([*fixed, "year", "amount"])
    out.attrs.update(
        rows=rows,
        decimal=decimal,
        labels={**{c: labels.get(c, c) for c in fixed}, "year": year_labels, "amount": year_labels},
    )
    return out


def _is_zero(value: str, decimal: str) -> bool:
    try:
        return parse_number(value, decimal) == 0
    except ValueError:
        return False
