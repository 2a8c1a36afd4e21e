"""``grex init DIR``: a template workbook and scenario that run as they are, never over existing files."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from grex.cli import main
from grex.io import read_portfolio, read_scenario
from grex.io.template import COLUMNS, SCENARIO_FILE, WORKBOOK_FILE


def test_template_runs_as_it_is(tmp_path, capsys):
    folder = tmp_path / "mpg"
    assert main(["init", str(folder), "--year", "2025"]) == 0
    assert str(folder / SCENARIO_FILE) in capsys.readouterr().out
    assert main(["validate", str(folder / SCENARIO_FILE)]) == 0
    assert main(["run", str(folder / SCENARIO_FILE), "--out", str(tmp_path / "out")]) == 0
    complexes = pd.read_csv(tmp_path / "out" / "complexes.csv")
    assert list(complexes["project"]) == ["voorbeeld_1"]
    # the example's figures as written: remaining costs and revenues at price level
    assert complexes.at[0, "remaining_revenues_price_level"] == 3_200_000
    assert complexes.at[0, "remaining_costs_price_level"] == pytest.approx(
        1_850_000 * 1.10
    )  # costs 1.85 million plus the 10% margin
    assert complexes.at[0, "end_year"] == 2029
    scenario = read_scenario(folder / SCENARIO_FILE)
    assert scenario.name == "mpg" and scenario.valuation_year == 2025 and scenario.illustrative


def test_dutch_and_english_templates_hold_the_same_portfolio(tmp_path):
    for lang in ("nl", "en"):
        assert main(["init", str(tmp_path / lang), "--lang", lang, "--year", "2025"]) == 0
    nl, en = (read_portfolio(tmp_path / lang / WORKBOOK_FILE) for lang in ("nl", "en"))
    assert load_workbook(tmp_path / "nl" / WORKBOOK_FILE).sheetnames == ["projecten", "kasstromen", "toelichting"]
    assert load_workbook(tmp_path / "en" / WORKBOOK_FILE).sheetnames == ["projects", "flows", "notes"]
    pd.testing.assert_frame_equal(nl.projects.drop(columns="row"), en.projects.drop(columns="row"))
    pd.testing.assert_frame_equal(nl.flows.drop(columns="row"), en.flows.drop(columns="row"))
    assert nl.flows["sales_linked"].sum() == 2


def test_notes_explain_every_column(tmp_path):
    assert main(["init", str(tmp_path), "--year", "2025"]) == 0
    workbook = load_workbook(tmp_path / WORKBOOK_FILE)
    notes = {(row[0], row[1]): row for row in workbook["toelichting"].iter_rows(min_row=2, values_only=True)}
    for sheet in ("projecten", "kasstromen"):
        header = [c.value for c in workbook[sheet][1]]
        for column in header:
            row = notes[(sheet, column)]
            assert row[4] and row[5], f"{sheet}.{column} lacks a Dutch or English explanation"
    assert len(COLUMNS) == len(workbook["projecten"][1]) + len(workbook["kasstromen"][1])


def test_refuses_to_overwrite(tmp_path, capsys):
    assert main(["init", str(tmp_path), "--year", "2025"]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    (tmp_path / WORKBOOK_FILE).unlink()
    assert main(["init", str(tmp_path), "--year", "2030"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scenario.toml: already exists" in err
    assert not (tmp_path / WORKBOOK_FILE).exists(), "nothing may be written when a file is refused"
    assert (tmp_path / SCENARIO_FILE).read_bytes() == before[SCENARIO_FILE]


def test_folder_that_is_a_file(tmp_path, capsys):
    (tmp_path / "x").write_text("")
    assert main(["init", str(tmp_path / "x")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
