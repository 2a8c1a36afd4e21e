"""The conventions of municipal practice in the Monte Carlo (issue 14, docs/municipal-practice.md).

For each convention (the day count, the present value from the cash flows, a
rekenrente per year, a cost index per kostensoort):

- the compiled kernel equals the numpy engine bit for bit, with every driver
  (the helpers of ``tests/test_kernel.py``);
- with every spread zero (a scenario whose Monte Carlo drivers are fixed
  numbers) every draw is ``grex run``'s valuation, on either engine;
- a hand-worked figure, simulated.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLE
from grex.cli import main
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import simulate, trace, value_settings
from grex.montecarlo.plan import make_plan
from grex.reference import value_complex
from grex.scenario import RatePath
from grex.valuation import value_portfolio, with_parameters
from test_kernel import assert_identical, both_engines, synthetic

#: Each convention as ``[parameters]`` in code (for the engines) and as TOML (for grex run).
OPTIONS = {
    "days": ({"discount_periods": "days"}, 'discount_periods = "days"'),
    "cash_flows": ({"present_value_method": "cash_flows"}, 'present_value_method = "cash_flows"'),
    "cash_flows_days": (
        {"present_value_method": "cash_flows", "discount_periods": "days"},
        'present_value_method = "cash_flows"\ndiscount_periods = "days"',
    ),
    "interest_by_year": (
        {"interest_rate": RatePath(0.02, {2024: 0.01, 2025: 0.015, 2030: 0.035})},
        "interest_rate = { 2024 = 0.01, 2025 = 0.015, 2030 = 0.035, default = 0.02 }",
    ),
    "cost_index_by_category": (
        {
            "cost_index_by_category": {
                "woonrijp": RatePath(0.03, {2025: 0.05}),  # sales-linked in the example: re-timed
                "verwerving": RatePath(0.0),
                "plankosten": RatePath(0.025),
            }
        },
        "[parameters.cost_index_by_category]\n"
        "woonrijp = { 2025 = 0.05, default = 0.03 }\nverwerving = 0.0\nplankosten = 0.025",
    ),
}

NO_SPREAD = """
[montecarlo]
market_pace = 1.0
complex_pace = 1.0
delay = 0.0
cost_shock = { sd = 0.0 }
price_shock = { sd = 0.0 }
interest = 0.0

[montecarlo.complex.messchenveld_1a]
pace = 1.0

[[risks]]
project = "klenckestraat"
name = "never"
probability = 0.0
impact = 1000
year = 2025
type = "cost"
"""


def example_with(option: str):
    scenario = read_scenario(EXAMPLE)
    return with_parameters(scenario, **OPTIONS[option][0]), read_portfolio(scenario.portfolio)


# -- (a) the kernel equals the numpy engine bit for bit ----------------------------------------


@pytest.mark.parametrize("option", list(OPTIONS))
def test_kernel_equals_numpy_with_the_convention(option):
    scenario, portfolio = example_with(option)
    numpy_arrays, kernel_arrays = both_engines(scenario, portfolio, draws=1200, seed=11)
    assert_identical(numpy_arrays, kernel_arrays)
    # the convention is in effect: the draws differ from the default's
    default = both_engines(read_scenario(EXAMPLE), portfolio, draws=1200, seed=11)[1]
    assert not np.array_equal(kernel_arrays["present_value"], default["present_value"])


@pytest.mark.parametrize("drivers", [("costs",), ("interest",), ("pace", "delay"), ("risks",), ()])
def test_kernel_equals_numpy_with_every_convention_and_some_drivers(drivers):
    parameters = {k: v for option in OPTIONS.values() for k, v in option[0].items()}
    scenario = read_scenario(EXAMPLE)
    scenario = with_parameters(scenario, **parameters)
    portfolio = read_portfolio(read_scenario(EXAMPLE).portfolio)
    assert_identical(*both_engines(scenario, portfolio, draws=300, seed=4, drivers=drivers))


def test_kernel_equals_numpy_with_category_indices_over_several_index_groups():
    # Price levels before V, per-complex cost index overrides and a table per kostensoort: the
    # kernel pairs each complex's combination of category groups with its revenue group.
    scenario, portfolio = synthetic(17, 20, seed=7)
    projects = portfolio.projects.copy()
    V = scenario.valuation_year
    projects["price_level"] = pd.array([V - (i % 3) for i in range(17)], dtype="Int64")
    projects["cost_index"] = [0.035 if i % 4 == 1 else np.nan for i in range(17)]
    projects["revenue_index"] = [0.015 if i % 5 == 2 else np.nan for i in range(17)]
    portfolio = replace(portfolio, projects=projects)
    categories = {"woonrijp": RatePath(0.04, {V + 1: 0.06}), "bouwrijp": RatePath(0.01)}
    scenario = with_parameters(
        scenario,
        cost_index_by_category=categories,
        interest_rate=RatePath(0.02, {V: 0.0, V + 3: 0.05}),
        present_value_method="cash_flows",
    )
    assert_identical(*both_engines(scenario, portfolio, draws=400, seed=2, chunk_size=150))


# -- (b) no spread: every draw is grex run's valuation -------------------------------------------


@pytest.mark.parametrize("option", list(OPTIONS))
def test_no_spread_gives_grex_run_on_either_engine(option, tmp_path):
    path = tmp_path / "variant.toml"
    body = OPTIONS[option][1]
    parameters = body if body.startswith("[") else f"[parameters]\n{body}"
    path.write_text(f'extends = "{EXAMPLE}"\nname = "variant"\n{parameters}\n{NO_SPREAD}', encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 0
    complexes = pd.read_parquet(out / "complexes.parquet")
    scenario = read_scenario(path)
    portfolio = read_portfolio(scenario.portfolio)
    for engine in ("numpy", "numba"):
        sim = simulate(scenario, portfolio, draws=40, seed=3, engine=engine)
        for d in (0, 39):
            np.testing.assert_allclose(sim.present_value[d], complexes["present_value"], rtol=0, atol=0.005)
            np.testing.assert_allclose(sim.end_value[d], complexes["end_value"], rtol=0, atol=0.005)
            np.testing.assert_array_equal(sim.end_year[d], complexes["end_year"])


def test_grex_simulate_accepts_the_conventions(tmp_path):
    path = tmp_path / "variant.toml"
    every = "\n".join(OPTIONS[o][1] for o in ("cash_flows_days", "interest_by_year"))
    path.write_text(
        f'extends = "{EXAMPLE}"\nname = "variant"\n[parameters]\n{every}\n{OPTIONS["cost_index_by_category"][1]}\n',
        encoding="utf-8",
    )
    out = tmp_path / "sim"
    assert main(["simulate", str(path), "--draws", "300", "--seed", "1", "--out", str(out)]) == 0
    assert (out / "summary.json").exists()


# -- (c) hand-worked figures, simulated ------------------------------------------------------------


def one_complex(case, projects, flows, parameters, valuation_year=2024):
    path = case(
        projects,
        flows,
        parameters=parameters,
        extra_toml=NO_SPREAD.split("[montecarlo.complex")[0],
        valuation_year=valuation_year,
    )
    scenario = read_scenario(path)
    return scenario, read_portfolio(scenario.portfolio)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_day_count_hand_worked(case, engine):
    """Book value 1,000,000 at 1-1-2017, end 31-12-2025, no flows, no interest, d = 2%:
    by days -1,000,000 / 1.02 ** (3,286 / 365.25) = -836,811.98 (by whole years -836,755.27)."""
    scenario, portfolio = one_complex(
        case,
        [{"project": "a", "book_value": 1_000_000, "end_year": 2025, "realised_costs": 1_000_000}],
        [],
        {"interest_rate": 0.0, "discount_rate": 0.02, "discount_periods": "days"},
        valuation_year=2017,
    )
    sim = simulate(scenario, portfolio, draws=5, seed=1, engine=engine)
    assert sim.present_value[:, 0] == pytest.approx(-836_811.98, abs=0.005)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_cash_flow_present_value_hand_worked(case, engine):
    """docs/municipal-practice.md: book value 1,000, rekenrente 1%, a cost of 100 in V (110 with
    the margin), a revenue of 500 in V+1, d = 2%, no indexation:
    PV = -1,000 - 110 / 1.02 + 500 / 1.02 ** 2 = -627.26; the end value -631.20."""
    scenario, portfolio = one_complex(
        case,
        [{"project": "a", "book_value": 1000, "realised_costs": 1000}],
        [
            {"project": "a", "year": 2024, "amount": 100},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 500},
        ],
        {
            "interest_rate": 0.01,
            "discount_rate": 0.02,
            "cost_index": 0.0,
            "uncertainty_margin": 0.1,
            "present_value_method": "cash_flows",
        },
    )
    sim = simulate(scenario, portfolio, draws=5, seed=1, engine=engine)
    assert sim.present_value[:, 0] == pytest.approx(-627.26, abs=0.005)
    assert sim.end_value[:, 0] == pytest.approx(-631.20, abs=0.005)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_rekenrente_per_year_with_the_draws_shift_hand_worked(case, engine):
    """Book value 1,000, rekenrente 1% in 2024 and 3% in 2025, end 2025, no flows, and a fixed
    shift of +0.5% (montecarlo.interest): -1,000 * 1.015 * 1.035 = -1,050.525 (without the shift
    -1,040.30)."""
    path = case(
        [{"project": "a", "book_value": 1000, "end_year": 2025, "realised_costs": 1000}],
        [],
        parameters={"interest_rate": {"2024": 0.01, "default": 0.03}, "discount_rate": 0.0},
        extra_toml=NO_SPREAD.split("[montecarlo.complex")[0].replace("interest = 0.0", "interest = 0.005"),
    )
    scenario = read_scenario(path)
    portfolio = read_portfolio(scenario.portfolio)
    sim = simulate(scenario, portfolio, draws=5, seed=1, engine=engine)
    assert sim.end_value[:, 0] == pytest.approx(-1050.525, abs=0.0005)
    assert value_portfolio(scenario, portfolio).result.end_value[0] == pytest.approx(-1040.30, abs=0.0005)
    # the traced draw states its rate of each year, shift added, as grex.reference takes it
    traced = trace(scenario, portfolio, seed=1, draw=0)["interest_rate"]
    assert traced[2024] == pytest.approx(0.015) and traced[2025] == pytest.approx(0.035)
    by_hand = value_complex(
        valuation_year=2024,
        book_value=1000.0,
        costs={},
        revenues={},
        interest_rate=traced,
        discount_rate=0.0,
        uncertainty_margin=0.0,
        cost_index=0.0,
        revenue_index=0.0,
        end_year=2025,
    )
    assert by_hand.end_value == pytest.approx(-1050.525, abs=0.0005)


def test_cost_index_per_kostensoort_with_the_shock_on_top_hand_worked(case):
    """100 of bouwrijp (indexed 5%) and 100 of verwerving (cost_index 2%) in 2025, no margin,
    interest or discounting: end value -(105 + 102) = -207; with a cost shock of +1% on every
    rate -(106 + 103) = -209."""
    scenario, portfolio = one_complex(
        case,
        [{"project": "a"}],
        [
            {"project": "a", "year": 2025, "category": "bouwrijp", "amount": 100},
            {"project": "a", "year": 2025, "category": "verwerving", "amount": 100},
        ],
        {
            "interest_rate": 0.0,
            "discount_rate": 0.0,
            "uncertainty_margin": 0.0,
            "cost_index": 0.02,
            "cost_index_by_category": {"bouwrijp": 0.05},
        },
    )
    settings = {
        "pace": np.ones((2, 1)),
        "delay": np.zeros((2, 1)),
        "cost_shock": np.array([[0.0], [0.01]]),
        "price_shock": np.zeros((2, 1)),
        "risk": np.zeros((2, 0)),
    }
    out = value_settings(scenario, portfolio, **settings)
    np.testing.assert_allclose(out["end_value"][:, 0], [-207.0, -209.0], rtol=0, atol=1e-9)
    for engine in ("numpy", "numba"):
        sim = simulate(scenario, portfolio, draws=3, seed=1, engine=engine)
        assert sim.end_value[:, 0] == pytest.approx(-207.0, abs=1e-9)


def test_risks_follow_cost_index_with_a_table_per_kostensoort():
    # A cost risk has no kostensoort: it is indexed with cost_index, as without the table.
    scenario, portfolio = synthetic(5, 10, seed=3)
    with_table = with_parameters(scenario, cost_index_by_category={"bouwrijp": RatePath(0.2)})
    plan, plan_table = make_plan(scenario, portfolio, None), make_plan(with_table, portfolio, None)
    assert plan_table.inputs.category_rates is not None
    np.testing.assert_array_equal(plan_table.inputs.category_rates[-1], plan.inputs.cost_rates)
    np.testing.assert_array_equal(plan_table.inputs.cost_rates, plan.inputs.cost_rates)


def test_corrections_that_cancel_at_price_level_are_valued_by_their_own_indices(case):
    """+100 bouwrijp and -100 verwerving in 2029, after the last other flow: no flow at price level,
    so the end year stays 2025, but indexed by different indices they leave a nominal cost in 2029.
    The roll and the present value stop at the end year (docs/rules.md: after E the balance stands
    still), on either engine as in grex run: book value 50, rekenrente 1%, 110 (with the margin)
    in 2024, revenue 300 in 2025: B = 50 + 0.5 + 110 = 160.5; 160.5 + 1.605 - 300 = -137.895, the
    end value 137.895; the present value -50 - 110 / 1.02 + 300 / 1.02 ** 2 = 130.5075. The
    remainder counts in the remaining costs (the reserve path's POC totals) on both engines."""
    scenario, portfolio = one_complex(
        case,
        [{"project": "a", "book_value": 50, "realised_costs": 150, "realised_revenues": 100}],
        [
            {"project": "a", "year": 2024, "amount": 100},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 300},
            {"project": "a", "year": 2029, "category": "bouwrijp", "amount": 100},
            {"project": "a", "year": 2029, "category": "verwerving", "amount": -100},
        ],
        {"cost_index_by_category": {"bouwrijp": 0.05}, "present_value_method": "cash_flows"},
    )
    expected = value_portfolio(scenario, portfolio).result
    assert expected.end_index[0] == 1
    assert expected.end_value[0] == pytest.approx(137.895, abs=1e-9)
    assert expected.present_value[0] == pytest.approx(130.5075, abs=0.00005)
    numpy_arrays, kernel_arrays = both_engines(scenario, portfolio, draws=20, seed=5)
    assert_identical(numpy_arrays, kernel_arrays)
    np.testing.assert_allclose(kernel_arrays["present_value"][:, 0], expected.present_value[0], rtol=0, atol=0.005)
    np.testing.assert_allclose(kernel_arrays["end_value"][:, 0], expected.end_value[0], rtol=0, atol=0.005)


def test_sensitivity_shifts_a_rekenrente_per_year_in_every_year(tmp_path):
    # The tornado moves every year's rate by the step and states it as a shift (not one rate).
    path = tmp_path / "variant.toml"
    path.write_text(
        f'extends = "{EXAMPLE}"\nname = "variant"\n[parameters]\n{OPTIONS["interest_by_year"][1]}\n', encoding="utf-8"
    )
    out = tmp_path / "sensitivity"
    assert main(["sensitivity", str(path), "--draws", "200", "--seed", "1", "--out", str(out)]) == 0
    tornado = pd.read_csv(out / "tornado.csv").set_index("driver")
    assert tornado.loc["interest", "low_setting"] == "−1,0% elk jaar"
    assert tornado.loc["interest", "high_setting"] == "+1,0% elk jaar"
    assert tornado.loc["interest", "present_value_high"] < tornado.loc["interest", "present_value_low"]


@pytest.mark.parametrize(
    ("n_complexes", "n_years", "drivers", "horizon"),
    [(3, 3, (), 3), (3, 3, None, 8), (6, 9, None, 20), (4, 100, None, 177)],
)
def test_kernel_sums_the_cash_flows_in_numpys_order_on_any_horizon(n_complexes, n_years, drivers, horizon):
    # numpy's pairwise sum: sequential below 8 years, eight partial sums up to 128, halves beyond
    from grex.montecarlo import execution

    scenario, portfolio = synthetic(n_complexes, n_years, seed=n_years, n_risks=2)
    scenario = with_parameters(scenario, present_value_method="cash_flows")
    plan = make_plan(scenario, portfolio, drivers)
    assert execution._horizon(plan, 150, 8, "numba", 1) == horizon
    assert_identical(*both_engines(scenario, portfolio, draws=150, seed=8, drivers=drivers))
