"""Shared helpers: small portfolios written as files, and the shared tolerance."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

#: Shared tolerance for euro amounts compared with hand-worked figures: a cent.
EURO = 0.01

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "assen-2024.toml"

PROJECT_DEFAULTS = {
    "name": None,
    "status": "vastgesteld",
    "book_value": 0,
    "realised_costs": 0,
    "realised_revenues": 0,
    "profit_taken": 0,
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def write_case(
    folder: Path,
    projects: list[dict[str, Any]],
    flows: list[dict[str, Any]],
    *,
    valuation_year: int = 2024,
    parameters: dict[str, Any] | None = None,
    reserves: dict[str, Any] | None = None,
    name: str = "case",
    extra_toml: str = "",
) -> Path:
    """Write ``projects.csv``, ``flows.csv`` and ``scenario.toml`` into ``folder``.

    Projects get the defaults of :data:`PROJECT_DEFAULTS`; flows default to
    ``type = "cost"`` and category ``bouwrijp`` / ``wonen_vrij``.
    """
    portfolio = folder / "portfolio"
    portfolio.mkdir(parents=True, exist_ok=True)
    rows = []
    for project in projects:
        row = {**PROJECT_DEFAULTS, **project}
        row["name"] = row["name"] or row["project"]
        rows.append(row)
    project_columns = list(dict.fromkeys(["project", *PROJECT_DEFAULTS, *(k for r in rows for k in r)]))
    _write_csv(portfolio / "projects.csv", project_columns, rows)
    flow_rows = []
    for flow in flows:
        row = {"type": "cost", **flow}
        row.setdefault("category", "bouwrijp" if row["type"] == "cost" else "wonen_vrij")
        flow_rows.append(row)
    flow_columns = list(
        dict.fromkeys(["project", "year", "type", "category", "amount", *(k for r in flow_rows for k in r)])
    )
    _write_csv(portfolio / "flows.csv", flow_columns, flow_rows)
    lines = [f'name = "{name}"', 'portfolio = "portfolio"', f"valuation_year = {valuation_year}"]
    if extra_toml:
        lines.append(extra_toml)
    lines.append("[parameters]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in (parameters or {}).items()]
    if reserves:
        lines.append("[reserves]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in reserves.items()]
    scenario = folder / "scenario.toml"
    scenario.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return scenario


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})


@pytest.fixture
def case(tmp_path: Path):
    """``case(projects, flows, **kwargs)`` writes a case and returns its scenario path."""

    def make(projects, flows, **kwargs):
        return write_case(tmp_path, projects, flows, **kwargs)

    return make
