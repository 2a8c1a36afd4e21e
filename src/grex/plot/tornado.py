"""The tornado chart of a sensitivity analysis (:func:`grex.sensitivity.tornado`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from grex.plot.style import FILLS, INK, euro_millions, house_style, new_figure
from grex.sensitivity import LABELS

__all__ = ["tornado_figure"]


def tornado_figure(table: pd.DataFrame, *, lang: str = "nl", fig: Any = None) -> Any:
    """The tornado chart in the house style, readable in black and white.

    Bars from the base present value to the value at each driver's low
    (dark grey) and high (white, hatched), the widest at the top.

    Parameters
    ----------
    table : DataFrame
        :func:`tornado`.
    fig : matplotlib Figure or SubFigure, optional
        Drawn into; a new figure otherwise.
    """
    words = LABELS[lang]
    with house_style():
        if fig is None:
            fig = new_figure((7.0, 0.45 * len(table) + 1.4))
        ax = fig.add_subplot()
        base = float(table["base"].iloc[0])
        position = np.arange(len(table))[::-1]
        low = table["present_value_low"].to_numpy(dtype=np.float64) - base
        high = table["present_value_high"].to_numpy(dtype=np.float64) - base
        ax.barh(position, low, left=base, height=0.6, color=FILLS[0], edgecolor=INK, linewidth=0.5, label=words["low"])
        ax.barh(
            position,
            high,
            left=base,
            height=0.6,
            facecolor="white",
            edgecolor=INK,
            hatch="////",
            linewidth=0.5,
            label=words["high"],
        )
        ax.axvline(base, color=INK, linewidth=0.8, linestyle="--", label=f"{words['base']}")
        ax.set_yticks(position, table["label"].tolist())
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(euro_millions(lang))
        ax.set_xlabel(words["axis"])
        ax.set_title(words["title"])
        ax.legend(loc="lower right")
    return fig
