"""The worked examples of ``docs/``, figure by figure, against the code.

Each test names the document and section whose example it checks; the
expected figures are the ones printed there (worked by hand in the
document), so a change of the code that changes a rule fails here until the
document is brought along.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import EURO, write_case
from grex.diff import diff
from grex.drivers import Triangular, Uniform, ar1, retime
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import reserve_path
from grex.montecarlo.result import _quantile
from grex.sensitivity import shock_band
from grex.valuation import Valuation, value_portfolio


def value(folder: Path, projects, flows, **kwargs) -> Valuation:
    scenario = read_scenario(write_case(folder, projects, flows, **kwargs))
    return value_portfolio(scenario, read_portfolio(scenario.portfolio))


def noord(tmp_path: Path, **project) -> Valuation:
    """The complex "Noord" of docs/rules.md sections 5, 7 and 11."""
    return value(
        tmp_path,
        [
            {
                "project": "noord",
                "book_value": 2_000_000,
                "realised_costs": 3_000_000,
                "realised_revenues": 1_000_000,
                **project,
            }
        ],
        [
            {"project": "noord", "year": 2024, "amount": 1_000_000},
            {"project": "noord", "year": 2025, "amount": 500_000, "category": "woonrijp"},
            {"project": "noord", "year": 2025, "type": "revenue", "amount": 2_000_000},
            {"project": "noord", "year": 2026, "type": "revenue", "amount": 2_500_000},
        ],
        parameters={
            "interest_rate": 0.01,
            "discount_rate": 0.02,
            "uncertainty_margin": 0.10,
            "cost_index": {"2024": 0.04, "default": 0.02},
            "revenue_index": 0.0,
        },
    )


# -- docs/rules.md ----------------------------------------------------------------------------------


def test_rules_3_index_factors_by_price_level(tmp_path):
    v = value(
        tmp_path,
        [{"project": "p23", "price_level": 2023}, {"project": "p24"}, {"project": "p25", "price_level": 2025}],
        [{"project": p, "year": y, "amount": 100} for p in ("p23", "p24", "p25") for y in (2024, 2025, 2026)],
        parameters={"cost_index": {"2023": 0.06, "2024": 0.04, "2025": 0.04, "default": 0.02}},
    )
    expected = [[1.06, 1.1024, 1.146496], [1.0, 1.04, 1.0816], [1 / 1.04, 1.0, 1.04]]
    assert v.inputs.cost_factors() == pytest.approx(np.array(expected), abs=1e-12)


@pytest.mark.parametrize(
    ("after", "factors"),
    [(False, [1.0, 1.02**8, 1.02**9, 1.02**9, 1.02**9]), (True, [1.0, 1.02**8, 1.02**9, 1.02**10, 1.02**11])],
)
def test_rules_3_revenue_freeze(tmp_path, after, factors):
    v = value(
        tmp_path,
        [{"project": "r"}],
        [{"project": "r", "year": y, "type": "revenue", "amount": 100} for y in (2024, 2032, 2033, 2034, 2035)],
        parameters={"revenue_index": 0.02, "index_revenues_after_max_duration": after},
    )
    assert v.inputs.revenue_factors()[0, [0, 8, 9, 10, 11]] == pytest.approx(factors, abs=1e-12)


def test_rules_5_7_11_noord(tmp_path):
    v = noord(tmp_path)
    years = v.years()
    assert years["costs"].tolist() == pytest.approx([1_100_000, 572_000, 0], abs=EURO)
    assert years["interest"].tolist() == pytest.approx([20_000, 31_200, 17_232], abs=EURO)
    assert years["book_value"].tolist() == pytest.approx([3_120_000, 1_723_200, -759_568], abs=EURO)
    row = v.complexes().iloc[0]
    assert row["interest"] == pytest.approx(68_432, abs=EURO)
    assert row["uncertainty_margin_amount"] == pytest.approx(152_000, abs=EURO)
    assert row["remaining_costs_price_level"] == pytest.approx(1_650_000, abs=EURO)
    assert row["remaining_costs"] == pytest.approx(1_672_000, abs=EURO)
    assert row["end_value"] == pytest.approx(759_568, abs=EURO)
    assert row["present_value"] == pytest.approx(715_757.89, abs=EURO)
    assert row["poc_profit"] == pytest.approx(83_564.51, abs=EURO)


def test_rules_11_reversal_and_end_value_basis(tmp_path):
    assert noord(tmp_path / "a", profit_taken=100_000).complexes()["poc_profit"].iloc[0] == pytest.approx(
        -16_435.49, abs=EURO
    )
    v = value(
        tmp_path / "b",
        [{"project": "noord", "book_value": 2_000_000, "realised_costs": 3_000_000, "realised_revenues": 1_000_000}],
        [
            {"project": "noord", "year": 2024, "amount": 1_000_000},
            {"project": "noord", "year": 2025, "amount": 500_000},
            {"project": "noord", "year": 2025, "type": "revenue", "amount": 2_000_000},
            {"project": "noord", "year": 2026, "type": "revenue", "amount": 2_500_000},
        ],
        parameters={"cost_index": {"2024": 0.04, "default": 0.02}, "poc_basis": "end_value"},
    )
    assert v.complexes()["poc_profit"].iloc[0] == pytest.approx(88_679.33, abs=EURO)


def test_rules_7_end_year_and_sign_of_interest(tmp_path):
    v = value(
        tmp_path,
        [
            {"project": "given", "book_value": 1000, "end_year": 2026},
            {"project": "none", "book_value": 1000},
            {"project": "negative", "book_value": -1000},
        ],
        [],
    )
    table = v.complexes().set_index("project")
    assert table["end_value"].tolist() == pytest.approx([-1_030.30, -1_010.00, 1_010.00], abs=EURO)
    assert table["present_value"].tolist() == pytest.approx([-970.88, -990.20, 990.20], abs=EURO)
    assert table["end_year"].tolist() == [2026, 2024, 2024]


# -- docs/reserves.md -------------------------------------------------------------------------------


def four_complexes(tmp_path: Path) -> Valuation:
    """The portfolio of docs/reserves.md sections 1 and 5."""
    return value(
        tmp_path,
        [
            {"project": "verlies", "book_value": 1000},
            {
                "project": "winst",
                "book_value": 200,
                "realised_costs": 600,
                "realised_revenues": 400,
                "profit_taken": 20,
            },
            {"project": "plan", "status": "voorbereiding"},
            {"project": "strat", "status": "strategisch", "book_value": 300, "end_year": 2026},
        ],
        [
            {"project": "verlies", "year": 2024, "amount": 100},
            {"project": "verlies", "year": 2025, "amount": 100},
            {"project": "verlies", "year": 2026, "type": "revenue", "amount": 500},
            {"project": "winst", "year": 2024, "amount": 300},
            {"project": "winst", "year": 2024, "type": "revenue", "amount": 500},
            {"project": "winst", "year": 2025, "type": "revenue", "amount": 700},
            {"project": "plan", "year": 2025, "amount": 400},
            {"project": "plan", "year": 2026, "type": "revenue", "amount": 300},
        ],
        parameters={"cost_index": 0.0},
        reserves={"general_reserve": 10_000, "resistance_reserve": 500},
    )


def test_reserves_1_4_iflo_norm_ratio_and_grade(tmp_path):
    v = four_complexes(tmp_path)
    assert v.iflo_norm() == pytest.approx(205.0, abs=EURO)
    assert v.ratio() == pytest.approx(500 / 205)
    assert v.summary()["grade"] == "A"


def test_reserves_2_quantile_convention():
    loss = np.array([-50, -20, 0, 10, 30, 40, 60, 80, 120, 200], dtype=np.float64)
    assert _quantile(loss, 0.90) == 120.0
    assert _quantile(loss, 0.80) == 80.0


def test_reserves_5_general_reserve_path(tmp_path):
    v = four_complexes(tmp_path)
    table = v.complexes().set_index("project")
    assert table["end_value"].tolist() == pytest.approx([-753.61, 667.68, -144.40, -309.09], abs=EURO)
    assert table["present_value"].tolist() == pytest.approx([-710.15, 641.75, -136.07, -291.26], abs=EURO)
    r, x = v.result, v.inputs
    path = reserve_path(
        general_reserve=10_000.0,
        nominal_costs=r.costs,
        nominal_revenues=r.revenues,
        end_index=r.end_index,
        end_value=r.end_value,
        present_value=r.present_value,
        inputs=x,
        in_preparation=x.status == "voorbereiding",
        years=4,
    )
    assert path.tolist() == pytest.approx([10_000.0, 9_630.84, 9_801.46, 9_440.58, 9_440.58], abs=EURO)


# -- docs/montecarlo.md ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distribution", "minimum", "maximum"),
    [
        (Triangular(0.6, 1.0, 1.2), 0.4442, 1.3178),
        (Triangular(0.8, 1.0, 1.2), 0.7075, 1.2925),
        (Triangular(0.0, 0.0, 2.0), 0.0, 2.576),
        (Triangular(-0.005, 0.0, 0.01), -0.0079, 0.0139),
        (Uniform(0.8, 1.2), 0.7778, 1.2222),
    ],
)
def test_montecarlo_2_fitted_extremes(distribution, minimum, maximum):
    assert distribution.minimum == pytest.approx(minimum, abs=5e-5)
    assert distribution.maximum == pytest.approx(maximum, abs=5e-4)


@pytest.mark.parametrize(
    ("pace", "delay", "expected"),
    [
        (1.0, 0.0, [0, 100, 100, 0, 0, 0]),
        (1.0, 1.0, [0, 0, 100, 100, 0, 0]),
        (0.5, 1.0, [0, 0, 50, 50, 50, 50]),
        (1.25, 0.5, [0, 62.5, 125, 12.5, 0, 0]),
    ],
)
def test_montecarlo_4_retiming(pace, delay, expected):
    out = retime([[0.0, 100.0, 100.0]], [1], [pace], [delay], 6)
    assert out[0].tolist() == pytest.approx(expected, abs=1e-9)


def test_montecarlo_5_ar1_and_9_tornado_band():
    assert ar1([1.0, 0.0, 0.0, 0.0], 0.5, 0.01).tolist() == pytest.approx([0.01, 0.005, 0.0025, 0.00125])
    assert shock_band(0.01, 0.5, 4).round(5).tolist() == [0.01645, 0.01839, 0.01884, 0.01896]


def test_montecarlo_10_phasing_or_amount(tmp_path):
    def side(name, year, amount):
        folder = tmp_path / name
        scenario = read_scenario(
            write_case(
                folder,
                [{"project": "a"}],
                [{"project": "a", "year": year, "type": "revenue", "amount": amount}],
                parameters={"interest_rate": 0.0, "discount_rate": 0.02},
                name=name,
            )
        )
        return scenario, read_portfolio(scenario.portfolio)

    result = diff(side("before", 2025, 1000), side("after", 2026, 1200))
    end, present = result.portfolio("end_value"), result.portfolio("present_value")
    assert (end["phasing"], end["revenue_wonen_vrij"]) == (0.0, 200.0)
    assert (present["phasing"], present["revenue_wonen_vrij"]) == (-18.85, 188.47)
    assert result.total("present_value") == (961.17, 1130.79)
