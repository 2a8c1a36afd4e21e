"""A batch ``[grid]`` over a ``[market.NAME]`` table (issue 15): expansion, a batch, bad keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conftest import ROOT
from grex.batch import COMPARISON_FIGURES, expand_grid, headline
from grex.cli import main
from grex.errors import InputError
from grex.io import read_portfolio, read_scenario
from grex.io.batch import run_batch
from grex.io.scenario import read_scenario_table
from grex.montecarlo import simulate
from grex.scenario import Scenario
from grex.valuation import value_portfolio

MARKT = ROOT / "scenarios" / "assen-2024-markt.toml"


def markt_table() -> dict:
    return read_scenario_table(MARKT)[0]


def test_grid_over_the_absorption_expands_into_markets_that_carry_the_values() -> None:
    tables = expand_grid({**markt_table(), "grid": {"market.housing.absorption.mode": [250, 275, 300]}}, MARKT)
    assert [t["name"] for t in tables] == [f"assen-2024-markt[housing.absorption.mode={m}]" for m in (250, 275, 300)]
    scenarios = [Scenario.from_dict(t, source=MARKT) for t in tables]
    housing = [next(m for m in s.markets if m.name == "housing") for s in scenarios]
    assert [(m.absorption.low, m.absorption.mode, m.absorption.high) for m in housing] == [
        (250, 250, 300),
        (250, 275, 300),
        (250, 300, 300),
    ]
    assert all(next(m for m in s.markets if m.name == "business").absorption.mode == 2.25 for s in scenarios)
    # the whole absorption replaced: a fixed number per scenario
    tables = expand_grid(
        {
            **markt_table(),
            "market": markt_table()["market"],
            "grid": {"market": {"housing": {"absorption": [250, 300]}}},
        }
    )
    fixed = [next(m for m in Scenario.from_dict(t).markets if m.name == "housing").absorption for t in tables]
    assert [(a.low, a.mode, a.high) for a in fixed] == [(250, 250, 250), (300, 300, 300)]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            {"market.flats.absorption": [100]},
            "market 'flats' is not in the scenario; its markets are housing, business",
        ),
        ({"market.housing.speed": [1]}, "'speed' is not a key of a market"),
        ({"market.housing": [1]}, "must name a key of a market"),
        ({"market.housing.absorption.mode": [400]}, "high 300 is below mode 400"),
        ({"market.business.absorption.mode": [2.0]}, "market.business.absorption is a single value"),
    ],
)
def test_bad_market_grid_keys_name_the_grid_key(grid: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        expand_grid({**markt_table(), "grid": grid}, "g.toml")
    assert error.value.location == f"key grid.{next(iter(grid))}"


@pytest.mark.parametrize("command", ["run", "simulate"])
def test_cli_unknown_market_in_a_grid_exit_2_one_line_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # grex run, simulate and validate check the grid as batch does; a batch reports the file as a failed
    # scenario with the same line and runs the others (exit 1, README "Batches")
    grid = tmp_path / "g.toml"
    grid.write_text(f'extends = "{MARKT.as_posix()}"\n[grid]\n"market.flats.absorption" = [250, 300]\n')
    draws = ["--draws", "100"] if command == "simulate" else []
    assert main([command, str(grid), *draws, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "g.toml" in err and "key grid.market.flats.absorption" in err
    assert "market 'flats' is not in the scenario" in err
    assert not (tmp_path / "out").exists()


# Pace and delay fixed: a complex in a market leaves those drivers to the market, so only then can a
# market that never binds give today's draws (tests/test_market.py: test_market_above_plan_reproduces_...).
# Cost and price shocks on: the market's reach lengthens the simulated horizon here (20 years against
# 19), but stream 1 draws each draw's shocks of the years without the market first (streams.py), so the
# same seed gives the same shock paths.
STEADY = """
[montecarlo]
market_pace = 1.0
complex_pace = 1.0
delay = 0.0
[montecarlo.complex.messchenveld_1a]
pace = 1.0
[market.business]
absorption = 1000.0
"""


def test_batch_over_a_binding_and_a_non_binding_absorption(tmp_path: Path) -> None:
    grid = tmp_path / "g.toml"
    grid.write_text(
        f'extends = "{MARKT.as_posix()}"\nname = "g"\n{STEADY}[grid]\n"market.housing.absorption" = [100, 100000]\n'
    )
    result = run_batch([grid], tmp_path / "out", draws=200, seed=11)
    assert result.ok, result.failures
    binding, free = result.rows
    assert binding["scenario"] == "g[housing.absorption=100]" and free["scenario"] == "g[housing.absorption=100000]"
    # grex run values the plan as it is; in the draws 100 dwellings a year against a plan of several
    # hundred puts the sales, and so the revenues, later: a lower value
    assert binding["present_value"] == free["present_value"]
    assert binding["present_value_mean"] < free["present_value_mean"]
    assert binding["present_value_p50"] < free["present_value_p50"]
    # never binding: the same draws as the scenario without a market
    base = tmp_path / "base.toml"
    base.write_text(f'extends = "{MARKT.as_posix()}"\nname = "g"\n{STEADY}')
    scenario = read_scenario(base)
    plain = dataclasses.replace(scenario, markets=())
    portfolio = read_portfolio(plain.portfolio)
    valuation = value_portfolio(plain, portfolio)
    today = headline(valuation, simulate(plain, portfolio, draws=200, seed=11))
    figures = [key for key in COMPARISON_FIGURES if key != "input_hash"]
    assert "present_value_p5" in figures and "required_capacity" in figures
    for key in figures:
        assert free[key] == today[key], key
