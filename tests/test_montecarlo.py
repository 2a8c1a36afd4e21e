"""Monte Carlo (issue 3): determinism, zero spread, conservation, known answers,
bad input, the crisis scenario and a plain-loop check of one draw.

Hand-worked expectations are written out in the comments; the code under test
never computes its own expectation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import EURO, EXAMPLE, ROOT
from grex.cli import main
from grex.drivers import retime
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import BLOCK, simulate, trace
from grex.reference import value_complex
from grex.valuation import build_inputs, value_portfolio

CRISIS = ROOT / "scenarios" / "kredietcrisis-2008.toml"

NO_SPREAD = """
[montecarlo]
market_pace = 1.0
complex_pace = 1.0
delay = 0.0
cost_shock = { sd = 0.0 }
price_shock = { sd = 0.0 }
interest = 0.0
"""


def load(path):
    scenario = read_scenario(path)
    return scenario, read_portfolio(scenario.portfolio)


@pytest.fixture(scope="module")
def example():
    return load(EXAMPLE)


def write_extension(tmp_path: Path, body: str, parent: Path = EXAMPLE, name: str = "variant") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'extends = "{parent}"\nname = "{name}"\n{body}', encoding="utf-8")
    return path


# -- determinism ----------------------------------------------------------------


def test_same_seed_same_result_whatever_the_chunk_size(example):
    scenario, portfolio = example
    draws = BLOCK + 300  # crosses a block boundary
    runs = [simulate(scenario, portfolio, draws=draws, seed=7, chunk_size=size) for size in (None, 97, BLOCK, 5000)]
    first = runs[0]
    for other in runs[1:]:
        for name in ("end_year", "end_value", "present_value", "portfolio_present_value", "reserve"):
            assert np.array_equal(getattr(first, name), getattr(other, name)), name
        assert first.required_capacity == other.required_capacity
    assert first.seed == 7
    # A different seed gives different draws; a prefix of the draws does not depend on their number.
    assert not np.array_equal(first.present_value, simulate(scenario, portfolio, draws=draws, seed=8).present_value)
    shorter = simulate(scenario, portfolio, draws=200, seed=7)
    assert np.array_equal(shorter.present_value, first.present_value[:200])


def test_seed_none_is_recorded(example):
    scenario, portfolio = example
    sim = simulate(scenario, portfolio, draws=20, seed=None)
    again = simulate(scenario, portfolio, draws=20, seed=sim.seed)
    assert np.array_equal(sim.present_value, again.present_value)


# -- zero spread ------------------------------------------------------------------


def test_no_drivers_reproduce_the_deterministic_valuation_exactly(example):
    scenario, portfolio = example
    sim = simulate(scenario, portfolio, draws=50, seed=1, drivers=())
    base = value_portfolio(scenario, portfolio).result
    assert np.array_equal(sim.end_value, np.broadcast_to(base.end_value, sim.end_value.shape))
    assert np.array_equal(sim.present_value, np.broadcast_to(base.present_value, sim.present_value.shape))
    assert np.array_equal(sim.end_year[0], scenario.valuation_year + base.end_index)
    assert np.array_equal(sim.reserve, np.broadcast_to(sim.deterministic_reserve, sim.reserve.shape))
    assert sim.required_capacity == 0.0 and sim.probability_of_loss == 0.0


def test_zero_spread_in_the_scenario_file_equals_grex_run(tmp_path):
    path = write_extension(
        tmp_path,
        NO_SPREAD
        + "\n[montecarlo.complex.messchenveld_1a]\npace = 1.0\n\n[[risks]]\nproject = 'klenckestraat'\nname = 'never'\nprobability = 0.0\n"
        "impact = 1000\nyear = 2025\ntype = 'cost'\n",
    )
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 0
    complexes = pd.read_parquet(out / "complexes.parquet")
    scenario, portfolio = load(path)
    sim = simulate(scenario, portfolio, draws=30, seed=3)
    for d in (0, 29):
        assert np.array_equal(sim.present_value[d], complexes["present_value"].to_numpy())
        assert np.array_equal(sim.end_value[d], complexes["end_value"].to_numpy())
        assert np.array_equal(sim.end_year[d], complexes["end_year"].to_numpy())


# -- re-timing ------------------------------------------------------------------


def test_retiming_conserves_the_amount_in_every_draw():
    rng = np.random.default_rng(0)
    planned = rng.uniform(0, 1e6, (6, 12)) * (rng.uniform(size=(6, 12)) < 0.7)
    anchor = np.argmax(planned != 0, axis=1)
    pace = rng.uniform(0.3, 1.9, (500, 6))
    delay = rng.uniform(0.0, 3.0, (500, 6))
    out = retime(planned, anchor, pace, delay, 60)
    np.testing.assert_allclose(out.sum(axis=-1), np.broadcast_to(planned.sum(axis=1), (500, 6)), rtol=1e-12)
    assert (out >= 0).all()
    # Nothing moves before the start of sales plus the delay.
    first = np.argmax(out > 0, axis=-1)
    assert (first >= np.floor(anchor + delay)).all()


def test_revenues_at_price_level_are_conserved_in_the_simulation(example):
    scenario, portfolio = example
    planned = build_inputs(scenario, portfolio)
    for draw in (0, 5, BLOCK + 1):
        flows = trace(scenario, portfolio, seed=11, draw=draw)
        np.testing.assert_allclose(flows["revenues"].sum(axis=1), planned.revenues.sum(axis=1), rtol=1e-12)
        np.testing.assert_allclose(
            flows["costs"].sum(axis=1), (planned.costs + planned.linked_costs).sum(axis=1), rtol=1e-12
        )


def test_half_pace_spreads_a_year_over_two():
    # 10 sold in year 0 at half the pace: 5 in year 0, 5 in year 1.
    assert retime([[10.0]], [0], [0.5], [0.0], 3).tolist() == [[5.0, 5.0, 0.0]]


# -- known answers ----------------------------------------------------------------


KNOWN_PROJECT = [{"project": "a", "book_value": 0}]
KNOWN_FLOWS = [
    {"project": "a", "year": 2024, "type": "cost", "amount": 400_000},
    {"project": "a", "year": 2025, "type": "cost", "category": "woonrijp", "amount": 100_000, "sales_linked": "true"},
    {"project": "a", "year": 2025, "type": "revenue", "amount": 300_000},
    {"project": "a", "year": 2026, "type": "revenue", "amount": 500_000},
]
KNOWN_PARAMETERS = {"interest_rate": 0.01, "discount_rate": 0.02, "uncertainty_margin": 0.1, "cost_index": 0.02}


@pytest.mark.parametrize("probability, expected_share", [(0.25, 1.0), (0.05, 0.0)])
def test_single_risk_gives_the_exact_quantile(case, tmp_path, probability, expected_share):
    """A fixed impact of 100,000 at price level 2024 in 2025 with probability p.

    Nominal in 2025: 100,000 * 1.02 = 102,000 (no margin on a register risk);
    it enters the book value at 31-12-2025 and earns 1% interest in 2026:
    102,000 * 1.01 = 103,020 less end value at 31-12-2026; discounted over
    three years: 103,020 / 1.061208 = 97,078.05 of present value. At 90%
    confidence the loss quantile is that amount where p > 10%, else zero.
    """
    scenario_path = case(
        KNOWN_PROJECT,
        KNOWN_FLOWS,
        parameters=KNOWN_PARAMETERS,
        reserves={"confidence": 0.9},
        extra_toml=f"""[[risks]]
project = "a"
name = "extra sanering"
probability = {probability}
impact = 100_000
year = 2025
type = "cost"
""",
    )
    scenario, portfolio = load(scenario_path)
    sim = simulate(scenario, portfolio, draws=4000, seed=5, drivers={"risks"})
    loss = 97_078.05
    assert sim.required_capacity == pytest.approx(expected_share * loss, abs=EURO)
    losses = sim.base.result.present_value.sum() - sim.portfolio_present_value
    hit = losses > 0
    assert np.allclose(losses[hit], loss, atol=EURO)
    assert sim.probability_of_loss == pytest.approx(probability, abs=0.03)
    if expected_share:
        assert sim.expected_shortfall == pytest.approx(loss, abs=EURO)
        assert sim.required_capacity_standard_error == pytest.approx(0.0, abs=EURO)


def test_a_delay_of_one_year_equals_the_plan_shifted_by_a_year(case, tmp_path):
    """A fixed start delay of one year and no other spread moves the revenues
    and the sales-linked costs one year later, and nothing else."""
    shifted = [
        {**f, "year": f["year"] + 1} if f["type"] == "revenue" or f.get("sales_linked") == "true" else f
        for f in KNOWN_FLOWS
    ]
    spread = NO_SPREAD.replace("delay = 0.0", "delay = 1.0")
    delayed_path = case(KNOWN_PROJECT, KNOWN_FLOWS, parameters=KNOWN_PARAMETERS, extra_toml=spread)
    scenario, portfolio = load(delayed_path)
    sim = simulate(scenario, portfolio, draws=10, seed=1)
    reference_dir = tmp_path / "shifted"
    reference_dir.mkdir()
    from conftest import write_case

    shifted_path = write_case(reference_dir, KNOWN_PROJECT, shifted, parameters=KNOWN_PARAMETERS)
    expected = value_portfolio(*load(shifted_path)).result
    assert np.array_equal(sim.end_year[:, 0], np.full(10, 2027))
    np.testing.assert_allclose(sim.end_value[:, 0], expected.end_value[0], rtol=1e-13)
    np.testing.assert_allclose(sim.present_value[:, 0], expected.present_value[0], rtol=1e-13)


# -- one draw against the plain-loop reference ------------------------------------


def test_one_draw_matches_the_loop_reference(example):
    scenario, portfolio = example
    drivers = ("pace", "delay", "costs", "prices", "interest")
    sim = simulate(scenario, portfolio, draws=40, seed=21, drivers=drivers)
    draw = 33
    flows = trace(scenario, portfolio, seed=21, draw=draw, n_years=sim.n_years, drivers=drivers)
    params = scenario.parameters
    projects = portfolio.projects
    for c, row in enumerate(projects.itertuples()):
        years = flows["years"]
        grid = flows["grid_years"]
        result = value_complex(
            valuation_year=scenario.valuation_year,
            book_value=row.book_value,
            costs=dict(zip(years.tolist(), flows["costs"][c].tolist(), strict=True)),
            revenues=dict(zip(years.tolist(), flows["revenues"][c].tolist(), strict=True)),
            interest_rate=flows["interest_rate"],
            discount_rate=params.discount_rate,
            uncertainty_margin=params.uncertainty_margin
            if np.isnan(row.uncertainty_margin)
            else row.uncertainty_margin,
            cost_index={**dict(zip(grid.tolist(), flows["cost_rates"][c].tolist(), strict=True)), "default": 0.0},
            revenue_index={**dict(zip(grid.tolist(), flows["revenue_rates"][c].tolist(), strict=True)), "default": 0.0},
            price_level=None if pd.isna(row.price_level) else int(row.price_level),
            end_year=None if pd.isna(row.end_year) else int(row.end_year),
            index_revenues_after_max_duration=True,  # the traced rates are already frozen
            max_duration=params.max_duration,
        )
        assert sim.end_year[draw, c] == result.end_year, row.project
        assert sim.end_value[draw, c] == pytest.approx(result.end_value, rel=1e-9, abs=EURO), row.project
        assert sim.present_value[draw, c] == pytest.approx(result.present_value, rel=1e-9, abs=EURO), row.project
    assert not np.allclose(flows["pace"], 1.0)  # the draw really moved the flows
    assert flows["interest_rate"] != params.interest_rate  # and shifted the interest rate


# -- drivers ------------------------------------------------------------------------


def test_each_driver_adds_spread_and_keeps_its_own_numbers(example):
    scenario, portfolio = example
    full = simulate(scenario, portfolio, draws=300, seed=4)
    for driver in ("pace", "delay", "costs", "prices", "risks"):
        alone = simulate(scenario, portfolio, draws=300, seed=4, drivers={driver})
        assert alone.drivers == (driver,)
        assert np.std(alone.portfolio_present_value) > 0, driver
    # its own numbers: a driver alone draws what it draws in the full run (draw 123, seed 4)
    full_trace = trace(scenario, portfolio, seed=4, draw=123)
    for driver, key in (("pace", "pace"), ("delay", "delay"), ("costs", "cost_rates"), ("prices", "revenue_rates")):
        alone_trace = trace(scenario, portfolio, seed=4, draw=123, n_years=len(full_trace["years"]), drivers={driver})
        np.testing.assert_array_equal(alone_trace[key], full_trace[key], driver)
        assert not np.array_equal(alone_trace[key], trace(scenario, portfolio, seed=4, draw=123, drivers=())[key])
    assert np.std(full.portfolio_present_value) > np.std(
        simulate(scenario, portfolio, draws=300, seed=4, drivers={"costs"}).portfolio_present_value
    )


# -- reserves -------------------------------------------------------------------------


def test_required_capacity_and_reserve_outputs(example):
    scenario, portfolio = example
    sim = simulate(scenario, portfolio, draws=2000, seed=2024)
    loss = sim.base.result.present_value.sum() - sim.portfolio_present_value
    ordered = np.sort(loss)
    # the 90% quantile: the 1,800th smallest of 2,000 losses, the first with 90% of the draws at or below it
    assert sim.required_capacity == ordered[1799]
    assert np.mean(loss <= sim.required_capacity) >= 0.9 > np.mean(loss < sim.required_capacity)
    # the expected shortfall: the mean of the 200 largest losses
    assert sim.expected_shortfall == pytest.approx(ordered[1800:].mean(), rel=1e-12)
    assert sim.expected_shortfall >= sim.required_capacity > 0
    assert 0 < sim.required_capacity_standard_error < 0.1 * sim.required_capacity
    assert sim.ratio == pytest.approx(scenario.reserves.resistance_reserve / sim.required_capacity)
    frame = sim.per_complex()
    assert list(frame.columns[:6]) == ["project", "p5", "p50", "p95", "probability_of_loss", "required_capacity"]
    path = sim.reserve_path()
    assert list(path.columns) == ["year", "deterministic", "p5", "p25", "p50", "p75", "p95"]
    assert path["year"].tolist() == list(range(2023, 2034))
    assert path.loc[0, "deterministic"] == scenario.reserves.general_reserve
    # Year V (the provisions charged, the POC credited) is pinned by hand in test_reserves_handworked.py.
    assert set(sim.percentiles()) == {"p5", "p10", "p25", "p50", "p75", "p90", "p95"}
    assert len(sim.to_frame()) == 2000 * len(sim.projects)


def test_reserve_path_settles_a_complex_in_its_end_year(case):
    """One adopted complex, no interest, no indexation, no margin: costs 100 in
    2024, revenue 150 in 2025, nothing realised; result +50 end value, present
    value 50 / 1.02**2 = 48.06. POC: end 2024 the cost share is 1 but no revenue
    is realised, so nothing; the complex ends in 2025 and settles its end value
    of 50. Reserve 1,000: 1,000 in 2024, 1,050 from 2025."""
    path = case(
        [{"project": "a"}],
        [
            {"project": "a", "year": 2024, "type": "cost", "amount": 100},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 150},
        ],
        parameters={"interest_rate": 0.0, "uncertainty_margin": 0.0, "cost_index": 0.0},
        reserves={"general_reserve": 1000},
    )
    sim = simulate(*load(path), draws=5, seed=1, drivers=())
    assert sim.deterministic_reserve[:4].tolist() == pytest.approx([1000, 1000, 1050, 1050])


def test_crisis_scenario_empties_the_general_reserve_in_five_years():
    """kredietcrisis-2008: from EUR 30 million to practically nothing (the
    median under EUR 3 million either way) at the end of the fifth year,
    2028; the example without the stress keeps more than EUR 8 million."""
    crisis = simulate(*load(CRISIS), draws=2000, seed=2024).reserve_path().set_index("year")
    assert crisis.loc[2023, "p50"] == 30_000_000
    assert abs(crisis.loc[2028, "p50"]) < 3_000_000
    assert crisis.loc[2024, "p50"] < 15_000_000  # most of the fall comes at once
    calm = simulate(*load(EXAMPLE), draws=2000, seed=2024).reserve_path().set_index("year")
    assert calm.loc[2028, "p50"] > 8_000_000


# -- the command and bad input ---------------------------------------------------------


def test_grex_simulate_writes_the_three_files(tmp_path, capsys):
    out = tmp_path / "sim"
    assert (
        main(["simulate", str(EXAMPLE), "--draws", "400", "--seed", "9", "--chunk-size", "150", "--out", str(out)]) == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "draws",
        "seed",
        "percentiles",
        "probability_of_loss",
        "required_capacity",
        "required_capacity_standard_error",
        "expected_shortfall",
        "iflo_norm",
        "ratio",
        "grade",
        "parameters",
        "input_hash",
        "grex_version",
        "notice",
    ):
        assert key in summary, key
    assert summary["draws"] == 400 and summary["seed"] == 9
    assert set(summary["percentiles"]) == {"p5", "p10", "p25", "p50", "p75", "p90", "p95"}
    draws = pd.read_parquet(out / "draws.parquet")
    assert list(draws.columns) == ["draw", "project", "end_year", "end_value", "present_value"]
    assert len(draws) == 400 * draws["project"].nunique()
    path = pd.read_csv(out / "reserve_path.csv", comment="#")
    assert list(path.columns) == ["year", "deterministic", "p5", "p25", "p50", "p75", "p95"]
    assert "seed 9" in capsys.readouterr().out


BAD = {
    "probability": (
        "[[risks]]\nproject='klenckestraat'\nname='x'\nprobability=1.5\nimpact=1\nyear=2025\ntype='cost'\n",
        "risks[0].probability",
    ),
    "low above mode": ("[montecarlo]\nmarket_pace = { low = 1.1, mode = 1.0, high = 1.2 }\n", "montecarlo.market_pace"),
    "mode above high": ("[montecarlo]\ndelay = { low = 0, mode = 3, high = 2 }\n", "montecarlo.delay"),
    "impact": (
        "[[risks]]\nproject='klenckestraat'\nname='x'\nprobability=0.5\nimpact={low=5, mode=2, high=9}\nyear=2025\ntype='cost'\n",
        "risks[0].impact",
    ),
    "not psd": (
        "[montecarlo]\ncorrelation = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]\n",
        "montecarlo.correlation",
    ),
    "draws": ("[montecarlo]\ndraws = 0\n", "montecarlo.draws"),
    "unknown complex": (
        "[[risks]]\nproject='nergens'\nname='x'\nprobability=0.5\nimpact=1\nyear=2025\ntype='cost'\n",
        "risks[0].project",
    ),
    "unknown key": ("[montecarlo]\npaec = 1.0\n", "montecarlo.paec"),
    "unknown override": ("[montecarlo.complex.nergens]\npace = 1.0\n", "montecarlo.complex.nergens"),
    "uniform high below low": (
        "[montecarlo]\ncomplex_pace = { low = 1.2, high = 0.8 }\n",
        "montecarlo.complex_pace.high",
    ),
    # 5% point 0.02 of a uniform up to 1.0: the minimum 0.02 - 0.98/18 < 0, an impossible pace
    "uniform pace minimum": (
        "[montecarlo]\ncomplex_pace = { low = 0.02, high = 1.0 }\n",
        "montecarlo.complex_pace.low",
    ),
    "uniform delay minimum": ("[montecarlo]\ndelay = { low = 0, high = 2 }\n", "montecarlo.delay"),
    "no mode, one bound": ("[montecarlo]\ndelay = { high = 2 }\n", "montecarlo.delay.mode"),
    "interest in percent": ("[montecarlo]\ninterest = { low = -0.5, mode = 0, high = 1 }\n", "montecarlo.interest.low"),
    "interest unknown key": ("[montecarlo]\ninterest = { sd = 0.01 }\n", "montecarlo.interest.sd"),
}


@pytest.mark.parametrize("label", sorted(BAD))
def test_bad_input_exits_2_naming_the_key(tmp_path, capsys, label):
    body, key = BAD[label]
    path = write_extension(tmp_path, body)
    assert main(["simulate", str(path), "--draws", "10", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert key in error and str(path) in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag", ["--draws", "--chunk-size"])
def test_non_positive_draws_or_chunk_size_exit_2(tmp_path, capsys, flag):
    assert main(["simulate", str(EXAMPLE), flag, "0", "--out", str(tmp_path / "out")]) == 2
    assert flag in capsys.readouterr().err


def test_unknown_driver_is_refused(example):
    with pytest.raises(ValueError, match="unknown driver"):
        simulate(*example, draws=5, seed=1, drivers={"weather"})


def test_draws_in_parts_assemble_to_the_whole_run():
    """simulation_horizon + simulate_range over parts + assemble (how a cluster
    runs one simulation) gives the single run bit for bit."""
    from grex.io import read_portfolio, read_scenario
    from grex.montecarlo import assemble, simulate, simulate_range, simulation_horizon

    scenario = read_scenario(EXAMPLE)
    portfolio = read_portfolio(scenario.portfolio)
    whole = simulate(scenario, portfolio, draws=2500, seed=5)
    n_years = simulation_horizon(scenario, portfolio, draws=2500, seed=5)
    parts = [
        simulate_range(scenario, portfolio, seed=5, start=a, stop=b, n_years=n_years)
        for a, b in ((0, 700), (700, 2048), (2048, 2500))
    ]
    arrays = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    other = assemble(scenario, portfolio, seed=5, n_years=n_years, arrays=arrays)
    np.testing.assert_array_equal(whole.present_value, other.present_value)
    np.testing.assert_array_equal(whole.reserve, other.reserve)
    assert whole.summary() == other.summary()


# -- low and high as the 5% and 95% points (docs/montecarlo.md section 2) ------


def test_triangle_low_and_high_are_the_5_and_95_percent_points():
    """The fitted triangle puts exactly 5% below low and 5% above high; a
    one-sided triangle (low == mode) keeps the mode as its minimum; with
    bounds = "extremes" low and high are the extremes."""
    from grex.drivers import Triangular

    for low, mode, high in ((0.6, 1.0, 1.2), (0.35, 0.5, 0.7), (1.0, 2.0, 3.0), (100.0, 300.0, 700.0)):
        t = Triangular(low, mode, high)
        assert t.ppf([0.05, 0.95]).tolist() == pytest.approx([low, high], rel=1e-12, abs=1e-12)
        assert t.minimum < low and t.maximum > high
    assert float(Triangular(0.0, 0.0, 2.0).ppf(0.95)) == pytest.approx(2.0, rel=1e-12)
    assert Triangular(0.0, 0.0, 2.0).minimum == 0.0
    # (B - h)**2 = 0.05 B**2 with h = 2: B = 2 / (1 - sqrt(0.05)) = 2.57603...
    assert Triangular(0.0, 0.0, 2.0).maximum == pytest.approx(2 / (1 - 0.05**0.5), rel=1e-12)
    extremes = Triangular(0.6, 1.0, 1.2, tail=0.0)
    assert (extremes.minimum, extremes.maximum) == (0.6, 1.2)


def test_simulated_delays_have_low_and_high_at_5_and_95_percent(tmp_path):
    """Empirical quantiles of the drawn delays sit at the given low and high
    (the drivers of the draws, from the module's own block generator)."""
    from grex.montecarlo.plan import make_plan
    from grex.montecarlo.streams import _draws, _timing

    def delays(body: str, name: str) -> np.ndarray:
        scenario, portfolio = load(write_extension(tmp_path, body, name=name))
        plan = make_plan(scenario, portfolio, {"delay"})
        return _draws(plan, 3, 0, 20_000, _timing)["delay"].ravel()

    drawn = delays("[montecarlo]\ndelay = { low = 1.0, mode = 2.0, high = 4.0 }\n", "p")
    assert np.quantile(drawn, [0.05, 0.95]) == pytest.approx([1.0, 4.0], abs=0.01)
    drawn = delays('[montecarlo]\nbounds = "extremes"\ndelay = { low = 1.0, mode = 2.0, high = 4.0 }\n', "x")
    assert drawn.min() >= 1.0 and drawn.max() <= 4.0
    assert np.quantile(drawn, 0.05) > 1.2


def test_a_5_percent_point_whose_minimum_is_impossible_is_refused(tmp_path, capsys):
    path = write_extension(tmp_path, "[montecarlo]\nmarket_pace = { low = 0.1, mode = 0.9, high = 1.0 }\n")
    assert main(["simulate", str(path), "--draws", "10"]) == 2
    err = capsys.readouterr().err
    assert "montecarlo.market_pace.low" in err and "5% point" in err
    path = write_extension(tmp_path, '[montecarlo]\nbounds = "p10"\n', name="y")
    assert main(["simulate", str(path), "--draws", "10"]) == 2
    assert "montecarlo.bounds" in capsys.readouterr().err


def test_draws_parquet_is_written_in_row_groups_equal_to_the_frame(example, tmp_path, monkeypatch):
    """draws.parquet is streamed in row groups (bounded memory at a million
    draws) and holds exactly the rows of Simulation.to_frame()."""
    import pandas as pd
    import pyarrow.parquet as pq

    import grex.io.simulation as writer

    simulation = simulate(*example, draws=1100, seed=3)
    monkeypatch.setattr(writer, "ROW_GROUP_DRAWS", 400)
    writer.write_draws(simulation, tmp_path / "draws.parquet")
    assert pq.ParquetFile(tmp_path / "draws.parquet").num_row_groups == 3
    read = pd.read_parquet(tmp_path / "draws.parquet")
    expected = simulation.to_frame()
    assert read["project"].astype(str).tolist() == expected["project"].tolist()
    for column in ("draw", "end_year", "end_value", "present_value"):
        np.testing.assert_array_equal(read[column].to_numpy(), expected[column].to_numpy())


def test_validate_refuses_a_risk_or_override_naming_an_unknown_complex(tmp_path, capsys):
    risk = '[[risks]]\nproject = "nope"\nname = "r"\nprobability = 0.5\nimpact = 100\nyear = 2025\ntype = "cost"\n'
    assert main(["validate", str(write_extension(tmp_path, risk))]) == 2
    assert "key risks[0].project: unknown complex 'nope'" in capsys.readouterr().err
    override = "[montecarlo.complex.nope]\npace = 1.0\n"
    assert main(["validate", str(write_extension(tmp_path, override, name="o"))]) == 2
    assert "key montecarlo.complex.nope" in capsys.readouterr().err


# -- uniform distributions --------------------------------------------------------

UNIFORM = """
[montecarlo]
market_pace = 1.0
complex_pace = { low = 0.8, high = 1.2 }
delay = { low = 0.5, high = 1.5 }

[[risks]]
project = "klenckestraat"
name = "uniform impact"
probability = 1.0
impact = { low = 100_000, high = 200_000 }
year = 2025
type = "cost"
"""


def test_a_table_without_mode_is_a_uniform_distribution(tmp_path):
    from grex.drivers import Triangular, Uniform

    scenario = read_scenario(write_extension(tmp_path, UNIFORM))
    mc = scenario.montecarlo
    assert isinstance(mc.complex_pace, Uniform) and isinstance(mc.delay, Uniform)
    assert isinstance(scenario.risks[0].impact, Uniform)
    # the override in the example stays triangular
    assert isinstance(mc.pace_of("messchenveld_1a"), Triangular)
    # 5% and 95% points 0.8 and 1.2: the width 0.4 is 90% of the whole, 0.4 / 0.9 = 0.4444...,
    # so the extremes lie 0.0222... beyond: 0.7777... and 1.2222...
    assert mc.complex_pace.minimum == pytest.approx(0.8 - 0.4 / 18, abs=1e-15)
    assert mc.complex_pace.maximum == pytest.approx(1.2 + 0.4 / 18, abs=1e-15)
    assert mc.complex_pace.ppf([0.05, 0.5, 0.95]) == pytest.approx([0.8, 1.0, 1.2], abs=1e-14)
    # bounds = "extremes": low and high are the extremes themselves, for the risk impacts too
    body = UNIFORM.replace("[montecarlo]\n", '[montecarlo]\nbounds = "extremes"\n')
    extremes = read_scenario(write_extension(tmp_path, body, name="extremes"))
    assert (extremes.montecarlo.complex_pace.minimum, extremes.montecarlo.complex_pace.maximum) == (0.8, 1.2)
    assert extremes.risks[0].impact.minimum == 100_000


def test_uniform_draws_spread_evenly_between_their_extremes(tmp_path):
    from grex.montecarlo import streams
    from grex.montecarlo.plan import make_plan

    scenario = read_scenario(write_extension(tmp_path, UNIFORM))
    portfolio = read_portfolio(scenario.portfolio)
    plan = make_plan(scenario, portfolio, None)
    values = [streams._timing(plan, 5, block) for block in range(4)]
    others = [i for i, p in enumerate(build_inputs(scenario, portfolio).projects) if p != "messchenveld_1a"]
    pace = np.concatenate([v["pace"][:, others] for v in values]).ravel()  # market pace fixed at 1
    delay = np.concatenate([v["delay"] for v in values]).ravel()
    assert pace.min() >= 0.8 - 0.4 / 18 and pace.max() <= 1.2 + 0.4 / 18
    # flat: 5% of the draws below 0.8 and above 1.2, and 45% in each of [0.8, 1.0) and [1.0, 1.2)
    assert np.mean(pace < 0.8) == pytest.approx(0.05, abs=0.01)
    assert np.mean(pace > 1.2) == pytest.approx(0.05, abs=0.01)
    assert np.mean((pace >= 0.8) & (pace < 1.0)) == pytest.approx(0.45, abs=0.015)
    assert np.mean(delay < 0.75) == pytest.approx(0.05 + 0.9 / 4, abs=0.015)  # a quarter of [0.5, 1.5]
    risk = np.concatenate([streams._risks(plan, 5, block) for block in range(4)])[:, 0]
    assert risk.min() >= 100_000 - 100_000 / 18 and risk.max() <= 200_000 + 100_000 / 18
    assert np.mean(risk < 150_000) == pytest.approx(0.5, abs=0.02)


# -- the interest driver ---------------------------------------------------------


def test_interest_driver_values_each_draw_at_its_own_rate(example):
    # Only the interest varies: each draw is the deterministic valuation at the draw's rekenrente.
    from grex.valuation import with_parameters

    scenario, portfolio = example
    sim = simulate(scenario, portfolio, draws=6, seed=3, drivers={"interest"})
    rates = [trace(scenario, portfolio, seed=3, draw=d, drivers={"interest"})["interest_rate"] for d in range(6)]
    assert len(set(rates)) == 6 and all(r != scenario.parameters.interest_rate for r in rates)
    for d, rate in enumerate(rates):
        expected = value_portfolio(with_parameters(scenario, interest_rate=rate), portfolio).result
        np.testing.assert_allclose(sim.present_value[d], expected.present_value, rtol=1e-12, atol=1e-6)
        np.testing.assert_array_equal(sim.end_year[d], scenario.valuation_year + expected.end_index)


def test_interest_shifts_spread_between_their_5_and_95_percent_points(example):
    from dataclasses import replace

    from grex.drivers import Triangular
    from grex.montecarlo.plan import make_plan
    from grex.montecarlo.streams import _interest

    scenario, portfolio = example
    shift = scenario.montecarlo.interest  # { low = -0.005, mode = 0.0, high = 0.01 } in the example
    assert (shift.low, shift.mode, shift.high) == (-0.005, 0.0, 0.01)
    plan = make_plan(scenario, portfolio, None)
    rates = np.concatenate([_interest(plan, 11, block) for block in range(8)])
    shifts = rates - scenario.parameters.interest_rate
    assert np.mean(shifts < -0.005) == pytest.approx(0.05, abs=0.01)
    assert np.mean(shifts > 0.01) == pytest.approx(0.05, abs=0.01)
    assert shifts.min() >= shift.minimum - 1e-15 and shifts.max() <= shift.maximum + 1e-15
    # without the driver every draw has the scenario's rate exactly; a fixed shift moves them all
    held = make_plan(scenario, portfolio, {"pace"})
    assert np.all(_interest(held, 11, 0) == scenario.parameters.interest_rate)
    fixed = replace(scenario, montecarlo=replace(scenario.montecarlo, interest=Triangular(0.01, 0.01, 0.01)))
    rates = _interest(make_plan(fixed, portfolio, None), 11, 0)
    assert np.all(rates == scenario.parameters.interest_rate + 0.01)


# -- engine and threads as arguments; the environment only in the CLI; the notebook entry ----------


@pytest.mark.parametrize(
    "variable, value",
    [("GREX_THREADS", "abc"), ("GREX_THREADS", "0"), ("GREX_ENGINE", "fortran")],
)
def test_the_cli_refuses_a_bad_engine_setting_in_one_line(monkeypatch, capsys, tmp_path, variable, value):
    monkeypatch.setenv(variable, value)
    out = tmp_path / "sim"
    assert main(["simulate", str(EXAMPLE), "--draws", "20", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and variable in err and repr(value) in err and "Traceback" not in err
    assert not out.exists()


def test_the_cli_passes_the_environment_on_as_arguments(monkeypatch, tmp_path):
    import grex.montecarlo

    seen = {}
    real = grex.montecarlo.simulate

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(grex.montecarlo, "simulate", spy)
    monkeypatch.setenv("GREX_ENGINE", "numpy")
    monkeypatch.setenv("GREX_THREADS", "2")
    assert main(["simulate", str(EXAMPLE), "--draws", "100", "--out", str(tmp_path / "sim")]) == 0
    assert seen["engine"] == "numpy" and seen["threads"] == 2


def test_draws_default_to_the_scenarios(example):
    from dataclasses import replace

    scenario, portfolio = example
    scenario = replace(scenario, montecarlo=replace(scenario.montecarlo, draws=37))
    assert simulate(scenario, portfolio, seed=1).draws == 37


def test_api_simulate_reads_a_path_and_takes_draws_and_seed_from_the_scenario(example):
    from dataclasses import replace

    from grex.api import simulate as simulate_path

    scenario, portfolio = example
    by_path = simulate_path(EXAMPLE, draws=40)
    assert by_path.seed == scenario.montecarlo.seed
    direct = simulate(scenario, portfolio, draws=40, seed=scenario.montecarlo.seed)
    np.testing.assert_array_equal(by_path.present_value, direct.present_value)
    fewer = replace(scenario, montecarlo=replace(scenario.montecarlo, draws=25))
    assert simulate_path(fewer, portfolio).draws == 25
