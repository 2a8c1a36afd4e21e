"""The fused kernel (:mod:`grex.kernel`) against its vectorised numpy twin (issue 4).

The kernel keeps the floating-point operations of the numpy implementation in
the same order, so the two must agree bit for bit (``assert_array_equal``),
on the example, the crisis scenario and random synthetic portfolios, with
every driver and with subsets of them.
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
    plan = montecarlo._plan(scenario, portfolio, drivers)
    n_years = montecarlo._horizon(plan, draws, seed)
    return tuple(
        montecarlo._simulate_range(plan, seed, 0, draws, n_years, chunk_size, False, engine=engine)
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
    fixed = montecarlo._kernel_arguments(montecarlo._plan(scenario, portfolio, None), 30)
    assert len(np.unique(fixed["cost_group"])) >= 4 and len(np.unique(fixed["revenue_group"])) >= 4
    assert moved_by_grouping(fixed)
    assert_identical(*both_engines(scenario, portfolio, draws=700, seed=3, chunk_size=300))


def moved_by_grouping(fixed) -> bool:
    """Whether ordering the complexes by their pair of groups moves some of them."""
    key = fixed["cost_group"] * (fixed["revenue_group"].max() + 1) + fixed["revenue_group"]
    return bool(np.any(np.argsort(key, kind="stable") != np.arange(len(key))))


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
    plan = montecarlo._plan(scenario, portfolio, None)
    assert plan.pace[3][1:].all() and not plan.pace[3][0] and plan.delay[3].all() and plan.risk_impact[3].any()
    assert_identical(*both_engines(scenario, portfolio, draws=600, seed=8, chunk_size=250))


def test_kernel_equals_numpy_with_many_complexes():
    # More than 128 complexes: numpy's pairwise summation splits the sum of the provisions.
    scenario, portfolio = synthetic(300, 8, seed=2)
    assert_identical(*both_engines(scenario, portfolio, draws=40, seed=1))


def test_simulate_is_the_same_on_either_engine_and_any_thread_count(monkeypatch):
    scenario, portfolio = load(EXAMPLE)
    runs = []
    for engine, threads in (("numpy", "1"), ("numba", "1"), ("numba", "2"), ("numba", "3")):
        monkeypatch.setenv("GREX_ENGINE", engine)
        monkeypatch.setenv("GREX_THREADS", threads)
        runs.append(montecarlo.simulate(scenario, portfolio, draws=2 * montecarlo.BLOCK + 7, seed=3, chunk_size=300))
    for other in runs[1:]:
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(other, name), getattr(runs[0], name), err_msg=name)
        assert other.required_capacity == runs[0].required_capacity


def test_unknown_engine_is_refused(monkeypatch):
    monkeypatch.setenv("GREX_ENGINE", "fortran")
    scenario, portfolio = load(EXAMPLE)
    with pytest.raises(montecarlo.InputError, match="GREX_ENGINE"):
        montecarlo.simulate(scenario, portfolio, draws=5, seed=1)


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
    plan = montecarlo._plan(scenario, portfolio, drivers)
    scratch = montecarlo._Scratch(plan)
    for block in (0, 3, 17):
        expected = montecarlo._block(plan, 2024, block)
        got = montecarlo._block_compiled(plan, 2024, block, scratch)
        assert set(got) == set(expected)
        for name, values in expected.items():
            np.testing.assert_array_equal(got[name].view(np.int64), values.view(np.int64), err_msg=name)
    assert montecarlo._horizon(plan, 5000, 7, "numpy") == montecarlo._horizon(plan, 5000, 7, "numba")


def test_a_missing_numba_falls_back_to_numpy_with_a_warning(monkeypatch):
    """Without numba the numpy twin runs (same results) and the user is told once."""
    import builtins

    import grex.montecarlo as montecarlo

    real_import = builtins.__import__

    def no_numba(name, *args, **kwargs):
        if name == "numba":
            raise ImportError("No module named 'numba'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delenv("GREX_ENGINE", raising=False)
    monkeypatch.setattr(montecarlo, "_warned_fallback", [])
    monkeypatch.setattr(builtins, "__import__", no_numba)
    with pytest.warns(RuntimeWarning, match="numba cannot be imported"):
        assert montecarlo._engine() == "numpy"
    assert montecarlo._engine() == "numpy"  # warned once only
    monkeypatch.setenv("GREX_ENGINE", "numpy")
    assert montecarlo._engine() == "numpy"


@pytest.mark.parametrize("shape, dtype", [((3, 4), np.float64), ((700_000, 2), np.float64), ((1_500_000, 3), np.int16)])
def test_outputs_behave_as_ordinary_arrays(shape, dtype):
    # Large outputs live in an anonymous mapping of their own (montecarlo._output): they must
    # still be ordinary writable arrays that keep their values, copy and pickle.
    import pickle

    out = montecarlo._output(shape, dtype)
    assert out.shape == shape and out.dtype == dtype and out.flags.writeable and out.flags.c_contiguous
    values = np.arange(out.size, dtype=np.int64).reshape(shape) % 1000
    out[...] = values
    np.testing.assert_array_equal(out, values)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(out)), values)
    large = out.nbytes >= montecarlo._OWN_MAPPING_BYTES
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
