"""The section "Gevoeligheidsanalyse" of the MPG report, from a :class:`~grex.sensitivity.Sensitivity`.

Pass it through the report's hook::

    build_report(valuation, simulation, extra_sections=lambda labels: [sensitivity_section(result, labels)])
"""

from __future__ import annotations

from grex.plot.tornado import tornado_figure
from grex.report.content import Chart, Column, Section, Table, std_kind, untitled
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
        "tornado": "Contante waarde portefeuille per risicofactor, laag en hoog",
        "shares": "Aandeel in de variantie van de contante waarde",
        "driver": "Risicofactor",
        "low_setting": "Lage waarde",
        "high_setting": "Hoge waarde",
        "pv_low": "Contante waarde bij lage waarde",
        "pv_high": "Contante waarde bij hoge waarde",
        "range": "Bandbreedte (hoog − laag)",
        "sd": "Standaardafwijking",
        "share": "Aandeel in de variantie",
        "chart": "Tornado: contante waarde portefeuille",
        "caption": (
            "Hoeveel de contante waarde van de portefeuille verandert als één risicofactor op zijn lage of hoge "
            "waarde staat en de andere op het plan; de langste balken wegen het zwaarst."
        ),
    },
    "en": {
        "title": "Sensitivity analysis",
        "intro": (
            "Each driver at its low and high value, the others at the base (the plan: pace 1, no delay, no index "
            "shocks, no risk events); interest and discount rates {step} percentage point lower and higher. The "
            "share of the variance is the variance of the present value with only that driver varying, divided by "
            "the sum over the drivers ({draws} draws, seed {seed}); drivers moving together: {interaction}."
        ),
        "tornado": "Present value of the portfolio per driver, low and high",
        "shares": "Share of the variance of the present value",
        "driver": "Driver",
        "low_setting": "Low value",
        "high_setting": "High value",
        "pv_low": "Present value at the low value",
        "pv_high": "Present value at the high value",
        "range": "Range (high − low)",
        "sd": "Standard deviation",
        "share": "Share of the variance",
        "chart": "Tornado: present value of the portfolio",
        "caption": (
            "How much the portfolio's present value changes with one driver at its low or high value and the others "
            "at the plan; the longest bars weigh most."
        ),
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
    variance = result.variance_shares.copy()
    # rounded to its standard error, by the same rule as the risk analysis's table of drivers
    variance["kind:standard_deviation"] = [std_kind(float(sd), result.draws) for sd in variance["standard_deviation"]]
    shares = Table(
        "sensitivity_variance",
        words["shares"],
        "Variantie" if labels.lang == "nl" else "Variance",
        variance,
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
        lambda fig: untitled(tornado_figure(table, lang=lang, fig=fig)),
        caption=words["caption"],
        size=(7.0, 0.45 * len(table) + 1.4),
    )
    return Section("sensitivity", words["title"], paragraphs=(intro,), tables=(tornado, shares), charts=(chart,))
