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
