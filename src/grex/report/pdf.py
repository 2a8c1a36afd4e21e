"""The report as an A4 PDF, drawn with matplotlib alone (no browser needed).

Pages are matplotlib figures of A4 size written with ``PdfPages``: headings,
notes and tables are laid out as text by a small flow layout (a table longer
than a page continues on the next with its header repeated; a wide table gets
a landscape page), charts are drawn as vector graphics into sub-figures.
Every page carries the provenance line, the illustrative notice where it
applies and its page number.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any, Literal

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from grex.plot import house_style
from grex.report.content import Chart, Report, Table
from grex.report.labels import Labels, base_kind

__all__ = ["render_pdf"]

PORTRAIT = (8.27, 11.69)
LANDSCAPE = (11.69, 8.27)
MARGIN = 0.6  # [inch]
TOP = 0.75  # [inch] below the running head
BOTTOM = 0.85  # [inch] above the footer
ROW = 0.165  # [inch] per table row at 7 pt
CHAR = 0.054  # [inch] average width of a character at 7 pt
BOLD = 1.15  # bold text is wider
_NUMERIC = {"euro", "keur", "number", "integer", "year", "percent", "ratio"}


class _Pages:
    """The flow layout: a cursor going down the current page."""

    def __init__(self, pdf: PdfPages, report: Report) -> None:
        self.pdf = pdf
        self.report = report
        self.labels = Labels(report.lang)
        self.page: Figure | None = None
        self.number = 0
        self.size = PORTRAIT
        self.y = 0.0

    # page handling -------------------------------------------------------
    def new_page(self, landscape: bool = False, layout: Literal["constrained"] | None = None) -> None:
        self.finish()
        self.size = LANDSCAPE if landscape else PORTRAIT
        self.page = Figure(figsize=self.size, layout=layout)
        self.number += 1
        width, height = self.size
        self.page.text(
            MARGIN / width,
            1 - 0.4 / height,
            f"{self.report.title} · {self.report.provenance['scenario']}",
            fontsize=7,
            color="0.3",
            va="bottom",
        )
        self.y = TOP

    def finish(self) -> None:
        if self.page is None:
            return
        width, height = self.size
        lines = []
        if self.report.notice:
            lines.append(self.report.notice)
        lines.append(self.report.provenance_line)
        y = 0.3
        for line in reversed(lines):
            for part in reversed(textwrap.wrap(line, int((width - 2 * MARGIN - 0.8) / 0.05))):
                self.page.text(
                    MARGIN / width,
                    y / height,
                    part,
                    fontsize=6.5,
                    color="0.2",
                    weight="bold" if line == self.report.notice else "normal",
                )
                y += 0.12
        self.page.add_artist(_hline(self.page, MARGIN / width, 1 - MARGIN / width, (y + 0.02) / height))
        self.page.text(
            1 - MARGIN / width, 0.3 / height, self.labels("page", n=self.number), fontsize=6.5, ha="right", color="0.2"
        )
        self.pdf.savefig(self.page)
        self.page = None

    @property
    def width(self) -> float:
        return self.size[0] - 2 * MARGIN

    def left(self) -> float:
        return self.size[1] - BOTTOM - self.y

    def need(self, height: float, landscape: bool | None = None) -> None:
        wanted = self.size == LANDSCAPE if landscape is None else landscape
        if self.page is None or self.left() < height or (self.size == LANDSCAPE) != wanted:
            self.new_page(wanted)

    def text(self, x: float, text: str, **kwargs) -> None:
        """Text at ``x`` inches from the left margin and the cursor's height."""
        width, height = self.size
        assert self.page is not None  # text goes on a page begun by new_page
        self.page.text((MARGIN + x) / width, 1 - self.y / height, text, va="top", **kwargs)

    # blocks --------------------------------------------------------------
    def title_block(self) -> None:
        self.need(1.6, landscape=False)
        self.text(0, self.report.title, fontsize=16, weight="bold")
        self.y += 0.38
        self.text(0, self.report.subtitle, fontsize=11)
        self.y += 0.3
        if self.report.notice:
            for line in textwrap.wrap(self.report.notice, 100):
                self.text(0, line, fontsize=8.5, weight="bold")
                self.y += 0.17
        self.y += 0.15

    def heading(self, text: str, size: float = 12.5, space: float = 0.34, keep: float = 0.8) -> None:
        self.need(space + keep)
        self.text(0, text, fontsize=size, weight="bold")
        self.y += space

    def paragraph(self, text: str, size: float = 7.5) -> None:
        lines = textwrap.wrap(text, int(self.width / (CHAR * size / 7)))
        step = 0.14 * max(1.0, size / 7.5) * (1.1 if size > 7.5 else 1.0)
        for line in lines:
            self.need(step + 0.01)
            self.text(0, line, fontsize=size)
            self.y += step
        self.y += 0.04 if size <= 7.5 else 0.15

    def table(self, table: Table) -> None:
        columns = table.columns_for("pdf")
        cells = table.display("pdf", self.report.lang)
        wanted = table.wide
        if self.page is None or (self.size == LANDSCAPE) != wanted:
            self.new_page(wanted)
        self.heading(table.title_for("pdf", self.labels), size=9.5, space=0.26, keep=0.5 + 3 * ROW)
        # the key figures of page 1 a size larger
        big = 1.3 if table.key == "summary" else 1.0
        row_height = ROW * big
        # column widths from the longest cell, headers wrapped to fit
        text_widths = []
        for j, _column in enumerate(columns):
            longest = max([len(row[j]) for row in cells] + [6])
            text_widths.append(longest)
        widths = [w * CHAR * big + 0.12 for w in text_widths]
        header_min = [max(len(word) for word in c.label.split()) * CHAR * big * BOLD + 0.12 for c in columns]
        widths = [max(w, h) for w, h in zip(widths, header_min, strict=False)]
        scale = min(1.0, self.width / sum(widths))
        font = 7 * big * max(scale, 0.75)
        widths = [w * scale for w in widths]
        header_lines = [
            textwrap.wrap(c.label, max(4, int((w - 0.08) / (CHAR * BOLD * font / 7))), break_long_words=False) or [""]
            for c, w in zip(columns, widths, strict=False)
        ]
        header_height = max(len(h) for h in header_lines) * 0.125 * big + 0.06
        numeric = [
            [c.kind == "mixed" or base_kind(table.cell_kind(c, i)) in _NUMERIC for c in columns]
            for i in range(len(cells))
        ]
        header_numeric = [c.kind in _NUMERIC or c.kind == "mixed" for c in columns]

        def draw_header() -> None:
            x = 0.0
            for j, (_column, lines) in enumerate(zip(columns, header_lines, strict=False)):
                for k, line in enumerate(lines):
                    self._cell(x, widths[j], self.y + k * 0.125 * big, line, header_numeric[j], font, "bold")
                x += widths[j]
            self.y += header_height
            self._rule(self.y - 0.03, sum(widths), 0.8)

        self.need(header_height + 3 * row_height, wanted)
        draw_header()
        for i, row in enumerate(cells):
            if self.left() < row_height:
                self.new_page(wanted)
                draw_header()
            kind = table.row_kinds[i]
            weight = "bold" if kind in ("subtotal", "total", "group") else "normal"
            style = "italic" if kind == "group" else "normal"
            if kind in ("subtotal", "total"):
                self._rule(self.y - 0.02, sum(widths), 0.5 if kind == "subtotal" else 0.9)
            x = 0.0
            for j, text in enumerate(row):
                self._cell(x, widths[j], self.y, text, numeric[i][j], font, weight, style)
                x += widths[j]
            self.y += row_height
        self._rule(self.y - 0.02, sum(widths), 0.5)
        self.y += 0.06
        for note in table.notes:
            self.paragraph(note, size=6.5)
        self.y += 0.14

    def _cell(
        self,
        x: float,
        width: float,
        y: float,
        text: str,
        numeric: bool,
        font: float,
        weight: str,
        style: str = "normal",
    ) -> None:
        page_width, page_height = self.size
        if numeric:
            position, align = MARGIN + x + width - 0.05, "right"
        else:
            position, align = MARGIN + x + 0.03, "left"
            limit = max(4, int((width - 0.06) / (CHAR * font / 7)))
            text = text if len(text) <= limit else text[: limit - 1] + "…"
        assert self.page is not None  # cells go on a page begun by new_page
        self.page.text(
            position / page_width,
            1 - y / page_height,
            text,
            fontsize=font,
            ha=align,
            va="top",
            weight=weight,
            style=style,
        )

    def _rule(self, y: float, length: float, linewidth: float) -> None:
        width, height = self.size
        assert self.page is not None  # rules go on a page begun by new_page
        self.page.add_artist(_hline(self.page, MARGIN / width, (MARGIN + length) / width, 1 - y / height, linewidth))

    def charts(self, charts: list[Chart], title: str) -> None:
        """Charts two to a portrait page, each in a sub-figure laid out by matplotlib."""
        for start in range(0, len(charts), 2):
            pair = charts[start : start + 2]
            self.new_page(landscape=False, layout="constrained")
            height = self.size[1]
            heights = [c.size[1] * min(1.0, self.width / c.size[0]) + 0.35 + (0.4 if c.caption else 0) for c in pair]
            head = TOP + (0.34 if start == 0 else 0.0)
            assert self.page is not None  # just begun
            rows: Any = self.page.subfigures(
                len(pair) + 2,
                3,
                height_ratios=[head, *heights, max(BOTTOM, height - head - sum(heights))],
                width_ratios=[MARGIN, self.width, MARGIN],
                hspace=0,
                wspace=0,
            )
            if start == 0:
                self.text(0, title, fontsize=12.5, weight="bold")
            for chart, row in zip(pair, rows[1:-1], strict=False):
                sub = row[1]
                sub.suptitle(chart.title, x=0.0, ha="left", fontsize=9.5, fontweight="bold")
                chart.draw(sub)
                if chart.caption:
                    caption = "\n".join(textwrap.wrap(chart.caption, 125))
                    sub.supxlabel(caption, x=0.0, ha="left", fontsize=7.5, style="italic")
            self.y = height  # the page is full


def _hline(figure: Figure, x0: float, x1: float, y: float, linewidth: float = 0.5):
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], transform=figure.transFigure, color="0.1", linewidth=linewidth)


def render_pdf(report: Report) -> bytes:
    """Render the report as an A4 PDF; returns its bytes."""
    buffer = io.BytesIO()
    with house_style(), PdfPages(buffer, metadata=_metadata(report)) as pdf:
        pages = _Pages(pdf, report)
        pages.title_block()
        for section in report.sections:
            tables = [t for t in section.tables if "pdf" in t.formats]
            charts = [c for c in section.charts if "pdf" in c.formats]
            if not (tables or charts or section.paragraphs):
                continue
            wide = bool(tables) and tables[0].wide
            if tables and (pages.page is None or (pages.size == LANDSCAPE) != wide):
                pages.new_page(landscape=wide)
            if tables or section.paragraphs:
                pages.heading(section.title)
            for paragraph in section.paragraphs:
                pages.paragraph(paragraph, size=10.0 if section.key == "summary" else 7.5)
            for table in tables:
                pages.table(table)
            if charts:
                pages.charts(charts, section.title if not (tables or section.paragraphs) else "")
        pages.finish()
    return buffer.getvalue()


def _metadata(report: Report) -> dict:
    return {
        "Title": f"{report.title} – {report.provenance['scenario']}",
        "Subject": report.provenance_line,
        "Creator": f"grex {report.provenance['version']}",
        "Keywords": f"input-hash {report.provenance['input_hash']}",
    }
