"""The section "Verschillenanalyse" of the MPG report, from a :class:`~grex.diff.DiffResult`.

``grex report SCENARIO --previous BEFORE.toml`` passes it through the report's
hook::

    build_report(valuation, simulation, extra_sections=lambda labels: [diff_section(result, labels)])
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from grex.diff import EFFECT_LABELS, DiffResult
from grex.plot.waterfall import plot_waterfall
from grex.report.content import Chart, Column, Section, Table, untitled
from grex.report.labels import Labels

__all__ = ["diff_section"]

#: Complexes with the largest change that get a waterfall of their own.
LARGEST = 3

_WORDS = {
    "nl": {
        "title": "Verschillenanalyse",
        "intro": (
            "Het verschil met de vorige MPG ({before}, waardering 1-1-{before_year}) per effect, bepaald door de "
            "invoer één voor één van de vorige naar de huidige MPG te wijzigen in de volgorde van de tabel; de "
            "effecten tellen op tot het totale verschil, tot op de cent. Positief is een beter resultaat."
        ),
        "portfolio": "Verschillenanalyse portefeuille",
        "complexes": "Verschillenanalyse per complex (contante waarde)",
        "effect": "Effect",
        "end_value": "eindwaarde",
        "present_value": "contante waarde",
        "before": "Vorige MPG",
        "after": "Huidige MPG",
        "complex": "Complex",
        "change": "Verschil",
        "omitted": "Effecten van minder dan € 0,50 zijn weggelaten.",
        "caption": (
            "Van de contante waarde van de vorige MPG (eerste balk) naar die van dit MPG (laatste balk): elke "
            "tussenliggende balk is één effect, licht als het resultaat verbetert, donker gearceerd als het "
            "verslechtert."
        ),
    },
    "en": {
        "title": "Difference analysis",
        "intro": (
            "The change since the previous MPG ({before}, valuation 1-1-{before_year}) per effect, found by changing "
            "the inputs one at a time from the previous to the present MPG in the order of the table; the effects add "
            "up to the total change, to the cent. Positive is a better result."
        ),
        "portfolio": "Difference analysis of the portfolio",
        "complexes": "Difference analysis per complex (present value)",
        "effect": "Effect",
        "end_value": "end value",
        "present_value": "present value",
        "before": "Previous MPG",
        "after": "Present MPG",
        "complex": "Complex",
        "change": "Change",
        "omitted": "Effects under € 0.50 are left out.",
        "caption": (
            "From the present value of the previous MPG (first bar) to that of this one (last bar): each bar between "
            "is one effect, light where the result improves, dark and hatched where it worsens."
        ),
    },
}


def _effect_label(effect: str, lang: str) -> str:
    return EFFECT_LABELS[effect] if lang == "nl" else effect.replace("_", " ")


def diff_section(result: DiffResult, labels: Labels) -> Section:
    """The portfolio effects, the effects per complex and the waterfalls as a report section."""
    lang = labels.lang
    words = _WORDS[lang]
    before = result.before.scenario
    intro = words["intro"].format(before=before.name, before_year=before.valuation_year)

    rows = [(words["before"], *(result.total(m)[0] for m in ("end_value", "present_value")))]
    effects = [
        e for e in result.order if any(abs(result.portfolio(m)[e]) >= 0.5 for m in ("end_value", "present_value"))
    ]
    for effect in effects:
        amounts = [float(result.portfolio(m)[effect]) for m in ("end_value", "present_value")]
        rows.append((_effect_label(effect, lang), *amounts))
    rows.append((words["after"], *(result.total(m)[1] for m in ("end_value", "present_value"))))
    portfolio = Table(
        "diff_portfolio",
        words["portfolio"],
        words["title"][:31],
        pd.DataFrame(rows, columns=["effect", "end_value", "present_value"]),
        (
            Column("effect", words["effect"]),
            Column("end_value", words["end_value"].capitalize(), "keur"),
            Column("present_value", words["present_value"].capitalize(), "keur"),
        ),
        row_kinds=("subtotal", *("row",) * len(effects), "total"),
        notes=(words["omitted"],),
    )

    wide = result.table()
    wide = wide[wide["measure"] == "present_value"]
    shown = [e for e in result.order if (wide[e].abs() >= 0.5).any()]
    complexes = Table(
        "diff_complexes",
        words["complexes"],
        (words["title"] + " complexen")[:31] if lang == "nl" else "Differences per complex",
        wide.reset_index(drop=True),
        (
            Column("name", words["complex"]),
            Column("before", words["before"], "keur"),
            *(Column(e, _effect_label(e, lang), "keur") for e in shown),
            Column("after", words["after"], "keur"),
        ),
        row_kinds=tuple("total" if c == "total" else "row" for c in wide["change"]),
        wide=True,
    )

    charts = [
        Chart(
            "diff_waterfall",
            f"{words['title']}: {words['present_value']}",
            lambda fig: untitled(plot_waterfall(result, figure=fig)),
            caption=words["caption"],
            size=(7.0, 3.9),
        )
    ]
    for project in result.largest(LARGEST):
        name = result.names[result.projects.index(project)]
        charts.append(
            Chart(
                f"diff_waterfall_{project}",
                f"{words['title']}: {name}",
                functools.partial(_draw_untitled, result, project),
                caption=words["caption"],
                size=(7.0, 3.9),
            )
        )
    return Section("diff", words["title"], paragraphs=(intro,), tables=(portfolio, complexes), charts=tuple(charts))


def _draw_untitled(result: DiffResult, project: str, figure: Any) -> Any:
    return untitled(plot_waterfall(result, project, figure=figure))
