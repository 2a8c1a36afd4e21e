"""The report's Monte Carlo tables against a real simulation of the example (2,000 draws).

``test_report.py`` checks layout and rendering with a stand-in simulation; here
every figure of the report's risk and resistance tables must be the figure of
the :class:`grex.montecarlo.Simulation` it was built from, complex by complex
and row by row.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLE
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import simulate
from grex.report import DRIVERS, build_report
from grex.reserves import nar_grade
from grex.valuation import value_portfolio

DRAWS, SEED = 2000, 11


@pytest.fixture(scope="module")
def real():
    scenario = read_scenario(EXAMPLE)
    portfolio = read_portfolio(scenario.portfolio)
    valuation = value_portfolio(scenario, portfolio)
    simulation = simulate(scenario, portfolio, draws=DRAWS, seed=SEED)
    drivers = {d: simulate(scenario, portfolio, draws=DRAWS, seed=SEED, drivers={d}) for d in DRIVERS}
    report = build_report(valuation, simulation, drivers=drivers, lang="en", date=dt.date(2025, 3, 1))
    return valuation, simulation, drivers, {t.key: t for t in report.tables()}


def test_per_complex_table_holds_the_simulations_figures_complex_by_complex(real):
    valuation, simulation, _, tables = real
    frame = tables["mc_complexes"].frame.set_index("project")
    expected = simulation.per_complex().set_index("project")
    assert frame.index.tolist() == valuation.complexes()["project"].tolist()  # in portfolio order
    for column in ("p5", "p50", "p95", "probability_of_loss", "required_capacity"):
        np.testing.assert_array_equal(frame[column].to_numpy(), expected.loc[frame.index, column].to_numpy(), column)
    headings = {c.key: c.label for c in tables["mc_complexes"].columns}
    assert [headings[k] for k in ("p5", "p50", "p95")] == ["P5", "P50", "P95"]
    assert headings["required_capacity"] == "Required capacity (90%)"
    # the deterministic column is the valuation's present value, which the simulation's base shares
    np.testing.assert_array_equal(frame["present_value"].to_numpy(), simulation.base.result.present_value)
    # the spread is real: each complex's P5 lies below its P95
    assert (frame["p5"] < frame["p95"]).sum() >= len(frame) - 3


def test_percentile_table_holds_the_portfolio_percentiles_and_the_deterministic_total(real):
    valuation, simulation, _, tables = real
    frame = tables["percentiles"].frame
    percentiles = simulation.percentiles()
    assert frame["percentile"].tolist()[:-1] == [k.upper() for k in percentiles]
    assert frame["value"].tolist()[:-1] == list(percentiles.values())
    assert frame["value"].iloc[-1] == valuation.complexes()["present_value"].sum()
    # the P5 of the portfolio present value: 5% of the 2,000 draws lie below it
    assert np.mean(simulation.portfolio_present_value < percentiles["p5"]) == pytest.approx(0.05, abs=0.001)


def test_reserve_path_table_is_the_simulations_reserve_path(real):
    _, simulation, _, tables = real
    frame = tables["reserve_path"].frame
    # the figures, plus a rounding kind per Monte Carlo column (kind:p5, ...)
    pd.testing.assert_frame_equal(frame[list(simulation.reserve_path().columns)], simulation.reserve_path())
    # every simulated year is rounded to its standard error (keur~N); the valuation-date row, the same
    # in every draw, is shown as it is
    kinds = list(frame["kind:p50"])
    assert kinds[0] == "keur" and all(str(k).startswith("keur~") for k in kinds[1:]), kinds


def test_resistance_table_holds_the_simulations_capacity_shortfall_and_grade(real):
    valuation, simulation, _, tables = real
    values = tables["resistance"].frame["value"].tolist()
    required = simulation.required_capacity
    loss = simulation.base.result.present_value.sum() - simulation.portfolio_present_value
    tail = np.sort(loss)[-DRAWS // 10 :]  # the 200 largest losses of 2,000 draws at 90% confidence
    assert values[0] == valuation.iflo_norm()
    assert values[1:5] == [
        required,
        simulation.required_capacity_standard_error,
        simulation.expected_shortfall,
        simulation.probability_of_loss,
    ]
    assert simulation.expected_shortfall == pytest.approx(tail.mean(), rel=1e-12)
    # the example's policy (norm "max") takes the higher of the IFLO norm and the risk-based capacity
    policy = max(required, valuation.iflo_norm())
    assert values[5] == policy
    available = valuation.scenario.reserves.resistance_reserve
    assert values[6] == available
    assert values[7] == pytest.approx(available / policy, rel=1e-12)
    assert policy != required or simulation.ratio == pytest.approx(values[7], rel=1e-12)
    assert values[8].startswith(nar_grade(available / policy)[0])
    assert values[9] == pytest.approx(available / valuation.iflo_norm(), rel=1e-12)
    assert values[10].startswith(nar_grade(available / valuation.iflo_norm())[0])


def test_driver_table_holds_the_spread_of_each_driver_alone(real):
    _, simulation, drivers, tables = real
    frame = tables["drivers"].frame.set_index("key")
    for name, alone in [*drivers.items(), ("all", simulation)]:
        values = alone.portfolio_present_value
        p5, p95 = np.percentile(values, [5, 95])
        assert frame.loc[name, "width"] == pytest.approx(p95 - p5, rel=1e-12), name
        # the population standard deviation, as the sensitivity analysis's table has it
        assert frame.loc[name, "std"] == pytest.approx(np.std(values), rel=1e-12), name
    shares = frame["variance_share"].drop("all").astype(float)
    variances = pd.Series({name: np.var(alone.portfolio_present_value) for name, alone in drivers.items()})
    np.testing.assert_allclose(
        shares.to_numpy(), (variances / variances.sum()).loc[shares.index].to_numpy(), rtol=1e-12
    )
