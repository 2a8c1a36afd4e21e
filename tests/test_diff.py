"""The difference analysis (grex diff): effects add up, single changes land on their own effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, write_case
from grex.api import diff_scenarios
from grex.cli import main
from grex.diff import DEFAULT_ORDER, EFFECTS, MEASURES, TOTAL_ID, resolve_order
from grex.errors import InputError
from grex.plot.waterfall import plot_waterfall

BASE_PROJECTS = [
    {"project": "a", "name": "Alpha", "book_value": 1_000_000},
    {"project": "b", "name": "Beta", "book_value": 500_000, "end_year": 2030},
]
BASE_FLOWS = [
    {"project": "a", "year": 2024, "amount": 200_000},
    {"project": "a", "year": 2025, "amount": 300_000, "category": "woonrijp"},
    {"project": "a", "year": 2025, "type": "revenue", "amount": 900_000},
    {"project": "a", "year": 2026, "type": "revenue", "amount": 700_000},
    {"project": "b", "year": 2024, "amount": 100_000, "category": "plankosten"},
    {"project": "b", "year": 2027, "type": "revenue", "amount": 800_000, "category": "bedrijven"},
]
PARAMETERS = {"interest_rate": 0.01, "discount_rate": 0.02, "cost_index": {"2025": 0.04, "default": 0.02}}


def pair(tmp_path: Path, after_projects=None, after_flows=None, *, after_parameters=None, after_year=2024, **before):
    """Write BEFORE (the base case, or ``before`` overrides) and AFTER; return both scenario paths."""
    first = write_case(
        tmp_path / "before",
        before.get("projects", BASE_PROJECTS),
        before.get("flows", BASE_FLOWS),
        parameters=before.get("parameters", PARAMETERS),
        valuation_year=before.get("valuation_year", 2024),
        name="before",
    )
    second = write_case(
        tmp_path / "after",
        BASE_PROJECTS if after_projects is None else after_projects,
        BASE_FLOWS if after_flows is None else after_flows,
        parameters=PARAMETERS if after_parameters is None else after_parameters,
        valuation_year=after_year,
        name="after",
    )
    return first, second


def check_adds_up(result) -> None:
    """Per complex and for the portfolio: before + effects == after, to the cent.

    This holds by construction (the chain's ends are the real valuations), whatever the
    attribution; test_diff_handworked.py checks the attribution itself."""
    table = result.table()
    for _, row in table.iterrows():
        total = round(row["before"] + sum(row[e] for e in result.order), 2)
        assert total == pytest.approx(row["after"], abs=1e-6), row["project"]
        assert row["total_change"] == pytest.approx(round(row["after"] - row["before"], 2), abs=1e-6)
    for measure in MEASURES:
        before, after = result.total(measure)
        assert round(before + result.portfolio(measure).sum(), 2) == pytest.approx(after, abs=1e-6)


def only(result, effect: str) -> None:
    """The whole change sits in ``effect``; every other effect is exactly zero."""
    check_adds_up(result)
    for measure in MEASURES:
        effects = result.effects[measure]
        for k, name in enumerate(result.order):
            if name != effect:
                assert np.all(effects[k] == 0.0), (measure, name, effects[k])
    assert np.any(result.effects["end_value"][result.order.index(effect)] != 0.0) or effect == "discount"
    assert np.any(result.effects["present_value"][result.order.index(effect)] != 0.0)


def test_no_change_gives_no_effects(tmp_path):
    result = diff_scenarios(*pair(tmp_path))
    check_adds_up(result)
    for measure in MEASURES:
        assert not result.effects[measure].any()


def test_only_discount_rate(tmp_path):
    result = diff_scenarios(*pair(tmp_path, after_parameters={**PARAMETERS, "discount_rate": 0.03}))
    only(result, "discount")
    assert not result.effects["end_value"].any()  # the end value does not depend on the discount rate


def test_only_interest(tmp_path):
    result = diff_scenarios(*pair(tmp_path, after_parameters={**PARAMETERS, "interest_rate": 0.02}))
    only(result, "interest")


def test_only_cost_index(tmp_path):
    result = diff_scenarios(*pair(tmp_path, after_parameters={**PARAMETERS, "cost_index": 0.05}))
    only(result, "cost_index")


def test_only_one_amount_changed(tmp_path):
    flows = [dict(f) for f in BASE_FLOWS]
    flows[0]["amount"] = 260_000  # a's bouwrijp estimate of 2024 up
    result = diff_scenarios(*pair(tmp_path, after_flows=flows))
    only(result, "cost_bouwrijp")
    # b did not change at all
    assert not result.complex("b", "end_value").any()
    # 60,000 more cost in 2024 with a 10% margin, two years of 1% interest to 31-12-2026
    assert result.complex("a", "end_value")["cost_bouwrijp"] == pytest.approx(-60_000 * 1.1 * 1.01**2, abs=0.01)


def test_one_amount_changed_in_a_category_over_several_years(tmp_path):
    flows = [*BASE_FLOWS, {"project": "a", "year": 2026, "amount": 100_000}]
    after = [dict(f) for f in flows]
    after[-1]["amount"] = 150_000
    result = diff_scenarios(*pair(tmp_path, after_flows=after, flows=flows))
    only(result, "cost_bouwrijp")


def test_only_a_year_shifted(tmp_path):
    flows = [dict(f) for f in BASE_FLOWS]
    flows[3]["year"] = 2027  # a's last plot sale a year later
    result = diff_scenarios(*pair(tmp_path, after_flows=flows))
    only(result, "phasing")
    assert result.complex("a", "end_value")["phasing"] < 0  # later revenue, more interest


def test_shift_and_price_change_split_into_phasing_and_amount(tmp_path):
    flows = [dict(f) for f in BASE_FLOWS]
    flows[3].update(year=2027, amount=650_000)  # later and 50,000 lower
    result = diff_scenarios(*pair(tmp_path, after_flows=flows))
    check_adds_up(result)
    a = result.complex("a", "end_value")
    # the total fell by 50,000; the fall is placed in the year whose amount fell (2026),
    # so it carries one year of interest to the end year 2027
    assert a["revenue_wonen_vrij"] == pytest.approx(-50_000 * 1.01, abs=0.01)
    assert a["phasing"] < 0
    assert (a.drop(["phasing", "revenue_wonen_vrij"]) == 0).all()


def test_valuation_date_and_realisation_as_planned(tmp_path):
    """Rolled forward one year with the flows of 2024 realised exactly as planned (margin
    included), the end value does not move at all; the present value gains a year of discounting."""
    before = dict(
        valuation_year=2024,
        projects=[{"project": "a", "name": "Alpha", "book_value": 1_000_000}],
        flows=[
            {"project": "a", "year": 2024, "amount": 200_000},
            {"project": "a", "year": 2026, "type": "revenue", "amount": 1_500_000},
        ],
        parameters={"interest_rate": 0.01, "discount_rate": 0.02, "cost_index": 0.0},
    )
    # planned 1-1-2025: 1,000,000 + 10,000 interest + 220,000 costs with margin
    after_projects = [{"project": "a", "name": "Alpha", "book_value": 1_230_000}]
    after_flows = [{"project": "a", "year": 2026, "type": "revenue", "amount": 1_500_000}]
    result = diff_scenarios(
        *pair(tmp_path, after_projects, after_flows, after_parameters=before["parameters"], after_year=2025, **before)
    )
    check_adds_up(result)
    a = {m: result.complex("a", m) for m in MEASURES}
    assert (a["end_value"] == 0).all()
    assert a["present_value"]["valuation_date"] == pytest.approx(result.total("present_value", "a")[0] * 0.02, abs=0.02)
    assert (a["present_value"].drop("valuation_date") == 0).all()


def test_realisation_takes_the_actual_book_value(tmp_path):
    before = dict(
        projects=[{"project": "a", "name": "Alpha", "book_value": 1_000_000}],
        flows=[
            {"project": "a", "year": 2024, "amount": 200_000},
            {"project": "a", "year": 2026, "type": "revenue", "amount": 1_500_000},
        ],
        parameters={"interest_rate": 0.01, "discount_rate": 0.02, "cost_index": 0.0},
    )
    # only 150,000 spent in 2024: book value 1-1-2025 = 1,000,000 + 10,000 + 150,000
    after_projects = [{"project": "a", "name": "Alpha", "book_value": 1_160_000}]
    after_flows = [{"project": "a", "year": 2026, "type": "revenue", "amount": 1_500_000}]
    result = diff_scenarios(
        *pair(tmp_path, after_projects, after_flows, after_parameters=before["parameters"], after_year=2025, **before)
    )
    check_adds_up(result)
    ev = result.complex("a", "end_value")
    # planned 1,230,000, actual 1,160,000: 70,000 better, with interest over 2025 and 2026
    assert ev["realisation"] == pytest.approx(70_000 * 1.01**2, abs=0.01)
    assert ev["valuation_date"] == 0


def test_index_rate_of_the_past_year_is_an_index_effect(tmp_path):
    """BEFORE expected 3% over 2024, AFTER restates its estimates with the 5% that came: the
    same estimates, so no amount effect; the difference is the cost index."""
    parameters_before = {"interest_rate": 0.0, "discount_rate": 0.02, "cost_index": {"2024": 0.03, "default": 0.02}}
    parameters_after = {"interest_rate": 0.0, "discount_rate": 0.02, "cost_index": {"2024": 0.05, "default": 0.02}}
    before = dict(
        projects=[{"project": "a", "name": "Alpha"}],
        flows=[
            {"project": "a", "year": 2025, "amount": 100_000},
            {"project": "a", "year": 2026, "type": "revenue", "amount": 300_000},
        ],
        parameters=parameters_before,
    )
    after_flows = [
        {"project": "a", "year": 2025, "amount": 105_000},
        {"project": "a", "year": 2026, "type": "revenue", "amount": 300_000},
    ]
    result = diff_scenarios(
        *pair(
            tmp_path,
            [{"project": "a", "name": "Alpha"}],
            after_flows,
            after_parameters=parameters_after,
            after_year=2025,
            **before,
        )
    )
    check_adds_up(result)
    ev = result.complex("a", "end_value")
    # BEFORE: 100,000 x 1.03 x 1.1 = 113,300; AFTER: 105,000 x 1.1 = 115,500
    assert ev["cost_index"] == pytest.approx(-2_200, abs=0.01)
    assert ev["cost_bouwrijp"] == 0


def test_new_and_closed_complexes(tmp_path):
    after_projects = [BASE_PROJECTS[0], {"project": "c", "name": "Gamma", "book_value": 50_000, "end_year": 2026}]
    after_flows = [*BASE_FLOWS[:4], {"project": "c", "year": 2026, "type": "revenue", "amount": 80_000}]
    result = diff_scenarios(*pair(tmp_path, after_projects, after_flows))
    check_adds_up(result)
    assert dict(zip(result.projects, result.change, strict=True)) == {"a": "matched", "c": "new", "b": "closed"}
    for measure in MEASURES:
        before_b, _ = result.total(measure, "b")
        _, after_c = result.total(measure, "c")
        b, c = result.complex("b", measure), result.complex("c", measure)
        assert b["closed"] == pytest.approx(-before_b, abs=1e-9) and (b.drop("closed") == 0).all()
        assert c["new"] == pytest.approx(after_c, abs=1e-9) and (c.drop("new") == 0).all()
        assert not result.complex("a", measure).any()


def test_order_changes_attribution_not_total(tmp_path):
    flows = [dict(f) for f in BASE_FLOWS]
    flows[3].update(year=2027, amount=650_000)
    after_parameters = {**PARAMETERS, "interest_rate": 0.03, "cost_index": 0.05}
    paths = pair(tmp_path, after_flows=flows, after_parameters=after_parameters)
    default = diff_scenarios(*paths)
    swapped = diff_scenarios(*paths, order="revenues,phasing,cost_index,interest")
    check_adds_up(default)
    check_adds_up(swapped)
    assert swapped.order[:4] == (
        "revenue_wonen_sociaal",
        "revenue_wonen_betaalbaar",
        "revenue_wonen_vrij",
        "revenue_bedrijven",
    )
    for measure in MEASURES:
        assert default.total(measure) == swapped.total(measure)
        d, s = default.portfolio(measure), swapped.portfolio(measure)
        assert d.sum() == pytest.approx(s.sum(), abs=0.005)
    d, s = default.portfolio("end_value"), swapped.portfolio("end_value")
    assert d["interest"] != s["interest"] or d["phasing"] != s["phasing"]


def test_resolve_order():
    assert resolve_order(None) == DEFAULT_ORDER
    assert sorted(resolve_order("new,closed,amounts")) == sorted(EFFECTS)
    with pytest.raises(InputError, match="unknown effect 'rent'"):
        resolve_order("rent")
    with pytest.raises(InputError, match="twice"):
        resolve_order("interest,interest")
    with pytest.raises(InputError, match="after 'valuation_date'"):
        resolve_order("realisation,valuation_date")


def test_same_id_different_name_is_bad_input(tmp_path, capsys):
    after_projects = [{**BASE_PROJECTS[0], "name": "Alfa-Noord"}, BASE_PROJECTS[1]]
    before, after = pair(tmp_path, after_projects)
    assert main(["diff", str(before), str(after), "--out", str(tmp_path / "out")]) == 2
    message = capsys.readouterr().err
    assert "'a'" in message and "Alfa-Noord" in message and "Alpha" in message
    assert str(tmp_path / "after") in message and str(tmp_path / "before") in message
    assert not (tmp_path / "out").exists()


def test_bad_order_and_reversed_years_are_bad_input(tmp_path):
    before, after = pair(tmp_path, valuation_year=2024, after_year=2025, flows=BASE_FLOWS[2:4] + BASE_FLOWS[5:])
    assert main(["diff", str(before), str(after), "--order", "interest,nonsense", "--out", str(tmp_path / "o")]) == 2
    assert main(["diff", str(after), str(before), "--out", str(tmp_path / "o")]) == 2


def test_waterfall_figure(tmp_path):
    result = diff_scenarios(*pair(tmp_path, after_parameters={**PARAMETERS, "interest_rate": 0.02}))
    figure = plot_waterfall(result)
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["vorig MPG: before (1-1-2024)", "Rente", "dit MPG: after (1-1-2024)"]
    assert "Verschillenanalyse" in figure.axes[0].get_title()
    assert plot_waterfall(result, "a", measure="end_value").axes


@pytest.mark.slow
def test_example_diff(tmp_path, capsys):
    """The example: MPG 2023 -> MPG 2024 of the illustrative portfolio, through the command."""
    out = tmp_path / "diff"
    before, after = ROOT / "scenarios" / "assen-2023.toml", ROOT / "scenarios" / "assen-2024.toml"
    assert main(["diff", str(before), str(after), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Verschillenanalyse" in printed and "Realisatie" in printed and "ILLUSTRATIVE" in printed
    table = pd.read_csv(out / "diff.csv", comment="#")
    assert (out / "waterfall.png").stat().st_size > 0
    assert len(list(out.glob("waterfall-*.png"))) == 5
    effects = list(DEFAULT_ORDER)
    sums = (table["before"] + table[effects].sum(axis=1)).round(2)
    assert np.allclose(sums, table["after"], atol=1e-6)
    totals = table[table["project"] == TOTAL_ID].set_index("measure")
    pv = totals.loc["present_value"]
    # the story of scripts/make_assen_2023.py, sign by sign
    assert pv["interest"] < 0 and pv["cost_index"] < 0 and pv["new"] < 0 and pv["closed"] < 0
    assert pv["discount"] == 0 and pv["revenue_index"] == 0
    rows = table[table["measure"] == "end_value"].set_index("project")
    assert rows.at["kloosterakker", "phasing"] < 0
    assert rows.at["klenckestraat", "cost_bodem"] < 0
    assert rows.at["assen_oost", "revenue_wonen_vrij"] < 0
    assert rows.at["werklandschap_assen_zuid", "realisation"] > 0
    assert rows.at["havenkwartier_fase1", "change"] == "new" and rows.at["veemarktterrein", "change"] == "closed"
    assert abs(totals.at["end_value", "valuation_date"]) < 1.0  # rolled forward as planned: the same end value
