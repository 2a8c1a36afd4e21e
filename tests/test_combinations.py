"""The features of the Monte Carlo combined (issues 14b, 15, 16 together).

A small portfolio whose programme is sold in a market (the hand-worked case of
tests/test_market.py, with costs tied to the units in kostensoort woonrijp and
a third complex outside the market) is simulated with the conventions of
municipal practice, the provisions already formed and the yearly revaluation,
alone and in pairs and triples. Each combination must give (i) the same
numbers bit for bit on both engines, (ii) on any chunk size, and (iii) with
every spread zero and a market that takes more than the plan, every draw's
present value and end value of ``grex run`` (value_portfolio) to the cent and,
under ``foresight`` plan or adaptive, the deterministic reserve path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grex.errors import InputError
from grex.io import read_portfolio
from grex.io.scenario import read_scenario
from grex.montecarlo import execution
from grex.montecarlo.plan import make_plan
from grex.valuation import value_portfolio

PROJECTS = """project,name,status,book_value,realised_costs,realised_revenues,profit_taken{balance_column}
a,A,vastgesteld,100000,50000,0,0{a}
b,B,vastgesteld,0,0,0,0{b}
c,C,vastgesteld,200000,100000,50000,0{c}
"""
FLOWS = """project,year,type,category,amount
a,2024,cost,bouwrijp,1000000
b,2024,cost,bouwrijp,500000
b,2025,cost,plankosten,100000
c,2024,cost,bouwrijp,300000
c,2025,cost,woonrijp,200000
c,2025,revenue,bedrijven,400000
c,2026,revenue,bedrijven,500000
"""
PROGRAMME = """project,year,segment,unit,quantity,price,cost_per_unit,cost_lag
a,2024,wonen_vrij,dwelling,120,10000,1500,1
a,2025,wonen_vrij,dwelling,120,10000,1500,1
b,2024,wonen_vrij,dwelling,60,20000,2500,0
b,2025,wonen_vrij,dwelling,60,20000,2500,0
"""
PARAMETERS = """[parameters]
interest_rate = {interest}
discount_rate = 0.03
uncertainty_margin = 0.05
cost_index = 0.02
revenue_index = 0.01
"""
#: The combinations' pieces: scenario lines per table, and provision balances.
OPTIONS = {
    "interest_table": {"interest": "{ 2024 = 0.01, 2025 = 0.03, 2026 = 0.05, default = 0.04 }"},
    "category": {"parameters": "[parameters.cost_index_by_category]\nwoonrijp = 0.06\nplankosten = 0.0\n"},
    "cash_flows": {"parameter_lines": 'present_value_method = "cash_flows"\n'},
    "days": {"parameter_lines": 'discount_periods = "days"\n'},
    "balance": {"balance": True},
    "plan": {"montecarlo": 'foresight = "plan"\n'},
    "adaptive": {"montecarlo": 'foresight = "adaptive"\nlearning_rate = 0.5\n'},
}
SPREAD = """[market.housing]
segments = ["wonen_vrij"]
unit = "dwelling"
absorption = {absorption}
"""
RISKS = """[[risks]]
project = "a"
name = "extra woonrijp"
probability = 0.5
impact = { low = 40000, mode = 50000, high = 90000 }
year = 2025
type = "cost"

[[risks]]
project = "c"
name = "lagere opbrengst"
probability = 0.4
impact = { low = 15000, mode = 20000, high = 40000 }
year = 2026
type = "revenue"
"""
MONTECARLO = """[montecarlo]
interest = { low = -0.01, mode = 0.0, high = 0.01 }
"""


def case(
    folder: Path,
    combination: tuple[str, ...],
    *,
    absorption: str = "{ low = 60, mode = 100, high = 150 }",
    market: bool | None = None,
):
    """Scenario and portfolio of the market case with the options of ``combination``.

    ``market`` None: the market unless the combination revalues yearly (``foresight``
    plan or adaptive cannot be combined with a market: refused, see
    :func:`test_foresight_with_a_market_is_refused`); the programme is then re-timed
    by pace and delay as any sales.
    """
    if market is None:
        market = not ({"plan", "adaptive"} & set(combination))
    folder.mkdir(parents=True, exist_ok=True)
    pf = folder / "pf"
    pf.mkdir(exist_ok=True)
    chosen = [OPTIONS[o] for o in combination]
    balance = any("balance" in o for o in chosen)
    (pf / "projects.csv").write_text(
        PROJECTS.format(
            balance_column=",provision_balance" if balance else "",
            a=",0" if balance else "",
            b=",0" if balance else "",
            c=",20000" if balance else "",
        )
    )
    (pf / "flows.csv").write_text(FLOWS)
    (pf / "programme.csv").write_text(PROGRAMME)
    interest = next((o["interest"] for o in chosen if "interest" in o), "0.04")
    text = 'name = "combination"\nportfolio = "pf"\nvaluation_year = 2024\n'
    text += PARAMETERS.format(interest=interest)
    text += "".join(o.get("parameter_lines", "") for o in chosen)
    text += "[reserves]\ngeneral_reserve = 1000000\n"
    text += "".join(o.get("parameters", "") for o in chosen)
    if market:
        text += SPREAD.format(absorption=absorption)
    text += RISKS + MONTECARLO + "".join(o.get("montecarlo", "") for o in chosen)
    (folder / "s.toml").write_text(text)
    scenario = read_scenario(folder / "s.toml")
    return scenario, read_portfolio(scenario.portfolio)


SINGLE = [(o,) for o in OPTIONS]
PAIRS_AND_TRIPLES = [
    ("interest_table", "plan"),
    ("interest_table", "adaptive"),
    ("days", "plan"),
    ("days", "adaptive"),
    ("balance", "adaptive"),
    ("category", "cash_flows"),
    ("days", "cash_flows"),
    ("interest_table", "cash_flows"),
    ("category", "balance"),
    ("interest_table", "category", "days"),
    ("interest_table", "category", "cash_flows", "balance"),
    ("interest_table", "days", "balance", "plan"),
    ("interest_table", "days", "adaptive"),
]
COMBINATIONS = SINGLE + PAIRS_AND_TRIPLES
FIELDS = ("end_value", "present_value", "end_year", "reserve")


def ids(combination: tuple[str, ...]) -> str:
    return "+".join(combination)


def run(plan, engine: str, draws: int, seed: int, chunk_size: int | None = None):
    n_years = execution._horizon(plan, draws, seed, "numba", 2)
    return execution._simulate_range(plan, seed, 0, draws, n_years, chunk_size, False, engine, 2)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=ids)
def test_engines_and_chunks_agree_bit_for_bit(tmp_path: Path, combination: tuple[str, ...]) -> None:
    scenario, portfolio = case(tmp_path, combination)
    plan = make_plan(scenario, portfolio, None)
    runs = [
        run(plan, "numpy", 40, 3),
        run(plan, "numba", 40, 3),
        run(plan, "numba", 40, 3, chunk_size=7),
        run(plan, "numpy", 40, 3, chunk_size=16),
    ]
    assert np.ptp(runs[0]["end_value"][:, 0]) > 0  # the draws do differ
    for other in runs[1:]:
        for name in FIELDS:
            np.testing.assert_array_equal(other[name], runs[0][name], err_msg=name)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=ids)
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_no_spread_is_grex_run_to_the_cent(tmp_path: Path, combination: tuple[str, ...], engine: str) -> None:
    from grex.montecarlo import simulate

    scenario, portfolio = case(tmp_path, combination, absorption="{ low = 500, mode = 600, high = 700 }")
    today = value_portfolio(scenario, portfolio).result
    sim = simulate(scenario, portfolio, draws=3, seed=1, drivers=(), engine=engine)
    for d in range(3):
        np.testing.assert_allclose(sim.present_value[d], today.present_value, rtol=0, atol=0.005)
        np.testing.assert_allclose(sim.end_value[d], today.end_value, rtol=0, atol=0.005)
        np.testing.assert_allclose(sim.reserve[d], sim.deterministic_reserve, rtol=0, atol=0.005)


@pytest.mark.parametrize(
    ("combination", "market", "key"),
    [
        (("plan",), True, "market"),
        (("adaptive",), True, "market"),
        (("category", "plan"), False, "parameters.cost_index_by_category"),
        (("cash_flows", "adaptive"), False, "parameters.present_value_method"),
    ],
)
def test_foresight_with_what_the_revaluation_cannot_expect_is_refused(
    tmp_path: Path, combination: tuple[str, ...], market: bool, key: str
) -> None:
    """A yearly revaluation expects the re-timed sales curve, every cost at cost_index and the end value
    discounted: with a market, a cost index per kostensoort or cash-flow present values it is refused."""
    scenario, portfolio = case(tmp_path, combination, market=market)
    with pytest.raises(InputError, match=rf"key montecarlo\.foresight: .*{key}"):
        make_plan(scenario, portfolio, None)
    # grex run does not revalue along paths: the same scenario values as before
    assert np.isfinite(value_portfolio(scenario, portfolio).result.present_value).all()


def test_cli_refuses_foresight_with_a_market_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grex.cli import main

    case(tmp_path, ("plan",), market=True)
    out = tmp_path / "out"
    assert main(["simulate", str(tmp_path / "s.toml"), "--draws", "100", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "montecarlo.foresight" in err and "market" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if "error" in line]) == 1
    assert not out.exists()


HAND_PROGRAMME = """project,year,segment,unit,quantity,price,cost_per_unit,cost_lag,cost_category
a,2024,wonen_vrij,dwelling,120,10000,1000,0,woonrijp
a,2025,wonen_vrij,dwelling,120,10000,1000,0,woonrijp
b,2024,wonen_vrij,dwelling,60,20000,0,0,woonrijp
b,2025,wonen_vrij,dwelling,60,20000,0,0,woonrijp
"""
HAND_SCENARIO = """name = "hand"
portfolio = "pf"
valuation_year = 2024
[parameters]
interest_rate = 0.05
discount_rate = 0.0
uncertainty_margin = 0.0
cost_index = 0.0
revenue_index = 0.0
[parameters.cost_index_by_category]
woonrijp = 0.10
[market.housing]
segments = ["wonen_vrij"]
unit = "dwelling"
absorption = 100
"""


def hand_case(folder: Path, programme: str = HAND_PROGRAMME):
    pf = folder / "pf"
    pf.mkdir(parents=True, exist_ok=True)
    (pf / "projects.csv").write_text(
        "project,name,status,book_value,realised_costs,realised_revenues,profit_taken\n"
        "a,A,vastgesteld,0,0,0,0\nb,B,vastgesteld,0,0,0,0\n"
    )
    (pf / "flows.csv").write_text(
        "project,year,type,category,amount\na,2024,cost,bouwrijp,1000000\nb,2024,cost,bouwrijp,500000\n"
    )
    (pf / "programme.csv").write_text(programme)
    (folder / "s.toml").write_text(HAND_SCENARIO)
    scenario = read_scenario(folder / "s.toml")
    return scenario, read_portfolio(scenario.portfolio)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_hand_worked_market_tied_costs_follow_their_category_index(tmp_path: Path, engine: str) -> None:
    """tests/test_market.py's case (A sells 66.67, 66.67, 66.67, 40 dwellings in 2024-2027 at 10,000)
    with 1,000 of woonrijp tied to each of A's dwellings, woonrijp indexed at 10% a year, nothing else:
    tied costs 66,666.67 x 1; x 1.1 = 73,333.33; x 1.21 = 80,666.67; 40,000 x 1.331 = 53,240.00.
    Net A: 1,000,000 + 66,666.67 - 666,666.67 = 400,000; 73,333.33 - 666,666.67 = -593,333.33;
    80,666.67 - 666,666.67 = -586,000; 53,240 - 400,000 = -346,760. At 5% from 0: 400,000;
    -173,333.33; -768,000.00; -1,153,160.00: end value 1,153,160.00 (without the tied costs 1,449,125.00)."""
    from grex.montecarlo import simulate

    scenario, portfolio = hand_case(tmp_path)
    result = simulate(scenario, portfolio, draws=2, seed=1, drivers=(), engine=engine)
    np.testing.assert_allclose(result.end_value[:, 0], 1_153_160.00, rtol=0, atol=0.005)
    np.testing.assert_allclose(result.end_value[:, 1], 2_027_937.50, rtol=0, atol=0.005)


def test_market_tied_costs_in_two_index_groups_are_refused(tmp_path: Path) -> None:
    programme = HAND_PROGRAMME.replace(
        "a,2025,wonen_vrij,dwelling,120,10000,1000,0,woonrijp", "a,2025,wonen_vrij,dwelling,120,10000,1000,0,bouwrijp"
    )
    scenario, portfolio = hand_case(tmp_path, programme)
    with pytest.raises(InputError, match=r"key parameters\.cost_index_by_category: complex 'a' .* more than one"):
        make_plan(scenario, portfolio, None)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_validate_and_run_refuse_what_the_yearly_revaluation_cannot_value(tmp_path, capsys, command):
    """``grex validate`` checks what ``simulate`` would, and ``run`` refuses what ``validate`` refuses:
    a refused combination of foresight is one line naming montecarlo.foresight, exit 2, nothing written."""
    from conftest import EXAMPLE
    from grex.cli import main

    path = tmp_path / "combined.toml"
    path.write_text(
        f'extends = "{EXAMPLE.as_posix()}"\nname = "combined"\n'
        '[parameters]\npresent_value_method = "cash_flows"\n[montecarlo]\nforesight = "adaptive"\n'
    )
    out = tmp_path / "out"
    argv = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "montecarlo.foresight" in err and "cash_flows" in err, err
    assert not out.exists()
