"""The vectorised core against its plain-loop twin (grex.reference), and invariants.

Random portfolios are drawn with a seeded generator; every complex is valued
by the core (all complexes at once) and by the loop implementation (one at a
time), and every figure must agree to a millionth of a euro.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from grex import core
from grex.portfolio import COST_CATEGORIES, REVENUE_CATEGORIES, STATUSES, Portfolio
from grex.reference import value_complex
from grex.scenario import Scenario
from grex.valuation import build_inputs, value_portfolio

TOLERANCE = 1e-6


def random_case(seed: int, n: int = 6) -> tuple[Scenario, Portfolio]:
    """A random portfolio and scenario exercising every rule (overrides,
    price levels before V, end years after the last flow, long durations)."""
    rng = np.random.default_rng(seed)
    valuation_year = int(rng.integers(2015, 2030))
    projects, flows = [], []
    for i in range(n):
        project = f"c{i}"
        start = valuation_year + int(rng.integers(0, 3))
        length = int(rng.integers(1, 16))
        has_end = rng.random() < 0.4
        projects.append(
            {
                "project": project,
                "name": f"Complex {i}",
                "status": STATUSES[int(rng.integers(0, 3))],
                "book_value": float(rng.normal(2e6, 3e6)),
                "realised_costs": float(rng.uniform(0, 5e6)) if rng.random() < 0.8 else 0.0,
                "realised_revenues": float(rng.uniform(0, 5e6)) if rng.random() < 0.7 else 0.0,
                "profit_taken": float(rng.uniform(0, 2e5)) if rng.random() < 0.3 else 0.0,
                "end_year": start + length + int(rng.integers(0, 3)) if has_end else pd.NA,
                "price_level": valuation_year - int(rng.integers(0, 3)) if rng.random() < 0.3 else pd.NA,
                "uncertainty_margin": float(rng.uniform(0, 0.2)) if rng.random() < 0.3 else np.nan,
                "cost_index": float(rng.uniform(-0.01, 0.08)) if rng.random() < 0.2 else np.nan,
                "revenue_index": float(rng.uniform(-0.02, 0.05)) if rng.random() < 0.2 else np.nan,
                "row": f"line {i + 2}",
            }
        )
        for year in range(start, start + length):
            for _ in range(int(rng.integers(0, 3))):
                flows.append(
                    {
                        "project": project,
                        "year": year,
                        "type": "cost",
                        "category": COST_CATEGORIES[int(rng.integers(0, len(COST_CATEGORIES)))],
                        "amount": float(rng.uniform(0, 1e6)),
                        "sales_linked": bool(rng.random() < 0.3),
                    }
                )
            if rng.random() < 0.6:
                flows.append(
                    {
                        "project": project,
                        "year": year,
                        "type": "revenue",
                        "category": REVENUE_CATEGORIES[int(rng.integers(0, len(REVENUE_CATEGORIES)))],
                        "amount": float(rng.uniform(0, 2e6)),
                        "sales_linked": False,
                    }
                )
    projects_frame = pd.DataFrame(projects)
    for column in ("end_year", "price_level"):
        projects_frame[column] = projects_frame[column].astype("Int64")
    flows_frame = pd.DataFrame(flows, columns=["project", "year", "type", "category", "amount", "sales_linked"]).astype(
        {"year": "int64", "amount": "float64", "sales_linked": bool}
    )
    flows_frame["row"] = [f"line {i + 2}" for i in range(len(flows_frame))]
    cost_index = {str(valuation_year - 2 + k): float(rng.uniform(0, 0.07)) for k in range(5)}
    cost_index["default"] = float(rng.uniform(0, 0.03))
    scenario = Scenario.from_dict(
        {
            "name": f"random-{seed}",
            "portfolio": "unused",
            "valuation_year": valuation_year,
            "parameters": {
                "interest_rate": float(rng.uniform(-0.01, 0.05)),
                "discount_rate": float(rng.uniform(0, 0.05)),
                "uncertainty_margin": float(rng.uniform(0, 0.15)),
                "cost_index": cost_index,
                "revenue_index": float(rng.uniform(-0.02, 0.04)),
                "max_duration": int(rng.integers(5, 12)),
                "index_revenues_after_max_duration": bool(rng.random() < 0.5),
                "provision_basis": ["present_value", "end_value"][int(rng.integers(0, 2))],
                "poc_basis": ["present_value", "end_value"][int(rng.integers(0, 2))],
            },
        }
    )
    return scenario, Portfolio(projects_frame, flows_frame)


def reference_of(scenario: Scenario, portfolio: Portfolio, project: str):
    p = scenario.parameters
    row = portfolio.projects.set_index("project").loc[project]
    flows = portfolio.flows[portfolio.flows["project"] == project]

    def by_year(kind):
        part = flows[flows["type"] == kind]
        return part.groupby("year")["amount"].sum().to_dict()

    def index(path, override):
        if not pd.isna(override):
            return float(override)
        return {**{int(k): v for k, v in path.by_year.items()}, "default": path.default}

    return value_complex(
        valuation_year=scenario.valuation_year,
        book_value=row["book_value"],
        costs=by_year("cost"),
        revenues=by_year("revenue"),
        interest_rate=p.interest_rate,
        discount_rate=p.discount_rate,
        uncertainty_margin=p.uncertainty_margin if pd.isna(row["uncertainty_margin"]) else row["uncertainty_margin"],
        cost_index=index(p.cost_index, row["cost_index"]),
        revenue_index=index(p.revenue_index, row["revenue_index"]),
        price_level=None if pd.isna(row["price_level"]) else int(row["price_level"]),
        end_year=None if pd.isna(row["end_year"]) else int(row["end_year"]),
        realised_costs=row["realised_costs"],
        realised_revenues=row["realised_revenues"],
        profit_taken=row["profit_taken"],
        adopted=row["status"] == "vastgesteld",
        max_duration=p.max_duration,
        index_revenues_after_max_duration=p.index_revenues_after_max_duration,
        provision_basis=p.provision_basis,
        poc_basis=p.poc_basis,
    )


FIELDS = (
    "duration",
    "remaining_costs_price_level",
    "remaining_revenues_price_level",
    "remaining_costs",
    "remaining_revenues",
    "uncertainty_margin_amount",
    "end_value",
    "present_value",
    "provision",
    "poc_profit",
)


@pytest.mark.parametrize("seed", range(40))
def test_core_matches_loop_reference(seed):
    scenario, portfolio = random_case(seed)
    valuation = value_portfolio(scenario, portfolio)
    table = valuation.complexes().set_index("project")
    years = valuation.years()
    for project in portfolio.ids:
        expected = reference_of(scenario, portfolio, project)
        got = table.loc[project]
        assert got["end_year"] == expected.end_year
        assert bool(got["exceeds_max_duration"]) == expected.exceeds_max_duration
        assert got["interest"] == pytest.approx(expected.interest_total, abs=TOLERANCE, rel=1e-12)
        for name in FIELDS:
            assert got[name] == pytest.approx(getattr(expected, name), abs=TOLERANCE, rel=1e-12), name
        path = years[years["project"] == project].set_index("year")
        assert path["book_value"].to_dict() == pytest.approx(expected.balance, abs=TOLERANCE, rel=1e-12)
        assert path["interest"].to_dict() == pytest.approx(expected.interest, abs=TOLERANCE, rel=1e-12)
        assert path["costs"].to_dict() == pytest.approx(expected.costs, abs=TOLERANCE, rel=1e-12)


# -- invariants ------------------------------------------------------------------


def test_order_of_complexes_does_not_matter():
    scenario, portfolio = random_case(7, n=8)
    base = value_portfolio(scenario, portfolio).complexes().set_index("project")
    shuffled = Portfolio(
        portfolio.projects.iloc[::-1].reset_index(drop=True), portfolio.flows.sample(frac=1, random_state=1)
    )
    other = value_portfolio(scenario, shuffled).complexes().set_index("project").loc[base.index]
    pd.testing.assert_frame_equal(base, other, rtol=1e-12, atol=1e-9)


def test_zero_rates_give_plain_sums():
    """No interest, no indexation, no margin, no discounting: the end value is
    minus the book value minus costs plus revenues."""
    scenario, portfolio = random_case(3, n=8)
    params = replace(
        scenario.parameters,
        interest_rate=0.0,
        discount_rate=0.0,
        uncertainty_margin=0.0,
        cost_index=replace(scenario.parameters.cost_index, default=0.0, by_year={}),
        revenue_index=replace(scenario.parameters.revenue_index, default=0.0, by_year={}),
    )
    projects = portfolio.projects.assign(uncertainty_margin=np.nan, cost_index=np.nan, revenue_index=np.nan)
    table = value_portfolio(replace(scenario, parameters=params), Portfolio(projects, portfolio.flows)).complexes()
    signed = portfolio.flows.assign(net=np.where(portfolio.flows["type"] == "cost", -1, 1) * portfolio.flows["amount"])
    net = signed.groupby("project")["net"].sum().reindex(table["project"], fill_value=0.0).to_numpy()
    expected = -table["book_value"].to_numpy() + net
    np.testing.assert_allclose(table["end_value"], expected, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(table["present_value"], expected, rtol=1e-12, atol=1e-6)


def test_present_value_is_linear_in_flows_and_book_value():
    scenario, portfolio = random_case(11, n=6)
    inputs = build_inputs(scenario, portfolio)
    args = inputs.core_arguments()
    factors = {"cost_factor": inputs.cost_factors(), "revenue_factor": inputs.revenue_factors()}
    flows = inputs.costs + inputs.linked_costs

    def pv(scale):
        result = core.valuate(
            flows * scale, inputs.revenues * scale, **factors, **{**args, "book_value": inputs.book_value * scale}
        )
        return result.present_value

    np.testing.assert_allclose(pv(2.5), 2.5 * pv(1.0), rtol=1e-12)


def test_book_value_recursion_closes():
    """B_{E+1} = B_V + interest + costs - revenues, per complex."""
    scenario, portfolio = random_case(5, n=8)
    result = value_portfolio(scenario, portfolio).result
    inputs = build_inputs(scenario, portfolio)
    closing = inputs.book_value + result.interest_total + result.remaining_costs - result.remaining_revenues
    np.testing.assert_allclose(-result.end_value, closing, rtol=1e-12, atol=1e-6)


def test_leading_draw_axis_gives_the_same_answer_per_draw():
    """Draws are a leading axis of the same core: stacking three copies of the
    deterministic inputs gives three copies of the deterministic answer."""
    scenario, portfolio = random_case(9, n=5)
    inputs = build_inputs(scenario, portfolio)
    single = inputs.valuate()
    args = inputs.core_arguments()

    def stack(a):
        return np.broadcast_to(a, (3, *np.shape(a)))

    many = core.valuate(
        stack(inputs.costs + inputs.linked_costs),
        stack(inputs.revenues),
        cost_factor=stack(inputs.cost_factors()),
        revenue_factor=stack(inputs.revenue_factors()),
        **{**args, "book_value": stack(inputs.book_value), "given_end_index": stack(inputs.given_end_index)},
    )
    for k in range(3):
        np.testing.assert_array_equal(many.present_value[k], single.present_value)
        np.testing.assert_array_equal(many.poc_profit[k], single.poc_profit)
