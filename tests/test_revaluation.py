"""The reserve as it really moves (issue 16): provisions already formed and the yearly revaluation.

Hand-worked expectations are written out in the docstrings; the portfolio of
docs/reserves.md section 5 is the base of the hand-worked reserve paths.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EURO, write_case
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import reserve_path, simulate
from grex.valuation import value_portfolio

FOUR_PROJECTS = [
    {"project": "verlies", "book_value": 1000},
    {"project": "winst", "book_value": 200, "realised_costs": 600, "realised_revenues": 400, "profit_taken": 20},
    {"project": "plan", "status": "voorbereiding"},
    {"project": "strat", "status": "strategisch", "book_value": 300, "end_year": 2026},
]
FOUR_FLOWS = [
    {"project": "verlies", "year": 2024, "amount": 100},
    {"project": "verlies", "year": 2025, "amount": 100},
    {"project": "verlies", "year": 2026, "type": "revenue", "amount": 500},
    {"project": "winst", "year": 2024, "amount": 300},
    {"project": "winst", "year": 2024, "type": "revenue", "amount": 500},
    {"project": "winst", "year": 2025, "type": "revenue", "amount": 700},
    {"project": "plan", "year": 2025, "amount": 400},
    {"project": "plan", "year": 2026, "type": "revenue", "amount": 300},
]


def load(path):
    scenario = read_scenario(path)
    return scenario, read_portfolio(scenario.portfolio)


def four_complexes(folder, balances=None, extra_toml=""):
    projects = [{**p, **({"provision_balance": balances[p["project"]]} if balances else {})} for p in FOUR_PROJECTS]
    return write_case(
        folder,
        projects,
        FOUR_FLOWS,
        parameters={"cost_index": 0.0},
        reserves={"general_reserve": 10_000},
        extra_toml=extra_toml,
    )


# -- 1. provisions already formed (provision_balance) -----------------------------------------


BALANCES = {"verlies": 500, "winst": 0, "plan": 0, "strat": 100}


def test_provision_balance_charges_only_the_dotation(tmp_path):
    """docs/reserves.md section 5 with a balance of 500 on verlies and 100 on strat
    (strategic land needs none: vrijval). Year 2024 is charged the dotation
    710.15 - 500 = 210.15 and credited the release of 100 instead of the whole
    provision 710.15: change -369.16 + 500 + 100 = +230.84, reserve 10,230.84;
    2025 +170.62: 10,401.46; 2026 -360.89: 10,040.58 (the settlements as
    without a balance: the provision formed, 710.15, comes back)."""
    scenario, portfolio = load(four_complexes(tmp_path, BALANCES))
    v = value_portfolio(scenario, portfolio)
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
    assert path.tolist() == pytest.approx([10_000.0, 10_230.84, 10_401.46, 10_040.58, 10_040.58], abs=EURO)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_provision_balance_in_the_simulation(tmp_path, engine):
    """Without spread every draw is the deterministic path above; with spread the
    two engines agree bit for bit and every draw's path is the path without
    balances plus 600 from year V on (the balances move only year V)."""
    scenario, portfolio = load(four_complexes(tmp_path / "held", BALANCES))
    still = simulate(scenario, portfolio, draws=3, seed=1, drivers=(), engine=engine)
    expected = [10_000.0, 10_230.84, 10_401.46, 10_040.58]
    assert still.deterministic_reserve[:4].tolist() == pytest.approx(expected, abs=EURO)
    np.testing.assert_allclose(still.reserve[:, :4], [expected] * 3, atol=EURO)
    held = simulate(scenario, portfolio, draws=300, seed=5, engine=engine, chunk_size=70)
    other = simulate(scenario, portfolio, draws=300, seed=5, engine="numpy" if engine == "numba" else "numba")
    np.testing.assert_array_equal(held.reserve, other.reserve)
    bare = simulate(*load(four_complexes(tmp_path / "bare")), draws=300, seed=5, engine=engine)
    np.testing.assert_allclose(held.reserve[:, 1:] - bare.reserve[:, 1:], 600.0, atol=1e-9)
    np.testing.assert_array_equal(held.reserve[:, 0], bare.reserve[:, 0])


# -- 2. the yearly revaluation ------------------------------------------------------------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "assen-2024.toml"
CRISIS = ROOT / "scenarios" / "kredietcrisis-2008.toml"
REPLAY = ROOT / "scenarios" / "kredietcrisis-2008-jaarlijks.toml"


def with_rule(scenario, foresight, **more):
    from dataclasses import replace

    return replace(scenario, montecarlo=replace(scenario.montecarlo, foresight=foresight, **more))


@pytest.mark.parametrize("path", [EXAMPLE, CRISIS], ids=["example", "crisis"])
def test_perfect_foresight_revalued_is_todays_path_to_the_cent(path):
    """The revaluation machinery under ``perfect`` (the draw's own future) gives
    the reserve path of today's reading of each draw, to the cent; and the
    default ``perfect`` leaves the reserve path as it was (bit for bit)."""
    scenario, portfolio = load(path)
    sim = simulate(scenario, portfolio, draws=400, seed=11, yearly=True)
    assert sim.parameters.foresight == "perfect"
    assert simulate(scenario, portfolio, draws=5, seed=11).alternative_reserve is None  # not by default (memory)
    np.testing.assert_allclose(sim.alternative_reserve, sim.reserve, rtol=0, atol=0.005)


@pytest.mark.parametrize("foresight", ["plan", "adaptive"])
@pytest.mark.parametrize("path", [EXAMPLE, CRISIS], ids=["example", "crisis"])
def test_no_spread_every_rule_gives_the_deterministic_path(path, foresight):
    """With every spread zero (no driver keeps its spread) the draw is the plan,
    and every rule's revaluations expect what happens: each draw's path is the
    deterministic one to the cent."""
    scenario, portfolio = load(path)
    sim = simulate(with_rule(scenario, foresight, learning_rate=0.7), portfolio, draws=4, seed=1, drivers=())
    for row in sim.reserve:
        np.testing.assert_allclose(row, sim.deterministic_reserve, rtol=0, atol=0.005)


@pytest.mark.parametrize("foresight", ["perfect", "plan", "adaptive"])
@pytest.mark.slow
def test_engines_and_chunks_agree_bit_for_bit(foresight):
    scenario, portfolio = load(CRISIS)
    scenario = with_rule(scenario, foresight, learning_rate=0.6, revaluation_years=7)
    runs = [
        simulate(scenario, portfolio, draws=300, seed=5, engine="numba", chunk_size=300, yearly=True),
        simulate(scenario, portfolio, draws=300, seed=5, engine="numba", chunk_size=37, threads=2, yearly=True),
        simulate(scenario, portfolio, draws=300, seed=5, engine="numpy", chunk_size=120, yearly=True),
    ]
    for other in runs[1:]:
        for name in ("reserve", "alternative_reserve", "provision_held", "estimate"):
            np.testing.assert_array_equal(getattr(runs[0], name), getattr(other, name), err_msg=name)


def one_complex(folder, foresight, learning_rate=0.5):
    """One adopted complex: book value 1,500 at 1-1-2024, plot sales of 600 planned in 2024 and 600 in
    2025, no costs; rekenrente 10%, discount rate 0, no margin, no indexation; reserve 10,000."""
    return write_case(
        folder,
        [{"project": "a", "book_value": 1500}],
        [
            {"project": "a", "year": 2024, "type": "revenue", "amount": 600},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 600},
        ],
        parameters={
            "interest_rate": 0.10,
            "discount_rate": 0.0,
            "uncertainty_margin": 0.0,
            "cost_index": 0.0,
            "revenue_index": 0.0,
        },
        reserves={"general_reserve": 10_000},
        extra_toml=f'[montecarlo]\nforesight = "{foresight}"\nlearning_rate = {learning_rate}\n',
    )


def half_pace(path):
    from grex.montecarlo import value_settings

    scenario, portfolio = load(path)
    return value_settings(
        scenario, portfolio, pace=[[0.5]], delay=[[0.0]], cost_shock=[[0.0]], price_shock=[[0.0]], risk=[[]]
    )


# The draw sells at half the planned pace: 300 a year in 2024 ... 2027. Its book value rolls
# 1,500 -> 1,650 - 300 = 1,350 -> 1,485 - 300 = 1,185 -> 1,303.50 - 300 = 1,003.50
# -> 1,103.85 - 300 = 803.85 at the end of 2027: end value -803.85 (the plan's: -555, sold in two years).
# Perfect foresight charges the whole provision of 803.85 in 2024.


def test_hand_worked_perfect(tmp_path):
    out = half_pace(one_complex(tmp_path, "perfect"))
    assert out["reserve"][0, :5].tolist() == pytest.approx([10_000, 9_196.15, 9_196.15, 9_196.15, 9_196.15], abs=EURO)


def test_hand_worked_plan(tmp_path):
    """plan: each year the unsold move to the following years at the planned pace.
    End 2024: half of the 2024 plan sold (position 0.5 on the plan); expected 600 in 2025
    ([0.5, 1.5] of the plan) and 300 in 2026: 1,350 -> 1,485 - 600 = 885 -> 973.50 - 300 = 673.50,
    provision 673.50. End 2025 (position 1.0): 600 expected in 2026: 1,185 -> 1,303.50 - 600 = 703.50,
    provision 703.50 (dotation 30). End 2026 (position 1.5): 300 in 2027: 1,003.50 -> 803.85, provision
    803.85 (dotation 100.35). 2027: settled, -803.85 + 803.85 = 0."""
    out = half_pace(one_complex(tmp_path, "plan"))
    assert out["provision"][0, :4].tolist() == pytest.approx([673.50, 703.50, 803.85, 0.0], abs=EURO)
    assert out["reserve"][0, :5].tolist() == pytest.approx([10_000, 9_326.50, 9_296.50, 9_196.15, 9_196.15], abs=EURO)


def test_hand_worked_adaptive(tmp_path):
    """adaptive, learning_rate 0.5: observed pace 0.5, expected pace 0.5 x 1 + 0.5 x 0.5 = 0.75.
    End 2024 (position 0.5): 2025 [0.5, 1.25] = 300 + 150 = 450, 2026 [1.25, 2.0] = 450:
    1,350 -> 1,485 - 450 = 1,035 -> 1,138.50 - 450 = 688.50. End 2025 (position 1.0): 2026 [1, 1.75] = 450,
    2027 [1.75, 2.5] = 150: 1,185 -> 1,303.50 - 450 = 853.50 -> 938.85 - 150 = 788.85. End 2026 (position
    1.5): 2027 [1.5, 2.25] = 300: 803.85. 2027 settles at 0."""
    out = half_pace(one_complex(tmp_path, "adaptive", 0.5))
    assert out["provision"][0, :4].tolist() == pytest.approx([688.50, 788.85, 803.85, 0.0], abs=EURO)
    assert out["reserve"][0, :5].tolist() == pytest.approx([10_000, 9_311.50, 9_211.15, 9_196.15, 9_196.15], abs=EURO)


# -- 4. the crisis replay -----------------------------------------------------------------------


def test_crisis_replay_falls_gradually():
    """kredietcrisis-2008-jaarlijks (adaptive, learning_rate 0.9, the pre-crisis plan): the median
    reserve is above half the start (EUR 15 million) after one year and below 15% of it
    (EUR 4.5 million) after five, 2028; the crisis read with perfect foresight is below half at once."""
    scenario, portfolio = load(REPLAY)
    assert scenario.montecarlo.foresight == "adaptive"
    sim = simulate(scenario, portfolio, draws=2000, seed=2024)
    path = sim.reserve_path().set_index("year")
    assert path.loc[2023, "p50"] == 30_000_000
    assert path.loc[2024, "p50"] > 15_000_000
    assert path.loc[2028, "p50"] < 4_500_000
    perfect = simulate(with_rule(scenario, "perfect"), portfolio, draws=2000, seed=2024)
    assert perfect.reserve_path().set_index("year").loc[2024, "p50"] < 15_000_000
    # the perfect-foresight reading is kept beside the rule's (herkenningsvertraging)
    np.testing.assert_array_equal(sim.alternative_reserve, perfect.reserve)


# -- 3. outputs -----------------------------------------------------------------------------------


def test_grex_simulate_writes_the_yearly_figures(tmp_path):
    import json

    import pandas as pd

    from grex.cli import main

    out = tmp_path / "sim"
    assert main(["simulate", str(REPLAY), "--draws", "300", "--seed", "3", "--out", str(out)]) == 0
    provisions = pd.read_csv(out / "provision_path.csv", comment="#")
    assert provisions["year"].tolist() == list(range(2024, 2034))
    assert {"provision_p50", "probability_reserve_below_zero", "required_capacity"} <= set(provisions.columns)
    reserve = pd.read_csv(out / "reserve_path.csv", comment="#").set_index("year")
    years = pd.read_parquet(out / "reserve_years.parquet")
    assert len(years) == 300 * 10
    # the Parquet's reserve is the path whose percentiles reserve_path.csv gives
    median = years.groupby("year")["reserve"].median()
    assert median.loc[2026] == pytest.approx(reserve.loc[2026, "p50"])
    below = (years.pivot(index="draw", columns="year", values="reserve") < 0).mean()
    # (the CSV gives shares to six decimals, like rates; 300 draws make every share a multiple of 1/300)
    assert provisions.set_index("year")["probability_reserve_below_zero"].tolist() == pytest.approx(
        below.tolist(), abs=5e-7
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["foresight"] == "adaptive"
    first = summary["first_year_reserve_below_zero"]
    assert sum(first.values()) == pytest.approx(1.0)
    assert 1.0 - first["never"] == pytest.approx(summary["probability_reserve_below_zero"])


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('foresight = "hindsight"', "montecarlo.foresight"),
        ("learning_rate = 1.5", "montecarlo.learning_rate"),
        ("learning_rate = -0.1", "montecarlo.learning_rate"),
        ("revaluation_years = 0", "montecarlo.revaluation_years"),
        ("revaluation_years = -2", "montecarlo.revaluation_years"),
    ],
)
def test_bad_revaluation_keys(tmp_path, capsys, line, key):
    from grex.cli import main

    scenario = tmp_path / "bad.toml"
    scenario.write_text(f'extends = "{REPLAY}"\nname = "bad"\n[montecarlo]\n{line}\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["simulate", str(scenario), "--draws", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert key in err and "bad.toml" in err
    assert not out.exists()


@pytest.mark.parametrize("foresight", ["plan", "adaptive"])
def test_engines_agree_on_a_synthetic_portfolio(foresight):
    """Long plans, fixed costs and given end years: the kernel's early stop of the expected
    years (nothing more can flow) leaves the numbers of the numpy twin, bit for bit."""
    from dataclasses import replace

    from grex.synthetic import synthetic_portfolio

    scenario, portfolio = synthetic_portfolio(12, 30, seed=4)
    scenario = replace(scenario, montecarlo=replace(scenario.montecarlo, foresight=foresight, learning_rate=0.7))
    a = simulate(scenario, portfolio, draws=200, seed=3, engine="numba")
    b = simulate(scenario, portfolio, draws=200, seed=3, engine="numpy")
    for name in ("reserve", "provision_held", "estimate"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


# -- 5. the report --------------------------------------------------------------------------------


def test_report_shows_the_recognition_delay_only_under_a_rule():
    """The section "Herkenning van verliezen" with the herkenningsvertraging per year: the rule's median
    reserve less the perfect-foresight median; absent under perfect foresight."""
    from grex.report.content import _revaluation_section
    from grex.report.labels import Labels

    scenario, portfolio = load(REPLAY)
    labels = Labels("nl")
    sim = simulate(scenario, portfolio, draws=300, seed=2)
    section = _revaluation_section(sim, labels)
    assert section is not None and "adaptief" in section.paragraphs[0] and "90%" in section.paragraphs[0]
    frame = section.tables[0].frame
    np.testing.assert_allclose(
        frame["delay"], np.median(sim.reserve[:, 1:], axis=0) - np.median(sim.alternative_reserve[:, 1:], axis=0)
    )
    assert frame["delay"].iloc[0] > 0  # the rule recognises later than perfect foresight
    assert _revaluation_section(simulate(with_rule(scenario, "perfect"), portfolio, draws=300, seed=2), labels) is None


def test_plan_grid_by_hand():
    """The expected flows of a revaluation on the plan's own grid (the kernel's per-plan table), by hand.

    Complex 0 sells on plan years 1-2 and 4-5 (revenues 100, 200, 40, 60; linked costs 10, 20), fixed
    cost 5 in year 0, given end year 2; the horizon is 5 years (T), the plan 6 (P). Running sums:
    revenues 0, 0, 100, 300, 300, 340, 400; linked 0, 0, 10, 30, 30, 30, 30. Year t expects
    cum[t + 1] - cum[t]: revenues 0, 100, 200, 0 and, in the horizon's last year, all that remains
    (400 - 300 = 100); linked 0, 10, 20, 0, 0. Its last year: from max(s, 2) the scan goes on while
    sales remain (sales end 6 > 4), so the flow of year 4 makes it 4 for s = 1, 2, 3.
    Complex 1 has no sales (its table's 50 is not read): fixed cost 3 in year 2 (fixed end 3), given end
    0. s = 1: starts at 1, the flow of year 2 makes it 2, year 3 stops; s = 2: 2; s = 3: starts at 3,
    year 4 stops: 3.
    """
    from grex.montecarlo.revaluation import RevaluationTables, plan_grid

    revenues = np.array([[0.0, 100, 200, 0, 40, 60], [0, 0, 0, 50, 0, 0]])
    linked = np.array([[0.0, 10, 20, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    cum = np.zeros((2, 7))
    cum_linked = np.zeros((2, 7))
    for j in range(6):
        cum[:, j + 1] = cum[:, j] + revenues[:, j]
        cum_linked[:, j + 1] = cum_linked[:, j] + linked[:, j]
    tables = RevaluationTables(
        revenues=revenues,
        linked_costs=linked,
        cum_revenues=cum,
        cum_linked=cum_linked,
        fixed_costs=np.array([[5.0, 0, 0, 0, 0], [0, 0, 3, 0, 0]]),
        cost_factor=np.ones((2, 5)),
        revenue_factor=np.ones((2, 5)),
        margin=np.zeros(2),
        anchor=np.array([1, 0]),
        has_sales=np.array([True, False]),
        given_end_index=np.array([2, 0]),
        discount=np.ones(5),
        balance=np.zeros(2),
    )
    grid = plan_grid(tables, fixed_end=np.array([1, 3]), sales_end=np.array([6, 0]), rows=3)
    np.testing.assert_array_equal(grid.revenues.T, [[0, 100, 200, 0, 100], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(grid.linked_costs.T, [[0, 10, 20, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(grid.last, [[4, 2], [4, 2], [4, 3]])
