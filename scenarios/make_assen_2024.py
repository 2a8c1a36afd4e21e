"""Generate the ILLUSTRATIVE example portfolio of scenario ``assen-2024``.

Writes ``scenarios/assen-2024/projects.csv`` and ``scenarios/assen-2024/flows.csv``.

The figures are MADE UP. The seed document (Programmabegroting 2024 of Assen, paragraph 3.7)
gives no per-project figures (its tables were images); it gives only portfolio totals. This script
builds a plausible portfolio of the complexes the seed names and calibrates the ``vastgesteld``
complexes to the totals of paragraph 3.7.13:

* remaining costs EUR 43 million "exclusief rente en indexatie": the sum of the cost amounts
  (price level 1-1-2024) times (1 + uncertainty margin), as the grex carries the margin as a cost
  post;
* remaining revenues EUR 75 million (price level 1-1-2024).

The result of the seed's "EUR 53 miljoen nadelig (eindwaarde)" is not reproduced (see README).

Everything is deterministic: fixed numbers, no randomness. Running

    python scenarios/make_assen_2024.py

rewrites both CSVs byte for byte and prints the calibration totals and a rough check of each
complex's expected result (the docs/rules.md conventions with the seed's parameters; the engine is
the authority, this check only guards the signs the README describes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "assen-2024"

VALUATION_YEAR = 2024
DEFAULT_MARGIN = 0.10
TARGET_COSTS = 43_000_000  # vastgesteld: sum(cost x (1 + margin)), price level 1-1-2024
TARGET_REVENUES = 75_000_000  # vastgesteld: sum(revenue), price level 1-1-2024
TOLERANCE = 1_000

HEADER_COMMENTS = [
    "# ILLUSTRATIVE: made-up figures calibrated to the totals of the Programmabegroting 2024 of "
    "Assen (par. 3.7.13); not real project data.",
    "# Regenerate with: python scenarios/make_assen_2024.py",
]

PROJECT_COLUMNS = [
    "project",
    "name",
    "status",
    "book_value",
    "realised_costs",
    "realised_revenues",
    "profit_taken",
    "end_year",
    "price_level",
    "uncertainty_margin",
    "cost_index",
    "revenue_index",
]
FLOW_COLUMNS = ["project", "year", "type", "category", "amount", "sales_linked"]

COST_CATEGORIES = ["verwerving", "sloop", "bodem", "bouwrijp", "woonrijp", "plankosten", "bijdragen", "overig"]
REVENUE_CATEGORIES = [
    "wonen_sociaal",
    "wonen_betaalbaar",
    "wonen_vrij",
    "bedrijven",
    "maatschappelijk",
    "overig",
    "subsidie",
]

# Parameters of the rough check only (seed par. 3.7.7); the scenario TOML is the real source.
CHECK_INTEREST = 0.01
CHECK_DISCOUNT = 0.02
CHECK_COST_INDEX = {2024: 0.04, 2025: 0.04}  # 2% from 2026
CHECK_COST_INDEX_LATER = 0.02

# --------------------------------------------------------------------------------------------
# The complexes. All amounts in EUR thousand (k EUR) at price level 1-1-2024.
#
# history:  realised costs, capitalised interest, realised revenues and profit taken up to
#           31-12-2023; book value 1-1-2024 = costs + interest - revenues + profit taken
#           (taking interim profit debits the complex, so it raises the book value).
# costs:    category -> (total, first year, last year[, weights]); the string "sales" instead
#           of the years makes the cost follow the plot sales one year later (sales_linked;
#           capped at the complex's end year where one is given).
# revenues: category -> (total, first year, last year[, weights]). Several revenue categories of
#           one complex share its sales profile when given the same years.
# --------------------------------------------------------------------------------------------
FRONT = "front"  # weights falling linearly from 2 to 1 (strong early demand)
BACK = "back"  # weights rising linearly from 1 to 2 (slow start)

COMPLEXES = [
    # ---------------------------------------------------------------- vastgesteld (BIE)
    dict(
        project="kloosterakker",
        name="Kloosterakker",
        status="vastgesteld",
        history=dict(costs=18_300, interest=650, revenues=15_300, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "bouwrijp": (1_600, 2024, 2027),
            "woonrijp": (3_100, "sales"),
            "plankosten": (900, 2024, 2031),
            "overig": (300, 2024, 2030),
        },
        revenues={
            "wonen_vrij": (6_400, 2024, 2030),
            "wonen_betaalbaar": (3_000, 2024, 2030),
            "wonen_sociaal": (2_100, 2024, 2030),
        },
    ),
    dict(
        project="noorderpark",
        name="Noorderpark",
        status="vastgesteld",
        history=dict(costs=9_100, interest=300, revenues=8_300, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={"woonrijp": (900, "sales"), "plankosten": (200, 2024, 2027)},
        revenues={"wonen_vrij": (1_900, 2024, 2026), "wonen_betaalbaar": (800, 2024, 2026)},
    ),
    dict(
        project="kloosterveste",
        name="Kloosterveste",
        status="vastgesteld",
        history=dict(costs=9_900, interest=400, revenues=7_900, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={"bouwrijp": (800, 2024, 2026), "woonrijp": (1_500, "sales"), "plankosten": (500, 2024, 2029)},
        revenues={
            "wonen_vrij": (4_300, 2024, 2028),
            "wonen_betaalbaar": (1_300, 2024, 2028),
            "maatschappelijk": (700, 2026, 2026),
        },
    ),
    dict(
        project="assen_oost",
        name="Assen Oost",
        status="vastgesteld",
        history=dict(costs=5_400, interest=250, revenues=2_900, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "sloop": (400, 2024, 2025),
            "bodem": (300, 2024, 2025),
            "bouwrijp": (700, 2025, 2027),
            "woonrijp": (900, "sales"),
            "plankosten": (400, 2024, 2031),
        },
        revenues={
            "wonen_sociaal": (1_400, 2026, 2030),
            "wonen_betaalbaar": (1_300, 2026, 2030),
            "wonen_vrij": (1_800, 2026, 2030),
        },
    ),
    dict(
        project="klenckestraat",
        name="Klenckestraat",
        status="vastgesteld",
        history=dict(costs=4_100, interest=200, revenues=1_800, profit_taken=0),
        end_year=None,
        margin=0.15,
        revenue_index=None,
        costs={
            "sloop": (500, 2024, 2025),
            "bodem": (500, 2024, 2025),
            "bouwrijp": (400, 2025, 2026),
            "woonrijp": (500, "sales"),
            "plankosten": (300, 2024, 2029),
        },
        revenues={"wonen_betaalbaar": (1_700, 2026, 2028), "wonen_vrij": (2_600, 2026, 2028)},
    ),
    dict(
        project="schakelterrein",
        name="Schakelterrein",
        status="vastgesteld",
        history=dict(costs=3_500, interest=150, revenues=2_300, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "bodem": (800, 2024, 2025),
            "bouwrijp": (1_000, 2025, 2027),
            "woonrijp": (1_000, "sales"),
            "plankosten": (500, 2024, 2031),
        },
        revenues={
            "wonen_vrij": (3_500, 2026, 2030),
            "wonen_betaalbaar": (1_500, 2026, 2030),
            "bedrijven": (1_000, 2027, 2029),
        },
    ),
    dict(
        project="messchenveld_1a",
        name="Messchenveld 1a",
        status="vastgesteld",
        history=dict(costs=23_500, interest=2_100, revenues=16_600, profit_taken=0),
        end_year=2042,
        margin=None,
        revenue_index=0.0,
        costs={
            "bouwrijp": (600, 2025, 2026),
            "overig": (400, 2026, 2027),
            "woonrijp": (300, "sales"),
            "plankosten": (380, 2024, 2042),
        },
        revenues={"bedrijven": (6_700, 2024, 2042)},
    ),
    dict(
        project="werklandschap_assen_zuid",
        name="Werklandschap Assen-Zuid",
        status="vastgesteld",
        history=dict(costs=27_800, interest=1_300, revenues=26_100, profit_taken=0),
        end_year=2032,
        margin=None,
        revenue_index=None,
        costs={
            "verwerving": (1_200, 2024, 2024),
            "sloop": (200, 2025, 2025),
            "bouwrijp": (3_000, 2024, 2029, FRONT),
            "woonrijp": (2_100, "sales"),
            "plankosten": (900, 2024, 2032),
        },
        revenues={"bedrijven": (13_600, 2024, 2031, FRONT)},
    ),
    dict(
        project="kloosterhout",
        name="Kloosterhout",
        status="vastgesteld",
        history=dict(costs=13_900, interest=450, revenues=13_600, profit_taken=500),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={"bouwrijp": (800, 2024, 2026), "woonrijp": (1_500, "sales"), "plankosten": (400, 2024, 2030)},
        revenues={
            "wonen_vrij": (3_700, 2024, 2029),
            "wonen_betaalbaar": (1_200, 2024, 2029),
            "wonen_sociaal": (700, 2024, 2029),
        },
    ),
    dict(
        project="kloosterbos",
        name="Kloosterbos",
        status="vastgesteld",
        history=dict(costs=10_400, interest=300, revenues=11_700, profit_taken=400),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={"bouwrijp": (500, 2024, 2025), "woonrijp": (1_100, "sales"), "plankosten": (300, 2024, 2029)},
        revenues={"wonen_vrij": (2_200, 2024, 2028), "wonen_betaalbaar": (600, 2024, 2028)},
    ),
    dict(
        project="asselyn",
        name="Asselyn",
        status="vastgesteld",
        history=dict(costs=6_550, interest=300, revenues=5_400, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={"bouwrijp": (900, 2024, 2026), "woonrijp": (1_400, "sales"), "plankosten": (400, 2024, 2031)},
        revenues={
            "wonen_vrij": (3_300, 2024, 2030),
            "wonen_betaalbaar": (1_200, 2024, 2030),
            "wonen_sociaal": (800, 2024, 2030),
        },
    ),
    dict(
        project="groene_dijk",
        name="Groene Dijk",
        status="vastgesteld",
        history=dict(costs=4_400, interest=150, revenues=2_300, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "bouwrijp": (900, 2024, 2027),
            "woonrijp": (1_300, "sales"),
            "plankosten": (500, 2024, 2032),
            "overig": (100, 2024, 2025),
        },
        revenues={"wonen_vrij": (3_900, 2024, 2031, BACK), "bedrijven": (2_400, 2024, 2031, BACK)},
    ),
    # ---------------------------------------------------------------- voorbereiding (concept)
    dict(
        project="vervolg_kloosterakker",
        name="Vervolg Kloosterakker",
        status="voorbereiding",
        history=dict(costs=650, interest=10, revenues=0, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "verwerving": (4_200, 2024, 2025),
            "plankosten": (1_100, 2024, 2033),
            "bouwrijp": (2_800, 2026, 2029),
            "woonrijp": (2_400, "sales"),
        },
        revenues={
            "wonen_vrij": (8_000, 2027, 2032),
            "wonen_betaalbaar": (3_600, 2027, 2032),
            "wonen_sociaal": (2_600, 2027, 2032),
        },
    ),
    dict(
        project="rolderstraat_noord",
        name="Rolderstraat Noord",
        status="voorbereiding",
        history=dict(costs=1_150, interest=20, revenues=0, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "verwerving": (2_300, 2024, 2025),
            "sloop": (600, 2025, 2025),
            "bodem": (400, 2025, 2026),
            "bouwrijp": (700, 2026, 2026),
            "woonrijp": (600, "sales"),
            "plankosten": (600, 2024, 2030),
        },
        revenues={
            "wonen_sociaal": (1_800, 2027, 2029),
            "wonen_betaalbaar": (2_400, 2027, 2029),
            "wonen_vrij": (1_400, 2027, 2029),
        },
    ),
    dict(
        project="oude_molenstraat",
        name="Oude Molenstraat (voormalige stadsherberg)",
        status="voorbereiding",
        history=dict(costs=1_750, interest=30, revenues=0, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "sloop": (450, 2024, 2024),
            "bodem": (250, 2025, 2025),
            "bouwrijp": (300, 2025, 2025),
            "woonrijp": (350, "sales"),
            "plankosten": (300, 2024, 2028),
        },
        revenues={"wonen_betaalbaar": (1_200, 2026, 2027), "wonen_vrij": (1_300, 2026, 2027)},
    ),
    dict(
        project="havenkwartier_fase1",
        name="Havenkwartier eerste fase",
        status="voorbereiding",
        history=dict(costs=3_300, interest=100, revenues=0, profit_taken=0),
        end_year=None,
        margin=None,
        revenue_index=None,
        costs={
            "verwerving": (3_000, 2024, 2026),
            "sloop": (1_000, 2025, 2026),
            "bodem": (1_500, 2025, 2027),
            "bouwrijp": (2_000, 2026, 2028),
            "woonrijp": (2_500, "sales"),
            "plankosten": (1_500, 2024, 2033),
            "bijdragen": (500, 2028, 2028),
        },
        revenues={
            "wonen_sociaal": (2_400, 2027, 2032),
            "wonen_betaalbaar": (3_200, 2027, 2032),
            "wonen_vrij": (4_300, 2027, 2032),
            "maatschappelijk": (800, 2029, 2029),
            "subsidie": (2_500, 2025, 2026),
        },
    ),
    # ---------------------------------------------------------------- strategisch (no grex)
    dict(
        project="strategisch_kloosterveen",
        name="Strategische gronden Kloosterveen",
        status="strategisch",
        history=dict(costs=3_950, interest=250, revenues=0, profit_taken=0),
        end_year=2028,
        margin=None,
        revenue_index=None,
        costs={"overig": (150, 2024, 2028)},
        revenues={},
    ),
    dict(
        project="strategisch_assen_zuid_oost",
        name="Strategische gronden Assen-Zuid oost",
        status="strategisch",
        history=dict(costs=2_300, interest=100, revenues=0, profit_taken=0),
        end_year=2030,
        margin=None,
        revenue_index=None,
        costs={},
        revenues={},
    ),
    dict(
        project="strategisch_binnenstad",
        name="Strategische aankopen binnenstad",
        status="strategisch",
        history=dict(costs=1_050, interest=40, revenues=0, profit_taken=0),
        end_year=2027,
        margin=None,
        revenue_index=None,
        costs={"overig": (60, 2024, 2026)},
        revenues={},
    ),
]


def spread(total: float, first: int, last: int, weights=None) -> dict[int, float]:
    """Spread ``total`` over the years ``first``..``last`` (inclusive).

    ``weights`` is None (equal parts), FRONT (falling from 2 to 1), BACK (rising from 1 to 2) or
    a sequence with one weight per year.
    """
    years = np.arange(first, last + 1)
    n = len(years)
    if weights is None:
        w = np.ones(n)
    elif weights == FRONT:
        w = np.linspace(2.0, 1.0, n)
    elif weights == BACK:
        w = np.linspace(1.0, 2.0, n)
    else:
        w = np.asarray(weights, dtype=float)
        assert len(w) == n, "one weight per year"
    w = w / w.sum()
    return {int(y): float(total * x) for y, x in zip(years, w, strict=False)}


def sales_profile(revenues: dict) -> dict[int, float]:
    """Share of the complex's total revenues per year (the plot sales profile)."""
    per_year: dict[int, float] = {}
    for total, first, last, *weights in revenues.values():
        for y, a in spread(total, first, last, *weights).items():
            per_year[y] = per_year.get(y, 0.0) + a
    grand = sum(per_year.values())
    return {y: a / grand for y, a in sorted(per_year.items())}


def build_flows() -> pd.DataFrame:
    """Unrounded flows in EUR for all complexes (one row per project, year, type, category)."""
    rows = []
    for c in COMPLEXES:
        for cat, (total, first, last, *weights) in c["revenues"].items():
            for y, a in spread(total * 1000, first, last, *weights).items():
                rows.append((c["project"], y, "revenue", cat, a, False))
        profile = sales_profile(c["revenues"]) if c["revenues"] else {}
        for cat, spec in c["costs"].items():
            total = spec[0] * 1000
            if spec[1] == "sales":  # follows the plot sales one year later
                lagged: dict[int, float] = {}
                for y, share in profile.items():  # never after a given end year
                    t = min(y + 1, c["end_year"] or y + 1)
                    lagged[t] = lagged.get(t, 0.0) + total * share
                for t, a in lagged.items():
                    rows.append((c["project"], t, "cost", cat, a, True))
            else:
                _, first, last, *weights = spec
                for y, a in spread(total, first, last, *weights).items():
                    rows.append((c["project"], y, "cost", cat, a, False))
    df = pd.DataFrame(rows, columns=FLOW_COLUMNS)
    return df


def margins() -> dict[str, float]:
    return {c["project"]: (DEFAULT_MARGIN if c["margin"] is None else c["margin"]) for c in COMPLEXES}


def statuses() -> dict[str, str]:
    return {c["project"]: c["status"] for c in COMPLEXES}


def calibrate(df: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    """Scale the vastgesteld costs and revenues to the seed totals, round to whole euros, and put
    the rounding residue on the largest row of each kind. Other statuses are only rounded."""
    df = df.copy()
    adopted = df["project"].map(statuses()) == "vastgesteld"
    m = df["project"].map(margins())
    cost = adopted & (df["type"] == "cost")
    rev = adopted & (df["type"] == "revenue")
    k_cost = TARGET_COSTS / float((df.loc[cost, "amount"] * (1 + m[cost])).sum())
    k_rev = TARGET_REVENUES / float(df.loc[rev, "amount"].sum())
    df.loc[cost, "amount"] *= k_cost
    df.loc[rev, "amount"] *= k_rev
    df["amount"] = df["amount"].round().astype(np.int64)
    # residues (whole euros) onto the largest row
    i = df.loc[rev, "amount"].idxmax()
    df.loc[i, "amount"] += TARGET_REVENUES - int(df.loc[rev, "amount"].sum())
    i = df.loc[cost, "amount"].idxmax()
    residue = TARGET_COSTS - float((df.loc[cost, "amount"] * (1 + m[cost])).sum())
    df.loc[i, "amount"] += int(round(residue / (1 + m[i])))
    return df, k_cost, k_rev


def projects_table() -> pd.DataFrame:
    rows = []
    for c in COMPLEXES:
        h = c["history"]
        book_value = (h["costs"] + h["interest"] - h["revenues"] + h["profit_taken"]) * 1000
        rows.append(
            dict(
                project=c["project"],
                name=c["name"],
                status=c["status"],
                book_value=book_value,
                realised_costs=h["costs"] * 1000,
                realised_revenues=h["revenues"] * 1000,
                profit_taken=h["profit_taken"] * 1000,
                end_year=c["end_year"],
                price_level=None,
                uncertainty_margin=c["margin"],
                cost_index=None,
                revenue_index=c["revenue_index"],
            )
        )
    return pd.DataFrame(rows, columns=PROJECT_COLUMNS)


def fmt(value) -> str:
    """Cell text: blank for None, whole numbers without decimals, rates as plain decimals."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    lines = list(HEADER_COMMENTS) + [",".join(df.columns)]
    for rec in df.itertuples(index=False):
        cells = [fmt(v) for v in rec]
        assert not any("," in x or "#" in x or '"' in x for x in cells), cells
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def rough_result(
    project: str, book_value: float, end_year, flows: pd.DataFrame, margin: float
) -> tuple[int, float, float]:
    """End value and present value by the docs/rules.md conventions with the seed's parameters
    (interest 1%, cost index 4/4/2%, revenue index 0%, discount 2%). A check, not the engine."""
    f = flows[flows["project"] == project]
    last = int(f["year"].max()) if len(f) else VALUATION_YEAR
    end = max(last, end_year or last)
    b = float(book_value)
    factor = 1.0
    for t in range(VALUATION_YEAR, end + 1):
        if t > VALUATION_YEAR:
            factor *= 1 + CHECK_COST_INDEX.get(t - 1, CHECK_COST_INDEX_LATER)
        ft = f[f["year"] == t]
        costs = float(ft.loc[ft["type"] == "cost", "amount"].sum()) * factor * (1 + margin)
        revs = float(ft.loc[ft["type"] == "revenue", "amount"].sum())
        b = b + CHECK_INTEREST * b + costs - revs
    ev = -b
    return end, ev, ev / (1 + CHECK_DISCOUNT) ** (end - VALUATION_YEAR + 1)


def check(projects: pd.DataFrame, flows: pd.DataFrame) -> None:
    assert projects["project"].is_unique
    assert set(projects["status"]) <= {"vastgesteld", "voorbereiding", "strategisch"}
    assert set(flows["project"]) <= set(projects["project"])
    assert not flows.duplicated(["project", "year", "type", "category"]).any()
    assert (flows["year"] >= VALUATION_YEAR).all() and (flows["amount"] >= 0).all()
    assert set(flows.loc[flows["type"] == "cost", "category"]) <= set(COST_CATEGORIES)
    assert set(flows.loc[flows["type"] == "revenue", "category"]) <= set(REVENUE_CATEGORIES)
    assert not flows.loc[flows["type"] == "revenue", "sales_linked"].any()
    for c in COMPLEXES:  # the end year is never before the last flow
        f = flows[flows["project"] == c["project"]]
        if c["end_year"] is not None and len(f):
            assert c["end_year"] >= f["year"].max(), c["project"]


def main() -> None:
    raw = build_flows()
    flows, k_cost, k_rev = calibrate(raw)
    order = {c["project"]: i for i, c in enumerate(COMPLEXES)}
    flows = (
        flows.assign(_order=flows["project"].map(order))
        .sort_values(["_order", "year", "type", "category"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    projects = projects_table()
    check(projects, flows)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_csv(projects, OUT_DIR / "projects.csv")
    write_csv(flows, OUT_DIR / "flows.csv")

    # ---------------------------------------------------------------- report
    m = flows["project"].map(margins())
    st = flows["project"].map(statuses())
    adopted = st == "vastgesteld"
    cost_m = float(
        (flows.loc[adopted & (flows["type"] == "cost"), "amount"] * (1 + m[adopted & (flows["type"] == "cost")])).sum()
    )
    rev = int(flows.loc[adopted & (flows["type"] == "revenue"), "amount"].sum())
    print(f"scale factors (vastgesteld): costs {k_cost:.4f}, revenues {k_rev:.4f}")
    print(f"vastgesteld remaining costs incl. margin, price level 2024: {cost_m:,.0f} (target {TARGET_COSTS:,})")
    print(f"vastgesteld remaining revenues, price level 2024:          {rev:,} (target {TARGET_REVENUES:,})")
    assert abs(cost_m - TARGET_COSTS) <= TOLERANCE, cost_m
    assert abs(rev - TARGET_REVENUES) <= TOLERANCE, rev

    print()
    print(
        f"{'project':28s} {'status':13s} {'book value':>12s} {'costs':>12s} "
        f"{'revenues':>12s} {'years':>10s} {'end value*':>12s} {'pres.val.*':>12s}"
    )
    totals: dict[str, float] = {}
    results: dict[str, float] = {}
    for p in projects.itertuples(index=False):
        f = flows[flows["project"] == p.project]
        margin = margins()[p.project]
        c = int(f.loc[f["type"] == "cost", "amount"].sum())
        r = int(f.loc[f["type"] == "revenue", "amount"].sum())
        years = f"{f['year'].min()}-{f['year'].max()}" if len(f) else "-"
        end_year = None if pd.isna(p.end_year) else int(p.end_year)
        end, ev, pv = rough_result(p.project, p.book_value, end_year, flows, margin)
        totals[p.status] = totals.get(p.status, 0.0) + p.book_value
        results[p.status] = results.get(p.status, 0.0) + ev
        print(
            f"{p.project:28s} {p.status:13s} {p.book_value:12,.0f} {c:12,d} {r:12,d} "
            f"{years:>10s} {ev:12,.0f} {pv:12,.0f}"
        )
    print()
    for s, bv in totals.items():
        print(f"{s:13s} book value {bv:14,.0f}   rough end value* {results[s]:14,.0f}")
    print("* rough check: interest 1%, cost index 4/4/2%, revenue index 0%, margin, discount 2%")


if __name__ == "__main__":
    main()
