"""Waterfall chart of the difference analysis (verschillenanalyse), in the house style.

The first bar is the value of the previous MPG, the last the value of this one,
and each effect between them floats from the running total. Improvements are
light grey, deteriorations dark grey with a hatch, the totals white with a black
edge, so the chart reads in black and white. Labels are Dutch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from grex.plot.style import INK, euro_millions, house_style, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from grex.diff import DiffResult

__all__ = ["plot_waterfall", "waterfall"]

MEASURE_LABELS = {"end_value": "eindwaarde", "present_value": "contante waarde"}
#: Effects smaller than this are left out of a chart. [EUR]
SMALL = 0.5


def waterfall(
    start: float,
    steps: Sequence[tuple[str, float]],
    *,
    start_label: str,
    end_label: str,
    title: str,
    ylabel: str = "mln euro",
    figure: Figure | None = None,
) -> Figure:
    """Draw a waterfall: a start bar, floating steps and the end bar.

    Parameters
    ----------
    start : float
        Value before the steps. [EUR]
    steps : sequence of (label, amount)
        The effects in order. [EUR, positive = better]
    start_label, end_label, title, ylabel : str
        Dutch labels.
    figure : Figure, optional
        Drawn into this figure; a new one by default.

    Returns
    -------
    Figure
    """
    with house_style():
        fig = figure if figure is not None else new_figure((7.0, 3.9))
        ax = fig.add_subplot()
        labels = [start_label, *(label for label, _ in steps), end_label]
        amounts = np.array([amount for _, amount in steps], dtype=np.float64)
        running = start + np.concatenate([[0.0], np.cumsum(amounts)])
        end = running[-1]
        x = np.arange(len(labels))
        ax.bar(x[0], start, color="white", edgecolor=INK, linewidth=0.8, width=0.7)
        ax.bar(x[-1], end, color="white", edgecolor=INK, linewidth=0.8, width=0.7)
        for i, amount in enumerate(amounts, start=1):
            bottom = running[i - 1] if amount >= 0 else running[i]
            better = amount >= 0
            ax.bar(
                x[i],
                abs(amount),
                bottom=bottom,
                color="0.8" if better else "0.35",
                hatch="" if better else "////",
                edgecolor=INK,
                linewidth=0.6,
                width=0.7,
            )
            ax.plot([x[i - 1] + 0.35, x[i] - 0.35], [running[i - 1]] * 2, color=INK, linewidth=0.5)
        ax.plot([x[-2] + 0.35, x[-1] - 0.35], [end, end], color=INK, linewidth=0.5)
        span = max(np.ptp(np.concatenate([running, [0.0]])), 1.0)
        for i, value in enumerate([start, *amounts, end]):
            step = 0 < i < len(labels) - 1
            if step:
                y, va = max(running[i - 1], running[i]) + 0.015 * span, "bottom"
            elif value >= 0:  # the start and end bars: their value at their end, above or below
                y, va = value + 0.015 * span, "bottom"
            else:
                y, va = value - 0.015 * span, "top"
            ax.annotate(
                _millions(value, signed=step),
                (x[i], y),
                ha="center",
                va=va,
                fontsize=6.5,
                fontweight="normal" if step else "bold",
                annotation_clip=False,
            )
        # room for the labels above and below the bars
        ax.set_ylim(min(running.min(), start, 0.0) - 0.1 * span, max(running.max(), start, 0.0) + 0.1 * span)
        ax.axhline(0.0, color=INK, linewidth=0.6)
        ax.set_xticks(x, labels, rotation=35, ha="right")
        ax.yaxis.set_major_formatter(euro_millions("nl"))
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="x", visible=False)
    return fig


def plot_waterfall(
    result: DiffResult,
    project: str | None = None,
    *,
    measure: str = "present_value",
    figure: Figure | None = None,
) -> Figure:
    """Waterfall of a difference analysis, for the portfolio or one complex.

    Parameters
    ----------
    result : DiffResult
        From :func:`grex.diff.diff` or :func:`grex.api.diff_scenarios`.
    project : str, optional
        A complex id; the whole portfolio by default.
    measure : {"present_value", "end_value"}, keyword-only
        Contante waarde (default) or eindwaarde. [EUR, positive = profit]
    figure : Figure, optional

    Returns
    -------
    Figure
        Effects smaller than 50 cents are left out.
    """
    from grex.diff import EFFECT_LABELS

    effects = result.portfolio(measure) if project is None else result.complex(project, measure)
    before, after = result.total(measure, project)
    steps = [(EFFECT_LABELS[str(e)], float(v)) for e, v in effects.items() if abs(v) >= SMALL]
    subject = "portefeuille" if project is None else result.names[result.projects.index(project)]
    before_name, after_name = result.before.scenario.name, result.after.scenario.name
    title = f"Verschillenanalyse {MEASURE_LABELS[measure]}: {subject}"
    if result.illustrative:
        title += " (illustratief)"
    return waterfall(
        before,
        steps,
        start_label=f"vorig MPG: {before_name} (1-1-{result.before.scenario.valuation_year})",
        end_label=f"dit MPG: {after_name} (1-1-{result.after.scenario.valuation_year})",
        title=title,
        ylabel=f"{MEASURE_LABELS[measure]}, mln euro",
        figure=figure,
    )


def _millions(value: float, *, signed: bool) -> str:
    text = f"{value / 1e6:+,.2f}" if signed else f"{value / 1e6:,.2f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
