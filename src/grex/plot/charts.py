"""The charts of the MPG report.

Each function takes plain tables (as :meth:`grex.valuation.Valuation.complexes`
and ``years()`` give them, or those of a simulation) and the report's
:class:`~grex.report.labels.Labels`, draws into ``fig`` (a Figure or
SubFigure; a new figure when None) and returns it. Amounts on the axes are in
millions of euros. Call them inside :func:`grex.plot.house_style`.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from grex.plot.style import FILLS, HATCHES, INK, euro_millions, new_figure

__all__ = [
    "book_value_by_complex",
    "costs_and_revenues",
    "driver_contributions",
    "present_value_by_complex",
    "programme_against_market",
    "present_value_distribution",
    "recognition_delay",
    "reserve_path",
]


def _axes(fig: Any, size: tuple[float, float] = (7.0, 3.6)):
    fig = new_figure(size) if fig is None else fig
    return fig, fig.subplots()


def _euro_axis(ax, labels, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(euro_millions(labels.lang))
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(labels["axis_meur"])


def reserve_path(frame: pd.DataFrame, labels, *, fig: Any = None):
    """General reserve per year: the Monte Carlo fan P5–P95 (and P25–P75), the median and the deterministic line.

    Parameters
    ----------
    frame : DataFrame
        Columns ``year, deterministic, p5, p25, p50, p75, p95``. [EUR]
    """
    fig, ax = _axes(fig)
    years = frame["year"].to_numpy()
    ax.fill_between(
        years,
        frame["p5"],
        frame["p95"],
        facecolor="0.88",
        edgecolor="0.6",
        hatch="....",
        linewidth=0.4,
        label=labels["leg_band_90"],
    )
    if {"p25", "p75"} <= set(frame.columns):
        ax.fill_between(
            years, frame["p25"], frame["p75"], facecolor="0.7", edgecolor="none", label=labels["leg_band_50"]
        )
    if "p50" in frame.columns:
        ax.plot(years, frame["p50"], color=INK, linestyle="--", linewidth=1.0, label=labels["leg_median"])
    ax.plot(
        years,
        frame["deterministic"],
        color=INK,
        linestyle="-",
        linewidth=1.8,
        marker="o",
        markersize=2.5,
        label=labels["leg_deterministic"],
    )
    ax.axhline(0, color=INK, linewidth=0.8, linestyle=":")
    # the first point is the balance at the valuation date (31-12 of V - 1 = 1-1 of V)
    ax.annotate(
        labels("leg_valuation_date", date=f"1-1-{int(years[0]) + 1}"),
        (years[0], float(frame["deterministic"].to_numpy(dtype=float)[0])),
        xytext=(6, 2),
        textcoords="offset points",
        fontsize=7,
        va="bottom",
    )
    _euro_axis(ax, labels)
    ax.set_xlabel(labels["axis_year_end"])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper right", ncols=2)
    return fig


def present_value_by_complex(complexes: pd.DataFrame, labels, *, fig: Any = None):
    """Present value per complex as horizontal bars; the loss provisions marked by hatched bars.

    Parameters
    ----------
    complexes : DataFrame
        ``Valuation.complexes()``: ``name, present_value, provision``. [EUR]
    """
    fig, ax = _axes(fig, (7.0, 4.4))
    names = complexes["name"].to_numpy()
    position = np.arange(len(names))[::-1]
    value = complexes["present_value"].to_numpy(dtype=np.float64)
    provision = complexes["provision"].to_numpy(dtype=np.float64)
    has = provision > 0
    # the present value in the upper part of the row, the provision (where there is one) beneath it
    shift = np.where(has, 0.14, 0.0)
    loss = value < 0
    for part, colour, key in ((~loss, "0.8", "leg_profit"), (loss, "0.45", "leg_loss")):
        ax.barh(
            position[part] + shift[part],
            value[part],
            height=np.where(has[part], 0.42, 0.7),
            color=colour,
            edgecolor=INK,
            linewidth=0.5,
            label=labels[key],
        )
    ax.barh(
        position[has] - 0.22,
        -provision[has],
        height=0.26,
        facecolor="white",
        edgecolor=INK,
        hatch="////",
        linewidth=0.6,
        label=labels["leg_provision"],
    )
    ax.set_yticks(position, list(names))  # whole names, never cut off
    ax.tick_params(axis="y", labelsize=6.5)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.axvline(0, color=INK, linewidth=0.8)
    ax.grid(axis="y", visible=False)
    _euro_axis(ax, labels, "x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3)
    return fig


def _short(name: str, limit: int = 34) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _wrap(name: str, width: int = 30) -> str:
    """A name whole, on two lines where it is long (never cut off)."""
    return "\n".join(textwrap.wrap(name, width)) or name


def present_value_distribution(
    values: NDArray[np.float64], base: float, required: float, confidence: float, labels, *, fig: Any = None
):
    """Histogram of the portfolio's present value over the draws, with the deterministic value and the required capacity.

    The required capacity is the loss against the deterministic base at the
    confidence level: it is marked at ``base - required``.
    """
    fig, ax = _axes(fig)
    values = np.asarray(values, dtype=np.float64)
    ax.hist(
        values,
        bins=int(np.clip(1.5 * np.sqrt(len(values)), 15, 60)),
        color="0.75",
        edgecolor="white",
        linewidth=0.3,
        label=labels["leg_draws"],
    )
    ax.axvline(base, color=INK, linestyle="-", linewidth=1.6, label=labels["leg_deterministic"])
    mark = base - required
    percent = f"{confidence * 100:.0f}%"
    ax.axvline(mark, color=INK, linestyle="--", linewidth=1.4, label=labels("leg_required", confidence=percent))
    top = ax.get_ylim()[1]
    ax.annotate(
        "",
        xy=(mark, top * 0.92),
        xytext=(base, top * 0.92),
        arrowprops={"arrowstyle": "<->", "color": INK, "linewidth": 0.8},
    )
    _euro_axis(ax, labels, "x")
    ax.set_ylabel(labels["axis_count"])
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3)
    return fig


def book_value_by_complex(years: pd.DataFrame, complexes: pd.DataFrame, labels, *, fig: Any = None, largest: int = 6):
    """Book value at 31 December per year, stacked by complex (the largest ones apart, the rest together).

    Parameters
    ----------
    years : DataFrame
        ``Valuation.years()``: ``project, year, book_value``. [EUR]
    largest : int
        Complexes shown apart, by their largest absolute book value.
    """
    fig, ax = _axes(fig)
    table = years.pivot_table(index="year", columns="project", values="book_value", aggfunc="sum").fillna(0.0)
    names = dict(zip(complexes["project"], complexes["name"], strict=False))
    order = table.abs().max().sort_values(ascending=False).index
    keep = list(order[:largest])
    shown = table[keep].rename(columns=names)
    rest = table.drop(columns=keep).sum(axis=1)
    if len(order) > largest:
        shown[labels["leg_other"]] = rest
    x = shown.index.to_numpy()
    positive = np.zeros(len(x))
    negative = np.zeros(len(x))
    for i, column in enumerate(shown.columns):
        value = shown[column].to_numpy()
        bottom = np.where(value >= 0, positive, negative)
        ax.bar(
            x,
            value,
            bottom=bottom,
            width=0.8,
            color=FILLS[i % len(FILLS)],
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor=INK,
            linewidth=0.4,
            label=_wrap(str(column), 30),
        )
        positive += np.where(value >= 0, value, 0)
        negative += np.where(value < 0, value, 0)
    ax.axhline(0, color=INK, linewidth=0.8)
    _euro_axis(ax, labels)
    ax.set_xlabel(labels["axis_year"])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return fig


def costs_and_revenues(years: pd.DataFrame, labels, *, fig: Any = None):
    """Nominal costs (with the margin) and revenues of the portfolio per year, and their balance.

    Parameters
    ----------
    years : DataFrame
        ``Valuation.years()``: ``year, costs, revenues``. [EUR, nominal]
    """
    fig, ax = _axes(fig)
    total = years.groupby("year")[["costs", "revenues"]].sum()
    x = total.index.to_numpy()
    ax.bar(
        x - 0.2,
        total["costs"],
        width=0.4,
        facecolor="white",
        edgecolor=INK,
        hatch="////",
        linewidth=0.5,
        label=labels["leg_costs"],
    )
    ax.bar(
        x + 0.2, total["revenues"], width=0.4, color="0.45", edgecolor=INK, linewidth=0.5, label=labels["leg_revenues"]
    )
    ax.plot(
        x,
        total["revenues"] - total["costs"],
        color=INK,
        linestyle="--",
        marker="s",
        markersize=3,
        linewidth=1.0,
        label=labels["leg_net"],
    )
    ax.axhline(0, color=INK, linewidth=0.8)
    _euro_axis(ax, labels)
    ax.set_xlabel(labels["axis_year"])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper right")
    return fig


def programme_against_market(check: pd.DataFrame, labels, *, fig: Any = None):
    """Planned units per year against the market's absorbable units (its mode), one panel per market (issue 15).

    Parameters
    ----------
    check : DataFrame
        :func:`grex.market.programme_check`: ``market, unit, year, planned, absorbable``.
    """
    markets = list(dict.fromkeys(check["market"]))
    fig = new_figure((7.0, 3.6)) if fig is None else fig
    axes = fig.subplots(1, len(markets), squeeze=False)[0]
    for ax, market in zip(axes, markets, strict=True):
        rows = check[check["market"] == market]
        ax.bar(rows["year"], rows["planned"], color="0.45", edgecolor=INK, linewidth=0.5, label=labels["leg_planned"])
        ax.plot(
            rows["year"], rows["absorbable"], color=INK, linestyle="--", linewidth=1.0, label=labels["leg_absorbable"]
        )
        ax.set_title(f"{market} ({rows['unit'].iloc[0]})")
        ax.set_xlabel(labels["axis_year"])
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper right")
    return fig


def driver_contributions(spread: pd.DataFrame, labels, *, fig: Any = None):
    """Width P5–P95 of the portfolio's present value with only one driver varying, and with all.

    Parameters
    ----------
    spread : DataFrame
        ``driver`` (label), ``width`` [EUR], ``kind`` (``"total"`` for all drivers together).
    """
    fig, ax = _axes(fig, (7.0, 3.0))
    position = np.arange(len(spread))[::-1]
    total = (spread["kind"] == "total").to_numpy()
    width = spread["width"].to_numpy(dtype=np.float64)
    ax.barh(position[~total], width[~total], height=0.6, color="0.6", edgecolor=INK, linewidth=0.5)
    ax.barh(position[total], width[total], height=0.6, facecolor="white", edgecolor=INK, hatch="xxxx", linewidth=0.5)
    ax.set_yticks(position, [_wrap(d, 34) for d in spread["driver"]])
    ax.grid(axis="y", visible=False)
    _euro_axis(ax, labels, "x")
    ax.set_xlabel(f"{labels['leg_width']}, {labels['axis_meur']}")
    return fig


def recognition_delay(frame: pd.DataFrame, labels, *, fig: Any = None):
    """Herkenningsvertraging: the median reserve under the scenario's rule against perfect foresight (issue 16).

    Parameters
    ----------
    frame : DataFrame
        Columns ``year, rule, perfect, provision`` (medians per year). [EUR]
    """
    fig, ax = _axes(fig)
    years = frame["year"].to_numpy()
    ax.fill_between(
        years, frame["perfect"], frame["rule"], facecolor="0.85", edgecolor="0.6", hatch="////", linewidth=0.4
    )
    ax.plot(years, frame["rule"], color=INK, linewidth=1.8, marker="o", markersize=2.5, label=labels["leg_rule"])
    ax.plot(years, frame["perfect"], color=INK, linestyle="--", linewidth=1.0, label=labels["leg_perfect"])
    ax.plot(years, frame["provision"], color=INK, linestyle=":", linewidth=1.2, label=labels["leg_provisions"])
    ax.axhline(0, color=INK, linewidth=0.8, linestyle=":")
    _euro_axis(ax, labels)
    ax.set_xlabel(labels["axis_year_end"])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper right", ncols=2)
    return fig
