"""Reading portfolios from CSV, Parquet and Excel; scenario inheritance; outputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import EXAMPLE
from grex.cli import main
from grex.io import read_portfolio, read_scenario
from grex.valuation import COMPLEX_COLUMNS, input_hash, value_portfolio


def test_csv_parquet_and_excel_give_the_same_valuation(tmp_path):
    scenario = read_scenario(EXAMPLE)
    portfolio = read_portfolio(scenario.portfolio)
    base = value_portfolio(scenario, portfolio)

    parquet = tmp_path / "parquet"
    parquet.mkdir()
    workbook = tmp_path / "portfolio.xlsx"
    with pd.ExcelWriter(workbook) as writer:
        for name, frame in (("projects", portfolio.projects), ("flows", portfolio.flows)):
            frame = frame.drop(columns="row")
            frame.to_parquet(parquet / f"{name}.parquet", index=False)
            frame.to_excel(writer, sheet_name=name, index=False)

    for path in (parquet, workbook):
        other = read_portfolio(path)
        valuation = value_portfolio(scenario, other)
        pd.testing.assert_frame_equal(valuation.complexes(), base.complexes())
        assert input_hash(scenario, other) == base.input_hash


def test_excel_errors_name_the_sheet_and_row(tmp_path, capsys):
    workbook = tmp_path / "bad.xlsx"
    projects = pd.DataFrame(
        {
            "project": ["a"],
            "name": ["A"],
            "status": ["vastgesteld"],
            "book_value": [1.0],
            "realised_costs": [0.0],
            "realised_revenues": [0.0],
            "profit_taken": [0.0],
        }
    )
    flows = pd.DataFrame(
        {
            "project": ["a", "a"],
            "year": [2024, 2025],
            "type": ["cost", "cost"],
            "category": ["bouwrijp", "bouwrijp"],
            "amount": [1.0, "vijf"],
        }
    )
    with pd.ExcelWriter(workbook) as writer:
        projects.to_excel(writer, sheet_name="projects", index=False)
        flows.to_excel(writer, sheet_name="flows", index=False)
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "x"\nportfolio = "bad.xlsx"\nvaluation_year = 2024\n')
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "bad.xlsx[flows]: row 3, column 'amount'" in err


def test_extends_overrides_key_by_key(tmp_path):
    (tmp_path / "base.toml").write_text(
        'name = "base"\nportfolio = "portfolio"\nvaluation_year = 2024\n'
        "[parameters]\ninterest_rate = 0.01\ndiscount_rate = 0.02\n"
        "cost_index = { 2024 = 0.04, default = 0.02 }\n"
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "child.toml").write_text(
        'extends = "../base.toml"\nname = "child"\n[parameters]\ndiscount_rate = 0.03\ncost_index = 0.05\n'
    )
    scenario = read_scenario(sub / "child.toml")
    assert scenario.name == "child"
    assert scenario.parameters.interest_rate == 0.01  # inherited
    assert scenario.parameters.discount_rate == 0.03  # overridden
    assert scenario.parameters.cost_index.default == 0.05 and not scenario.parameters.cost_index.by_year
    assert scenario.portfolio == (tmp_path / "portfolio").resolve()  # relative to the file that set it
    assert scenario.sources == (sub / "child.toml", sub / "../base.toml")


def test_example_scenario_outputs(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(EXAMPLE), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ILLUSTRATIVE" in printed and "totaal" in printed and "Messchenveld 1a" in printed
    for name in ("complexes.csv", "complexes.parquet", "years.csv", "years.parquet", "summary.json"):
        assert (out / name).is_file()
    assert (out / "complexes.csv").read_text().startswith("project,name,status,")  # a plain table
    complexes = pd.read_csv(out / "complexes.csv")
    assert tuple(complexes.columns) == COMPLEX_COLUMNS
    parquet = pd.read_parquet(out / "complexes.parquet")
    pd.testing.assert_frame_equal(complexes[["project", "end_year"]], parquet[["project", "end_year"]])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["notice"].startswith("ILLUSTRATIVE")
    assert len(summary["input_hash"]) == 64
    adopted = summary["totals"]["vastgesteld"]
    # the calibration of the illustrative portfolio to the seed (par. 3.7.13)
    assert adopted["remaining_costs_price_level"] == pytest.approx(43e6, abs=1000)
    assert adopted["remaining_revenues_price_level"] == pytest.approx(75e6, abs=1000)
    messchenveld = complexes.set_index("project").loc["messchenveld_1a"]
    assert messchenveld["duration"] == 19 and bool(messchenveld["exceeds_max_duration"])
    assert summary["grade_iflo"] in {"A", "B", "C", "D", "E", "F"}
    assert summary["parameters"]["parameters"]["cost_index"] == {
        "2023": 0.06,
        "2024": 0.04,
        "2025": 0.04,
        "default": 0.02,
    }


def test_two_runs_give_identical_files(tmp_path):
    for name in ("a", "b"):
        assert main(["run", str(EXAMPLE), "--out", str(tmp_path / name)]) == 0
    for file in ("complexes.csv", "years.csv", "summary.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
