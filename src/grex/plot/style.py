"""The house style: fonts, greys, hatches and line styles."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = ["FILLS", "HATCHES", "INK", "LINESTYLES", "euro_millions", "house_style", "new_figure", "to_png"]

#: Colour of lines and text.
INK = "0.1"
#: Grey fills from dark to light, for series told apart without colour.
FILLS = ("0.25", "0.55", "0.8", "white", "0.4", "0.65", "0.9")
#: Hatches paired with the fills.
HATCHES = ("", "", "", "////", "....", "xxxx", "\\\\\\\\")
#: Line styles for series of lines.
LINESTYLES = ("-", "--", ":", "-.")

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.0,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "0.85",
    "grid.linewidth": 0.5,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 7.5,
    "hatch.linewidth": 0.6,
    "hatch.color": INK,
    "lines.linewidth": 1.2,
    "text.color": INK,
    "savefig.dpi": 150,
    "pdf.fonttype": 42,
    "svg.fonttype": "none",
}


@contextmanager
def house_style() -> Iterator[None]:
    """Context in which charts are drawn and saved in the house style."""
    with mpl.rc_context(cast(Any, RC)):  # matplotlib types its keys as literals
        yield


def new_figure(size: tuple[float, float] = (7.0, 3.6)) -> Figure:
    """A figure with constrained layout, not registered with pyplot. [inch]"""
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def to_png(figure: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (Agg backend)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def euro_millions(lang: str) -> FuncFormatter:
    """Tick labels in millions of euros, with the decimal sign of the language."""

    def fmt(value: float, _pos: int) -> str:
        millions = value / 1e6
        # as many decimals as the tick needs, at most two (0,25 is not shown as 0,2)
        text = f"{millions:,.0f}" if abs(millions) >= 10 else f"{millions:,.2f}".rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        if lang == "nl":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    return FuncFormatter(fmt)
