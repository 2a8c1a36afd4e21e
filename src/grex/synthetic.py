"""Synthetic portfolios of any size, for benchmarks and property tests.

The complexes look like real grondexploitaties: land bought in the first
years, civil works (bouwrijp) before the sales, plot sales over a stretch of
years, woonrijp costs that follow the sales a year later (``sales_linked``),
plan costs throughout. Figures are random but seeded; they are not data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from grex.portfolio import Portfolio
from grex.scenario import Scenario

__all__ = ["synthetic_portfolio"]


def synthetic_portfolio(
    n_complexes: int,
    n_years: int,
    *,
    seed: int = 0,
    valuation_year: int = 2024,
) -> tuple[Scenario, Portfolio]:
    """A random portfolio whose horizon is exactly ``n_years`` years.

    Parameters
    ----------
    n_complexes : int
        Number of complexes C (all ``vastgesteld`` but every tenth
        ``voorbereiding``).
    n_years : int
        Years T of the horizon: the longest complex ends in ``V + T - 1``.
    seed : int, keyword-only
        Seed of the generator.

    Returns
    -------
    scenario, portfolio
        A scenario with the seed's parameters (docs/rules.md section 14) and the
        portfolio; the scenario's ``portfolio`` path is a placeholder.
    """
    if n_complexes < 1 or n_years < 3:
        raise ValueError(f"need at least 1 complex and 3 years, not {n_complexes} and {n_years}")
    rng = np.random.default_rng(seed)
    projects, flows = [], []
    for i in range(n_complexes):
        project = f"complex_{i:05d}"
        # the first complex spans the whole horizon; the others a random part
        length = n_years if i == 0 else int(rng.integers(3, n_years + 1))
        start = 0 if i == 0 else int(rng.integers(0, n_years - length + 1))
        size = float(rng.lognormal(np.log(10e6), 0.6))
        status = "voorbereiding" if i % 10 == 9 else "vastgesteld"
        projects.append(
            {
                "project": project,
                "name": f"Complex {i}",
                "status": status,
                "book_value": size * float(rng.uniform(0.05, 0.4)),
                "realised_costs": size * float(rng.uniform(0.1, 0.5)),
                "realised_revenues": size * float(rng.uniform(0.0, 0.4)),
                "profit_taken": 0.0,
                "end_year": valuation_year + start + length - 1,
                "price_level": pd.NA,
                "uncertainty_margin": np.nan,
                "cost_index": np.nan,
                "revenue_index": np.nan,
                "row": f"row {i + 1}",
            }
        )
        years = valuation_year + start + np.arange(length)
        sale_start = max(1, length // 4)
        sale_years = years[sale_start:]
        sale_weights = rng.dirichlet(np.full(len(sale_years), 3.0))
        revenue = size * float(rng.uniform(1.1, 1.8))

        def add(
            year: int | np.integer,
            kind: str,
            category: str,
            amount: float,
            linked: bool = False,
            project: str = project,
        ) -> None:
            flows.append((project, int(year), kind, category, float(round(amount, 2)), linked))

        add(years[0], "cost", "verwerving", 0.25 * size)
        for year in years[:sale_start]:
            add(year, "cost", "bouwrijp", 0.3 * size / sale_start)
        for year, weight in zip(sale_years, sale_weights, strict=True):
            add(year, "revenue", "wonen_vrij", 0.7 * revenue * weight)
            add(year, "revenue", "bedrijven", 0.3 * revenue * weight)
        for year, weight in zip(sale_years, sale_weights, strict=True):
            # woonrijp follows the sales a year later, within the complex's span
            add(min(year + 1, years[-1]), "cost", "woonrijp", 0.3 * size * weight, linked=True)
        for year in years:
            add(year, "cost", "plankosten", 0.15 * size / length)
    projects_frame = pd.DataFrame(projects)
    for column in ("end_year", "price_level"):
        projects_frame[column] = projects_frame[column].astype("Int64")
    flows_frame = pd.DataFrame(flows, columns=["project", "year", "type", "category", "amount", "sales_linked"])
    flows_frame = flows_frame.astype({"year": "int64", "amount": "float64", "sales_linked": bool})
    flows_frame["row"] = [f"row {i + 1}" for i in range(len(flows_frame))]
    scenario = Scenario.from_dict(
        {
            "name": f"synthetic-{n_complexes}x{n_years}",
            "portfolio": "synthetic",
            "valuation_year": valuation_year,
            "illustrative": True,
            "parameters": {
                "interest_rate": 0.01,
                "discount_rate": 0.02,
                "uncertainty_margin": 0.10,
                "cost_index": {str(valuation_year): 0.04, str(valuation_year + 1): 0.04, "default": 0.02},
                "revenue_index": 0.0,
            },
            "reserves": {"general_reserve": 0.3 * n_complexes * 1e6, "resistance_reserve": 0.1 * n_complexes * 1e6},
        }
    )
    return scenario, Portfolio(projects_frame, flows_frame)
