"""The section "Gevoeligheidsanalyse" of the MPG report, from a :class:`~grex.sensitivity.Sensitivity`.

Pass it through the report's hook::

    build_report(valuation, simulation, extra_sections=lambda labels: [sensitivity_section(result, labels)])
"""

from __future__ import annotations

from grex.plot.tornado import tornado_figure
from grex.report.content import Chart, Column, Section, Table
from grex.report.labels import Labels
from grex.sensitivity import RATE_STEP, Sensitivity

__all__ = ["sensitivity_section"]

_WORDS = {
    "nl": {
        "title": "Gevoeligheidsanalyse",
        "intro": (
            "Elke factor op zijn lage en hoge waarde, de andere op de basis (het plan: tempo 1, geen vertraging, "
            "geen indexschokken, geen risico's); rente en disconteringsvoet {step} procentpunt lager en hoger. "
            "Het aandeel in de variantie is de variantie van de contante waarde met alleen die factor variabel, "
            "gedeeld door de som daarvan over de factoren ({draws} trekkingen, seed {seed}); samenhang tussen de "
            "factoren: {interaction}."
        ),
        "tornado": "Tornado: contante waarde portefeuille",
        "shares": "Aandeel in de variantie van de contante waarde",
        "driver": "factor",
        "low_setting": "lage waarde",
        "high_setting": "hoge waarde",
        "pv_low": "CW laag",
        "pv_high": "CW hoog",
        "range": "bandbreedte",
        "sd": "standaardafwijking",
        "share": "aandeel",
        "chart": "Tornado: contante waarde portefeuille",
    },
    "en": {
        "title": "Sensitivity analysis",
        "intro": (
            "Each driver at its low and high value, the others at the base (the plan: pace 1, no delay, no index "
            "shocks, no risk events); interest and discount rates {step} percentage point lower and higher. The "
            "share of the variance is the variance of the present value with only that driver varying, divided by "
            "the sum over the drivers ({draws} draws, seed {seed}); drivers moving together: {interaction}."
        ),
        "tornado": "Tornado: present value of the portfolio",
        "shares": "Share of the variance of the present value",
        "driver": "driver",
        "low_setting": "low value",
        "high_setting": "high value",
        "pv_low": "PV low",
        "pv_high": "PV high",
        "range": "range",
        "sd": "standard deviation",
        "share": "share",
        "chart": "Tornado: present value of the portfolio",
    },
}


def sensitivity_section(result: Sensitivity, labels: Labels) -> Section:
    """The tornado table and chart and the variance shares as a report section."""
    words = _WORDS[labels.lang]
    intro = words["intro"].format(
        step=labels.number(RATE_STEP * 100, 0),
        draws=labels.number(result.draws),
        seed=result.seed,
        interaction=labels.percent(result.variance_totals["interaction"]),
    )
    tornado = Table(
        "sensitivity_tornado",
        words["tornado"],
        "Gevoeligheid" if labels.lang == "nl" else "Sensitivity",
        result.tornado,
        (
            Column("label", words["driver"]),
            Column("low_setting", words["low_setting"]),
            Column("high_setting", words["high_setting"]),
            Column("present_value_low", words["pv_low"], "keur"),
            Column("present_value_high", words["pv_high"], "keur"),
            Column("range", words["range"], "keur"),
        ),
    )
    shares = Table(
        "sensitivity_variance",
        words["shares"],
        "Variantie" if labels.lang == "nl" else "Variance",
        result.variance_shares,
        (
            Column("label", words["driver"]),
            Column("standard_deviation", words["sd"], "keur"),
            Column("share", words["share"], "percent"),
        ),
    )
    table = result.tornado
    lang = labels.lang
    chart = Chart(
        "sensitivity_tornado",
        words["chart"],
        lambda fig: tornado_figure(table, lang=lang, fig=fig),
        size=(7.0, 0.45 * len(table) + 1.4),
    )
    return Section("sensitivity", words["title"], paragraphs=(intro,), tables=(tornado, shares), charts=(chart,))
