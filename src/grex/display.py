"""Text for people: numbers in Dutch or English format, console tables and short reprs.

The console tables of the ``grex`` command (:mod:`grex.cli`) and the reprs of
the result objects in a notebook (:class:`~grex.valuation.Valuation`,
:class:`~grex.montecarlo.Simulation`, :class:`~grex.diff.DiffResult`) are
built here. Numbers are written the way each language writes them: ``3.650``
and ``1,05`` in Dutch (``lang="nl"``), ``3,650`` and ``1.05`` in English; a
value that rounds to zero is ``0``, never ``-0``.

This module imports nothing heavy (no pandas, no numba, no matplotlib) so that
``import grex`` and ``grex run`` stay fast.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LANGUAGES",
    "Column",
    "diff_html",
    "diff_repr",
    "keur",
    "number",
    "percent",
    "simulation_html",
    "simulation_repr",
    "text_table",
    "valuation_html",
    "valuation_repr",
]

#: Languages of the console tables.
LANGUAGES = ("nl", "en")


def number(value: Any, lang: str = "nl", decimals: int = 0) -> str:
    """A number with thousands separators: ``1.234,5`` (nl) or ``1,234.5`` (en); never ``-0``.

    Examples
    --------
    >>> number(3650.4, "nl"), number(3650.4, "en"), number(-0.4), number(1.046, "nl", 2)
    ('3.650', '3,650', '0', '1,05')
    >>> number(float("nan"))
    ''
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{float(value):,.{decimals}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]  # -0, -0.00: a value that rounds to zero has no sign
    if lang == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    elif lang != "en":
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    return text


def keur(value: Any, lang: str = "nl") -> str:
    """An amount in euros shown in thousands of euros (k€), rounded to whole thousands.

    >>> keur(3_650_000, "nl"), keur(-499.99, "en")
    ('3.650', '0')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return number(float(value) / 1000, lang)


def percent(value: Any, lang: str = "nl", decimals: int = 1) -> str:
    """A decimal share as a percentage: ``12,5%`` (nl) or ``12.5%`` (en).

    >>> percent(0.125, "nl"), percent(0.125, "en")
    ('12,5%', '12.5%')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return number(float(value) * 100, lang, decimals) + "%"


@dataclass(frozen=True)
class Column:
    """A column of a :func:`text_table`: its header (lines split on ``\\n``) and alignment."""

    header: str
    align: str = "right"  # "left" or "right"
    width: int | None = None  # cut longer cells to this width (with "…"); None: as wide as needed


def _cut(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def _rule(row: Sequence[Any]) -> bool:
    return len(row) == 1 and row[0] is None


def text_table(columns: Sequence[Column], rows: Sequence[Sequence[str | None]], *, gap: int = 2) -> str:
    """A plain-text table: headers (one or more lines) over aligned cells.

    A row of a single ``None`` draws a rule of dashes as wide as the table.

    >>> print(text_table([Column("name", "left"), Column("amount\\n(k€)")], [["a", "1"], ["bb", "10"]]))
          amount
    name    (k€)
    a          1
    bb        10
    """
    heads = [c.header.split("\n") for c in columns]
    depth = max((len(h) for h in heads), default=0)
    cells = [[_cut(str(cell), c.width) for cell, c in zip(row, columns, strict=True)] for row in rows if not _rule(row)]
    widths = [max([len(line) for line in head] + [len(row[i]) for row in cells]) for i, head in enumerate(heads)]

    def line(parts: Sequence[str]) -> str:
        out = []
        for text, column, width in zip(parts, columns, widths, strict=True):
            out.append(text.ljust(width) if column.align == "left" else text.rjust(width))
        return (" " * gap).join(out).rstrip()

    lines = []
    for k in range(depth):
        # headers stand at the bottom of their space, so a one-line header sits on the last header line
        lines.append(line([h[k - (depth - len(h))] if k >= depth - len(h) else "" for h in heads]))
    total = sum(widths) + gap * (len(widths) - 1)
    for row in rows:
        if _rule(row):
            lines.append("-" * total)
        else:
            lines.append(line([_cut(str(cell), c.width) for cell, c in zip(row, columns, strict=True)]))
    return "\n".join(lines)


def wrap_header(text: str, width: int, lines: int = 3) -> str:
    """A header wrapped over at most ``lines`` lines of about ``width`` characters, words kept whole
    (the last line cut with "…" where the text needs more lines).

    >>> wrap_header("Strategische gronden Kloosterveen", 12)
    'Strategische\\ngronden\\nKloosterveen'
    >>> wrap_header("Oude Molenstraat (voormalige stadsherberg)", 12)
    'Oude\\nMolenstraat\\n(voormalige…'
    """
    parts = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=True) or [""]
    if len(parts) > lines:
        parts = parts[: lines - 1] + [_cut(" ".join(parts[lines - 1 :]), width)]
    return "\n".join(parts)


# -- short reprs for notebooks ------------------------------------------------------


def _html_table(title: str, rows: Sequence[tuple[str, str]], note: str | None = None) -> str:
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:right'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    foot = f"<p><em>{html.escape(note)}</em></p>" if note else ""
    return f"<div><strong>{html.escape(title)}</strong><table>{body}</table>{foot}</div>"


def _notice(illustrative: bool) -> str | None:
    return "ILLUSTRATIVE: made-up figures, not real project data." if illustrative else None


def _valuation_rows(valuation: Any) -> list[tuple[str, str]]:
    total = valuation.totals()["total"]
    rows = [
        ("complexes", f"{int(total['complexes'])}"),
        ("book value (boekwaarde), k€", keur(total["book_value"], "en")),
        ("end value (eindwaarde), k€", keur(total["end_value"], "en")),
        ("present value (contante waarde), k€", keur(total["present_value"], "en")),
        ("provision (voorziening), k€", keur(total["provision"], "en")),
        ("IFLO norm, k€", keur(valuation.iflo_norm(), "en")),
    ]
    ratio = valuation.ratio()
    if ratio is not None:
        from grex.reserves import nar_grade

        grade = nar_grade(ratio)
        rows.append(("ratio (IFLO), grade", f"{number(ratio, 'en', 2)}, {grade[0] if grade else ''}"))
    return rows


def valuation_repr(valuation: Any) -> str:
    """A few lines with the headline figures of a :class:`~grex.valuation.Valuation`."""
    scenario = valuation.scenario
    head = f"<Valuation {scenario.name!r}, 1-1-{scenario.valuation_year}>"
    lines = [head] + [f"  {k}: {v}" for k, v in _valuation_rows(valuation)]
    notice = _notice(scenario.illustrative)
    if notice:
        lines.append(f"  {notice}")
    lines.append("  tables: .complexes(), .years(), .totals_frame()")
    return "\n".join(lines)


def valuation_html(valuation: Any) -> str:
    """A small HTML table of the headline figures of a valuation (for notebooks)."""
    scenario = valuation.scenario
    title = f"Valuation {scenario.name}, 1-1-{scenario.valuation_year}"
    return _html_table(title, _valuation_rows(valuation), _notice(scenario.illustrative))


def _simulation_rows(simulation: Any) -> list[tuple[str, str]]:
    percentiles = simulation.percentiles()
    rows = [
        ("draws, seed", f"{number(simulation.draws, 'en')}, {simulation.seed}"),
        ("present value deterministic, k€", keur(float(simulation.base.result.present_value.sum()), "en")),
        ("present value P5 / P50 / P95, k€", " / ".join(keur(percentiles[p], "en") for p in ("p5", "p50", "p95"))),
        (
            f"required capacity at {percent(simulation.confidence, 'en', 0)}, k€",
            keur(simulation.required_capacity, "en"),
        ),
        ("probability of a loss", percent(simulation.probability_of_loss, "en")),
    ]
    if simulation.ratio is not None:
        rows.append(("ratio, grade", f"{number(simulation.ratio, 'en', 2)}, {simulation.grade}"))
    return rows


def simulation_repr(simulation: Any) -> str:
    """A few lines with the headline figures of a :class:`~grex.montecarlo.Simulation`."""
    scenario = simulation.base.scenario
    lines = [f"<Simulation {scenario.name!r}, 1-1-{scenario.valuation_year}>"]
    lines += [f"  {k}: {v}" for k, v in _simulation_rows(simulation)]
    notice = _notice(scenario.illustrative)
    if notice:
        lines.append(f"  {notice}")
    lines.append("  tables: .per_complex(), .reserve_path(), .to_frame()")
    return "\n".join(lines)


def simulation_html(simulation: Any) -> str:
    """A small HTML table of the headline figures of a simulation (for notebooks)."""
    scenario = simulation.base.scenario
    title = f"Simulation {scenario.name}, 1-1-{scenario.valuation_year}"
    return _html_table(title, _simulation_rows(simulation), _notice(scenario.illustrative))


def _diff_rows(result: Any) -> list[tuple[str, str]]:
    EFFECT_LABELS = getattr(result, "effect_labels", {})  # noqa: N806 - the table of grex.diff

    before, after = result.total("present_value")
    effects = result.portfolio("present_value")
    largest = effects.abs().sort_values(ascending=False)
    rows = [("present value before, k€", keur(before, "en"))]
    for effect in largest.index[:3]:
        if abs(effects[effect]) >= 500:
            rows.append((f"  {EFFECT_LABELS.get(effect, effect)} ({effect}), k€", keur(effects[effect], "en")))
    rows.append(("present value after, k€", keur(after, "en")))
    rows.append(("complexes", f"{len(result.projects)} ({', '.join(_changes(result))})"))
    return rows


def _changes(result: Any) -> list[str]:
    counts: dict[str, int] = {}
    for change in result.change:
        counts[change] = counts.get(change, 0) + 1
    return [f"{n} {change}" for change, n in counts.items()]


def diff_repr(result: Any) -> str:
    """A few lines of a :class:`~grex.diff.DiffResult`: the totals and the three largest effects."""
    b, a = result.before.scenario, result.after.scenario
    lines = [f"<DiffResult {b.name!r} (1-1-{b.valuation_year}) -> {a.name!r} (1-1-{a.valuation_year})>"]
    lines += [f"  {k}: {v}" for k, v in _diff_rows(result)]
    notice = _notice(result.illustrative)
    if notice:
        lines.append(f"  {notice}")
    lines.append("  tables: .table(), .long(), .portfolio_frame()")
    return "\n".join(lines)


def diff_html(result: Any) -> str:
    """A small HTML table of a difference analysis (for notebooks)."""
    b, a = result.before.scenario, result.after.scenario
    title = f"Difference analysis {b.name} -> {a.name}"
    return _html_table(title, _diff_rows(result), _notice(result.illustrative))
