"""Generate the ILLUSTRATIVE portfolio of scenario ``assen-2024-markt``: assen-2024 with a sales programme.

Reads ``scenarios/assen-2024/projects.csv`` and ``flows.csv`` and writes
``scenarios/assen-2024-markt/``: the same ``projects.csv``; ``flows.csv``
without the revenue rows that move into the programme; ``programme.csv``
(issue 15) with those revenues as units times a price per unit:

* every ``wonen_*`` revenue as whole dwellings at an assumed land price per
  dwelling (sociaal about EUR 25,000, betaalbaar 40,000, vrij 60,000);
* the ``bedrijven`` revenues of Werklandschap Assen-Zuid and Messchenveld 1a as
  hectares (two decimals) at about EUR 95/m2 (EUR 950,000/ha).

The price of a row is its old amount divided by the units, rounded to the
cent, so each row keeps its amount up to a few euros (a whole number of
dwellings times a price in cents cannot give every euro amount exactly) and
the vastgesteld revenues still total EUR 75 million at price level (within
EUR 1,000). Everything is deterministic; running

    python scenarios/make_assen_2024_markt.py

rewrites the three files byte for byte and prints the totals.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "assen-2024"
OUT_DIR = HERE / "assen-2024-markt"
TARGET_REVENUES = 75_000_000
TOLERANCE = 1_000

#: Assumed land price per dwelling by segment [EUR, price level 1-1-2024]: only to turn amounts into units.
DWELLING_PRICE = {"wonen_sociaal": 25_000.0, "wonen_betaalbaar": 40_000.0, "wonen_vrij": 60_000.0}
#: Assumed price of business land [EUR per ha]: EUR 95/m2.
HECTARE_PRICE = 950_000.0
#: The complexes whose business land goes into the programme, in hectares.
BUSINESS = ("werklandschap_assen_zuid", "messchenveld_1a")

HEADER = [
    "# ILLUSTRATIVE: made-up figures calibrated to the totals of the Programmabegroting 2024 of "
    "Assen (par. 3.7.13); not real project data.",
    "# Regenerate with: python scenarios/make_assen_2024_markt.py",
]


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(SOURCE / f"{name}.csv", comment="#", dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, name: str) -> None:
    text = "\n".join(HEADER) + "\n" + frame.to_csv(index=False, lineterminator="\n")
    (OUT_DIR / f"{name}.csv").write_text(text, encoding="utf-8")


def main() -> None:
    projects, flows = _read("projects"), _read("flows")
    amount = flows["amount"].astype(float)
    housing = (flows["type"] == "revenue") & flows["category"].isin(list(DWELLING_PRICE))
    business = (flows["type"] == "revenue") & (flows["category"] == "bedrijven") & flows["project"].isin(BUSINESS)
    moved = housing | business
    rows = []
    for i in flows.index[moved]:
        segment = flows.at[i, "category"]
        if segment in DWELLING_PRICE:
            unit, quantity = "dwelling", max(1.0, round(amount[i] / DWELLING_PRICE[segment]))
        else:
            unit, quantity = "ha", max(0.01, round(amount[i] / HECTARE_PRICE, 2))
        price = round(amount[i] / quantity, 2)
        rows.append(
            {
                "project": flows.at[i, "project"],
                "year": flows.at[i, "year"],
                "segment": segment,
                "unit": unit,
                "quantity": f"{quantity:g}",
                "price": f"{price:.2f}",
            }
        )
    programme = pd.DataFrame(rows)
    OUT_DIR.mkdir(exist_ok=True)
    _write(projects, "projects")
    _write(flows[~moved], "flows")
    _write(programme, "programme")
    adopted = set(projects.loc[projects["status"] == "vastgesteld", "project"])
    value = programme["quantity"].astype(float) * programme["price"].astype(float)
    kept = (flows["type"] == "revenue") & ~moved & flows["project"].isin(adopted)
    total = value[programme["project"].isin(adopted)].sum() + amount[kept].sum()
    dwellings = (
        programme[programme["unit"] == "dwelling"].groupby("year")["quantity"].apply(lambda q: q.astype(float).sum())
    )
    hectares = programme[programme["unit"] == "ha"].groupby("year")["quantity"].apply(lambda q: q.astype(float).sum())
    print(f"vastgesteld revenues: EUR {total:,.2f} (target {TARGET_REVENUES:,})")
    print("dwellings a year:", dwellings.to_dict())
    print("hectares a year:", {k: round(v, 2) for k, v in hectares.to_dict().items()})
    assert abs(total - TARGET_REVENUES) <= TOLERANCE, total


if __name__ == "__main__":
    main()
