"""The report as an Excel workbook (openpyxl): one sheet per table.

Numbers are stored as typed cells at full precision (amounts in euros, rates
as decimals, dates as dates) with number formats that show them rounded
(whole euros, percentages, ``d-m-yyyy``); Excel shows the format codes
(``#,##0``) with the separators of the reader's locale, so a Dutch Excel shows
``€ 1.234.567``. Each sheet starts with its title, the provenance line and,
where it applies, the illustrative notice, then the header row (wrapped),
frozen with the rows above it; columns are as wide as their contents. The key
figures come first. The provenance is repeated in the printed footer of every
sheet.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from grex.report.content import Report, Table
from grex.report.labels import Labels, base_kind, format_value

__all__ = ["EURO_FORMAT", "HEADER_ROW", "render_xlsx"]

#: Number format of amounts: whole euros shown, the cents kept in the cell.
EURO_FORMAT = '"€" #,##0;"€" -#,##0'
#: Number formats by kind of cell (Excel's codes; shown with the reader's separators).
NUMBER_FORMATS = {
    "euro": EURO_FORMAT,
    "keur": EURO_FORMAT,
    "percent": "0.0%",
    "ratio": "0.00",
    "integer": "#,##0",
    "year": "0",
    "number": "#,##0.00",
    "date": "d-m-yyyy",
}
#: Row of the column headers (1-based); rows above: title, provenance, notice, blank.
HEADER_ROW = 5

_BOLD = Font(bold=True)
_THIN = Side(style="thin")
_DOUBLE = Side(style="double")


def _sheet_name(name: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "-", name)[:31]
    base, n = name, 2
    while name in taken:
        suffix = f" {n}"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


def _number_format(kind: str) -> str | None:
    if base_kind(kind) == "percent" and kind != "percent":
        decimals = int(kind.split("~", 1)[1])
        return "0%" if decimals == 0 else "0." + "0" * decimals + "%"
    return NUMBER_FORMATS.get(base_kind(kind))


def _value(value: Any, kind: str) -> Any:
    kind = base_kind(kind)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "date" and isinstance(value, dt.date):
        return value
    if kind in ("euro", "keur"):
        return float(value)
    if kind in ("percent", "ratio", "number"):
        return float(value)
    if kind in ("integer", "year"):
        return int(value)
    if kind == "flag":
        return bool(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def render_xlsx(report: Report) -> bytes:
    """Render the report's tables as an Excel workbook; returns its bytes."""
    labels = Labels(report.lang)
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    tables = report.tables("xlsx")
    tables.sort(key=lambda t: t.key != "summary")  # the key figures first
    for table in tables:
        _write_sheet(workbook, table, report, labels, _sheet_name(table.sheet, taken))
    workbook.properties.title = f"{report.title} – {report.provenance['scenario']}"
    workbook.properties.creator = f"grex {report.provenance['version']}"
    workbook.properties.description = report.provenance_line
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_sheet(workbook: Workbook, table: Table, report: Report, labels: Labels, name: str) -> None:
    sheet = workbook.create_sheet(name)
    columns = table.columns_for("xlsx")
    sheet.cell(1, 1, table.title_for("xlsx", labels)).font = Font(bold=True, size=13)
    sheet.cell(2, 1, report.provenance_line).font = Font(italic=True, size=9)
    if report.notice:
        sheet.cell(3, 1, report.notice).font = Font(bold=True, size=9)
    # a header wraps: its column as wide as its longest word, or 16 characters
    widths = [max(min(len(c.label), 16), *(len(w) for w in c.label.split())) for c in columns]
    for j, column in enumerate(columns, start=1):
        cell = sheet.cell(HEADER_ROW, j, column.label)
        cell.font = _BOLD
        cell.border = Border(bottom=_THIN)
        cell.alignment = Alignment(
            horizontal="left" if column.kind == "text" else "right", vertical="bottom", wrap_text=True
        )
    for i in range(len(table.frame)):
        kind_of_row = table.row_kinds[i]
        row = HEADER_ROW + 1 + i
        for j, column in enumerate(columns, start=1):
            kind = table.cell_kind(column, i)
            raw = table.frame[column.key].iat[i]
            value = _value(raw, kind)
            if kind == "flag":
                value = labels["yes"] if value else None
            cell = sheet.cell(row, j, value)
            number_format = _number_format(kind)
            if number_format is not None and value is not None and not isinstance(value, str):
                cell.number_format = number_format
                cell.alignment = Alignment(horizontal="right")
            if kind_of_row in ("subtotal", "total", "group"):
                cell.font = Font(bold=True, italic=kind_of_row == "group")
            if kind_of_row == "subtotal":
                cell.border = Border(top=_THIN)
            elif kind_of_row == "total":
                cell.border = Border(top=_THIN, bottom=_DOUBLE)
            if base_kind(kind) in ("euro", "keur") and raw is not None:
                shown = format_value(raw, "euro", report.lang)
            else:
                shown = format_value(raw, base_kind(kind), report.lang)
            widths[j - 1] = max(widths[j - 1], len(shown) + 1)
    row = HEADER_ROW + len(table.frame) + 2
    for note in table.notes:
        sheet.cell(row, 1, note).font = Font(italic=True, size=9)
        row += 1
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 90)
    first_text = 2 if len(columns) > 3 and columns[0].kind == "text" and columns[1].kind == "text" else 1
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, first_text + 1 if len(columns) > 6 else 1)
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if table.wide or len(columns) > 6 else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    footer = report.provenance_line if not report.notice else f"{report.notice}\n{report.provenance_line}"
    sheet.oddFooter.left.text = footer.replace("&", "&&")
    sheet.oddFooter.left.size = 7
    sheet.oddFooter.right.text = "&P / &N"
