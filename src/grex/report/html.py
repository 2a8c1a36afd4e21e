"""The report as one self-contained HTML file (Jinja2 template, charts as base64 PNG)."""

from __future__ import annotations

import base64

from jinja2 import Environment, PackageLoader, select_autoescape

from grex.plot import house_style, new_figure, to_png
from grex.report.content import Report, Table
from grex.report.labels import Labels, base_kind

__all__ = ["render_html"]

_NUMERIC = {"euro", "keur", "number", "integer", "year", "percent", "ratio", "mixed"}


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("grex.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _table_view(table: Table, labels: Labels) -> dict:
    columns = table.columns_for("html")
    cells = table.display("html", labels.lang)
    rows = []
    for i, row in enumerate(cells):
        kinds = [table.cell_kind(c, i) for c in columns]
        rows.append(
            {
                "kind": table.row_kinds[i],
                "cells": [
                    # a column of mixed values (numbers and words) aligned right as a whole
                    {"text": text, "numeric": base_kind(kind) in _NUMERIC or column.kind == "mixed"}
                    for text, kind, column in zip(row, kinds, columns, strict=False)
                ],
            }
        )
    return {
        "key": table.key,
        "title": table.title_for("html", labels),
        "wide": table.wide,
        # names of complexes and drivers on one line (a wide table's first column, or a column of names)
        "names": table.wide or (bool(columns) and columns[0].key in ("name", "driver", "label")),
        "columns": [{"label": c.label, "numeric": base_kind(c.kind) in _NUMERIC} for c in columns],
        "rows": rows,
        "notes": table.notes,
    }


def render_html(report: Report) -> str:
    """Render the report as HTML: every image embedded, no external reference.

    Charts are PNG images at 150 dpi, base64-encoded in ``data:`` URIs; the
    print style sheet lays the report out on A4 (the wide table on a
    landscape page) with the provenance on every page.
    """
    labels = Labels(report.lang)
    sections = []
    with house_style():
        for section in report.sections:
            charts = []
            for chart in section.charts:
                if "html" not in chart.formats:
                    continue
                figure = new_figure(chart.size)
                chart.draw(figure)
                data = base64.b64encode(to_png(figure)).decode("ascii")
                charts.append(
                    {
                        "key": chart.key,
                        "title": chart.title,
                        "caption": chart.caption,
                        "src": f"data:image/png;base64,{data}",
                    }
                )
            tables = [_table_view(t, labels) for t in section.tables if "html" in t.formats]
            if tables or charts or section.paragraphs:
                sections.append(
                    {
                        "key": section.key,
                        "title": section.title,
                        "paragraphs": section.paragraphs,
                        "tables": tables,
                        "charts": charts,
                    }
                )
    template = _environment().get_template("report.html.j2")
    return template.render(report=report, labels=labels, sections=sections)
