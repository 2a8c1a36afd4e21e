"""The difference analysis against attributions worked out by hand, several effects at once.

``test_diff.py`` checks that the effects add up and that a single change lands on
its own effect. Adding up holds by construction (the chain's ends are the real
valuations), so it cannot tell one attribution from another: here each effect
of a two-complex case with three changes at once is computed with the plain
rules, state by state, in the order applied.

The plain rules (no margin, no indexation, valuation year 2024): the book value
at 31 December is the one of a year earlier plus interest on it, plus the costs
and less the revenues of the year; the end value is minus the book value at the
end of the last year with a flow; the present value is the end value discounted
over ``end year - 2024 + 1`` years.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import write_case
from grex.api import diff_scenarios

PROJECTS = [
    {"project": "a", "name": "Alpha", "book_value": 1000},
    {"project": "b", "name": "Beta", "book_value": 500},
]
FLOWS = [
    {"project": "a", "year": 2024, "type": "cost", "category": "bouwrijp", "amount": 200},
    {"project": "a", "year": 2025, "type": "revenue", "category": "wonen_vrij", "amount": 1500},
    {"project": "b", "year": 2026, "type": "revenue", "category": "bedrijven", "amount": 800},
]
PLAIN = {"uncertainty_margin": 0.0, "cost_index": 0.0, "revenue_index": 0.0}
BEFORE = {**PLAIN, "interest_rate": 0.01, "discount_rate": 0.02}
AFTER = {**PLAIN, "interest_rate": 0.02, "discount_rate": 0.03}
#: AFTER's estimate of a's bouwrijp costs in 2024 (BEFORE: 200).
AFTER_COST = 260


def plain_values(book_value: float, flows: dict[int, float], interest: float, discount: float) -> tuple[float, float]:
    """End value and present value by the plain rules; ``flows`` year → cost (revenues negative)."""
    end = max(flows)
    balance = book_value
    for year in range(2024, end + 1):
        balance = balance * (1 + interest) + flows.get(year, 0.0)
    end_value = -balance
    return end_value, end_value / (1 + discount) ** (end - 2024 + 1)


def flows_of(project: str, cost_2024: float) -> dict[int, float]:
    return {2024: cost_2024, 2025: -1500.0} if project == "a" else {2026: -800.0}


def book(project: str) -> float:
    return 1000.0 if project == "a" else 500.0


@pytest.fixture
def scenarios(tmp_path):
    after_flows = [dict(f) for f in FLOWS]
    after_flows[0]["amount"] = AFTER_COST
    before = write_case(tmp_path / "before", PROJECTS, FLOWS, parameters=BEFORE, name="before")
    after = write_case(tmp_path / "after", PROJECTS, after_flows, parameters=AFTER, name="after")
    return before, after


def hand_worked(order: list[str]) -> dict[tuple[str, str], dict[str, float]]:
    """Per complex and measure, effect → amount: the states' plain values differenced in ``order``."""
    state = {"interest": 0.01, "discount": 0.02, "cost_bouwrijp": 200.0}
    after = {"interest": 0.02, "discount": 0.03, "cost_bouwrijp": float(AFTER_COST)}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for project in ("a", "b"):
        current = dict(state)
        values = plain_values(book(project), flows_of(project, current["cost_bouwrijp"]), 0.01, 0.02)
        for effect in order:
            current[effect] = after[effect]
            cost = current["cost_bouwrijp"]
            new = plain_values(book(project), flows_of(project, cost), current["interest"], current["discount"])
            for k, measure in enumerate(("end_value", "present_value")):
                out.setdefault((project, measure), {})[effect] = new[k] - values[k]
            values = new
    return out


def test_the_plain_rules_of_this_file_give_the_figures_worked_out_by_hand():
    """Complex a, BEFORE: 1,000 * 1.01 + 200 = 1,210 at 31-12-2024; 1,210 * 1.01 - 1,500 = -277.90 at
    31-12-2025: end value 277.90, present value 277.90 / 1.02**2 = 267.1088. With AFTER's interest
    (1,000 * 1.02 + 200) * 1.02 - 1,500 = -255.60: the interest effect on the end value is -22.30, and
    60 more cost in 2024 is -60 * 1.02 = -61.20 at 31-12-2025."""
    assert plain_values(1000, {2024: 200, 2025: -1500}, 0.01, 0.02) == pytest.approx((277.9, 267.10880), abs=1e-5)
    effects = hand_worked(["interest", "discount", "cost_bouwrijp"])[("a", "end_value")]
    assert effects == pytest.approx({"interest": -22.3, "discount": 0.0, "cost_bouwrijp": -61.2}, abs=1e-9)


@pytest.mark.parametrize(
    "order",
    [
        ["interest", "discount", "cost_bouwrijp"],  # the default order of these three
        ["cost_bouwrijp", "discount", "interest"],
        ["discount", "cost_bouwrijp", "interest"],
    ],
    ids=["default", "reversed", "mixed"],
)
def test_each_effect_is_the_hand_worked_change_of_its_step(scenarios, order):
    result = diff_scenarios(*scenarios, order=",".join(order))
    assert mismatches(result, order) == []


def test_a_reversed_attribution_adds_up_but_fails_the_hand_worked_check(scenarios):
    """Each effect given the change of the step at the mirrored place: the sum is the same."""
    order = ["interest", "discount", "cost_bouwrijp"]
    result = diff_scenarios(*scenarios, order=",".join(order))
    steps = [result.order.index(e) for e in order]
    effects = {}
    for measure, table in result.effects.items():
        reversed_table = table.copy()
        reversed_table[steps] = table[steps[::-1]]
        effects[measure] = reversed_table
    reversed_result = dataclasses.replace(result, effects=effects)
    for measure in ("end_value", "present_value"):
        np.testing.assert_allclose(reversed_result.effects[measure].sum(axis=0), result.effects[measure].sum(axis=0))
    assert len(mismatches(reversed_result, order)) >= 4


def mismatches(result, order: list[str]) -> list[tuple[str, str, str, float, float]]:
    """``(project, measure, effect, found, hand-worked)`` wherever the two differ by more than a cent."""
    out = []
    for (project, measure), effects in hand_worked(order).items():
        found = result.complex(project, measure)
        for effect, amount in effects.items():
            if abs(found[effect] - amount) > 0.01:
                out.append((project, measure, effect, float(found[effect]), amount))
        for effect, amount in found.drop(list(effects)).items():
            if amount != 0:
                out.append((project, measure, effect, float(amount), 0.0))
    return out


def test_the_order_moves_the_attribution_by_the_hand_worked_amounts(scenarios):
    """The interest effect on a's present value first (at a discount of 2%) and last (at 3%, with the
    higher cost) differs: the test above would not tell a reversed attribution from the right one
    unless these differ."""
    first = hand_worked(["interest", "discount", "cost_bouwrijp"])[("a", "present_value")]["interest"]
    last = hand_worked(["cost_bouwrijp", "discount", "interest"])[("a", "present_value")]["interest"]
    assert abs(first - last) > 0.10  # 15 cents: far above the cent the effects are compared to
    assert diff_scenarios(*scenarios).complex("a")["interest"] == pytest.approx(first, abs=0.01)
