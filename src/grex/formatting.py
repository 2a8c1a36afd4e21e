"""Numbers as text for reading, in Dutch or English (a leaf module: no grex imports).

Used by the report (:mod:`grex.report.labels` re-exports it) and wherever a
model table carries a setting as text (:func:`grex.sensitivity.tornado`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_value"]


def format_value(value: Any, kind: str, lang: str = "nl", *, decimals: int | None = None) -> str:
    """Format one cell for reading (HTML and PDF).

    Parameters
    ----------
    kind : {"text", "euro", "keur", "number", "integer", "year", "percent", "ratio", "flag"}
        ``euro``: whole euros with the sign; ``keur``: thousands of euros;
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
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind == "text":
        return str(value)
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
