"""Sales programme in units and a shared market (issue 15): hand-worked allocation, identity, conservation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import EURO
from grex.cli import main
from grex.errors import InputError
from grex.io import read_portfolio
from grex.io.scenario import read_scenario
from grex.market import allocate
from grex.montecarlo import simulate
from grex.montecarlo.plan import make_plan
from grex.montecarlo.streams import _block

PROJECTS = """project,name,status,book_value,realised_costs,realised_revenues,profit_taken
a,A,vastgesteld,0,0,0,0
b,B,vastgesteld,0,0,0,0
"""
FLOWS = """project,year,type,category,amount
a,2024,cost,bouwrijp,1000000
b,2024,cost,bouwrijp,500000
"""
PROGRAMME = """project,year,segment,unit,quantity,price
a,2024,wonen_vrij,dwelling,120,10000
a,2025,wonen_vrij,dwelling,120,10000
b,2024,wonen_vrij,dwelling,60,20000
b,2025,wonen_vrij,dwelling,60,20000
"""
SCENARIO = """name = "case"
portfolio = "pf"
valuation_year = 2024
[parameters]
interest_rate = 0.05
discount_rate = 0.0
uncertainty_margin = 0.0
cost_index = 0.0
revenue_index = 0.0
"""


def case(tmp_path: Path, market: str, *, programme: str = PROGRAMME, flows: str = FLOWS) -> tuple:
    pf = tmp_path / "pf"
    pf.mkdir(exist_ok=True)
    (pf / "projects.csv").write_text(PROJECTS)
    (pf / "flows.csv").write_text(flows)
    (pf / "programme.csv").write_text(programme)
    (tmp_path / "s.toml").write_text(SCENARIO + market)
    scenario = read_scenario(tmp_path / "s.toml")
    return scenario, read_portfolio(scenario.portfolio)


HOUSING = '[market.housing]\nsegments = ["wonen_vrij"]\nunit = "dwelling"\n'


def test_hand_worked_sharing_carry_over_end_years_and_values(tmp_path: Path) -> None:
    # A offers 120 and B 60 dwellings in 2024 and 2025; the market takes 100 a year. Pro rata:
    # 2024 offers 120 + 60 = 180 > 100: A sells 100 * 120/180 = 66.67, B 33.33; backlog 53.33 and 26.67.
    # 2025 offers 173.33 + 86.67 = 260: A 66.67, B 33.33; 2026 offers 106.67 + 53.33 = 160: again;
    # 2027 offers 40 + 20 = 60 <= 100: everything. Both end in 2027.
    scenario, portfolio = case(tmp_path, HOUSING + "absorption = 100\n")
    plan = make_plan(scenario, portfolio, ())
    values = _block(plan, 1, 0)
    revenues, _, sold = allocate(plan.market, values["absorption"][:1], plan.bound_years, 2)
    third = 100 / 3
    np.testing.assert_allclose(sold[0, 0, :5], [2 * third, 2 * third, 2 * third, 40, 0], rtol=1e-12)
    np.testing.assert_allclose(sold[0, 1, :5], [third, third, third, 20, 0], rtol=1e-12)
    # revenue: A at 10,000 and B at 20,000 a dwelling; 2025: the rest of 2024's (53.33) and 13.33 of 2025's
    np.testing.assert_allclose(revenues[0, 0, :4], [666_666.67, 666_666.67, 666_666.67, 400_000.0], atol=EURO)
    np.testing.assert_allclose(revenues[0, 1, :4], [666_666.67, 666_666.67, 666_666.67, 400_000.0], atol=EURO)
    for engine in ("numpy", "numba"):
        result = simulate(scenario, portfolio, draws=2, seed=1, drivers=(), engine=engine)
        assert result.end_year.tolist() == [[2027, 2027], [2027, 2027]]
        # rekenrente 5%, B_{t+1} = 1.05 B_t + net_t from 0: A: 333,333.33; -316,666.67; -999,166.67; -1,449,125.00
        # B: -166,666.67; -841,666.67; -1,550,416.67; -2,027,937.50
        np.testing.assert_allclose(result.end_value[0], [1_449_125.00, 2_027_937.50], atol=EURO)


def without_market(tmp_path: Path) -> tuple:
    other = tmp_path / "plain"
    other.mkdir()
    return case(other, "")


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_market_above_plan_reproduces_todays_valuation(tmp_path: Path, engine: str) -> None:
    scenario, portfolio = case(tmp_path, HOUSING + "absorption = { low = 500, mode = 600, high = 700 }\n")
    plain_scenario, plain_portfolio = without_market(tmp_path)
    from grex.valuation import value_portfolio

    run = value_portfolio(scenario, portfolio)
    plain_run = value_portfolio(plain_scenario, plain_portfolio)
    assert run.result.end_value.tolist() == plain_run.result.end_value.tolist()
    drivers = ("costs", "prices", "interest", "risks")
    with_market = simulate(scenario, portfolio, draws=300, seed=7, drivers=drivers, engine=engine)
    today = simulate(plain_scenario, plain_portfolio, draws=300, seed=7, drivers=drivers, engine=engine)
    np.testing.assert_array_equal(with_market.end_value, today.end_value)
    np.testing.assert_array_equal(with_market.present_value, today.present_value)
    np.testing.assert_array_equal(with_market.end_year, today.end_year)


def test_conservation_every_draw_sells_the_plan(tmp_path: Path) -> None:
    scenario, portfolio = case(
        tmp_path, HOUSING + "absorption = { low = 40, mode = 100, high = 200 }\npersistence = 0.5\n"
    )
    plan = make_plan(scenario, portfolio, None)
    values = _block(plan, 3, 0)
    n = plan.bound_years
    revenues, _, sold = allocate(plan.market, values["absorption"][:200], n, 2)
    assert np.ptp(values["absorption"][:200, 0, :]) > 50  # the absorption does vary
    np.testing.assert_allclose(sold.sum(axis=2), np.broadcast_to([240.0, 120.0], (200, 2)), rtol=1e-12)
    np.testing.assert_allclose(revenues.sum(axis=2), 2_400_000.0, atol=1e-6)


def test_engines_and_chunk_sizes_bit_identical(tmp_path: Path) -> None:
    scenario, portfolio = case(
        tmp_path, HOUSING + "absorption = { low = 60, mode = 100, high = 150 }\nprice_correlation = 0.5\n"
    )
    runs = [
        simulate(scenario, portfolio, draws=700, seed=5, engine="numpy"),
        simulate(scenario, portfolio, draws=700, seed=5, engine="numba"),
        simulate(scenario, portfolio, draws=700, seed=5, engine="numba", chunk_size=64),
        simulate(scenario, portfolio, draws=700, seed=5, engine="numpy", chunk_size=300),
    ]
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0].end_value, other.end_value)
        np.testing.assert_array_equal(runs[0].end_year, other.end_year)
        np.testing.assert_array_equal(runs[0].reserve, other.reserve)
    assert len(set(runs[0].end_year[:, 0].tolist())) > 1  # the market re-times


def test_engines_bit_identical_with_revenues_before_and_after_the_market_years(tmp_path: Path) -> None:
    # add_market reads the market's rows only in a draw's own years of sale; the window's years before and
    # after them (other revenues of the complex, re-timed by pace and delay: a's before its sales, in 2024,
    # b's after them, in 2038) take the market's +0.0, and the years between the two windows 0.0, whatever
    # the last draw left there.
    flows = FLOWS + "a,2024,revenue,wonen_sociaal,300000\nb,2038,revenue,bedrijven,400000\n"
    programme = PROGRAMME.replace("2025,", "2031,").replace("2024,", "2030,")
    scenario, portfolio = case(
        tmp_path, HOUSING + "absorption = { low = 60, mode = 100, high = 150 }\n", flows=flows, programme=programme
    )
    numpy_run = simulate(scenario, portfolio, draws=300, seed=7, engine="numpy")
    numba_run = simulate(scenario, portfolio, draws=300, seed=7, engine="numba")
    for name in ("end_value", "present_value", "end_year", "reserve"):
        np.testing.assert_array_equal(getattr(numba_run, name), getattr(numpy_run, name), err_msg=name)
    assert len(set(numpy_run.end_year[:, 1].tolist())) > 1  # the windows move from draw to draw


@pytest.mark.parametrize(
    ("market", "key"),
    [
        ('[market.housing]\nsegments = []\nunit = "dwelling"\nabsorption = 100\n', "market.housing.segments"),
        (HOUSING + "absorption = 0\n", "market.housing.absorption"),
        (HOUSING + "absorption = 100\n" + HOUSING.replace("housing", "other") + "absorption = 5\n", "market.other"),
        (HOUSING + "absorption = 100\nspeed = 1\n", "market.housing.speed"),
    ],
)
def test_bad_markets(tmp_path: Path, market: str, key: str) -> None:
    with pytest.raises(InputError, match=key):
        case(tmp_path, market)


@pytest.mark.parametrize(
    ("programme", "column"),
    [
        (PROGRAMME.replace("a,2024,wonen_vrij,dwelling", "a,2024,wonen_vrij,ha"), "unit"),
        (PROGRAMME.replace("120,10000", "-1,10000", 1), "quantity"),
        (PROGRAMME.replace("b,2025", "x,2025"), "project"),
        (PROGRAMME.replace("60,20000", "sixty,20000", 1), "quantity"),
    ],
)
def test_bad_programme(tmp_path: Path, programme: str, column: str) -> None:
    with pytest.raises(InputError, match=f"column '{column}'"):
        case(tmp_path, "", programme=programme)


def test_revenue_in_flows_and_programme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not both"):
        case(tmp_path, "", flows=FLOWS + "a,2025,revenue,wonen_vrij,5\n")


def test_cli_bad_programme_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case(tmp_path, "")
    (tmp_path / "pf" / "programme.csv").write_text(PROGRAMME.replace("b,2025", "x,2025"))
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "programme.csv" in err and "'project'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_run_shows_the_over_programming(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 180 dwellings planned in 2024 and 2025 against a mode of 100: 80 over (80%) each year; what the mode
    # leaves unsold carries over: 80, 160, then 60 (2026) and 0 (2027).
    case(tmp_path, HOUSING + "absorption = { low = 90, mode = 100, high = 120 }\n")
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")]) == 0
    import json

    import pandas as pd

    table = pd.read_csv(tmp_path / "out" / "programme.csv")
    assert table["year"].tolist() == [2024, 2025, 2026, 2027]
    assert table["planned"].tolist() == [180, 180, 0, 0]
    assert table["over_programming"].tolist() == [80, 80, -100, -100]
    assert table["over_programming_pct"].tolist() == [0.8, 0.8, -1.0, -1.0]
    assert table["backlog"].tolist() == [80, 160, 60, 0]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["programme"][1]["backlog"] == 160
    out = capsys.readouterr().out
    assert "Programmering tegenover de markt" in out
    assert "  housing      2025         180         100          80       80,0%         160" in out  # whole dwellings


def test_programme_from_an_excel_sheet_programma(tmp_path: Path) -> None:
    import pandas as pd

    from grex.portfolio import Portfolio

    scenario, portfolio = case(tmp_path, "")
    workbook = tmp_path / "pf.xlsx"
    with pd.ExcelWriter(workbook) as writer:
        portfolio.projects.drop(columns="row").to_excel(writer, sheet_name="projecten", index=False)
        plain = portfolio.flows[~portfolio.flows["row"].str.startswith("programme")]
        plain.drop(columns="row").to_excel(writer, sheet_name="kasstromen", index=False)
        portfolio.programme.drop(columns="row").to_excel(writer, sheet_name="Programma", index=False)
    read = read_portfolio(workbook)
    assert read.programme_source.endswith("[Programma]")
    assert read.flows["amount"].tolist() == portfolio.flows["amount"].tolist()
    # built in code: the same check and the same flows
    built = Portfolio(
        portfolio.projects.drop(columns="row"),
        plain.drop(columns="row"),
        programme=portfolio.programme.drop(columns="row"),
    )
    assert built.flows["amount"].tolist() == portfolio.flows["amount"].tolist()


def test_report_section_programmering(tmp_path: Path) -> None:
    from grex.report.content import build_report
    from grex.valuation import value_portfolio

    scenario, portfolio = case(tmp_path, HOUSING + "absorption = 100\n")
    report = build_report(value_portfolio(scenario, portfolio))
    section = next(s for s in report.sections if s.key == "programme")
    assert section.title == "Programmering"
    assert section.tables[0].frame["over_programming"].tolist() == [80, 80, -100, -100]
    assert [c.key for c in section.charts] == ["programme"]
    plain_scenario, plain_portfolio = without_market(tmp_path)
    assert "programme" not in [s.key for s in build_report(value_portfolio(plain_scenario, plain_portfolio)).sections]


def test_programme_row_before_the_valuation_year_names_the_programme(tmp_path: Path) -> None:
    case(tmp_path, "")
    (tmp_path / "pf" / "programme.csv").write_text(PROGRAMME.replace("b,2025", "b,2023"))
    scenario = read_scenario(tmp_path / "s.toml")
    with pytest.raises(InputError, match=r"programme\.csv: line 5, column 'year'"):
        read_portfolio(scenario.portfolio).check_years(scenario.valuation_year)


# -- the compiled path (speed, issue 15 item 5): the same numbers as the numpy versions, bit for bit --------------

PROJECTS3 = PROJECTS + "c,C,vastgesteld,0,0,0,0\n"
# c sells in both markets (it is two participants); a has a planned year without units between two with;
# b's programme starts late; tied costs a year (a) and two years (c) after the sale.
PROGRAMME3 = """project,year,segment,unit,quantity,price,cost_per_unit,cost_lag
a,2024,wonen_vrij,dwelling,120,10000,1500,1
a,2026,wonen_vrij,dwelling,90,11000,1500,1
a,2027,wonen_vrij,dwelling,0,11000,1500,1
a,2028,wonen_vrij,dwelling,75,12000,1500,1
b,2027,wonen_sociaal,dwelling,60,20000,0,0
b,2028,wonen_sociaal,dwelling,80,20000,0,0
c,2025,wonen_vrij,dwelling,50,15000,2000,2
c,2026,wonen_vrij,dwelling,50,15000,2000,2
c,2025,bedrijven,ha,1.5,900000,50000,2
c,2029,bedrijven,m2,12000,90,5,2
"""
MARKETS3 = """[market.housing]
segments = ["wonen_vrij", "wonen_sociaal"]
unit = "dwelling"
absorption = { low = 40, mode = 90, high = 160 }
persistence = 0.6
price_correlation = 0.4
[market.business]
segments = ["bedrijven"]
unit = "ha"
absorption = { low = 0.5, high = 2.5 }
persistence = 0.3
price_correlation = -0.5
"""


def three_complexes(tmp_path: Path, markets: str = MARKETS3, programme: str = PROGRAMME3) -> tuple:
    pf = tmp_path / "pf"
    pf.mkdir(exist_ok=True)
    (pf / "projects.csv").write_text(PROJECTS3)
    (pf / "flows.csv").write_text(FLOWS + "c,2024,cost,bouwrijp,800000\n")
    (pf / "programme.csv").write_text(programme)
    (tmp_path / "s.toml").write_text(SCENARIO + markets)
    scenario = read_scenario(tmp_path / "s.toml")
    return scenario, read_portfolio(scenario.portfolio)


@pytest.mark.parametrize(
    ("markets", "drivers"),
    [
        (MARKETS3, None),  # triangular and uniform, persistence, correlation of both signs
        (MARKETS3, ("costs", "prices")),  # pace off: every year takes the mode
        (MARKETS3.replace("{ low = 40, mode = 90, high = 160 }", "90").replace("= -0.5", "= 1.0"), None),
    ],
)
def test_compiled_absorption_is_numpys(tmp_path: Path, markets: str, drivers: tuple | None) -> None:
    from grex.montecarlo import streams

    scenario, portfolio = three_complexes(tmp_path, markets)
    plan = make_plan(scenario, portfolio, drivers)
    scratch = streams._Scratch(plan)
    for block in (0, 2):
        expected = streams._block(plan, 11, block)["absorption"]
        got = streams._block_compiled(plan, 11, block, scratch)["absorption"]
        np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))
    if drivers is None:
        assert np.ptp(expected[:, 1, :4]) > 1.0  # the business market's absorption does vary


# PROGRAMME3 with a's dwellings over eight years, units far apart from year to year: a lane sells two or more
# planned years whole in a year and goes on with the next (its units must be that year's).
PROGRAMME_UNEVEN = "".join(line + "\n" for line in PROGRAMME3.splitlines() if not line.startswith("a,")) + "".join(
    f"a,{2024 + k},wonen_vrij,dwelling,{units},{10000 + 500 * k},1500,1\n"
    for k, units in enumerate((100, 10, 80, 5, 60, 20, 90, 15))
)


@pytest.mark.parametrize(
    ("programme", "markets", "a_first"),
    [
        (PROGRAMME3, MARKETS3, 120.0),
        (
            PROGRAMME_UNEVEN,
            MARKETS3.replace("{ low = 40, mode = 90, high = 160 }", "{ low = 20, mode = 45, high = 100 }"),
            100.0,
        ),
    ],
)
def test_compiled_allocation_is_numpys(tmp_path: Path, programme: str, markets: str, a_first: float) -> None:
    # grex.kernel.allocate_market (a batch of draws side by side, a lane each) against grex.market.allocate,
    # draw by draw, on markets that bind in some years and not in others; batches of MARKET_LANES draws and
    # a last one with fewer (its empty lanes must sell nothing: allocate_batches).
    from grex.kernel import MARKET_LANES
    from grex.montecarlo.execution import kernel_plan

    scenario, portfolio = three_complexes(tmp_path, markets, programme)
    plan = make_plan(scenario, portfolio, None)
    n_years = plan.bound_years
    fixed = kernel_plan(plan, n_years)
    draws = 300
    assert draws % MARKET_LANES != 0
    absorption = np.ascontiguousarray(_block(plan, 5, 0)["absorption"][:draws])
    revenues, costs, sold = allocate(plan.market, absorption, n_years, 3)
    got_revenues, got_costs, first_year, end_year = allocate_batches(fixed, absorption, draws, n_years, 3)
    for d in range(draws):
        np.testing.assert_array_equal(got_revenues[d].view(np.int64), revenues[d].view(np.int64), f"draw {d}")
        np.testing.assert_array_equal(got_costs[d].view(np.int64), costs[d].view(np.int64), err_msg=f"draw {d}")
        for c in range(3):  # the first and one past the last year of the market's flows
            years = np.flatnonzero(sold[d, fixed.market_complex == c].sum(axis=0))
            lag = fixed.market_lag[fixed.market_complex == c].max()
            assert (first_year[d, c], end_year[d, c]) == (years.min(), min(years.max() + lag, n_years - 1) + 1)
    binding = int((sold[:, 0, 0] < a_first).sum())  # a's dwellings planned in the first year
    assert 0 < binding < draws  # some draws take everything in the first year, some do not


def allocate_batches(fixed, absorption, draws, n_years, C):
    """grex.kernel.allocate_market over batches of MARKET_LANES draws (the last one partial): per draw its
    revenues and tied costs by complex and year, and the first and one past the last year of its flows."""
    from grex.kernel import MARKET_LANES, MARKET_STATE_ROWS, allocate_market

    P, L = len(fixed.market_complex), MARKET_LANES
    lane, state, head = np.empty((3, L)), np.empty((P, MARKET_STATE_ROWS, L)), np.empty((P, L), dtype=np.int64)
    revenues, costs = np.zeros((draws, C, n_years)), np.zeros((draws, C, n_years))
    first_year, end_year = np.zeros((draws, C), dtype=np.int64), np.zeros((draws, C), dtype=np.int64)
    for first in range(0, draws, L):
        count = min(L, draws - first)
        market_revenues = np.zeros((C, n_years, L))
        market_linked = np.zeros((C, n_years + fixed.market_lag.max() + 1, L))
        start, end = np.zeros((C, L), dtype=np.int64), np.zeros((C, L), dtype=np.int64)
        allocate_market(fixed, absorption, first, count, lane, state, head, market_revenues, market_linked, start, end)
        assert not market_revenues[:, :, count:].any() and not end[:, count:].any()  # empty lanes sell nothing
        for b in range(count):
            revenues[first + b] = market_revenues[fixed.column, :, b]
            costs[first + b] = market_linked[fixed.column, :n_years, b]
            first_year[first + b], end_year[first + b] = start[fixed.column, b], end[fixed.column, b]
    return revenues, costs, first_year, end_year


def test_compiled_allocation_opening_years_are_numpys(tmp_path: Path) -> None:
    # While a market takes the whole offer in every lane of a batch, allocate_market sells each participant's
    # planned year whole without the offers, shares and masked steps (_sell_opening_years); from the first year
    # in which it binds in one lane, the general steps go on from the state it left. Crafted absorptions:
    # batch 0 binds in one lane only (lane 5, housing, from 2026: two opening years) and in lane 9 (business,
    # from 2025: its first year); batch 1 never binds (opening years to the end, with a year taken exactly:
    # absorption = offer); batch 2 (partial, 20 draws) binds in lane 0 from 2027 in both markets.
    from grex.kernel import MARKET_LANES
    from grex.montecarlo.execution import kernel_plan

    scenario, portfolio = three_complexes(tmp_path, MARKETS3, PROGRAMME_UNEVEN)
    plan = make_plan(scenario, portfolio, None)
    n_years = plan.bound_years
    fixed = kernel_plan(plan, n_years)
    L = MARKET_LANES
    draws = 2 * L + 20
    absorption = np.full((draws, 2, n_years), 1e6)
    absorption[5, 0, 2:] = 30.0
    absorption[9, 1, 1:] = 0.5
    absorption[L + 3, 0, 0] = 100.0  # a's 100 dwellings of 2024, the only ones that year: taken whole
    absorption[2 * L, :, 3:] = [[20.0], [0.2]]
    revenues, costs, sold = allocate(plan.market, absorption, n_years, 3)
    got_revenues, got_costs, first_year, end_year = allocate_batches(fixed, absorption, draws, n_years, 3)
    np.testing.assert_array_equal(got_revenues.view(np.int64), revenues.view(np.int64))
    np.testing.assert_array_equal(got_costs.view(np.int64), costs.view(np.int64))
    for d in range(draws):
        for c in range(3):  # the first and one past the last year of the market's flows
            years = np.flatnonzero(sold[d, fixed.market_complex == c].sum(axis=0))
            lag = fixed.market_lag[fixed.market_complex == c].max()
            assert (first_year[d, c], end_year[d, c]) == (years.min(), min(years.max() + lag, n_years - 1) + 1)
    # the crafted draws bind where they should, and only there
    assert sold[5, 0, 2] < 90.0 and sold[9, 3, 1] < 1.5 and sold[2 * L, 0, 3] < 5.0
    assert sold[L + 3, 0, 0] == 100.0 and (sold[L + 3, 0, :8] == (100, 10, 80, 5, 60, 20, 90, 15)).all()
    assert revenues[6, 0, 2] == revenues[L, 0, 2] == 80 * 11000.0  # a lane that does not bind sells as planned


# Hectares in tenths (0.1, 0.7, 0.3 ... none of them exact in binary) of three complexes over five years.
PROGRAMME_TENTHS = "project,year,segment,unit,quantity,price,cost_per_unit,cost_lag\n" + "".join(
    f"{project},{2024 + k},bedrijven,ha,{units},{900000 + 1000 * k},50000,1\n"
    for project, tenths in (("a", (1, 7, 3, 11, 2)), ("b", (3, 1, 9, 2, 6)), ("c", (7, 3, 1, 4, 3)))
    for k, units in enumerate(0.1 * n for n in tenths)
)


def test_compiled_allocation_sells_nothing_where_rounding_leaves_a_backlog(tmp_path: Path) -> None:
    # An absorption a few units in the last place below the offers' total: the market binds, each participant's
    # share s = offer * (absorption / total) falls short of its offer by rounding, so it keeps a backlog
    # offer - s of a few ulps, while its FIFO (units left of each planned year, less each sale) may have sold
    # every planned year by then. A later year's offer is then that residue alone: > 0, with no planned year due
    # to sell it from. The FIFO sells nothing there, so the year holds no flow and is not one of the years of
    # the flows (market_start ... market_end): a lane sells only where its head's planned year is due. (A sale
    # can bring no revenue: the last residue of a planned year sold whole after parts took its revenue.)
    from grex.montecarlo.execution import kernel_plan

    markets = '[market.business]\nsegments = ["bedrijven"]\nunit = "ha"\nabsorption = { low = 0.5, high = 2.5 }\n'
    scenario, portfolio = three_complexes(tmp_path, markets, PROGRAMME_TENTHS)
    plan = make_plan(scenario, portfolio, None)
    n_years = plan.bound_years
    fixed = kernel_plan(plan, n_years)
    units = plan.market.widen(n_years).units
    draws = 400
    rng = np.random.default_rng(3)
    absorption = np.empty((draws, 1, n_years))
    backlog = np.zeros((draws, units.shape[0]))
    for t in range(n_years):  # the offers' total as grex.market.allocate adds it, then an absorption near it
        offer = backlog + units[None, :, t]
        total = np.zeros(draws)
        for p in range(units.shape[0]):
            total = total + offer[:, p]
        near = total.copy()
        for _ulp in range(3):  # 0 to 3 units in the last place below the total
            near = np.where(rng.random(draws) < 0.6, np.nextafter(near, 0.0), near)
        a = np.where(rng.random(draws) < 0.5, near, total * rng.uniform(0.6, 1.0, draws))
        absorption[:, 0, t] = np.where(total == 0.0, 1.0, a)
        everything = total <= absorption[:, 0, t]
        share = absorption[:, 0, t] / np.where(everything, 1.0, total)
        backlog = np.where(everything[:, None], 0.0, offer - offer * share[:, None])
    revenues, costs, sold = allocate(plan.market, absorption, n_years, 3)
    got_revenues, got_costs, first_year, end_year = allocate_batches(fixed, absorption, draws, n_years, 3)
    np.testing.assert_array_equal(got_revenues.view(np.int64), revenues.view(np.int64))
    np.testing.assert_array_equal(got_costs.view(np.int64), costs.view(np.int64))
    residues, lag = 0, 1  # (every cost_lag of PROGRAMME_TENTHS)
    for d in range(draws):
        for c in range(3):  # each year with revenue holds a sale, each year with a sale a share sold (> 0)
            paid, shares = np.flatnonzero(revenues[d, c]), np.flatnonzero(sold[d, c])
            assert shares.min() <= first_year[d, c] <= paid.min()
            assert min(paid.max() + lag, n_years - 1) + 1 <= end_year[d, c] <= min(shares.max() + lag, n_years - 1) + 1
            residues += int(end_year[d, c] < min(shares.max() + lag, n_years - 1) + 1)
    assert residues > 0  # shares of a rounding residue after the last sale, in years that hold no flow


def test_market_above_plan_reproduces_every_draw_of_the_example_with_shocks(tmp_path: Path) -> None:
    # Issue 15: a market whose absorption is at least the plan in every year reproduces today's valuation,
    # in grex run and in every draw, with cost and price shocks, interest spread and risks on. The markets
    # change the bound (plan.bound_years: 95 years here, 99 without them); stream 1 must lay out each draw's
    # shocks as without them.
    from dataclasses import replace

    from grex.drivers import Triangular
    from grex.valuation import value_portfolio

    example = read_scenario(Path(__file__).parent.parent / "scenarios" / "assen-2024-markt.toml")
    portfolio = read_portfolio(example.portfolio)
    huge = Triangular(1e9, 1e9, 1e9)
    scenario = replace(example, markets=tuple(replace(m, absorption=huge) for m in example.markets))
    plain = replace(example, markets=())
    assert make_plan(scenario, portfolio, None).bound_years != make_plan(plain, portfolio, None).bound_years
    run, plain_run = value_portfolio(scenario, portfolio), value_portfolio(plain, portfolio)
    for figure in ("end_value", "present_value", "balance", "end_index", "provision"):  # grex run, exactly
        np.testing.assert_array_equal(getattr(run.result, figure), getattr(plain_run.result, figure))
    # pace and delay off: every complex sells as planned (pace 1, delay 0) and the market takes it all
    drivers = ("costs", "prices", "interest", "risks")
    for engine, chunk_size in (("numpy", None), ("numba", None), ("numba", 700)):
        with_market = simulate(
            scenario, portfolio, draws=2500, seed=11, drivers=drivers, engine=engine, chunk_size=chunk_size
        )
        today = simulate(plain, portfolio, draws=2500, seed=11, drivers=drivers, engine=engine, chunk_size=chunk_size)
        assert np.ptp(today.end_value) > 0  # the shocks do move the figures
        np.testing.assert_array_equal(with_market.end_year, today.end_year)
        np.testing.assert_array_equal(with_market.end_value, today.end_value)
        np.testing.assert_array_equal(with_market.present_value, today.present_value)
        np.testing.assert_array_equal(with_market.reserve, today.reserve)


def test_a_market_that_lengthens_the_bound_keeps_every_draws_shocks(tmp_path: Path) -> None:
    # A slow market (10 dwellings a year for 360) makes the bound 37 years against 9 without it (the slowest
    # pace and longest delay): stream 1 draws each draw's 8 later years of innovations as without the market
    # and the 28 years more after them, so the shocks of the years both have are the same numbers, in both
    # engines.
    from grex.montecarlo.streams import _block_compiled

    scenario, portfolio = case(tmp_path, HOUSING + "absorption = 10\n")
    plain_scenario, plain_portfolio = without_market(tmp_path)
    plan, plain = make_plan(scenario, portfolio, None), make_plan(plain_scenario, plain_portfolio, None)
    assert (plain.bound_years, plan.shock_years_base, plan.bound_years) == (9, 9, 37)
    for make in (_block, _block_compiled):
        values, today = make(plan, 3, 1), make(plain, 3, 1)
        for key in ("cost_shock", "price_shock"):
            assert values[key].shape[1] == 37
            np.testing.assert_array_equal(values[key][:, :9], today[key])
            assert np.ptp(values[key][:, 9:]) > 0  # the added years are shocks of their own
    np.testing.assert_array_equal(_block(plan, 3, 1)["price_shock"], _block_compiled(plan, 3, 1)["price_shock"])
