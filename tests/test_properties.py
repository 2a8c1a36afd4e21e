"""Invariants checked on generated cases (hypothesis): re-timing conserves the amount,
the deterministic valuation is linear in the amounts, and the order of the complexes
in the portfolio changes no complex's figures."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conftest import EXAMPLE
from grex.drivers import retime
from grex.io import read_portfolio, read_scenario
from grex.valuation import value_portfolio

FAST = settings(max_examples=40, deadline=None, derandomize=True)

#: Amount columns of the per-complex table: each scales with the amounts.
AMOUNTS = (
    "book_value",
    "remaining_costs_price_level",
    "remaining_revenues_price_level",
    "remaining_costs",
    "remaining_revenues",
    "uncertainty_margin_amount",
    "interest",
    "end_value",
    "present_value",
    "provision",
    "poc_profit",
)


@pytest.fixture(scope="module")
def example():
    scenario = read_scenario(EXAMPLE)
    return scenario, read_portfolio(scenario.portfolio)


# -- re-timing --------------------------------------------------------------------------


@st.composite
def retiming_cases(draw):
    complexes = draw(st.integers(1, 4))
    years = draw(st.integers(1, 8))
    planned = draw(arrays(np.float64, (complexes, years), elements=st.floats(0, 1e7, allow_subnormal=False)))
    anchor = np.array([draw(st.integers(0, years - 1)) for _ in range(complexes)])
    planned[np.arange(years)[None, :] < anchor[:, None]] = 0.0  # nothing planned before the start of sales
    draws = draw(st.integers(1, 3))
    pace = np.array([[draw(st.floats(0.2, 5.0)) for _ in range(complexes)] for _ in range(draws)])
    delay = np.array([[draw(st.floats(0.0, 5.0)) for _ in range(complexes)] for _ in range(draws)])
    return planned, anchor, pace, delay


@FAST
@given(retiming_cases())
def test_retiming_conserves_the_amount_at_price_level_for_any_pace_and_delay(case):
    planned, anchor, pace, delay = case
    # the last planned moment, years after 1-1-V, lands at anchor + delay + (T0 - anchor) / pace
    n_years = math.ceil(float(np.max(anchor + delay + (planned.shape[1] - anchor) / pace))) + 1
    out = retime(planned, anchor, pace, delay, n_years)
    assert out.shape == (*pace.shape, n_years)
    assert (out >= 0).all()
    expected = np.broadcast_to(planned.sum(axis=1), pace.shape)
    np.testing.assert_allclose(out.sum(axis=-1), expected, rtol=1e-12, atol=1e-6)


@FAST
@given(retiming_cases(), st.integers(0, 4))
def test_retiming_at_the_planned_pace_and_a_whole_year_delay_shifts_the_flows_exactly(case, years_later):
    planned, anchor, _, _ = case
    complexes, years = planned.shape
    out = retime(planned, anchor, np.ones(complexes), np.full(complexes, float(years_later)), years + years_later)
    assert np.array_equal(out[:, years_later:], planned)
    assert not out[:, :years_later].any()


# -- the deterministic valuation ---------------------------------------------------------


def scaled(portfolio, k: float):
    projects = portfolio.projects.copy()
    for column in ("book_value", "realised_costs", "realised_revenues", "profit_taken"):
        projects[column] = projects[column] * k
    flows = portfolio.flows.assign(amount=portfolio.flows["amount"] * k)
    return dataclasses.replace(portfolio, projects=projects, flows=flows)


@FAST
@given(k=st.floats(0.01, 100.0))
@pytest.mark.slow
def test_scaling_every_amount_by_k_scales_every_figure_by_k(example, k):
    """Book values, realised amounts, profit taken and every flow times k (margin and
    indices unchanged): every amount of every complex times k, end years and durations
    unchanged. A provision is a loss's size and POC a share of a result, so they scale too."""
    scenario, portfolio = example
    base = value_portfolio(scenario, portfolio).complexes()
    result = value_portfolio(scenario, scaled(portfolio, k)).complexes()
    for column in AMOUNTS:
        np.testing.assert_allclose(result[column], k * base[column], rtol=1e-9, atol=1e-6 * k, err_msg=column)
    for column in ("end_year", "duration", "exceeds_max_duration", "status"):
        assert result[column].tolist() == base[column].tolist(), column


@settings(max_examples=20, deadline=None, derandomize=True)
@given(st.permutations(range(19)), st.booleans())
@pytest.mark.slow
def test_the_order_of_the_complexes_changes_no_figure(example, order, shuffle_flows):
    """The complexes in another order (and their flows too, or not): each complex's row
    is the same, bit for bit, and the portfolio totals the same up to the order of the sum."""
    scenario, portfolio = example
    assert len(portfolio.projects) == 19
    projects = portfolio.projects.iloc[list(order)].reset_index(drop=True)
    flows = portfolio.flows
    if shuffle_flows:
        rank = {p: i for i, p in enumerate(projects["project"])}
        flows = flows.sort_values("project", key=lambda s: s.map(rank), kind="stable").reset_index(drop=True)
    base = value_portfolio(scenario, portfolio)
    other = value_portfolio(scenario, dataclasses.replace(portfolio, projects=projects, flows=flows))
    pd.testing.assert_frame_equal(
        other.complexes().set_index("project").loc[base.complexes()["project"]],
        base.complexes().set_index("project"),
        check_exact=True,
    )
    other_totals = other.totals()
    for status, totals in base.totals().items():
        for column, value in totals.items():
            assert other_totals[status][column] == pytest.approx(value, rel=1e-12, abs=1e-6), (status, column)
    assert other.iflo_norm() == pytest.approx(base.iflo_norm(), rel=1e-12)


# -- percentiles along the draws by one sort (issue 17: the reserve path's percentiles) ---------------------


def _same_bits(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    nan = np.isnan(theirs)
    assert (np.isnan(ours) == nan).all()
    assert ours[~nan].tobytes() == theirs[~nan].tobytes()


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-3, 3).map(float),  # ties
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324]),
)


@FAST
@given(
    values=arrays(
        np.float64, st.tuples(st.integers(1, 60), st.integers(1, 4)) | st.tuples(st.integers(1, 60)), elements=_VALUES
    ),
    levels=st.lists(st.floats(0, 100) | st.sampled_from([0, 5, 25, 50, 75, 95, 100]), min_size=1, max_size=7),
)
def test_percentiles_by_sorting_are_numpys_to_the_bit(values, levels):
    from grex.montecarlo.result import percentiles_along_draws

    before = values.copy()
    with np.errstate(invalid="ignore", over="ignore"):  # numpy warns of inf - inf, which it computes too
        _same_bits(percentiles_along_draws(values, levels), np.percentile(values, levels, axis=0))
    assert before.tobytes() == values.tobytes()  # the draws keep their order (the mean of them is summed in it)


def test_percentiles_by_sorting_hand_worked():
    from grex.montecarlo.result import percentiles_along_draws

    # 4 values: P25 at virtual index 0.75 -> 1 + (2 - 1) x 0.75 = 1.75; P50 at 1.5 (weight 0.5, taken from
    # above) -> 3 - (3 - 2) x 0.5 = 2.5; P100 the largest; the second column is the first x 10, unsorted
    values = np.array([[4.0, 40.0], [1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    out = percentiles_along_draws(values, (25, 50, 100))
    assert out.tolist() == [[1.75, 17.5], [2.5, 25.0], [4.0, 40.0]]
    assert np.isnan(percentiles_along_draws(np.array([1.0, np.nan, 2.0]), (50,))[0])
    # weight 0.5 is taken from above: 0.7 - 0.6 x 0.5 = 0.39999999999999997, not 0.1 + 0.6 x 0.5 = 0.4
    assert percentiles_along_draws(np.array([0.7, 0.1]), (50,))[0] == 0.39999999999999997
    # -0.0 and 0.0 are equal, so which of them a level reads depends on the algorithm; numpy's is kept
    for values in ([-0.0, -0.0, 0.0, -1.0], [0.0, -0.0, -0.0, -1.0]):
        _same_bits(percentiles_along_draws(np.array(values), (50,)), np.percentile(values, (50,)))
