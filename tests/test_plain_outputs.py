"""Every CSV output is a plain table that tools read with their defaults; provenance in JSON and Parquet metadata."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import EXAMPLE, ROOT
from grex.cli import main
from grex.io import read_portfolio, read_scenario
from grex.io.results import ILLUSTRATIVE_NOTICE, PROVENANCE_KEY, read_provenance
from grex.valuation import COMPLEX_COLUMNS, value_portfolio

PREVIOUS = ROOT / "scenarios" / "assen-2023.toml"
BATCH = ROOT / "scenarios" / "batch-2024"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    assert main(["run", str(EXAMPLE), "--out", str(out / "run")]) == 0
    assert main(["simulate", str(EXAMPLE), "--draws", "200", "--out", str(out / "sim")]) == 0
    assert main(["diff", str(PREVIOUS), str(EXAMPLE), "--out", str(out / "diff")]) == 0
    assert main(["sensitivity", str(EXAMPLE), "--draws", "100", "--out", str(out / "sens")]) == 0
    files = [str(BATCH / "base.toml"), str(BATCH / "rente-omhoog.toml")]
    assert main(["batch", *files, "--draws", "100", "--out", str(out / "batch")]) == 0
    return out


def expected_columns() -> dict[str, list[str]]:
    scenario = read_scenario(EXAMPLE)
    valuation = value_portfolio(scenario, read_portfolio(scenario.portfolio))
    return {
        "run/complexes.csv": list(COMPLEX_COLUMNS),
        "run/years.csv": list(valuation.years().columns),
        "sim/reserve_path.csv": ["year", "deterministic", "p5", "p25", "p50", "p75", "p95"],
        "sens/tornado.csv": [
            "driver",
            "label",
            "low_setting",
            "high_setting",
            "present_value_low",
            "present_value_high",
            "effect_low",
            "effect_high",
            "range",
            "base",
        ],
        "sens/variance_shares.csv": ["driver", "label", "variance", "standard_deviation", "share"],
        "diff/diff.csv": None,  # the effects in between depend on the order: its ends are checked
        "batch/comparison.csv": ["figure", "base", "rente-omhoog"],
    }


@pytest.mark.parametrize("name", list(expected_columns()))
def test_csv_reads_with_defaults(outputs, name):
    path = outputs / name
    text = path.read_text(encoding="utf-8")
    assert not text.startswith("#"), f"{name} starts with a comment line"
    frame = pd.read_csv(path)  # defaults: no comment handling, comma, first line the header
    expected = expected_columns()[name]
    if expected is None:
        assert list(frame.columns[:5]) == ["project", "name", "change", "measure", "before"]
        assert list(frame.columns[-2:]) == ["after", "total_change"]
    else:
        assert list(frame.columns) == expected
    assert len(frame) > 0
    assert not any(str(c).startswith(("#", "Unnamed")) for c in frame.columns)


def test_csv_values_match_parquet(outputs):
    for name in ("complexes", "years"):
        csv = pd.read_csv(outputs / "run" / f"{name}.csv")
        parquet = pd.read_parquet(outputs / "run" / f"{name}.parquet")
        assert list(csv.columns) == list(parquet.columns)
        pd.testing.assert_series_equal(csv["book_value"], parquet["book_value"].round(2), check_dtype=False)


def test_notice_and_provenance_travel_outside_the_csv(outputs):
    summary = json.loads((outputs / "run" / "summary.json").read_text())
    assert summary["notice"] == ILLUSTRATIVE_NOTICE
    for path in (outputs / "run" / "complexes.parquet", outputs / "run" / "years.parquet"):
        about = read_provenance(path)
        assert about is not None
        assert about["notice"] == ILLUSTRATIVE_NOTICE
        assert about["scenario"] == "assen-2024" and about["input_hash"] == summary["input_hash"]
        assert about["grex_version"] == summary["grex_version"]
        # the pandas metadata is kept beside ours
        assert b"pandas" in pq.read_schema(path).metadata and PROVENANCE_KEY in pq.read_schema(path).metadata
    draws = read_provenance(outputs / "sim" / "draws.parquet")
    assert draws["notice"] == ILLUSTRATIVE_NOTICE and draws["draws"] == 200
    sim_summary = json.loads((outputs / "sim" / "summary.json").read_text())
    assert draws["input_hash"] == sim_summary["input_hash"] and draws["seed"] == sim_summary["seed"]
    diff = json.loads((outputs / "diff" / "summary.json").read_text())
    assert diff["notice"] == ILLUSTRATIVE_NOTICE
    assert diff["before"]["scenario"] == "assen-2023" and diff["after"]["scenario"] == "assen-2024"
    assert json.loads((outputs / "sens" / "summary.json").read_text())["notice"] == ILLUSTRATIVE_NOTICE


def test_not_illustrative_has_no_notice(tmp_path):
    from conftest import write_case

    path = write_case(tmp_path, [{"project": "a", "book_value": 10}], [{"project": "a", "year": 2024, "amount": 5}])
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    about = read_provenance(tmp_path / "out" / "complexes.parquet")
    assert "notice" not in about and about["illustrative"] is False
