"""Resistance reserve figures pinned by hand: the NAR grade at each bound, the expected
shortfall of a known loss distribution, and the general reserve in the valuation year.

Every expectation is worked out in the docstring or comment beside it; none is
computed by the code under test.
"""

from __future__ import annotations

import math

import pytest

from conftest import EURO
from grex.io import read_portfolio, read_scenario
from grex.montecarlo import simulate
from grex.reserves import nar_grade
from grex.valuation import value_portfolio


def load(path):
    scenario = read_scenario(path)
    return scenario, read_portfolio(scenario.portfolio)


# -- NAR grades: each lower bound is inclusive ----------------------------------------

#: The NAR / Universiteit Twente table: A from 2.0, B from 1.4, C from 1.0, D from 0.8,
#: E from 0.6, F below.
NAR_TABLE = [
    (2.0, "A", "B"),
    (1.4, "B", "C"),
    (1.0, "C", "D"),
    (0.8, "D", "E"),
    (0.6, "E", "F"),
]


@pytest.mark.parametrize(("bound", "at", "below"), NAR_TABLE, ids=[row[1] for row in NAR_TABLE])
def test_nar_grade_at_its_lower_bound_and_just_below_it(bound, at, below):
    assert nar_grade(bound)[0] == at
    assert nar_grade(math.nextafter(bound, -math.inf))[0] == below


@pytest.mark.parametrize(
    ("ratio", "letter", "label"),
    [
        (3.7, "A", "uitstekend"),
        (1.7, "B", "ruim voldoende"),
        (1.1, "C", "voldoende"),
        (1.2, "C", "voldoende"),
        (0.9, "D", "matig"),
        (0.7, "E", "onvoldoende"),
        (0.0, "F", "ruim onvoldoende"),
        (-1.0, "F", "ruim onvoldoende"),
    ],
)
def test_nar_grade_between_the_bounds(ratio, letter, label):
    assert nar_grade(ratio) == (letter, label)


def test_nar_grade_of_no_ratio_is_none():
    assert nar_grade(None) is None


def test_valuation_at_exactly_the_iflo_norm_gets_grade_c(case):
    """Book value 1,000 of an adopted complex and no remaining costs: IFLO norm
    0.10 * 1,000 + 0.10 * 0 = 100; an available resistance reserve of 100 is a
    ratio of exactly 1.0, the lower bound of C (voldoende)."""
    at = value_portfolio(*load(case([{"project": "a", "book_value": 1000}], [], reserves={"resistance_reserve": 100})))
    assert at.iflo_norm() == 100.0
    assert at.summary()["ratio"] == 1.0
    assert (at.summary()["grade"], at.summary()["grade_label"]) == ("C", "voldoende")


# -- expected shortfall -------------------------------------------------------------

KNOWN_FLOWS = [
    {"project": "a", "year": 2024, "type": "cost", "amount": 400_000},
    {"project": "a", "year": 2025, "type": "cost", "category": "woonrijp", "amount": 100_000, "sales_linked": "true"},
    {"project": "a", "year": 2025, "type": "revenue", "amount": 300_000},
    {"project": "a", "year": 2026, "type": "revenue", "amount": 500_000},
]
KNOWN_PARAMETERS = {"interest_rate": 0.01, "discount_rate": 0.02, "uncertainty_margin": 0.1, "cost_index": 0.02}


def test_expected_shortfall_is_the_mean_of_the_worst_tenth_of_the_draws(case):
    """One fixed risk of 100,000 at price level 2024 in 2025, probability 5%, and no other spread.

    Each draw that hits loses 97,078.05 of present value (nominal 102,000 in
    2025, one year of 1% interest, 103,020 discounted over three years at 2%);
    the others lose nothing. At 90% confidence over 4,000 draws the tail is the
    worst ceil(0.10 * 4,000) = 400 draws; with h hits (about 200, fewer than
    400) the expected shortfall is h * 97,078.05 / 400, and the 90% quantile
    (the 3,600th smallest loss) is 0.
    """
    path = case(
        [{"project": "a"}],
        KNOWN_FLOWS,
        parameters=KNOWN_PARAMETERS,
        reserves={"confidence": 0.9},
        extra_toml='[[risks]]\nproject = "a"\nname = "extra sanering"\nprobability = 0.05\n'
        'impact = 100_000\nyear = 2025\ntype = "cost"\n',
    )
    sim = simulate(*load(path), draws=4000, seed=5, drivers={"risks"})
    losses = sim.base.result.present_value.sum() - sim.portfolio_present_value
    hits = int((losses > EURO).sum())
    assert 150 < hits < 250
    assert sim.expected_shortfall == pytest.approx(hits * 97_078.05 / 400, abs=EURO)
    assert sim.required_capacity == 0.0


# -- the general reserve in the valuation year ---------------------------------------

NO_GROWTH = {"interest_rate": 0.0, "uncertainty_margin": 0.0, "cost_index": 0.0}


def test_reserve_path_charges_the_provision_in_the_valuation_year(case):
    """An adopted complex with costs 150 in 2024 and revenue 100 in 2025, no interest,
    indexation or margin: end value -50 at 31-12-2025, present value -50 / 1.02**2
    = -48.06, so a provision of 48.06 is charged in 2024 (reserve 1,000 - 48.06 =
    951.94); in 2025 the end value -50 is settled against the provision formed:
    951.94 - 50 + 48.06 = 950."""
    path = case(
        [{"project": "a"}],
        [
            {"project": "a", "year": 2024, "type": "cost", "amount": 150},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 100},
        ],
        parameters=NO_GROWTH,
        reserves={"general_reserve": 1000},
    )
    sim = simulate(*load(path), draws=5, seed=1, drivers=())
    assert sim.deterministic_reserve[:4].tolist() == pytest.approx([1000, 951.9415609, 950, 950], abs=1e-6)


def test_reserve_path_credits_the_interim_profit_of_the_valuation_year(case):
    """An adopted complex with costs 100 and revenue 100 in 2024 and revenue 60 in
    2025, no interest, indexation or margin: end value 60, present value
    60 / 1.02**2 = 57.6701. End 2024 all costs and 100 / 160 of the revenues are
    realised: POC 1 * 0.625 * 57.6701 = 36.0438 is credited in 2024 (reserve
    1,036.04); in 2025 the end value 60 less the 36.04 already taken is settled:
    1,060."""
    path = case(
        [{"project": "a"}],
        [
            {"project": "a", "year": 2024, "type": "cost", "amount": 100},
            {"project": "a", "year": 2024, "type": "revenue", "amount": 100},
            {"project": "a", "year": 2025, "type": "revenue", "amount": 60},
        ],
        parameters=NO_GROWTH,
        reserves={"general_reserve": 1000},
    )
    sim = simulate(*load(path), draws=5, seed=1, drivers=())
    assert sim.deterministic_reserve[:4].tolist() == pytest.approx([1000, 1036.0438293, 1060, 1060], abs=1e-6)
