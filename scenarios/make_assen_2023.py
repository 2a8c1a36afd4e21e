"""Generate the ILLUSTRATIVE previous MPG of the example: scenario ``assen-2023``.

Writes ``scenarios/assen-2023/projects.csv`` and ``scenarios/assen-2023/flows.csv``: the
portfolio as it might have stood in the MPG 2023 (valuation 1-1-2023, price level 1-1-2023),
derived from the illustrative 2024 portfolio so that

    grex diff scenarios/assen-2023.toml scenarios/assen-2024.toml

tells a believable story. The figures are MADE UP, like those of ``assen-2024`` (see
``scenarios/assen-2024/README.md``); nothing here is real project data. The story (invented):

* **Realisation 2023.** Each complex planned the flows of 2023 at about the pace of its 2024
  flows. Costs came in 5% under the plan; most plot sales went as planned, except that
  Werklandschap Assen-Zuid sold 20% more business land than planned and Kloosterakker only half
  its planned housing plots (private plots were handed back). Sales ahead of or behind the plan
  leave the later sales of BEFORE correspondingly smaller or larger. The rekenrente charged over
  2023 was 1.0%, where the MPG 2023 expected 0.75%.
* **Parameters.** The MPG 2023 used interest 0.75% and cost indexation 5% over 2023, 3% over 2024
  and 2% later (``scenarios/assen-2023.toml``); the MPG 2024 has 1.0% and 6/4/4/2%. Estimates of
  BEFORE are the 2024 estimates deflated by the 6% the 2024 MPG says costs rose over 2023, so an
  unchanged estimate shows no amount effect.
* **Changed estimates.** Klenckestraat: the soil remediation (bodem) turned out larger, its
  remaining estimate rose by about 43% (BEFORE 70% of AFTER). Assen Oost: free-sector plot prices
  went down (BEFORE 10% above AFTER).
* **Phasing.** Kloosterakker: BEFORE planned the remaining sales 2024-2027 and the woonrijp works
  2025-2028; AFTER spreads them to 2030 and 2031 (the same amounts, later).
* **Closed and new.** Veemarktterrein (invented) sold its last plots in 2023 and was closed;
  Havenkwartier eerste fase is new in the MPG 2024.

Everything is deterministic: running ``python scenarios/make_assen_2023.py`` rewrites both CSVs
byte for byte. Do not edit the CSVs; edit this script.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "assen-2024"
OUT_DIR = HERE / "assen-2023"

VALUATION_YEAR = 2023
NEXT_YEAR = 2024
COST_INDEX_2023_ACTUAL = 0.06  # cost rise over 2023 as the MPG 2024 has it
INTEREST_CHARGED_2023 = 0.01  # rekenrente actually charged over 2023
COST_REALISATION = 0.95  # actual costs of 2023 / planned
REVENUE_REALISATION = {"werklandschap_assen_zuid": 1.20, "kloosterakker": 0.50}  # others: 1.0
NEW_COMPLEXES = ["havenkwartier_fase1"]
ESTIMATE_CHANGES = {  # (project, type, category) -> BEFORE amount / AFTER amount
    ("klenckestraat", "cost", "bodem"): 0.70,
    ("assen_oost", "revenue", "wonen_vrij"): 1.10,
}
PHASING = {  # project -> {type: (first year, last year) of BEFORE's remaining flows}
    "kloosterakker": {"revenue": (2024, 2027), "woonrijp": (2025, 2028)},
}
CLOSED = dict(
    project="veemarktterrein",
    name="Veemarktterrein",
    status="vastgesteld",
    book_value=350_000,
    realised_costs=6_200_000,
    realised_revenues=6_050_000,
    profit_taken=150_000,
    end_year=2023,
    flows=[
        ("cost", "woonrijp", 280_000, True),
        ("cost", "plankosten", 60_000, False),
        ("revenue", "wonen_vrij", 820_000, False),
    ],
)

HEADER_COMMENTS = [
    "# ILLUSTRATIVE: made-up figures, the previous MPG (valuation 1-1-2023) derived from the "
    "illustrative assen-2024 portfolio; not real project data.",
    "# Regenerate with: python scenarios/make_assen_2023.py",
]


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(SOURCE / f"{name}.csv", comment="#", dtype={"sales_linked": bool})


def spread(total: float, first: int, last: int) -> dict[int, float]:
    years = range(first, last + 1)
    return {y: total / len(years) for y in years}


def build() -> tuple[pd.DataFrame, pd.DataFrame]:
    projects = read("projects")
    flows = read("flows")
    projects = projects[~projects["project"].isin(NEW_COMPLEXES)].reset_index(drop=True)
    flows = flows[~flows["project"].isin(NEW_COMPLEXES)].reset_index(drop=True)

    rows = []  # project, year, type, category, amount, sales_linked (price level 2023)
    history = {}
    for p in projects.itertuples(index=False):
        f = flows[flows["project"] == p.project]
        planned_costs = actual_costs = planned_revenues = actual_revenues = 0.0
        remaining = []
        for (kind, category), part in f.groupby(["type", "category"], sort=False):
            linked = bool(part["sales_linked"].any())
            deflate = 1 + COST_INDEX_2023_ACTUAL if kind == "cost" else 1.0
            amounts = {int(y): a / deflate for y, a in zip(part["year"], part["amount"], strict=True)}
            amounts = {y: a * ESTIMATE_CHANGES.get((p.project, kind, category), 1.0) for y, a in amounts.items()}
            window = PHASING.get(p.project, {})
            key = "woonrijp" if category == "woonrijp" else kind
            if key in window:
                amounts = spread(sum(amounts.values()), *window[key])
            # the plan for 2023: the pace of the first remaining year (no land bought in 2023)
            plan_2023 = 0.0 if category == "verwerving" else amounts.get(NEXT_YEAR, 0.0)
            if kind == "cost":
                planned_costs += plan_2023
                actual_costs += plan_2023 * COST_REALISATION
            else:
                actual = plan_2023 * REVENUE_REALISATION.get(p.project, 1.0)
                planned_revenues += plan_2023
                actual_revenues += actual
                if NEXT_YEAR in amounts:  # sold ahead: BEFORE still expected it; behind: AFTER sells it later
                    amounts[NEXT_YEAR] = max(amounts[NEXT_YEAR] + actual - plan_2023, 0.0)
            if plan_2023:
                remaining.append((p.project, VALUATION_YEAR, kind, category, plan_2023, linked))
            remaining += [(p.project, y, kind, category, a, linked) for y, a in sorted(amounts.items())]
        rows += remaining
        # book value 1-1-2024 = B2023 * (1 + interest charged) + actual costs - actual revenues
        book_value = (p.book_value - actual_costs + actual_revenues) / (1 + INTEREST_CHARGED_2023)
        history[p.project] = dict(
            book_value=round(book_value, 2),
            realised_costs=round(max(p.realised_costs - actual_costs, 0.0), 2),
            realised_revenues=round(max(p.realised_revenues - actual_revenues, 0.0), 2),
        )
    for column in ("book_value", "realised_costs", "realised_revenues"):
        projects[column] = projects["project"].map(lambda project, c=column: history[project][c])
    closed = {k: v for k, v in CLOSED.items() if k != "flows"}
    projects = pd.concat([projects, pd.DataFrame([closed])], ignore_index=True)
    rows += [(CLOSED["project"], VALUATION_YEAR, k, c, float(a), s) for k, c, a, s in CLOSED["flows"]]
    out = pd.DataFrame(rows, columns=["project", "year", "type", "category", "amount", "sales_linked"])
    out["amount"] = out["amount"].round(2)
    out = out[out["amount"] > 0]
    order = {p: i for i, p in enumerate(projects["project"])}
    out = (
        out.assign(_order=out["project"].map(order))
        .sort_values(["_order", "year", "type", "category"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    return projects, out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("\n".join(HEADER_COMMENTS) + "\n")
        text = frame.to_csv(index=False, lineterminator="\n", float_format="%.2f")
        handle.write(text.replace(",True\n", ",true\n").replace(",False\n", ",false\n"))


def main() -> None:
    projects, flows = build()
    assert projects["project"].is_unique
    assert not flows.duplicated(["project", "year", "type", "category"]).any()
    assert (flows["year"] >= VALUATION_YEAR).all() and (flows["amount"] > 0).all()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for column in ("end_year", "price_level"):
        projects[column] = projects[column].astype("Int64")
    write_csv(projects, OUT_DIR / "projects.csv")
    write_csv(flows, OUT_DIR / "flows.csv")
    print(f"{len(projects)} complexes, {len(flows)} flows written to {OUT_DIR}")


if __name__ == "__main__":
    main()
