"""Each block of draws valued over its own years (issue 17), with the figures of one horizon for the whole run.

Before issue 17 a pass over stream 0 found the horizon that holds every draw's
re-timed flows (the slowest draw of the run), and every draw was valued over
it, with index shocks for every year the drivers allow. Now a block of draws
is valued over its own years (the horizon of its draws), the index shocks of
a draw are computed for the years the kernel reads, and the run's horizon is
the largest of the blocks'. These tests hold the new way to the old bit for
bit (:func:`one_horizon` is the old way), show why it can be (the years past a
draw's flows hold exact zeros, so valuing over more of them changes nothing),
and that a block's figures do not depend on what the other blocks need. The
two stages that read the whole horizon (the present value of the cash flows,
the yearly revaluation) keep the pass and are held to the old way as well.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLE, ROOT
from grex.kernel import Draws, Outputs, value_draws
from grex.montecarlo import execution, simulate, streams
from grex.montecarlo.numpy_engine import _flows, _value_chunk
from grex.montecarlo.plan import make_plan
from grex.montecarlo.reserve import RESERVE_YEARS
from grex.valuation import with_parameters
from test_kernel import CRISIS, load, synthetic
from test_montecarlo_practice import OPTIONS

BLOCK = streams.BLOCK
MARKET = ROOT / "scenarios" / "assen-2024-markt.toml"
YEARLY = ROOT / "scenarios" / "kredietcrisis-2008-jaarlijks.toml"
OUTPUTS = ("end_year", "end_value", "present_value", "reserve", "revalued", "provision", "estimate")
#: The same arrays as fields of a Simulation.
OUTPUT_FIELDS = (
    "end_year",
    "end_value",
    "present_value",
    "reserve",
    "alternative_reserve",
    "provision_held",
    "estimate",
)


def scenario_named(name):
    if name == "example":
        return load(EXAMPLE)
    if name == "crisis":
        return load(CRISIS)
    if name == "market":
        return load(MARKET)
    if name == "yearly":
        return load(YEARLY)
    if name == "synthetic":
        return synthetic(14, 12, seed=3)
    if name == "cash_flows_short":  # nine planned years: many draws end in the horizon's last eight
        scenario, portfolio = synthetic(6, 9, seed=9)
        return with_parameters(scenario, **OPTIONS["cash_flows"][0]), portfolio
    scenario, portfolio = load(EXAMPLE)
    return with_parameters(scenario, **OPTIONS[name][0]), portfolio


SCENARIOS = [
    "example",
    "crisis",
    "market",
    "yearly",
    "synthetic",
    "cash_flows",
    "cash_flows_short",
    "interest_by_year",
    "cost_index_by_category",
]


class NanScratch(streams._Scratch):
    """Buffers that start as NaN: a number read from where nothing was computed shows in every figure."""

    def __init__(self, plan):
        super().__init__(plan)
        for buffer in (self.normal1, self.later, self.cost_shock, self.price_shock):
            buffer.fill(np.nan)


def bits(array):
    array = np.asarray(array)
    return array.view(np.int64) if array.dtype == np.float64 else array


def assert_same(got, expected, names=OUTPUTS):
    for name in names:
        if name in expected:
            np.testing.assert_array_equal(bits(got[name]), bits(expected[name]), err_msg=name)


def outputs(count, C, yearly):
    rows = count if yearly else 1
    return Outputs(
        np.empty((count, C), np.int16),
        np.empty((count, C)),
        np.empty((count, C)),
        np.empty((count, RESERVE_YEARS + 1)),
        np.empty((rows, RESERVE_YEARS + 1)),
        np.empty((rows, RESERVE_YEARS)),
        np.empty((rows, RESERVE_YEARS)),
    )


def kernel_values(fixed, plan, values, count):
    """The kernel's outputs for the first ``count`` draws of a block's driver values."""
    out = outputs(count, plan.inputs.n_complexes, plan.yearly)
    value_draws(
        Draws(
            values["pace"][:count],
            values["delay"][:count],
            values["cost_shock"][:count],
            values["price_shock"][:count],
            np.ascontiguousarray(values["risk"][:count]),
            values["interest"][:count],
            values["absorption"][:count] if plan.market is not None else np.zeros((BLOCK, 0, 1)),
        ),
        fixed,
        out,
    )
    return dict(zip(OUTPUTS, out, strict=True)) if plan.yearly else dict(zip(OUTPUTS[:4], out[:4], strict=True))


def one_horizon(plan, seed, draws):
    """The old way: the horizon of the whole run first, then every draw over it, with every year's shocks."""
    n_years = execution._horizon(plan, draws, seed, "numba", 1)
    fixed = execution.kernel_plan(plan, n_years)
    parts = [
        kernel_values(fixed, plan, streams._block_compiled(plan, seed, block), min(BLOCK, draws - block * BLOCK))
        for block in range((draws - 1) // BLOCK + 1)
    ]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}, n_years


def block_horizons(plan, seed, blocks):
    """The horizon of each block's draws alone."""
    horizons = []
    for block in range(blocks):
        timing = streams._timing(plan, seed, block)
        horizons.append(execution._block_years(plan, execution._reach(plan, timing["pace"], timing["delay"])))
    return horizons


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_block_on_its_own_years_gives_the_figures_of_one_horizon(name, monkeypatch):
    # The whole run as grex simulates it, against the old way. Buffers start as NaN, so a shock read from
    # past the years computed for a draw would show.
    monkeypatch.setattr(execution, "_Scratch", NanScratch)
    scenario, portfolio = scenario_named(name)
    draws, seed = 5 * BLOCK - 300, 17
    plan = make_plan(scenario, portfolio, None)
    expected, n_years = one_horizon(plan, seed, draws)
    simulation = simulate(scenario, portfolio, draws=draws, seed=seed, engine="numba", threads=2)
    got = {name: getattr(simulation, field) for name, field in zip(OUTPUTS, OUTPUT_FIELDS, strict=True)}
    assert_same(got, expected)
    assert simulation.n_years == n_years  # what assemble, the batch parts and the summary agree on
    if execution._horizon_free(plan):
        # the premise: the blocks need different years, and the slowest block sets the run's horizon
        horizons = block_horizons(plan, seed, 5)
        assert max(horizons) == n_years
        assert min(horizons) < n_years or plan.bound_years == n_years
    else:
        assert name in ("yearly", "cash_flows", "cash_flows_short")


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_a_blocks_figures_do_not_depend_on_what_the_other_blocks_need(engine):
    # One block holds the slowest draw of the run; every other block, valued alone over its own years,
    # gives the rows it has in the whole run, and says its own (shorter) horizon.
    scenario, portfolio = load(EXAMPLE)
    plan = make_plan(scenario, portfolio, None)
    seed, blocks = 5, 6
    whole, n_years = execution._run_range(plan, seed, 0, blocks * BLOCK, None, BLOCK, False, engine, 2)
    horizons = []
    for block in range(blocks):
        part, years = execution._run_range(plan, seed, block * BLOCK, (block + 1) * BLOCK, None, None, False, engine, 1)
        horizons.append(years)
        rows = slice(block * BLOCK, (block + 1) * BLOCK)
        assert_same(part, {name: values[rows] for name, values in whole.items()})
    assert max(horizons) == n_years == execution._horizon(plan, blocks * BLOCK, seed, "numba", 1)
    assert sorted(horizons)[-2] < n_years  # the slowest draw's block stands out


@pytest.mark.parametrize("name", ["example", "crisis", "market", "synthetic", "cost_index_by_category"])
def test_the_years_past_a_blocks_flows_hold_exact_zeros(name):
    # Why the horizon can follow the flows: past the horizon of a block's draws every flow is +0.0 (no bit
    # set), and valuing the draws over more years (the run's, the longest the drivers allow) gives the same
    # figures bit for bit, on both engines.
    scenario, portfolio = scenario_named(name)
    plan = make_plan(scenario, portfolio, None)
    bound = plan.bound_years
    fixed = execution.kernel_plan(plan, bound)
    for block in (0, 2):
        values = streams._block(plan, 11, block)
        own = execution._block_years(plan, execution._reach(plan, values["pace"], values["delay"]))
        assert own < bound
        flows = _flows(plan, values, bound)
        for key in ("costs", "revenues"):
            assert not bits(flows[key][..., own:]).any(), key
        expected = _value_chunk(plan, values, own)
        for years in (own + 1, (own + bound) // 2, bound):
            assert_same(_value_chunk(plan, values, years), expected, ("end_index", "end_value", "present_value"))
            assert_same(_value_chunk(plan, values, years), expected, ("reserve",))
        kernel = kernel_values(
            fixed._replace(n_years=own, revenue_freeze=execution._revenue_freeze(plan, own)), plan, values, BLOCK
        )
        for years in (own + 1, bound):
            longer = fixed._replace(n_years=years, revenue_freeze=execution._revenue_freeze(plan, years))
            assert_same(kernel_values(longer, plan, values, BLOCK), kernel)
        np.testing.assert_array_equal(kernel["end_year"], plan.inputs.valuation_year + expected["end_index"])
        assert_same(kernel, expected, ("end_value", "present_value", "reserve"))


@pytest.mark.parametrize("drivers", [None, ("pace",), ("costs", "prices"), ()])
def test_index_shocks_of_a_draws_own_years_are_the_numbers_of_all_years(drivers):
    scenario, portfolio = load(CRISIS)
    plan = make_plan(scenario, portfolio, drivers)
    T = plan.bound_years
    rng = np.random.default_rng(1)
    for block in (0, 5):
        expected = streams._block(plan, 2024, block)
        years = rng.integers(1, T + 1, BLOCK)
        years[:3] = (1, 2, T)
        got = streams._block_compiled(plan, 2024, block, NanScratch(plan), lambda pace, delay, years=years: years)
        np.testing.assert_array_equal(bits(got["pace"]), bits(expected["pace"]))
        for name in ("cost_shock", "price_shock"):
            computed = np.arange(T) < years[:, None]
            np.testing.assert_array_equal(bits(got[name][computed]), bits(expected[name][computed]), err_msg=name)
            assert np.isnan(got[name][~computed]).all(), name  # nothing computed past a draw's years
