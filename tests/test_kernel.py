"""The fused kernel (:mod:`grex.kernel`) against its vectorised numpy twin (issue 4), stage by stage (issue 11).

The kernel keeps the floating-point operations of the numpy implementation in
the same order, so the two must agree bit for bit (``assert_array_equal``),
on the example, the crisis scenario and random synthetic portfolios, with
every driver and with subsets of them. Each compiled stage is also held, bit
for bit, to the numpy rule it is named after (``test_*_stage_is_*``), so a
rule changed in :mod:`grex.core` and not in the kernel fails here.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLE, ROOT
from grex import montecarlo
from grex.drivers import Risk, Triangular
from grex.io import read_portfolio, read_scenario
from grex.kernel import pairwise_sum  # numba is a hard dependency: a broken install fails here, not skips
from grex.montecarlo import execution, streams
from grex.montecarlo.plan import make_plan
from grex.synthetic import synthetic_portfolio

CRISIS = ROOT / "scenarios" / "kredietcrisis-2008.toml"
FIELDS = ("end_year", "end_value", "present_value", "reserve")


def load(path):
    scenario = read_scenario(path)
    return scenario, read_portfolio(scenario.portfolio)


def synthetic(n_complexes: int, n_years: int, seed: int, n_risks: int = 4):
    """A synthetic portfolio with the example's drivers and a few risks (two on one complex and year)."""
    scenario, portfolio = synthetic_portfolio(n_complexes, n_years, seed=seed)
    mc = replace(read_scenario(EXAMPLE).montecarlo, complexes={})
    projects = list(portfolio.projects["project"])
    V = scenario.valuation_year
    risks = [
        Risk(
            project=projects[(3 * i) % n_complexes],
            name=f"risk {i}",
            probability=0.3 + 0.1 * i,
            impact=Triangular(1e5, 2e5 * (i + 1), 1e6),
            year=V + (i * 2) % n_years,
            type="cost" if i % 2 == 0 else "revenue",
        )
        for i in range(n_risks)
    ]
    if n_risks:
        risks.append(replace(risks[0], name="same cell", probability=0.5))
    return replace(scenario, montecarlo=mc, risks=tuple(risks)), portfolio


def both_engines(scenario, portfolio, *, draws: int, seed: int, drivers=None, chunk_size=None):
    plan = make_plan(scenario, portfolio, drivers)
    n_years = execution._horizon(plan, draws, seed, "numba", 2)
    return tuple(
        execution._simulate_range(plan, seed, 0, draws, n_years, chunk_size, False, engine, 2)
        for engine in ("numpy", "numba")
    )


def assert_identical(numpy_arrays, kernel_arrays):
    for name in FIELDS:
        assert numpy_arrays[name].dtype == kernel_arrays[name].dtype, name
        np.testing.assert_array_equal(kernel_arrays[name], numpy_arrays[name], err_msg=name)


@pytest.mark.parametrize("path", [EXAMPLE, CRISIS], ids=["example", "crisis"])
def test_kernel_equals_numpy_on_the_scenarios(path):
    scenario, portfolio = load(path)
    assert_identical(*both_engines(scenario, portfolio, draws=1500, seed=11))


@pytest.mark.parametrize(
    "drivers",
    [
        (),
        ("pace",),
        ("delay",),
        ("costs",),
        ("prices",),
        ("interest",),
        ("risks",),
        ("pace", "prices"),
        ("delay", "costs", "risks"),
    ],
)
def test_kernel_equals_numpy_with_some_drivers(drivers):
    scenario, portfolio = synthetic(12, 25, seed=5)
    assert_identical(*both_engines(scenario, portfolio, draws=300, seed=4, drivers=drivers))


@pytest.mark.parametrize("seed", range(4))
def test_kernel_equals_numpy_on_random_portfolios(seed):
    rng = np.random.default_rng(seed)
    n_complexes, n_years = int(rng.integers(1, 40)), int(rng.integers(3, 45))
    scenario, portfolio = synthetic(n_complexes, n_years, seed=seed, n_risks=int(rng.integers(0, 5)))
    assert_identical(*both_engines(scenario, portfolio, draws=400, seed=seed, chunk_size=int(rng.integers(50, 500))))


def test_kernel_equals_numpy_with_several_index_groups():
    # Complexes with their own price level and index rates, interleaved: the kernel puts the
    # complexes that share their index factors in neighbouring columns and must still give
    # every complex its own figures, and the reserve path its sums in the complexes' order.
    scenario, portfolio = synthetic(17, 20, seed=7)
    projects = portfolio.projects.copy()
    V = scenario.valuation_year
    projects["price_level"] = pd.array([V - (i % 3) for i in range(17)], dtype="Int64")
    projects["cost_index"] = [0.035 if i % 4 == 1 else np.nan for i in range(17)]
    projects["revenue_index"] = [0.015 if i % 5 == 2 else np.nan for i in range(17)]
    portfolio = replace(portfolio, projects=projects)
    fixed = execution.kernel_plan(make_plan(scenario, portfolio, None), 30)
    assert len(np.unique(fixed.cost_group)) >= 4 and len(np.unique(fixed.revenue_group)) >= 4
    assert moved_by_grouping(fixed)
    assert_identical(*both_engines(scenario, portfolio, draws=700, seed=3, chunk_size=300))


def moved_by_grouping(fixed) -> bool:
    """Whether ordering the complexes by their pair of groups moves some of them."""
    return bool(np.any(fixed.column != np.arange(len(fixed.column))))


def test_kernel_equals_numpy_with_uniform_distributions():
    # Uniform market and complex pace, delay and risk impacts, one complex with a triangular override.
    from grex.drivers import Uniform

    scenario, portfolio = synthetic(15, 22, seed=9)
    first = portfolio.projects["project"].iloc[0]
    mc = replace(
        scenario.montecarlo,
        market_pace=Uniform(0.7, 1.1),
        complex_pace=Uniform(0.8, 1.25),
        delay=Uniform(0.3, 1.2),
        complexes={first: {"pace": Triangular(0.6, 1.0, 1.2)}},
    )
    risks = tuple(replace(r, impact=Uniform(1e5, 4e5)) if i % 2 else r for i, r in enumerate(scenario.risks))
    scenario = replace(scenario, montecarlo=mc, risks=risks)
    plan = make_plan(scenario, portfolio, None)
    assert plan.pace[3][1:].all() and not plan.pace[3][0] and plan.delay[3].all() and plan.risk_impact[3].any()
    assert_identical(*both_engines(scenario, portfolio, draws=600, seed=8, chunk_size=250))


def test_kernel_equals_numpy_where_complexes_end_on_a_sale():
    # Costs stop two years before the last sale: a complex's last flow (its end year) is a revenue alone.
    scenario, portfolio = synthetic(10, 15, seed=11)
    flows = portfolio.flows
    last_sale = flows[flows["type"] == "revenue"].groupby("project")["year"].max()
    keep = (flows["type"] == "revenue") | (flows["year"] < flows["project"].map(last_sale) - 1)
    flows = flows[keep].reset_index(drop=True)
    last_cost = flows[flows["type"] == "cost"].groupby("project")["year"].max()
    assert (last_cost < last_sale).all()
    portfolio = replace(portfolio, flows=flows)
    assert_identical(*both_engines(scenario, portfolio, draws=500, seed=6, chunk_size=200))


def test_kernel_equals_numpy_with_many_complexes():
    # More than 128 complexes: numpy's pairwise summation splits the sum of the provisions.
    scenario, portfolio = synthetic(300, 8, seed=2)
    assert_identical(*both_engines(scenario, portfolio, draws=40, seed=1))


def test_simulate_is_the_same_on_either_engine_and_any_thread_count():
    scenario, portfolio = load(EXAMPLE)
    runs = []
    for engine, threads in (("numpy", 1), ("numba", 1), ("numba", 2), ("numba", 3)):
        runs.append(
            montecarlo.simulate(
                scenario,
                portfolio,
                draws=2 * montecarlo.BLOCK + 7,
                seed=3,
                chunk_size=300,
                engine=engine,
                threads=threads,
            )
        )
    for other in runs[1:]:
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(other, name), getattr(runs[0], name), err_msg=name)
        assert other.required_capacity == runs[0].required_capacity


@pytest.mark.parametrize(
    "engine, threads, key", [("fortran", None, "engine"), (None, 0, "threads"), (None, "2", "threads")]
)
def test_unknown_engine_or_bad_thread_count_is_refused(engine, threads, key):
    scenario, portfolio = load(EXAMPLE)
    with pytest.raises(montecarlo.InputError, match=key):
        montecarlo.simulate(scenario, portfolio, draws=5, seed=1, engine=engine, threads=threads)


def test_the_environment_does_not_choose_the_engine(monkeypatch):
    # Only the CLI reads GREX_ENGINE / GREX_THREADS; the library takes arguments.
    monkeypatch.setenv("GREX_ENGINE", "fortran")
    monkeypatch.setenv("GREX_THREADS", "abc")
    scenario, portfolio = load(EXAMPLE)
    assert montecarlo.simulate(scenario, portfolio, draws=5, seed=1, engine="numpy").draws == 5


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 200, 256, 257, 1000, 4099])
def test_pairwise_sum_is_numpys_sum(n):
    rng = np.random.default_rng(n)
    values = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
    rows = np.ascontiguousarray(np.broadcast_to(values, (3, n)))  # a reduction over the last axis, as in reserve_path
    assert pairwise_sum(values, 0, n) == rows.sum(axis=-1)[1] == values.sum()


@pytest.mark.slow
def test_grex_run_does_not_import_numba(tmp_path):
    code = (
        "import sys; from grex.cli import main; "
        f"assert main(['run', {str(EXAMPLE)!r}, '--out', {str(tmp_path / 'out')!r}]) == 0; "
        "print('numba imported:', 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "numba imported: False"


def test_ndtri_is_scipys_bit_for_bit():
    from scipy.special import ndtri as scipy_ndtri

    from grex.kernel import ndtri, normals

    rng = np.random.default_rng(11)
    n = 2_000_000
    y = np.concatenate(
        [
            rng.random(n),
            np.exp(-rng.uniform(0.0, 745.0, n // 4)),  # the lower tail, down to the subnormals
            1.0 - np.exp(-rng.uniform(0.0, 36.7, n // 4)),  # the upper tail
            np.exp(-rng.uniform(31.0, 33.0, n // 8)),  # around exp(-32), where the tail polynomials change
            [np.nextafter(b, side) for b in (np.exp(-2.0), 1.0 - np.exp(-2.0)) for side in (0.0, 1.0)],
            [0.13533528323661269189, 1.0 - 0.13533528323661269189, 0.5, 5e-324, np.nextafter(1.0, 0.0)],
        ]
    )
    expected = scipy_ndtri(y)
    # ndtri itself on y (a sample: one compiled call per value), normals() on raw doubles of Generator.random.
    out = np.array([ndtri(v) for v in y[:2000]])
    np.testing.assert_array_equal(out.view(np.int64), expected[:2000].view(np.int64))
    raw = rng.random(n)
    got = np.empty(n)
    normals(raw, got)
    np.testing.assert_array_equal(
        got.view(np.int64), scipy_ndtri((np.floor(raw * 2.0**53) + 0.5) / 2.0**53).view(np.int64)
    )
    assert [ndtri(v) for v in (0.0, 1.0)] == [-np.inf, np.inf]
    assert np.isnan(ndtri(-0.5)) and np.isnan(ndtri(1.5))


def test_ndtri_is_scipys_in_the_tails():
    from numba import njit
    from scipy.special import ndtri as scipy_ndtri

    from grex.kernel import ndtri

    @njit
    def apply(y, out):
        for i in range(y.shape[0]):
            out[i] = ndtri(y[i])

    rng = np.random.default_rng(12)
    y = np.concatenate([np.exp(-rng.uniform(0.0, 745.0, 500_000)), 1.0 - np.exp(-rng.uniform(0.0, 36.7, 500_000))])
    got = np.empty_like(y)
    apply(y, got)
    np.testing.assert_array_equal(got.view(np.int64), scipy_ndtri(y).view(np.int64))


@pytest.mark.parametrize("drivers", [None, ("pace",), ("delay", "costs"), ("prices", "risks"), ()])
def test_compiled_random_numbers_are_numpys(drivers):
    scenario, portfolio = synthetic(9, 15, seed=4)
    plan = make_plan(scenario, portfolio, drivers)
    scratch = streams._Scratch(plan)
    for block in (0, 3, 17):
        expected = streams._block(plan, 2024, block)
        got = streams._block_compiled(plan, 2024, block, scratch)
        assert set(got) == set(expected)
        for name, values in expected.items():
            np.testing.assert_array_equal(got[name].view(np.int64), values.view(np.int64), err_msg=name)
    assert execution._horizon(plan, 5000, 7, "numpy", 2) == execution._horizon(plan, 5000, 7, "numba", 2)


def test_compiled_shocks_over_each_draws_own_years_are_numpys():
    # _block_compiled with `years` (issue 17: each draw's normals, innovations and shocks over its own first
    # years only, in one pass per draw): the shocks of those years are the numpy version's over all years
    from grex.kernel import reaches

    scenario, portfolio = synthetic(9, 15, seed=4)
    plan = make_plan(scenario, portfolio, None)
    T = plan.bound_years
    rng = np.random.default_rng(5)
    scratch = streams._Scratch(plan)
    for block in (0, 3):
        own = rng.integers(1, T + 1, streams.BLOCK)  # 1 ... T years, the extremes included
        own[:2] = (1, T)
        expected = streams._block(plan, 2024, block)
        got = streams._block_compiled(plan, 2024, block, scratch, lambda pace, delay, own=own: own)
        for d in range(streams.BLOCK):
            for name in ("cost_shock", "price_shock"):
                np.testing.assert_array_equal(
                    got[name][d, : own[d]].view(np.int64), expected[name][d, : own[d]].view(np.int64), err_msg=name
                )
        # the reach of each draw that chooses those years, compiled (kernel.reaches) as execution._reach
        reach = np.empty(streams.BLOCK)
        reaches(got["pace"], got["delay"], plan.anchor.astype(np.int64), plan.sales_end.astype(np.int64),
                plan.has_sales, reach)  # fmt: skip
        np.testing.assert_array_equal(reach, execution._reach(plan, got["pace"], got["delay"]))


def test_a_missing_numba_falls_back_to_numpy_with_a_warning(monkeypatch):
    """Without numba the numpy twin runs (same results) and the user is told once."""
    import builtins

    real_import = builtins.__import__

    def no_numba(name, *args, **kwargs):
        if name == "numba":
            raise ImportError("No module named 'numba'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(execution, "_warned_fallback", [])
    monkeypatch.setattr(builtins, "__import__", no_numba)
    with pytest.warns(RuntimeWarning, match="numba cannot be imported"):
        assert execution._engine(None) == "numpy"
    assert execution._engine(None) == "numpy"  # warned once only
    assert execution._engine("numpy") == "numpy"


@pytest.mark.parametrize("shape, dtype", [((3, 4), np.float64), ((700_000, 2), np.float64), ((1_500_000, 3), np.int16)])
def test_outputs_behave_as_ordinary_arrays(shape, dtype):
    # Large outputs live in an anonymous mapping of their own (result.own_pages): they must
    # still be ordinary writable arrays that keep their values, copy and pickle.
    import pickle

    from grex.montecarlo import result

    out = result.own_pages(shape, dtype)
    assert out.shape == shape and out.dtype == dtype and out.flags.writeable and out.flags.c_contiguous
    values = np.arange(out.size, dtype=np.int64).reshape(shape) % 1000
    out[...] = values
    np.testing.assert_array_equal(out, values)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(out)), values)
    large = out.nbytes >= result._OWN_MAPPING_BYTES
    assert (out.base is not None) == large


def test_flow_tables_hold_no_negative_zero():
    # The kernel's re-timing adds a zero term where a step's share is 0 (as drivers.retime
    # does); that leaves every sum as it is only if no sum is -0.0, so the planned tables must
    # not hold a -0.0 even where the input writes one (they are sums from +0.0).
    from grex.portfolio import Portfolio
    from grex.valuation import build_inputs

    scenario, portfolio = synthetic(6, 12, seed=3)
    flows = portfolio.flows.copy()
    flows.loc[flows.index[:5], "amount"] = -0.0
    flows.loc[flows.index[5:8], "amount"] = [-1e-300, 0.0, -2.5]
    # negative amounts are refused by the portfolio checks: the tables go in unchecked
    unchecked = Portfolio.checked(portfolio.projects, flows, portfolio.projects_source, portfolio.flows_source)
    x = build_inputs(scenario, unchecked)
    for name in ("revenues", "linked_costs", "costs"):
        table = getattr(x, name)
        assert not np.any((table == 0.0) & np.signbit(table)), name


def test_correlation_products_are_added_in_a_fixed_order_on_either_engine():
    # Each product rounded, then added left to right: the same bits whatever BLAS the machine
    # has (a matrix product may fuse multiply-adds, differently per processor).
    from grex.drivers import correlate, correlation_root
    from grex.kernel import correlate as correlate_compiled

    rng = np.random.default_rng(4)
    root = correlation_root(np.array([[1.0, 0.2, 0.6], [0.2, 1.0, 0.3], [0.6, 0.3, 1.0]]))
    normals = rng.standard_normal((5000, 3))
    expected = np.empty_like(normals)
    for j in range(3):
        expected[:, j] = (normals[:, 0] * root[j, 0] + normals[:, 1] * root[j, 1]) + normals[:, 2] * root[j, 2]
    np.testing.assert_array_equal(correlate(normals, root), expected)
    out = np.empty_like(normals)
    correlate_compiled(normals, root, out)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(expected, normals @ root.T, rtol=1e-14, atol=1e-15)


# -- each compiled stage against the numpy rule it is named after --------------------------
#
# A rule has one definition in grex.core (or grex.drivers / grex.montecarlo.reserve); the kernel's
# stage of the same name must give its numbers bit for bit, so a rule changed in one place and not
# in the other fails here.


def bits(values):
    return np.asarray(values, dtype=np.float64).view(np.int64)


def stage_plan(n_complexes=12, n_years=18, seed=5):
    """A kernel plan of a synthetic portfolio, with the plan and inputs it was made of."""
    scenario, portfolio = synthetic(n_complexes, n_years, seed=seed)
    plan = make_plan(scenario, portfolio, None)
    return execution.kernel_plan(plan, n_years), plan


def test_index_factors_stage_is_core_index_factors():
    from grex.core import freeze_rates, index_factors
    from grex.kernel import index_factors as index_factors_stage

    rng = np.random.default_rng(1)
    groups, rate_offset, n_years = 5, 3, 14
    rates = rng.uniform(-0.03, 0.08, (groups, rate_offset + n_years + 2))
    base = np.array([0, 1, 3, 2, 0], dtype=np.int64)
    shock = rng.normal(0, 0.02, n_years + 4)
    cum = np.empty(rate_offset + n_years + 1)
    for use_shock, freeze in ((False, -1), (True, -1), (True, rate_offset + 6)):
        got = np.empty((groups, n_years))
        index_factors_stage(got, rates, base, rate_offset, n_years, shock, use_shock, freeze, cum)
        grid = rates[:, : rate_offset + n_years].copy()
        if use_shock:
            grid[:, rate_offset:] += shock[:n_years]
            if freeze >= 0:
                grid = freeze_rates(grid, freeze)
        np.testing.assert_array_equal(bits(got), bits(index_factors(grid, base, n_years)))


def test_nominal_flow_stage_is_core_nominal_flows():
    from grex.core import nominal_flows
    from grex.kernel import nominal_flow

    rng = np.random.default_rng(2)
    costs = rng.uniform(0, 1e6, (7, 9)) * (rng.uniform(size=(7, 9)) < 0.7)
    revenues = rng.uniform(0, 2e6, (7, 9))
    cost_factor, revenue_factor = rng.uniform(0.9, 1.6, (2, 7, 9))
    margin = rng.uniform(0, 0.15, 7)
    expected_costs, expected_revenues, _ = nominal_flows(costs, revenues, cost_factor, revenue_factor, margin)
    for c in range(7):
        for t in range(9):
            got = nominal_flow(costs[c, t], revenues[c, t], cost_factor[c, t], revenue_factor[c, t], margin[c])
            assert bits(got).tolist() == bits([expected_costs[c, t], expected_revenues[c, t]]).tolist()


def test_end_index_stage_is_core_end_index():
    from grex.core import end_index
    from grex.kernel import end_index as end_index_stage

    kernel_plan, _ = stage_plan()
    C, T = len(kernel_plan.column), kernel_plan.n_years
    rng = np.random.default_rng(3)
    costs = rng.uniform(size=(C, T)) * (rng.uniform(size=(C, T)) < 0.2)
    costs[0] = 0.0  # a complex without flows
    given = rng.integers(0, T, C) * (rng.uniform(size=C) < 0.5)
    kernel_plan = kernel_plan._replace(given_end_index=given.astype(np.int64))
    flows = costs != 0
    last_flow = np.where(flows.any(axis=1), T - 1 - np.argmax(flows[:, ::-1], axis=1), -1)
    by_column = np.empty(C, dtype=np.int64)
    by_column[kernel_plan.column] = last_flow
    got = np.empty(C, dtype=np.int64)
    end_index_stage(kernel_plan.column, kernel_plan.given_end_index, by_column, got)
    np.testing.assert_array_equal(got[kernel_plan.column], end_index(costs, np.zeros_like(costs), given))


def test_roll_book_value_stage_is_core_roll_book_value():
    from grex.core import roll_book_value
    from grex.kernel import roll_book_value as roll_stage

    rng = np.random.default_rng(4)
    C, T = 9, 15
    book_value = rng.uniform(-5e6, 5e6, C)
    last = rng.integers(0, T, C)
    net = rng.uniform(-1e6, 1e6, (C, T)) * (np.arange(T) <= last[:, None])  # nothing after the end year
    for rate in (0.0, 0.025, -0.01):
        balance = book_value.copy()
        roll_stage(balance, rate, np.ascontiguousarray(net.T), last.astype(np.int64))
        expected, _, _, _ = roll_book_value(book_value, net, rate, last)
        np.testing.assert_array_equal(bits(balance), bits(expected))


def test_provision_and_poc_profit_stages_are_core():
    from grex.core import poc_profit, provision
    from grex.kernel import poc_profit as poc_stage
    from grex.kernel import provision as provision_stage

    rng = np.random.default_rng(5)
    n = 400
    result = rng.normal(0, 1e6, n)
    result[:20] = 0.0
    applies = rng.uniform(size=n) < 0.7
    realised_costs, remaining_costs, realised_revenues, remaining_revenues = rng.uniform(0, 1e6, (4, n))
    realised_revenues[rng.uniform(size=n) < 0.2] = 0.0
    remaining_costs[:10], realised_costs[:10] = 0.0, 0.0  # no costs at all: the share counts as zero
    taken = rng.uniform(0, 1e5, n)
    expected_provision = provision(result, applies)
    expected_poc = poc_profit(
        result, realised_costs, remaining_costs, realised_revenues, remaining_revenues, taken, applies
    )
    got_provision = [provision_stage(result[i], applies[i]) for i in range(n)]
    got_poc = [
        poc_stage(
            result[i],
            realised_costs[i],
            remaining_costs[i],
            realised_revenues[i],
            remaining_revenues[i],
            taken[i],
            applies[i],
        )
        for i in range(n)
    ]
    np.testing.assert_array_equal(bits(got_provision), bits(expected_provision))
    np.testing.assert_array_equal(bits(got_poc), bits(expected_poc))
    assert np.count_nonzero(expected_poc) > 50 and np.count_nonzero(expected_provision) > 50


def test_retime_stage_is_drivers_retime():
    from grex.drivers import retime
    from grex.kernel import retime as retime_stage

    kernel_plan, plan = stage_plan(n_complexes=10, n_years=16)
    C, T = len(kernel_plan.column), kernel_plan.n_years
    inputs = plan.inputs
    rng = np.random.default_rng(6)
    for _ in range(5):
        pace = rng.uniform(0.3, 2.6, C)
        delay = rng.uniform(0, 3, C)
        revenues, linked = np.zeros((2, T, C))
        window_lo, window_hi, span_end = np.empty((3, C), dtype=np.int64)
        k = kernel_plan
        retime_stage(
            k.revenues, k.linked_costs, k.pad, k.anchor, k.sales_end, k.has_sales, k.static_end, k.column,
            k.risk_complex, k.risk_index, k.n_years, pace, delay, revenues, linked, window_lo, window_hi, span_end,
        )  # fmt: skip
        for table, got in ((inputs.revenues, revenues), (inputs.linked_costs, linked)):
            expected = retime(table, plan.anchor, pace[None], delay[None], T)[0]  # (C, T)
            for c in range(C):
                q = kernel_plan.column[c]
                inside = np.arange(window_lo[q], window_hi[q])
                np.testing.assert_array_equal(bits(got[inside, q]), bits(expected[c, inside]))
                outside = np.setdiff1d(np.arange(T), inside)
                assert not expected[c, outside].any(), "a re-timed flow outside the stage's window"


def test_reserve_entries_stage_is_reserve_path():
    from grex.kernel import reserve_entries
    from grex.kernel import reserve_path as reserve_path_stage
    from grex.montecarlo.reserve import RESERVE_YEARS, reserve_path

    kernel_plan, plan = stage_plan(n_complexes=14, n_years=8, seed=11)
    inputs = plan.inputs
    C, T = len(kernel_plan.column), kernel_plan.n_years
    assert inputs.adopted.any() and plan.in_preparation.any()
    rng = np.random.default_rng(7)
    realised = {
        "realised_costs": rng.uniform(0, 2e6, C),
        "realised_revenues": rng.uniform(0, 3e6, C) * (rng.uniform(size=C) < 0.8),
        "profit_taken": rng.uniform(0, 2e5, C) * (rng.uniform(size=C) < 0.5),
        # a provision already formed at 31-12-(V - 1): only the dotation moves the reserve in year V
        "provision_balance": rng.uniform(0, 2e6, C) * (rng.uniform(size=C) < 0.5),
    }
    for provision_basis, poc_basis in (("present_value", "present_value"), ("end_value", "end_value")):
        inputs = replace(plan.inputs, provision_basis=provision_basis, poc_basis=poc_basis, **realised)
        kernel = kernel_plan._replace(
            provision_on_present_value=provision_basis == "present_value",
            poc_on_present_value=poc_basis == "present_value",
            **realised,
        )
        costs = rng.uniform(0, 1e6, (C, T)) * (rng.uniform(size=(C, T)) < 0.6)
        revenues = rng.uniform(0, 2e6, (C, T)) * (rng.uniform(size=(C, T)) < 0.5)
        last = rng.integers(0, T, C)
        end_value = rng.normal(0, 3e6, C)
        present_value = end_value * 0.9
        expected = reserve_path(
            general_reserve=1e6,
            nominal_costs=costs,
            nominal_revenues=revenues,
            end_index=last,
            end_value=end_value,
            present_value=present_value,
            inputs=inputs,
            in_preparation=plan.in_preparation,
        )
        # the kernel's inputs by column: running sums per year of the path, totals, start years
        years = RESERVE_YEARS
        columns = np.minimum(np.arange(years), T - 1)
        cum_costs = np.empty((years, C))
        cum_revenues = np.empty((years, C))
        cum_costs[:, kernel.column] = np.cumsum(costs, axis=1)[:, columns].T
        cum_revenues[:, kernel.column] = np.cumsum(revenues, axis=1)[:, columns].T
        flows = (costs != 0) | (revenues != 0)
        start = np.where(flows.any(axis=1), np.argmax(flows, axis=1), 0)
        change, provisions, got = np.empty(years), np.empty(C), np.empty(years + 1)
        for c in range(C):
            q = kernel.column[c]
            provisions[c] = reserve_entries(
                kernel.realised_costs,
                kernel.realised_revenues,
                kernel.profit_taken,
                kernel.provision_balance,
                kernel.adopted,
                kernel.in_preparation,
                kernel.provision_on_present_value,
                kernel.poc_on_present_value,
                kernel.n_years,
                c,
                q,
                end_value[c],
                present_value[c],
                last[c],
                start[c],
                cum_costs,
                cum_revenues,
                costs[c].sum(),
                revenues[c].sum(),
                change,
            )
        reserve_path_stage(1e6, change, provisions, got)
        np.testing.assert_array_equal(bits(got), bits(expected))


# -- the variants of value_draws: a scenario compiles only the stages it uses (issue 17) ------------------

#: The stages each flag of grex.kernel.variant keeps (in the order of VARIANT_STAGES).
VARIANT_STAGE_FUNCTIONS = (
    {"allocate_market", "market_by_draw", "add_market"},
    {"retime_categories", "nominal_flows_by_category"},
    {"roll_book_value_by_year"},
    {"present_value_of_flows"},
    {"revalue_yearly"},
)
#: The stages every variant runs.
COMMON_STAGES = {"retime", "index_factors", "nominal_flows", "end_index", "add_risks", "roll_book_value"}


def stages_left(flags):
    """The stages a variant's body still calls after numba's dead-branch pruning (before it inlines them)."""
    from numba.core import ir, types
    from numba.core.analysis import compute_cfg_from_blocks, dead_branch_prune
    from numba.core.compiler import run_frontend

    from grex import kernel

    func_ir = run_frontend(kernel._variant_function(flags))
    dead_branch_prune(func_ir, (types.pyobject,) * 3)
    dead = compute_cfg_from_blocks(func_ir.blocks).dead_nodes()
    stages = {name for group in VARIANT_STAGE_FUNCTIONS for name in group} | COMMON_STAGES
    return {
        stmt.value.name
        for label, block in func_ir.blocks.items()
        if label not in dead
        for stmt in block.find_insts(ir.Assign)
        if isinstance(stmt.value, ir.Global) and stmt.value.name in stages
    }


@pytest.mark.parametrize("on", [None, 0, 1, 2, 3, 4, "all"])
def test_a_variant_compiles_only_the_stages_it_uses(on):
    flags = tuple(on == "all" or i == on for i in range(5))
    expected = set(COMMON_STAGES)
    for flag, group in zip(flags, VARIANT_STAGE_FUNCTIONS, strict=True):
        expected |= group if flag else set()
    assert stages_left(flags) == expected


def test_the_stages_every_variant_runs_take_the_plans_arrays_not_the_plan():
    # A stage that takes the plan costs an update of the reference count of each of its some 65 arrays per call
    # wherever numba's pruning pass fails to remove them (issue 17): the stages every variant runs take the arrays
    # they use, taken from the plan once per call of value_draws.
    from numba.core import ir
    from numba.core.compiler import run_frontend

    from grex import kernel

    every_variant = COMMON_STAGES | {"close_spans", "reserve_entries", "reserve_path"}
    for flags in ((False,) * 5, (True,) * 5):
        func_ir = run_frontend(kernel._variant_function(flags))
        stage_of = {}  # the variable a stage is loaded into -> the stage
        calls = []
        for block in func_ir.blocks.values():
            for stmt in block.find_insts(ir.Assign):
                if isinstance(stmt.value, ir.Global) and stmt.value.name in every_variant:
                    stage_of[stmt.target.name] = stmt.value.name
                elif isinstance(stmt.value, ir.Expr) and stmt.value.op == "call":
                    calls.append(stmt.value)
        called = {stage_of[call.func.name]: call for call in calls if call.func.name in stage_of}
        assert set(called) == every_variant
        for stage, call in called.items():
            assert "plan" not in [arg.name for arg in call.args], f"{stage} takes the plan"


def test_each_variant_has_its_own_files_in_numbas_cache():
    # numba finds a cached function by its name and bytecode, which the variants share: the name tells them apart
    from itertools import product

    from grex import kernel

    variants = list(product((False, True), repeat=5))
    names = {kernel.variant_name(flags) for flags in variants}
    index_files = {
        kernel._compiled(kernel._variant_function(flags))._cache._cache_file._index_name for flags in variants
    }
    assert len(names) == len(index_files) == 32
    assert kernel.variant_name((False,) * 5) == "value_draws"  # the file grex.progress.kernel_cache_ready looks for
    assert kernel.variant_name((True, False, False, False, True)) == "value_draws_market_yearly"


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("assen-2024", (False, False, False, False, False)),
        ("kredietcrisis-2008", (False, False, False, False, False)),
        ("assen-2024-markt", (True, False, False, False, False)),
        ("kredietcrisis-2008-jaarlijks", (False, False, False, False, True)),
    ],
)
def test_the_plan_chooses_the_variant(name, flags):
    from grex.kernel import variant

    scenario, portfolio = load(ROOT / "scenarios" / f"{name}.toml")
    plan = make_plan(scenario, portfolio, None)
    assert variant(execution.kernel_plan(plan, 30)) == flags
