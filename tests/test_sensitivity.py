"""The tornado and the variance shares (grex.sensitivity), and their report section."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from conftest import EXAMPLE
from grex.cli import main
from grex.drivers import Triangular
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import simulate
from grex.sensitivity import RATE_STEP, TORNADO_DRIVERS, sensitivity, shock_band, tornado
from grex.valuation import value_portfolio, with_parameters


@pytest.fixture(scope="module")
def example():
    scenario = read_scenario(EXAMPLE)
    return scenario, read_portfolio(scenario.portfolio)


@pytest.fixture(scope="module")
def table(example):
    return tornado(*example).set_index("driver")


def _fixed(scenario, **montecarlo):
    return dataclasses.replace(scenario, montecarlo=dataclasses.replace(scenario.montecarlo, **montecarlo))


def test_base_is_the_deterministic_valuation(example, table):
    scenario, portfolio = example
    base = value_portfolio(scenario, portfolio).result.present_value.sum()
    assert table["base"].eq(base).all()
    assert sorted(table.index) == sorted(TORNADO_DRIVERS)
    assert np.all(np.diff(table["range"].to_numpy()) <= 0)  # widest first


def test_settings_match_a_simulation_with_that_value_fixed(example, table):
    scenario, portfolio = example
    low = scenario.montecarlo.market_pace.low
    one = Triangular(1.0, 1.0, 1.0)
    fixed = _fixed(scenario, market_pace=Triangular(low, low, low), complex_pace=one, complexes={})
    run = simulate(fixed, portfolio, draws=1, seed=1, drivers={"pace"})
    assert run.portfolio_present_value[0] == pytest.approx(table.at["pace", "present_value_low"], rel=1e-12)
    # every event at its high impact: probability 1, a fixed impact
    risks = tuple(
        dataclasses.replace(r, probability=1.0, impact=Triangular(r.impact.high, r.impact.high, r.impact.high))
        for r in scenario.risks
    )
    run = simulate(dataclasses.replace(scenario, risks=risks), portfolio, draws=1, seed=1, drivers={"risks"})
    assert run.portfolio_present_value[0] == pytest.approx(table.at["risks", "present_value_high"], rel=1e-12)
    assert table.at["risks", "present_value_low"] == table.at["risks", "base"]
    # rates: a plain revaluation with the rate moved one step
    for driver, name in (("interest", "interest_rate"), ("discount", "discount_rate")):
        rate = getattr(scenario.parameters, name)
        for side, sign in (("low", -1), ("high", 1)):
            moved = with_parameters(scenario, **{name: rate + sign * RATE_STEP})
            expected = value_portfolio(moved, portfolio).result.present_value.sum()
            assert table.at[driver, f"present_value_{side}"] == pytest.approx(expected, rel=1e-12)


def test_directions(table):
    assert table.at["costs", "effect_high"] < 0 < table.at["costs", "effect_low"]
    assert table.at["prices", "effect_low"] < 0 < table.at["prices", "effect_high"]
    assert table.at["delay", "effect_high"] < 0
    assert table.at["interest", "effect_high"] < 0
    assert table.at["pace", "effect_low"] < 0


def test_shock_band_is_the_95_point_of_the_ar1_shock():
    rng = np.random.default_rng(1)
    sd, persistence = 0.02, 0.6
    e = rng.standard_normal((200_000, 4))
    x = np.zeros(200_000)
    points = []
    for t in range(4):
        x = persistence * x + sd * e[:, t]
        points.append(np.quantile(x, 0.95))
    assert np.allclose(shock_band(sd, persistence, 4), points, rtol=0.02)


def test_variance_shares_and_files(example, tmp_path):
    scenario, portfolio = example
    result = sensitivity(scenario, portfolio, draws=300, seed=5)
    shares = result.variance_shares
    assert list(shares["driver"]) == ["pace", "delay", "costs", "prices", "interest", "risks"]
    assert shares["share"].sum() == pytest.approx(1.0)
    assert (shares["share"] >= 0).all()
    alone = simulate(scenario, portfolio, draws=300, seed=5, drivers={"prices"}).portfolio_present_value
    assert shares.set_index("driver").at["prices", "variance"] == pytest.approx(np.var(alone))
    assert result.variance_totals["variance_all_drivers"] > 0

    from grex.io.sensitivity import write_sensitivity

    write_sensitivity(result, tmp_path)
    for name in ("tornado.csv", "tornado.png", "variance_shares.csv", "summary.json"):
        assert (tmp_path / name).is_file()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["draws"] == 300 and summary["seed"] == 5 and "notice" in summary
    assert (tmp_path / "tornado.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_sensitivity(tmp_path, capsys):
    assert main(["sensitivity", str(EXAMPLE), "--draws", "200", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Grondprijsstijging" in out and "Rekenrente" in out
    assert (tmp_path / "tornado.csv").read_text().count("\n") == 1 + len(TORNADO_DRIVERS)  # header, one per driver
    assert main(["sensitivity", str(EXAMPLE), "--draws", "1", "--out", str(tmp_path / "x")]) == 2


def test_report_section(example):
    from grex.report import build_report
    from grex.report.html import render_html
    from grex.report.sensitivity import sensitivity_section

    scenario, portfolio = example
    result = sensitivity(scenario, portfolio, draws=200, seed=1)
    valuation = value_portfolio(scenario, portfolio)
    report = build_report(valuation, extra_sections=lambda labels: [sensitivity_section(result, labels)])
    section = next(s for s in report.sections if s.key == "sensitivity")  # before the closing sections
    assert section.title == "Gevoeligheidsanalyse"
    assert [t.key for t in section.tables] == ["sensitivity_tornado", "sensitivity_variance"]
    html = render_html(report)
    assert "Gevoeligheidsanalyse" in html and "Grondprijsstijging" in html


@pytest.mark.slow
def test_cli_report_with_sensitivity(tmp_path):
    out = tmp_path / "report"
    assert main(["report", str(EXAMPLE), "--draws", "200", "--format", "html", "--sensitivity", "--out", str(out)]) == 0
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "Gevoeligheidsanalyse" in html


def test_variance_shares_reuse_given_runs_with_the_same_answer(example):
    """Runs already made (as grex report makes them) give the same shares as fresh ones."""
    import pandas as pd

    from grex.drivers import DRIVERS
    from grex.sensitivity import variance_shares

    scenario, portfolio = example
    runs = {"all": simulate(scenario, portfolio, draws=300, seed=4)}
    runs.update({d: simulate(scenario, portfolio, draws=300, seed=4, drivers={d}) for d in DRIVERS})
    fresh = variance_shares(scenario, portfolio, draws=300, seed=4)
    reused = variance_shares(scenario, portfolio, draws=300, seed=4, runs=runs)
    pd.testing.assert_frame_equal(fresh[0], reused[0])
    assert fresh[1] == reused[1]
    with pytest.raises(ValueError, match="seed"):
        variance_shares(scenario, portfolio, draws=300, seed=5, runs=runs)
