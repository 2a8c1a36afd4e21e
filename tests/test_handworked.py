"""Hand-worked cases for every rule of docs/rules.md and docs/reserves.md sections 1–4, run through ``grex run``.

Each expected figure is worked out in the comments step by step, as a
controller would on paper; the code under test never computes its own
expectation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import EURO
from grex.cli import main


def run(scenario: Path, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    complexes = pd.read_csv(out / "complexes.csv", comment="#").set_index("project")
    years = pd.read_csv(out / "years.csv", comment="#")
    summary = json.loads((out / "summary.json").read_text())
    return complexes, years, summary


def test_domain_check_no_flows_present_value(case, tmp_path):
    """docs/rules.md section 7: valuation 1-1-2017, no flows, no interest, book
    value X, ending 31-12-2025: present value -X / 1.02**9."""
    scenario = case(
        [{"project": "a", "book_value": 1_000_000, "end_year": 2025}],
        [],
        valuation_year=2017,
        parameters={"interest_rate": 0.0, "discount_rate": 0.02},
    )
    complexes, _, _ = run(scenario, tmp_path)
    row = complexes.loc["a"]
    assert row["end_value"] == pytest.approx(-1_000_000, abs=EURO)
    # 1.02**9 = 1.195092568...; 1,000,000 / 1.195092568 = 836,755.27
    assert row["present_value"] == pytest.approx(-836_755.27, abs=EURO)
    assert row["duration"] == 9
    assert row["end_year"] == 2025


def test_interest_indexation_margin_and_discounting(case, tmp_path):
    """Book value 1,000 at 1-1-2024, 1% interest, costs 100 in 2024 and 2025
    at price level 2024 with 4% cost index and a 10% margin, revenue 500 in
    2026 not indexed, discount rate 2%.

    costs 2024: 100 x 1.00 x 1.1 = 110.00;  2025: 100 x 1.04 x 1.1 = 114.40
    B2024 = 1,000.00, interest 10.00      -> B at 31-12-2024 = 1,120.00
    interest 11.20                         -> B at 31-12-2025 = 1,245.60
    interest 12.456, revenue 500           -> B at 31-12-2026 =   758.056
    end value -758.056; present value -758.056 / 1.02**3 = -714.3331
    """
    scenario = case(
        [{"project": "a", "book_value": 1000}],
        [
            {"project": "a", "year": 2024, "amount": 100},
            {"project": "a", "year": 2025, "amount": 100},
            {"project": "a", "year": 2026, "type": "revenue", "amount": 500},
        ],
        parameters={
            "interest_rate": 0.01,
            "discount_rate": 0.02,
            "uncertainty_margin": 0.10,
            "cost_index": 0.04,
            "revenue_index": 0.0,
        },
    )
    complexes, years, _ = run(scenario, tmp_path)
    row = complexes.loc["a"]
    assert row["remaining_costs_price_level"] == pytest.approx(220.0, abs=EURO)
    assert row["remaining_costs"] == pytest.approx(224.40, abs=EURO)
    assert row["uncertainty_margin_amount"] == pytest.approx(20.40, abs=EURO)
    assert row["remaining_revenues"] == pytest.approx(500.0, abs=EURO)
    assert row["interest"] == pytest.approx(33.66, abs=EURO)
    assert row["end_value"] == pytest.approx(-758.06, abs=EURO)
    assert row["present_value"] == pytest.approx(-714.33, abs=EURO)
    assert row["provision"] == pytest.approx(714.33, abs=EURO)
    assert row["poc_profit"] == 0
    assert row["end_year"] == 2026 and row["duration"] == 3
    path = years[years["project"] == "a"].set_index("year")
    assert path["book_value"].tolist() == pytest.approx([1120.00, 1245.60, 758.06], abs=EURO)
    assert path["interest"].tolist() == pytest.approx([10.00, 11.20, 12.46], abs=EURO)
    assert path["costs"].tolist() == pytest.approx([110.00, 114.40, 0.0], abs=EURO)


def test_provision_on_end_value_basis(case, tmp_path):
    """The same loss with provision_basis = end_value: provision 758.06."""
    scenario = case(
        [{"project": "a", "book_value": 1000}],
        [
            {"project": "a", "year": 2024, "amount": 100},
            {"project": "a", "year": 2025, "amount": 100},
            {"project": "a", "year": 2026, "type": "revenue", "amount": 500},
        ],
        parameters={"interest_rate": 0.01, "cost_index": 0.04, "provision_basis": "end_value"},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "provision"] == pytest.approx(758.06, abs=EURO)


def test_negative_book_value_earns_interest(case, tmp_path):
    """Interest is symmetric: book value -100, 10% interest, one year, no flows:
    B at 31-12-2024 = -100 - 10 = -110, end value +110 (a profit)."""
    scenario = case(
        [{"project": "a", "book_value": -100}],
        [],
        parameters={"interest_rate": 0.1, "discount_rate": 0.0},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "end_value"] == pytest.approx(110.0, abs=EURO)
    assert complexes.loc["a", "interest"] == pytest.approx(-10.0, abs=EURO)


def test_end_year_after_last_flow_keeps_charging_interest(case, tmp_path):
    """end_year 2025 with a last flow in 2024: interest runs two years.
    B = 100; 2024: +5 +0 -> 105; 2025: +5.25 -> 110.25; end value -110.25;
    present value -110.25 / 1.02**2 = -105.97"""
    scenario = case(
        [{"project": "a", "book_value": 100, "end_year": 2025}],
        [],
        parameters={"interest_rate": 0.05, "discount_rate": 0.02},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "end_value"] == pytest.approx(-110.25, abs=EURO)
    assert complexes.loc["a", "present_value"] == pytest.approx(-105.97, abs=EURO)


def test_price_level_before_valuation_year(case, tmp_path):
    """Estimates in prices of 1-1-2023, valuation 2024, cost index 6% over
    2023 and 2% after, no margin, no interest, no discounting:
    cost 100 in 2024 -> 106.00; cost 100 in 2025 -> 100 x 1.06 x 1.02 = 108.12.
    The year 2023 itself is never a flow year."""
    scenario = case(
        [{"project": "a", "price_level": 2023, "uncertainty_margin": 0.0}],
        [{"project": "a", "year": 2024, "amount": 100}, {"project": "a", "year": 2025, "amount": 100}],
        parameters={
            "interest_rate": 0.0,
            "discount_rate": 0.0,
            "cost_index": {"2023": 0.06, "default": 0.02},
        },
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "remaining_costs"] == pytest.approx(214.12, abs=EURO)
    assert complexes.loc["a", "end_value"] == pytest.approx(-214.12, abs=EURO)
    assert complexes.loc["a", "remaining_costs_price_level"] == pytest.approx(200.0, abs=EURO)


def test_complex_overrides_margin_and_indexes(case, tmp_path):
    """Complex b overrides the margin (5%) and the cost index (10%); complex
    a follows the scenario (10% margin, 0% index). Cost 1,000 in 2025 each.
    a: 1,000 x 1.00 x 1.10 = 1,100.00; b: 1,000 x 1.10 x 1.05 = 1,155.00."""
    scenario = case(
        [{"project": "a"}, {"project": "b", "uncertainty_margin": 0.05, "cost_index": 0.10}],
        [{"project": "a", "year": 2025, "amount": 1000}, {"project": "b", "year": 2025, "amount": 1000}],
        parameters={"interest_rate": 0.0, "cost_index": 0.0},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "remaining_costs"] == pytest.approx(1100.0, abs=EURO)
    assert complexes.loc["b", "remaining_costs"] == pytest.approx(1155.0, abs=EURO)
    assert complexes.loc["b", "uncertainty_margin_amount"] == pytest.approx(55.0, abs=EURO)


def test_revenue_indexation_stops_after_max_duration(case, tmp_path):
    """Revenue index 2%, revenues of 100 in 2033, 2034 and 2035, valuation 2024:
    2033 is V+9, factor 1.02**9 = 1.195093; later years keep that factor.
    Sum 3 x 119.5093 = 358.53. With indexation after the maximum duration:
    100 x (1.02**9 + 1.02**10 + 1.02**11) = 119.5093 + 121.8994 + 124.3374 = 365.75.
    The duration 2035 - 2024 + 1 = 12 years exceeds 10."""
    projects = [{"project": "a"}]
    flows = [{"project": "a", "year": y, "type": "revenue", "amount": 100} for y in (2033, 2034, 2035)]
    parameters = {"interest_rate": 0.0, "revenue_index": 0.02}
    complexes, _, _ = run(case(projects, flows, parameters=parameters), tmp_path)
    assert complexes.loc["a", "remaining_revenues"] == pytest.approx(358.53, abs=EURO)
    assert complexes.loc["a", "duration"] == 12
    assert bool(complexes.loc["a", "exceeds_max_duration"])
    parameters["index_revenues_after_max_duration"] = True
    complexes, _, _ = run(case(projects, flows, parameters=parameters), tmp_path / "b")
    assert complexes.loc["a", "remaining_revenues"] == pytest.approx(365.75, abs=EURO)


def test_duration_of_exactly_ten_years_is_not_flagged(case, tmp_path):
    scenario = case([{"project": "a", "end_year": 2033}], [], parameters={"interest_rate": 0.0})
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "duration"] == 10
    assert not bool(complexes.loc["a", "exceeds_max_duration"])


def test_poc_interim_profit(case, tmp_path):
    """POC: realised costs 600 and revenues 400; book value -200; remaining cost
    400 in 2024 (no margin, no index), revenue 1,000 in 2025; no interest, no
    discounting. B: -200 + 400 = 200; 200 - 1,000 = -800: result +800.
    Totals: costs 600 + 400 = 1,000; revenues 400 + 1,000 = 1,400.
    Cumulative profit 0.6 x (400 / 1,400) x 800 = 137.142857; minus 50 taken = 87.14."""
    scenario = case(
        [
            {
                "project": "a",
                "book_value": -200,
                "realised_costs": 600,
                "realised_revenues": 400,
                "profit_taken": 50,
                "uncertainty_margin": 0.0,
            }
        ],
        [
            {"project": "a", "year": 2024, "amount": 400},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 1000},
        ],
        parameters={"interest_rate": 0.0, "discount_rate": 0.0, "cost_index": 0.0},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "end_value"] == pytest.approx(800.0, abs=EURO)
    assert complexes.loc["a", "poc_profit"] == pytest.approx(87.14, abs=EURO)
    assert complexes.loc["a", "provision"] == 0


def test_poc_on_present_value_and_end_value(case, tmp_path):
    """The same complex with a 2% discount rate over 2 years:
    present value 800 / 1.02**2 = 768.935; POC 0.6 x 400/1400 x 768.935 - 50 = 81.82;
    on the end value basis 87.14."""
    projects = [
        {"project": "a", "book_value": -200, "realised_costs": 600, "realised_revenues": 400, "profit_taken": 50}
    ]
    flows = [
        {"project": "a", "year": 2024, "amount": 400},
        {"project": "a", "year": 2025, "type": "revenue", "amount": 1000},
    ]
    parameters = {"interest_rate": 0.0, "discount_rate": 0.02, "cost_index": 0.0, "uncertainty_margin": 0.0}
    complexes, _, _ = run(case(projects, flows, parameters=parameters), tmp_path)
    assert complexes.loc["a", "poc_profit"] == pytest.approx(81.82, abs=EURO)
    complexes, _, _ = run(case(projects, flows, parameters={**parameters, "poc_basis": "end_value"}), tmp_path / "b")
    assert complexes.loc["a", "poc_profit"] == pytest.approx(87.14, abs=EURO)


def test_no_poc_without_realised_revenue_and_no_provision_outside_adopted(case, tmp_path):
    """POC needs some realised revenue; provisions and POC are for adopted
    (vastgesteld) complexes only: a planned complex with a loss shows the loss
    but no provision (grex's documented choice)."""
    scenario = case(
        [
            {"project": "profit", "realised_costs": 100},
            {"project": "planned", "status": "voorbereiding", "book_value": 50},
        ],
        [{"project": "profit", "year": 2024, "type": "revenue", "amount": 1000}],
        parameters={"interest_rate": 0.0, "discount_rate": 0.0},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["profit", "end_value"] == pytest.approx(1000.0, abs=EURO)
    assert complexes.loc["profit", "poc_profit"] == 0
    assert complexes.loc["planned", "end_value"] == pytest.approx(-50.0, abs=EURO)
    assert complexes.loc["planned", "provision"] == 0


def test_iflo_norm_ratio_and_grade(case, tmp_path):
    """IFLO: 10% of the book value of vastgesteld (1,000) and strategisch (500)
    land = 150, plus 10% of the remaining costs at price level of vastgesteld
    complexes (2,000 x 1.1 margin = 2,200) = 220: norm 370. The planned complex
    (book value 300, costs 900) does not count. Available 555: ratio 1.5, grade B."""
    scenario = case(
        [
            {"project": "a", "book_value": 1000},
            {"project": "s", "status": "strategisch", "book_value": 500},
            {"project": "p", "status": "voorbereiding", "book_value": 300},
        ],
        [{"project": "a", "year": 2024, "amount": 2000}, {"project": "p", "year": 2024, "amount": 900}],
        reserves={"resistance_reserve": 555},
    )
    _, _, summary = run(scenario, tmp_path)
    assert summary["iflo_norm"] == pytest.approx(370.0, abs=EURO)
    assert summary["ratio_iflo"] == pytest.approx(1.5)
    assert summary["grade_iflo"] == "B"


def test_iflo_shares_are_parameters(case, tmp_path):
    """Shares of 5% and 20%: 0.05 x 1,000 + 0.20 x 2,200 = 490; available 392: ratio 0.8, grade D."""
    scenario = case(
        [{"project": "a", "book_value": 1000}],
        [{"project": "a", "year": 2024, "amount": 2000}],
        reserves={"resistance_reserve": 392, "iflo_book_value_share": 0.05, "iflo_remaining_costs_share": 0.2},
    )
    _, _, summary = run(scenario, tmp_path)
    assert summary["iflo_norm"] == pytest.approx(490.0, abs=EURO)
    assert summary["ratio_iflo"] == pytest.approx(0.8)
    assert summary["grade_iflo"] == "D"


def test_totals_per_status(case, tmp_path):
    scenario = case(
        [
            {"project": "a", "book_value": 1000},
            {"project": "b", "book_value": 500},
            {"project": "s", "status": "strategisch", "book_value": 300},
        ],
        [],
        parameters={"interest_rate": 0.0, "discount_rate": 0.0},
    )
    _, _, summary = run(scenario, tmp_path)
    totals = summary["totals"]
    assert totals["vastgesteld"]["book_value"] == 1500
    assert totals["strategisch"]["book_value"] == 300
    assert totals["total"]["end_value"] == pytest.approx(-1800.0, abs=EURO)
    assert totals["total"]["provision"] == pytest.approx(1500.0, abs=EURO)
    assert totals["voorbereiding"]["complexes"] == 0
