"""The input hash is of the effective inputs: any value changed, in a file or in code, changes it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from conftest import EXAMPLE, ROOT
from grex.drivers import Triangular, Uniform
from grex.io import read_portfolio, read_scenario
from grex.scenario import RatePath
from grex.valuation import input_hash, value_portfolio, with_parameters


@pytest.fixture(scope="module")
def example():
    scenario = read_scenario(EXAMPLE)
    return scenario, read_portfolio(scenario.portfolio)


def test_same_inputs_read_twice_hash_the_same(example):
    scenario, portfolio = example
    again = read_scenario(EXAMPLE)
    assert input_hash(again, read_portfolio(again.portfolio)) == input_hash(scenario, portfolio)


def test_hash_is_the_same_in_another_process_with_other_string_hashing(example):
    code = (
        "from grex.io import read_portfolio, read_scenario; from grex.valuation import input_hash; "
        f"s = read_scenario({str(EXAMPLE)!r}); print(input_hash(s, read_portfolio(s.portfolio)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": "12345"}
    printed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == input_hash(*example)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: with_parameters(s, interest_rate=0.05),
        lambda s: with_parameters(s, discount_rate=0.021),
        lambda s: with_parameters(s, uncertainty_margin=0.11),
        lambda s: with_parameters(s, cost_index=RatePath(0.02, {2023: 0.06, 2024: 0.04, 2025: 0.041})),
        lambda s: with_parameters(s, revenue_index=RatePath(0.0, {2030: 0.01})),
        lambda s: with_parameters(s, max_duration=11),
        lambda s: with_parameters(s, index_revenues_after_max_duration=True),
        lambda s: with_parameters(s, provision_basis="end_value"),
        lambda s: dataclasses.replace(s, reserves=dataclasses.replace(s.reserves, confidence=0.95)),
        lambda s: dataclasses.replace(s, reserves=dataclasses.replace(s.reserves, general_reserve=1.0)),
        lambda s: dataclasses.replace(s, montecarlo=dataclasses.replace(s.montecarlo, seed=1)),
        lambda s: dataclasses.replace(s, montecarlo=dataclasses.replace(s.montecarlo, draws=10)),
        lambda s: dataclasses.replace(s, montecarlo=dataclasses.replace(s.montecarlo, delay=Triangular(0, 1, 2))),
        # the same bounds as a uniform distribution instead of a triangle
        lambda s: dataclasses.replace(s, montecarlo=dataclasses.replace(s.montecarlo, complex_pace=Uniform(0.8, 1.2))),
        lambda s: dataclasses.replace(s, risks=s.risks[1:]),
        lambda s: dataclasses.replace(s, risks=(dataclasses.replace(s.risks[0], probability=0.31), *s.risks[1:])),
        lambda s: dataclasses.replace(s, name="other"),
        lambda s: dataclasses.replace(s, valuation_year=2025),
        lambda s: dataclasses.replace(s, illustrative=False),
    ],
    ids=[
        "interest_rate",
        "discount_rate",
        "uncertainty_margin",
        "cost_index",
        "revenue_index",
        "max_duration",
        "index_revenues",
        "provision_basis",
        "confidence",
        "general_reserve",
        "seed",
        "draws",
        "delay",
        "pace_uniform",
        "risk_removed",
        "risk_probability",
        "name",
        "valuation_year",
        "illustrative",
    ],
)
def test_a_scenario_changed_in_code_hashes_differently(example, change):
    scenario, portfolio = example
    changed = change(scenario)
    assert changed != scenario
    assert input_hash(changed, portfolio) != input_hash(scenario, portfolio)


def test_with_parameters_changes_the_stamped_hash_with_the_results(example):
    """The case of the issue: the present value moves, and so does the hash stamped on the outputs."""
    scenario, portfolio = example
    base = value_portfolio(scenario, portfolio)
    changed = value_portfolio(with_parameters(scenario, interest_rate=0.05), portfolio)
    assert changed.totals()["total"]["present_value"] != base.totals()["total"]["present_value"]
    assert changed.input_hash != base.input_hash
    assert changed.summary()["input_hash"] == changed.input_hash


@pytest.mark.parametrize(("table", "column"), [("flows", "amount"), ("projects", "book_value")])
def test_a_portfolio_changed_by_one_cent_hashes_differently(example, table, column):
    scenario, portfolio = example
    frame = getattr(portfolio, table).copy()
    frame.loc[frame.index[-1], column] += 0.01
    changed = dataclasses.replace(portfolio, **{table: frame})
    assert input_hash(scenario, changed) != input_hash(scenario, portfolio)


def test_a_flow_moved_to_another_year_hashes_differently(example):
    scenario, portfolio = example
    flows = portfolio.flows.copy()
    flows.loc[flows.index[0], "year"] += 1
    assert input_hash(scenario, dataclasses.replace(portfolio, flows=flows)) != input_hash(scenario, portfolio)


def test_defaults_written_out_hash_as_defaults_left_out(tmp_path, case):
    """The hash is of the values as used: writing a default explicitly is no change of input."""
    projects, flows = [{"project": "a", "book_value": 100}], [{"project": "a", "year": 2024, "amount": 50}]
    plain = read_scenario(case(projects, flows))
    explicit_path = tmp_path / "explicit.toml"
    explicit_path.write_text(
        (tmp_path / "scenario.toml").read_text()
        + "interest_rate = 0.01\nmax_duration = 10\n[reserves]\nconfidence = 0.9\n"
    )
    explicit = read_scenario(explicit_path)
    assert explicit.data != plain.data
    portfolio = read_portfolio(plain.portfolio)
    assert input_hash(explicit, portfolio) == input_hash(plain, portfolio)
