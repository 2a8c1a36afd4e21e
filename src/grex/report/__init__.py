"""The MPG report: what a controller hands to the council (HTML, PDF, Excel).

:func:`build_report` computes the content once, from a valuation and its
Monte Carlo simulation, as a neutral structure of sections, tables and
charts; :func:`render_html`, :func:`render_pdf` and :func:`render_xlsx` lay it
out. Writing the files is :func:`grex.io.report.write_report`; the command is
``grex report``.
"""

from collections.abc import Callable

from grex.report.content import DRIVERS, Chart, Column, Report, Section, Table, build_report
from grex.report.html import render_html
from grex.report.labels import LANGUAGES, Labels
from grex.report.pdf import render_pdf
from grex.report.xlsx import render_xlsx

__all__ = [
    "DRIVERS",
    "FORMATS",
    "LANGUAGES",
    "Chart",
    "Column",
    "Labels",
    "Report",
    "Section",
    "Table",
    "build_report",
    "render_html",
    "render_pdf",
    "render_xlsx",
]

#: Output formats, in the order they are written, and their renderers.
FORMATS: dict[str, Callable[[Report], str | bytes]] = {"html": render_html, "pdf": render_pdf, "xlsx": render_xlsx}
