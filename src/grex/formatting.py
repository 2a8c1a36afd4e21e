"""Numbers as text for reading, in Dutch or English (a leaf module: no grex imports).

Used by the report (:mod:`grex.report.labels` re-exports it) and wherever a
model table carries a setting as text (:func:`grex.sensitivity.tornado`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["base_kind", "format_value", "rounded"]


def base_kind(kind: str) -> str:
    """The kind without its rounding: ``"keur~5"`` -> ``"keur"``."""
    return kind.split("~", 1)[0]


def rounded(value: float, kind: str) -> float:
    """The value rounded as its kind says: ``keur~5`` rounds to € 100.000 (10 ** 5); other kinds as they are.

    Examples
    --------
    >>> rounded(15_094_349.0, "keur~5"), rounded(15_094_349.0, "keur")
    (15100000.0, 15094349.0)
    """
    if "~" not in kind or base_kind(kind) not in ("keur", "euro"):
        return value
    unit = 10.0 ** int(kind.split("~", 1)[1])
    return float(round(value / unit) * unit)


def format_value(value: Any, kind: str, lang: str = "nl", *, decimals: int | None = None) -> str:
    """Format one cell for reading (HTML and PDF).

    Parameters
    ----------
    kind : {"text", "euro", "keur", "number", "integer", "year", "percent", "ratio", "flag", "date"}
        ``euro``: whole euros with the sign; ``keur``: thousands of euros;
        a suffix ``~N`` rounds an amount to 10 ** N euros first (Monte Carlo
        figures, rounded to what their standard error supports) and shows a
        percentage with N decimals;
        ``percent``: a decimal shown as a percentage; ``flag``: a boolean shown
        as ``ja`` / empty.

    Examples
    --------
    >>> format_value(-1234567.8, "keur", "nl")
    '-1.235'
    >>> format_value(0.045, "percent", "en")
    '4.5%'
    >>> format_value(1.05, "ratio", "nl")
    '1,05'
    >>> format_value(15_094_349.0, "keur~5", "nl")
    '15.100'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if "~" in kind:
        if base_kind(kind) == "percent":  # percent~N: N decimals
            decimals = int(kind.split("~", 1)[1])
        value, kind = rounded(float(value), kind), base_kind(kind)
    if kind == "text":
        return str(value)
    if kind == "date":  # a datetime.date: 1-1-2024
        return f"{value.day}-{value.month}-{value.year}"
    if kind == "flag":
        return ("ja" if lang == "nl" else "yes") if bool(value) else ""
    if kind in ("integer", "year"):
        text = f"{int(value):d}" if kind == "year" else f"{int(value):,d}"
    elif kind == "euro":
        text = f"€ {value:,.{0 if decimals is None else decimals}f}"
    elif kind == "keur":
        text = f"{value / 1000:,.{0 if decimals is None else decimals}f}"
    elif kind == "percent":
        text = f"{value * 100:,.{1 if decimals is None else decimals}f}%"
    elif kind == "ratio":
        text = f"{value:,.{2 if decimals is None else decimals}f}"
    elif kind == "number":
        text = f"{value:,.{0 if decimals is None else decimals}f}"
    else:
        raise ValueError(f"unknown kind {kind!r}")
    if text in ("-0", "€ -0", "-0%"):
        text = text.replace("-", "")
    if lang == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
