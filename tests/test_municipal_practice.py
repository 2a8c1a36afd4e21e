"""Conventions of municipal practice (docs/municipal-practice.md), hand-worked and against the loop twin.

Day-count discounting, the present value from the cash flows, a provision
already formed, negative amounts as corrections, the check of ``book_value``,
the rekenrente per year, the cost index per kostensoort, the internal rate of
return, and the refusal of what the Monte Carlo does not simulate yet. Every
expected figure is worked out in the comments; the code under test never
computes its own expectation.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import EURO
from grex.api import diff_scenarios
from grex.cli import main
from grex.core import discount_periods
from grex.portfolio import Portfolio
from grex.reference import value_complex
from grex.scenario import RatePath, Scenario
from grex.valuation import value_portfolio
from test_core_vs_reference import FIELDS, TOLERANCE, random_case
from test_handworked import run

# -- 1. discount_periods = "days" ------------------------------------------------------------


def test_day_count_reproduces_published_years():
    """1-1-2017 to 31-12-2025: 365 x 9 = 3,285 days, plus the leap days of 2020 and
    2024 = 3,287 days from 1-1-2017 to 1-1-2026, minus one = 3,286; / 365.25 = 8.99658.
    1-1-2024 to 31-12-2032: leap days 2024, 2028, 2032: 3,288 - 1 = 3,287; 8.99932."""
    assert discount_periods([8], 2017, "days")[0] * 365.25 == pytest.approx(3286)
    assert discount_periods([8], 2024, "days")[0] * 365.25 == pytest.approx(3287)
    assert discount_periods([0], 2023, "days")[0] * 365.25 == pytest.approx(364)  # 1-1 to 31-12-2023
    assert discount_periods([8], 2017, "years")[0] == 9.0


def test_days_discounting_of_the_domain_check(case, tmp_path):
    """The check of the domain rules with the day count: book value 1,000,000,
    no flows, no interest, 1-1-2017 to 31-12-2025 = 8.996578 years at 2%:
    ln 1.02 = 0.0198026; x 8.996578 = 0.1781559; e^0.1781559 = 1.1950167;
    1,000,000 / 1.1950167 = 836,811.98 (whole years: 836,755.27, €56.71 less).
    The complex is adopted: the provision follows the present value."""
    scenario = case(
        [{"project": "a", "book_value": 1_000_000, "end_year": 2025}],
        [],
        valuation_year=2017,
        parameters={"interest_rate": 0.0, "discount_rate": 0.02, "discount_periods": "days"},
    )
    complexes, _, summary = run(scenario, tmp_path)
    assert complexes.loc["a", "present_value"] == pytest.approx(-836_811.98, abs=EURO)
    assert complexes.loc["a", "provision"] == pytest.approx(836_811.98, abs=EURO)
    assert complexes.loc["a", "end_value"] == pytest.approx(-1_000_000, abs=EURO)
    assert summary["parameters"]["parameters"]["discount_periods"] == "days"


# -- 2. present_value_method = "cash_flows" --------------------------------------------------


def test_present_value_from_cash_flows(case, tmp_path):
    """Book value 1,000, rekenrente 1%, cost 100 in 2024 with a 10% margin (110),
    revenue 500 in 2025, disconteringsvoet 2%, no indexation:

    cash flows: -1,000 - 110 / 1.02 + 500 / 1.02**2
              = -1,000 - 107.8431 + 480.5844 = -627.2587
    end value (unchanged): B 2024 1,000 + 10 + 110 = 1,120; 2025 + 11.20 - 500
    = 631.20; end value -631.20 (its present value would be -606.69)."""
    scenario = case(
        [{"project": "a", "book_value": 1000}],
        [
            {"project": "a", "year": 2024, "amount": 100},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 500},
        ],
        parameters={
            "interest_rate": 0.01,
            "discount_rate": 0.02,
            "uncertainty_margin": 0.10,
            "cost_index": 0.0,
            "present_value_method": "cash_flows",
        },
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "present_value"] == pytest.approx(-627.26, abs=EURO)
    assert complexes.loc["a", "end_value"] == pytest.approx(-631.20, abs=EURO)
    assert complexes.loc["a", "provision"] == pytest.approx(627.26, abs=EURO)


def test_both_methods_agree_when_rekenrente_equals_discount_rate():
    """With interest rate = discount rate the end value discounted equals the
    flows discounted (the roll compounds at the rate the flows are discounted by)."""
    scenario, portfolio = random_case(21, n=8)
    params = replace(scenario.parameters, interest_rate=0.03, discount_rate=0.03)
    end = value_portfolio(replace(scenario, parameters=params), portfolio).result.present_value
    flows = replace(params, present_value_method="cash_flows")
    cash = value_portfolio(replace(scenario, parameters=flows), portfolio).result.present_value
    np.testing.assert_allclose(cash, end, rtol=1e-10, atol=1e-6)


# -- 3. provision_balance --------------------------------------------------------------------


def test_provision_balance_dotation_and_release(case, tmp_path):
    """The domain check's loss, present value -836,755.27, so a provision of
    836,755.27 is required. A balance of 800,000 needs a dotation of
    36,755.27; a balance of 900,000 releases 63,244.73 (vrijval). A
    strategic complex with a balance of 100 requires none: release 100."""
    scenario = case(
        [
            {"project": "a", "book_value": 1_000_000, "end_year": 2025, "provision_balance": 800_000},
            {"project": "b", "book_value": 1_000_000, "end_year": 2025, "provision_balance": 900_000},
            {"project": "c", "book_value": 10, "end_year": 2025, "status": "strategisch", "provision_balance": 100},
            {"project": "d", "book_value": 1_000_000, "end_year": 2025},
        ],
        [],
        valuation_year=2017,
        parameters={"interest_rate": 0.0, "discount_rate": 0.02},
    )
    complexes, _, summary = run(scenario, tmp_path)
    assert complexes.loc["a", "provision"] == pytest.approx(836_755.27, abs=EURO)
    assert complexes.loc["a", "provision_balance"] == 800_000
    assert complexes.loc["a", "dotation"] == pytest.approx(36_755.27, abs=EURO)
    assert complexes.loc["b", "dotation"] == pytest.approx(-63_244.73, abs=EURO)
    assert complexes.loc["c", "provision"] == 0
    assert complexes.loc["c", "dotation"] == pytest.approx(-100, abs=EURO)
    assert complexes.loc["d", "provision_balance"] == 0
    assert complexes.loc["d", "dotation"] == pytest.approx(836_755.27, abs=EURO)
    # unrounded: 3 x 836,755.2659 - 800,000 - 900,000 - 100 = 810,165.80
    assert summary["totals"]["total"]["dotation"] == pytest.approx(810_165.80, abs=EURO)


def test_diff_shows_the_dotation(case, tmp_path):
    """BEFORE (1-1-2017) requires 836,755.27 for complex a; AFTER (1-1-2018) has
    a balance of 836,755.27 and requires -1,000,000 / 1.02**8 = 853,490.37:
    dotation 16,735.10 (the unwinding of one year's discount)."""
    before = case(
        [{"project": "a", "book_value": 1_000_000, "end_year": 2025}],
        [],
        valuation_year=2017,
        parameters={"interest_rate": 0.0, "discount_rate": 0.02},
        name="before",
    )
    before.rename(tmp_path / "before.toml")
    after_dir = tmp_path / "after"
    after_dir.mkdir()
    from conftest import write_case

    after = write_case(
        after_dir,
        [{"project": "a", "book_value": 1_000_000, "end_year": 2025, "provision_balance": 836_755.27}],
        [],
        valuation_year=2018,
        parameters={"interest_rate": 0.0, "discount_rate": 0.02},
        name="after",
    )
    result = diff_scenarios(tmp_path / "before.toml", after)
    table = result.provisions().set_index("project")
    assert table.loc["a", "provision_before"] == pytest.approx(836_755.27, abs=EURO)
    assert table.loc["a", "provision"] == pytest.approx(853_490.37, abs=EURO)
    assert table.loc["a", "dotation"] == pytest.approx(16_735.10, abs=EURO)
    assert table.loc["(total)", "dotation"] == pytest.approx(16_735.10, abs=EURO)
    out = tmp_path / "diff"
    assert main(["diff", str(tmp_path / "before.toml"), str(after), "--out", str(out)]) == 0
    written = pd.read_csv(out / "provisions.csv", comment="#").set_index("project")
    assert written.loc["a", "dotation"] == pytest.approx(16_735.10, abs=EURO)


# -- 4. negative amounts -----------------------------------------------------------------------


def test_negative_amounts_are_corrections(case, tmp_path):
    """Costs 1,000 and a correction of -200 in 2024, margin 10%: remaining costs
    800 x 1.1 = 880, margin 80. Revenue 500 in 2025 and a reversed sale of -50:
    remaining revenues 450. No interest, no indexation, no discounting:
    end value = -0 - 880 + 450 = -430."""
    scenario = case(
        [{"project": "a"}],
        [
            {"project": "a", "year": 2024, "amount": 1000},
            {"project": "a", "year": 2024, "amount": -200, "category": "verwerving"},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 500},
            {"project": "a", "year": 2025, "type": "revenue", "amount": -50},
        ],
        parameters={"interest_rate": 0.0, "discount_rate": 0.0, "cost_index": 0.0, "uncertainty_margin": 0.10},
    )
    complexes, _, _ = run(scenario, tmp_path)
    row = complexes.loc["a"]
    assert row["remaining_costs"] == pytest.approx(880, abs=EURO)
    assert row["remaining_costs_price_level"] == pytest.approx(880, abs=EURO)
    assert row["uncertainty_margin_amount"] == pytest.approx(80, abs=EURO)
    assert row["remaining_revenues"] == pytest.approx(450, abs=EURO)
    assert row["end_value"] == pytest.approx(-430, abs=EURO)


def test_reversed_sale_caps_the_revenue_share_at_one(case, tmp_path):
    """Realised costs 500, remaining cost 500: cost share 0.5. Realised revenues
    1,000 and a reversed sale of -50: total revenues 950, realised share
    1,000 / 950 > 1, capped at 1. Book value -2,000, no interest or discounting:
    end value 2,000 - 500 - (-50)... = 2,000 - 500 + (-50) = 1,450.
    POC = 0.5 x 1 x 1,450 = 725 (uncapped it would be 763.16)."""
    scenario = case(
        [{"project": "a", "book_value": -2000, "realised_costs": 500, "realised_revenues": 1000}],
        [
            {"project": "a", "year": 2024, "amount": 500},
            {"project": "a", "year": 2024, "type": "revenue", "amount": -50},
        ],
        parameters={"interest_rate": 0.0, "discount_rate": 0.0, "cost_index": 0.0, "uncertainty_margin": 0.0},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "end_value"] == pytest.approx(1450, abs=EURO)
    assert complexes.loc["a", "poc_profit"] == pytest.approx(725, abs=EURO)


@pytest.mark.parametrize("order", [None, "costs,phasing"])
def test_diff_with_a_correction_adds_up(case, tmp_path, order):
    """A correction that appears in AFTER is an amount effect of its category, and
    the effects add up to the change, whether amounts come before or after phasing
    (the intermediate amount of the category is then negative)."""
    from conftest import write_case

    before = write_case(
        tmp_path / "b",
        [{"project": "a", "book_value": 100}],
        [{"project": "a", "year": 2025, "amount": 300}, {"project": "a", "year": 2026, "amount": 400}],
        name="before",
    )
    after = write_case(
        tmp_path / "a",
        [{"project": "a", "book_value": 100}],
        [
            {"project": "a", "year": 2025, "amount": 300},
            {"project": "a", "year": 2026, "amount": 400},
            {"project": "a", "year": 2026, "amount": -500, "category": "verwerving"},
        ],
        name="after",
    )
    result = diff_scenarios(before, after, order=order)
    effects = result.complex("a", "end_value")
    before_value, after_value = result.total("end_value", "a")
    assert effects.sum() == pytest.approx(after_value - before_value, abs=EURO)
    # 500 less cost in 2026, with the 10% margin and the 2% index over 2024-2025: 500 x 1.02**2 x 1.1 = 572.22
    assert effects["cost_verwerving"] == pytest.approx(572.22, abs=EURO)


# -- 5. book_value check -----------------------------------------------------------------------


def test_book_value_differing_from_its_parts_warns(case, tmp_path, caplog):
    """realised_costs 1,000 - realised_revenues 300 + profit_taken 50 +
    realised_interest 20 = 770. Book value 770.50 is within the €1 tolerance;
    772 is €2 off and warns, naming the complex; the run still succeeds."""
    scenario = case(
        [
            {
                "project": p,
                "book_value": bv,
                "realised_costs": 1000,
                "realised_revenues": 300,
                "profit_taken": 50,
                "realised_interest": 20,
            }
            for p, bv in (("ok", 770.5), ("off", 772))
        ]
        + [{"project": "unchecked", "book_value": 5}],
        [],
    )
    with caplog.at_level(logging.WARNING, logger="grex"):
        run(scenario, tmp_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'off'" in warnings[0] and "projects.csv" in warnings[0] and "differs by 2.00" in warnings[0]
    assert "770.00" in warnings[0]


# -- 6. rekenrente per year and cost index per kostensoort ------------------------------------


def test_interest_rate_per_year(case, tmp_path):
    """Book value 1,000; rekenrente 1% in 2024, 3% in 2025, 2% otherwise; cost 100
    in 2024 (no margin or index); end year 2026.
    2024: interest 10.00, B = 1,000 + 10 + 100 = 1,110.00
    2025: interest 33.30, B = 1,143.30
    2026: interest 22.866, B = 1,166.166; end value -1,166.17, interest 66.17."""
    scenario = case(
        [{"project": "a", "book_value": 1000, "end_year": 2026}],
        [{"project": "a", "year": 2024, "amount": 100}],
        parameters={
            "interest_rate": {"2024": 0.01, "2025": 0.03, "default": 0.02},
            "uncertainty_margin": 0.0,
            "cost_index": 0.0,
        },
    )
    complexes, years, summary = run(scenario, tmp_path)
    assert complexes.loc["a", "end_value"] == pytest.approx(-1166.17, abs=EURO)
    assert complexes.loc["a", "interest"] == pytest.approx(66.17, abs=EURO)
    assert years["interest"].tolist() == pytest.approx([10.00, 33.30, 22.87], abs=EURO)
    assert summary["parameters"]["parameters"]["interest_rate"] == {"2024": 0.01, "2025": 0.03, "default": 0.02}


def test_cost_index_per_category(case, tmp_path):
    """Price level 2024. verwerving 0%: 100 in 2025 stays 100. bouwrijp 5% over
    2024, 3% after: 100 in 2025 = 105, 100 in 2026 = 105 x 1.03 = 108.15.
    plankosten follows cost_index 2%: 100 in 2025 = 102. No margin: remaining
    costs 415.15. Complex b overrides cost_index with 10% for every category:
    110 + 110 + 121 + 110 = 451."""
    flows = [
        {"year": 2025, "amount": 100, "category": "verwerving"},
        {"year": 2025, "amount": 100, "category": "bouwrijp"},
        {"year": 2026, "amount": 100, "category": "bouwrijp"},
        {"year": 2025, "amount": 100, "category": "plankosten"},
    ]
    scenario = case(
        [{"project": "a"}, {"project": "b", "cost_index": 0.10}],
        [{"project": p, **f} for p in ("a", "b") for f in flows],
        parameters={
            "uncertainty_margin": 0.0,
            "cost_index": 0.02,
            "cost_index_by_category": {"verwerving": 0.0, "bouwrijp": {"2024": 0.05, "default": 0.03}},
        },
    )
    complexes, years, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "remaining_costs"] == pytest.approx(415.15, abs=EURO)
    assert complexes.loc["b", "remaining_costs"] == pytest.approx(451.00, abs=EURO)
    a = years[years["project"] == "a"].set_index("year")["costs"]
    assert a.tolist() == pytest.approx([0.0, 307.00, 108.15], abs=EURO)


def test_diff_interest_path_and_category_index_are_one_effect_each(case, tmp_path):
    """BEFORE and AFTER at the same date differ in the rekenrente of 2025 and in
    the index of bouwrijp: the interest effect and the cost_index effect take
    the whole change, nothing else moves."""
    from conftest import write_case

    projects = [{"project": "a", "book_value": 1000, "end_year": 2026}]
    flows = [{"project": "a", "year": 2025, "amount": 100}]
    before = write_case(
        tmp_path / "b", projects, flows, name="before", parameters={"interest_rate": 0.01, "cost_index": 0.02}
    )
    after = write_case(
        tmp_path / "a",
        projects,
        flows,
        name="after",
        parameters={
            "interest_rate": {"2025": 0.05, "default": 0.01},
            "cost_index": 0.02,
            "cost_index_by_category": {"bouwrijp": 0.10},
        },
    )
    result = diff_scenarios(before, after)
    effects = result.complex("a", "end_value")
    moved = effects[effects.abs() > 0]
    assert set(moved.index) == {"interest", "cost_index"}
    # interest first: B 2024 1,000 + 10 = 1,010; 2025 at 1%: + 10.10 + 112.20 = 1,132.30, 2026 + 11.323
    # = 1,143.623; at 5% in 2025: + 50.50 + 112.20 = 1,172.70, 2026 + 11.727 = 1,184.427;
    # the states in cents: -1,184.43 - (-1,143.62) = -40.81
    assert moved["interest"] == pytest.approx(-40.81, abs=0.001)
    # cost 100 in 2025 with margin: 100 x 1.02 x 1.1 = 112.20 before, 100 x 1.10 x 1.1 = 121.00 after;
    # 8.80 more cost in 2025, carried one year at 1% into 2026: -8.888
    assert moved["cost_index"] == pytest.approx(-8.89, abs=EURO)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"interest_rate": {"2024": 1.5, "default": 0.01}}, ["key parameters.interest_rate.2024", "percentage"]),
        ({"interest_rate": {"2024": 0.01}}, ["key parameters.interest_rate", "'default'"]),
        ({"cost_index_by_category": {"grond": 0.02}}, ["key parameters.cost_index_by_category.grond", "unknown"]),
        ({"cost_index_by_category": {"bouwrijp": {"2024": 3, "default": 0.02}}}, ["bouwrijp.2024", "percentage"]),
        ({"discount_periods": "months"}, ["key parameters.discount_periods", "years, days"]),
        ({"present_value_method": "npv"}, ["key parameters.present_value_method", "end_value, cash_flows"]),
    ],
)
def test_bad_conventions_are_refused(case, tmp_path, capsys, parameters, expected):
    scenario = case([{"project": "a"}], [], parameters=parameters)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "scenario.toml" in err
    for part in expected:
        assert part in err
    assert not out.exists()


# -- the Monte Carlo simulates every convention ----------------------------------------------


@pytest.mark.parametrize("command", ["simulate", "sensitivity", "report", "batch"])
def test_monte_carlo_commands_take_every_convention(case, tmp_path, capsys, command):
    """Every convention of municipal practice and a provision already formed, at once: each Monte
    Carlo command runs it (tests/test_montecarlo_practice.py and tests/test_revaluation.py hold
    the figures)."""
    parameters = {
        "interest_rate": {"2025": 0.02, "default": 0.01},
        "discount_periods": "days",
        "present_value_method": "cash_flows",
        "cost_index_by_category": {"bouwrijp": 0.03},
    }
    scenario = case(
        [{"project": "a", "provision_balance": 10}],
        [{"project": "a", "year": 2025, "amount": 10}],
        parameters=parameters,
    )
    out = tmp_path / "out"
    extra = ["--format", "xlsx"] if command == "report" else []
    assert main([command, str(scenario), "--draws", "100", *extra, "--out", str(out)]) == 0, capsys.readouterr().err
    assert out.is_dir()


# -- internal rate of return -------------------------------------------------------------------


def test_irr_hand_worked(case, tmp_path):
    """Book value 100 at 1-1-2024, revenue 121 at the end of 2025, nothing else:
    -100 + 121 / (1 + r)**2 = 0 gives r = 10%. Complex b is the mirror image:
    book value -100 (money came back first), cost 121 in 2025; the same
    equation holds at 10%, but b is a loan, not an investment: no rate of
    return, empty."""
    scenario = case(
        [{"project": "a", "book_value": 100}, {"project": "b", "book_value": -100}],
        [
            {"project": "a", "year": 2025, "type": "revenue", "amount": 121},
            {"project": "b", "year": 2025, "amount": 110},  # with the 10% margin: 121
        ],
        parameters={"revenue_index": 0.0, "cost_index": 0.0, "uncertainty_margin": 0.10},
    )
    complexes, _, _ = run(scenario, tmp_path)
    assert complexes.loc["a", "irr"] == pytest.approx(0.10, abs=1e-6)
    assert np.isnan(complexes.loc["b", "irr"])


def _bisect(f, low, high):
    for _ in range(200):
        mid = (low + high) / 2
        if (f(low) < 0) == (f(mid) < 0):
            low = mid
        else:
            high = mid
    return (low + high) / 2


def test_irr_is_a_root_of_the_engines_own_yearly_flows(tmp_path):
    """For the example portfolio: the NPV of -book_value and the yearly nominal
    net flows of years.csv, found zero by bisection, and the rekenrente at which
    the end value is nil."""
    from conftest import EXAMPLE
    from grex.io import read_portfolio, read_scenario

    scenario = read_scenario(EXAMPLE)
    valuation = value_portfolio(scenario, read_portfolio(scenario.portfolio))
    table = valuation.complexes().set_index("project")
    years = valuation.years()
    checked = 0
    for project, row in table.iterrows():
        if np.isnan(row["irr"]):
            continue
        path = years[years["project"] == project]
        net = (path["revenues"] - path["costs"]).to_numpy()
        t = np.arange(1, len(net) + 1)

        def npv(rate, net=net, t=t, book_value=row["book_value"]):
            return -book_value + (net / (1 + rate) ** t).sum()

        # a bracket around the engine's root, wide enough to hold one sign change of the NPV
        low, high = row["irr"] - 0.02, row["irr"] + 0.02
        assert npv(low) * npv(high) < 0
        assert row["irr"] == pytest.approx(_bisect(npv, low, high), abs=1e-9)
        checked += 1
    assert checked >= 10
    # kloosterakker: at a rekenrente equal to its rate of return the end value is nil
    rate = float(table.loc["kloosterakker", "irr"])
    nil = value_portfolio(
        replace(scenario, parameters=replace(scenario.parameters, interest_rate=rate)), valuation.portfolio
    )
    assert abs(nil.complexes().set_index("project").loc["kloosterakker", "end_value"]) < 1e-3


# -- the core against the loop twin, every new convention on ----------------------------------


def practice_case(seed: int) -> tuple[Scenario, Portfolio]:
    """random_case with corrections, provision balances and the new conventions."""
    scenario, portfolio = random_case(seed)
    rng = np.random.default_rng(1000 + seed)
    flows = portfolio.flows.copy()
    corrections = rng.random(len(flows)) < 0.2
    flows.loc[corrections, "amount"] = -flows.loc[corrections, "amount"] * rng.uniform(0.1, 1.0, corrections.sum())
    projects = portfolio.projects.assign(
        provision_balance=np.where(rng.random(len(portfolio.projects)) < 0.5, rng.uniform(0, 3e6), 0.0)
    )
    V = scenario.valuation_year
    data = dict(scenario.data)
    data["parameters"] = {
        **data["parameters"],
        "discount_periods": ["years", "days"][seed % 2],
        "present_value_method": ["end_value", "cash_flows"][(seed // 2) % 2],
        "interest_rate": {str(V + 1): float(rng.uniform(0, 0.04)), str(V + 3): -0.005, "default": 0.015},
        "cost_index_by_category": {
            "verwerving": 0.0,
            "bouwrijp": {str(V): float(rng.uniform(0, 0.08)), "default": float(rng.uniform(0, 0.04))},
        },
    }
    return Scenario.from_dict(data), Portfolio(projects, flows)


def practice_reference(scenario: Scenario, portfolio: Portfolio, project: str):
    p = scenario.parameters
    row = portfolio.projects.set_index("project").loc[project]
    flows = portfolio.flows[portfolio.flows["project"] == project]

    def path(rates: RatePath):
        return {**{int(k): v for k, v in rates.by_year.items()}, "default": rates.default}

    def index(rates, override):
        return float(override) if not pd.isna(override) else path(rates)

    costs = flows[flows["type"] == "cost"]
    by_category = {c: part.groupby("year")["amount"].sum().to_dict() for c, part in costs.groupby("category")}
    revenues = flows[flows["type"] == "revenue"].groupby("year")["amount"].sum().to_dict()
    overridden = not pd.isna(row["cost_index"])
    return value_complex(
        valuation_year=scenario.valuation_year,
        book_value=row["book_value"],
        costs={},
        costs_by_category=by_category,
        cost_index_by_category={} if overridden else {c: path(r) for c, r in p.cost_index_by_category.items()},
        revenues=revenues,
        interest_rate=path(p.interest_path),
        discount_rate=p.discount_rate,
        uncertainty_margin=p.uncertainty_margin if pd.isna(row["uncertainty_margin"]) else row["uncertainty_margin"],
        cost_index=index(p.cost_index, row["cost_index"]),
        revenue_index=index(p.revenue_index, row["revenue_index"]),
        price_level=None if pd.isna(row["price_level"]) else int(row["price_level"]),
        end_year=None if pd.isna(row["end_year"]) else int(row["end_year"]),
        realised_costs=row["realised_costs"],
        realised_revenues=row["realised_revenues"],
        profit_taken=row["profit_taken"],
        adopted=row["status"] == "vastgesteld",
        max_duration=p.max_duration,
        index_revenues_after_max_duration=p.index_revenues_after_max_duration,
        provision_basis=p.provision_basis,
        poc_basis=p.poc_basis,
        discount_periods=p.discount_periods,
        present_value_method=p.present_value_method,
        provision_balance=row["provision_balance"],
    )


@pytest.mark.parametrize("seed", range(24))
def test_core_matches_loop_reference_with_every_convention(seed):
    scenario, portfolio = practice_case(seed)
    valuation = value_portfolio(scenario, portfolio)
    table = valuation.complexes().set_index("project")
    years = valuation.years()
    for project in portfolio.ids:
        expected = practice_reference(scenario, portfolio, project)
        got = table.loc[project]
        assert got["end_year"] == expected.end_year
        assert got["interest"] == pytest.approx(expected.interest_total, abs=TOLERANCE, rel=1e-12)
        for name in (*FIELDS, "provision_balance", "dotation"):
            assert got[name] == pytest.approx(getattr(expected, name), abs=TOLERANCE, rel=1e-12), name
        path = years[years["project"] == project].set_index("year")
        assert path["book_value"].to_dict() == pytest.approx(expected.balance, abs=TOLERANCE, rel=1e-12)
        assert path["interest"].to_dict() == pytest.approx(expected.interest, abs=TOLERANCE, rel=1e-12)
        assert path["costs"].to_dict() == pytest.approx(expected.costs, abs=TOLERANCE, rel=1e-12)


def test_practice_cases_exercise_every_convention():
    """The random cases above do hold corrections, balances and both methods."""
    seen = {"negative": False, "balance": False, "days": False, "cash_flows": False}
    for seed in range(24):
        scenario, portfolio = practice_case(seed)
        seen["negative"] |= bool((portfolio.flows["amount"] < 0).any())
        seen["balance"] |= bool((portfolio.projects["provision_balance"] > 0).any())
        seen["days"] |= scenario.parameters.discount_periods == "days"
        seen["cash_flows"] |= scenario.parameters.present_value_method == "cash_flows"
    assert all(seen.values()), seen


def test_report_states_the_conventions(case, tmp_path):
    """The Uitgangspunten list the rekenrente per year, the discounting period, the
    present-value method and the index of each kostensoort named."""
    from grex.io import read_portfolio, read_scenario
    from grex.report import build_report

    scenario_path = case(
        [{"project": "a"}],
        [],
        parameters={
            "interest_rate": {"2025": 0.015, "default": 0.02},
            "discount_periods": "days",
            "present_value_method": "cash_flows",
            "cost_index_by_category": {"bouwrijp": {"2024": 0.05, "default": 0.03}, "verwerving": 0.0},
        },
    )
    scenario = read_scenario(scenario_path)
    valuation = value_portfolio(scenario, read_portfolio(scenario.portfolio))
    table = next(t for t in build_report(valuation, lang="nl").tables() if t.key == "parameters").frame
    values = dict(zip(table.iloc[:, 0], table.iloc[:, 1], strict=True))
    assert values["Rekenrente 2025"] == pytest.approx(0.015)
    assert values["Rekenrente overige jaren"] == pytest.approx(0.02)
    assert "Rekenrente (rentetoerekening boekwaarde)" not in values
    assert values["Disconteringsperiode"] == "dagen van 1-1-V tot 31-12-E / 365,25"
    assert values["Berekening contante waarde"] == "kasstromen per jaar contant gemaakt"
    assert values["Kostenstijging bouwrijp 2024"] == pytest.approx(0.05)
    assert values["Kostenstijging bouwrijp overige jaren"] == pytest.approx(0.03)
    assert values["Kostenstijging verwerving (alle jaren)"] == 0.0


def test_input_hash_ignores_the_new_columns_at_their_defaults():
    """A portfolio without provision balances hashes as before the column existed
    (batch completion markers stay valid); a balance changes the hash."""
    from grex.valuation import input_hash

    scenario, portfolio = random_case(4)
    bare = Portfolio(
        portfolio.projects.drop(columns=["provision_balance", "realised_interest"], errors="ignore"), portfolio.flows
    )
    zeros = Portfolio(portfolio.projects.assign(provision_balance=0.0, realised_interest=np.nan), portfolio.flows)
    held = Portfolio(
        portfolio.projects.assign(provision_balance=[10.0] + [0.0] * (len(portfolio.projects) - 1)), portfolio.flows
    )
    assert input_hash(scenario, zeros) == input_hash(scenario, bare)
    assert input_hash(scenario, held) != input_hash(scenario, bare)
