"""Bad input: one clear message naming the file, the row or key, exit status 2, no output."""

from __future__ import annotations

from pathlib import Path

import pytest

from grex.cli import main

GOOD_PROJECTS = (
    "project,name,status,book_value,realised_costs,realised_revenues,profit_taken,end_year\n"
    "a,Alpha,vastgesteld,1000,0,0,0,\n"
    "b,Beta,strategisch,500,0,0,0,2026\n"
)
GOOD_FLOWS = "project,year,type,category,amount\na,2024,cost,bouwrijp,100\na,2025,revenue,wonen_vrij,500\n"


def projects_with(column: str, value: str) -> str:
    """The good projects table with one more column, ``value`` for complex a."""
    header, first, second = GOOD_PROJECTS.splitlines()
    return f"{header},{column}\n{first},{value}\n{second},\n"


GOOD_SCENARIO = 'name = "bad"\nportfolio = "portfolio"\nvaluation_year = 2024\n[parameters]\ndiscount_rate = 0.02\n'


def write(tmp_path: Path, projects=GOOD_PROJECTS, flows=GOOD_FLOWS, scenario=GOOD_SCENARIO) -> Path:
    folder = tmp_path / "portfolio"
    folder.mkdir()
    if projects is not None:
        (folder / "projects.csv").write_text(projects)
    if flows is not None:
        (folder / "flows.csv").write_text(flows)
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    return path


def assert_refused(path: Path, tmp_path: Path, capsys, *fragments: str) -> None:
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    message = capsys.readouterr().err
    assert message.startswith("grex: error: "), message
    assert message.count("\n") == 1, f"one message expected: {message!r}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    # refused before writing starts: not even the output folder is made (a writer that fails
    # midway is test_atomic.py's case)
    assert not out.exists(), "no output may be written for bad input"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portfolio", "scenario.toml"], "nothing else written"
    # validate gives the same verdict
    assert main(["validate", str(path)]) == 2
    capsys.readouterr()


def test_good_input_passes(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "complexes.csv").exists()


@pytest.mark.parametrize(
    ("projects", "flows", "fragments"),
    [
        (
            "project,name,status,realised_costs,realised_revenues,profit_taken\na,Alpha,vastgesteld,0,0,0\n",
            GOOD_FLOWS,
            ["projects.csv", "column 'book_value'"],
        ),
        (
            GOOD_PROJECTS.replace("book_value", "bookvalue"),
            GOOD_FLOWS,
            ["projects.csv", "'bookvalue'", "unknown column"],
        ),
        (
            GOOD_PROJECTS + "a,Again,vastgesteld,1,0,0,0,\n",
            GOOD_FLOWS,
            ["projects.csv", "line 4", "duplicate project id 'a'"],
        ),
        (
            GOOD_PROJECTS.replace("strategisch", "strategic"),
            GOOD_FLOWS,
            ["projects.csv", "line 3", "'status'", "'strategic'"],
        ),
        (
            GOOD_PROJECTS.replace("Alpha,vastgesteld,1000", "Alpha,vastgesteld,lots"),
            GOOD_FLOWS,
            ["line 2", "'book_value'", "'lots' is not a number"],
        ),
        (
            GOOD_PROJECTS.replace("Alpha,vastgesteld,1000", "Alpha,vastgesteld,NaN"),
            GOOD_FLOWS,
            ["line 2", "'book_value'", "finite"],
        ),
        (
            GOOD_PROJECTS.replace("Alpha,vastgesteld,1000", "Alpha,vastgesteld,"),
            GOOD_FLOWS,
            ["line 2", "'book_value'", "empty"],
        ),
        (GOOD_PROJECTS, GOOD_FLOWS.replace("a,2025", "x,2025"), ["flows.csv", "line 3", "unknown project 'x'"]),
        (
            projects_with("provision_balance", "-100"),
            GOOD_FLOWS,
            ["projects.csv", "line 2", "'provision_balance'", "negative"],
        ),
        (GOOD_PROJECTS, GOOD_FLOWS.replace(",100", ",honderd"), ["flows.csv", "line 2", "'amount'", "not a number"]),
        (GOOD_PROJECTS, GOOD_FLOWS.replace(",100", ",nan"), ["flows.csv", "line 2", "'amount'", "finite"]),
        (
            GOOD_PROJECTS,
            GOOD_FLOWS.replace("a,2024", "a,2023"),
            ["flows.csv", "line 2", "'year'", "before the valuation year"],
        ),
        (
            GOOD_PROJECTS,
            GOOD_FLOWS.replace("cost,bouwrijp", "kost,bouwrijp"),
            ["flows.csv", "line 2", "'type'", "'kost'"],
        ),
        (GOOD_PROJECTS, GOOD_FLOWS.replace("bouwrijp", "bouwrijpmaken"), ["flows.csv", "line 2", "'category'"]),
        (
            GOOD_PROJECTS.replace("Alpha,vastgesteld,1000,0,0,0,", "Alpha,vastgesteld,1000,0,0,0,2024"),
            GOOD_FLOWS,
            ["projects.csv", "line 2", "'end_year'", "last flow"],
        ),
        (
            projects_with("uncertainty_margin", "10"),
            GOOD_FLOWS,
            ["projects.csv", "line 2", "'uncertainty_margin'", "percentage"],
        ),
        (projects_with("cost_index", "2"), GOOD_FLOWS, ["projects.csv", "line 2", "'cost_index'", "percentage"]),
        (
            GOOD_PROJECTS,
            "project,year,type,category,amount,sales_linked\na,2024,cost,woonrijp,100,maybe\n",
            ["flows.csv", "line 2", "'sales_linked'"],
        ),
        (GOOD_PROJECTS, "project,year,type,category,amount\na,2024,cost,bouwrijp\n", ["flows.csv", "line 2", "fields"]),
    ],
    ids=[
        "missing-column",
        "misspelt-column",
        "duplicate-id",
        "unknown-status",
        "non-numeric",
        "nan-book-value",
        "empty-book-value",
        "unknown-project",
        "negative-provision-balance",
        "non-numeric-amount",
        "nan-amount",
        "flow-before-valuation",
        "unknown-type",
        "unknown-category",
        "end-year-before-last-flow",
        "margin-as-percentage",
        "index-as-percentage",
        "bad-flag",
        "short-row",
    ],
)
def test_bad_portfolio(tmp_path, capsys, projects, flows, fragments):
    assert_refused(write(tmp_path, projects, flows), tmp_path, capsys, *fragments)


@pytest.mark.parametrize(
    ("scenario", "fragments"),
    [
        (GOOD_SCENARIO.replace("0.02", "2"), ["scenario.toml", "parameters.discount_rate", "percentage"]),
        (GOOD_SCENARIO + "interest_rate = 1.5\n", ["parameters.interest_rate", "percentage"]),
        (GOOD_SCENARIO + "cost_index = { 2024 = 4, default = 0.02 }\n", ["parameters.cost_index.2024", "percentage"]),
        (GOOD_SCENARIO + "cost_index = { 2024 = 0.04 }\n", ["parameters.cost_index", "default"]),
        (GOOD_SCENARIO + "discount_rat = 0.02\n", ["scenario.toml", "parameters.discount_rat", "unknown key"]),
        (GOOD_SCENARIO.replace("valuation_year", "valuation_yr"), ["scenario.toml", "valuation_yr", "unknown key"]),
        (GOOD_SCENARIO.replace("valuation_year = 2024\n", ""), ["valuation_year", "missing"]),
        (GOOD_SCENARIO + "[reserves]\nconfidence = 90\n", ["reserves.confidence"]),
        (GOOD_SCENARIO + 'provision_basis = "eindwaarde"\n', ["parameters.provision_basis", "present_value"]),
        (GOOD_SCENARIO + "max_duration = 0\n", ["parameters.max_duration"]),
        (GOOD_SCENARIO.replace('name = "bad"', 'name = "bad'), ["scenario.toml", "TOML syntax error"]),
        (GOOD_SCENARIO.replace('"portfolio"', '"elsewhere"'), ["elsewhere", "not found"]),
        ('extends = "missing.toml"\n' + GOOD_SCENARIO, ["scenario.toml", "extends", "not found"]),
    ],
    ids=[
        "rate-as-percentage",
        "interest-as-percentage",
        "index-table-as-percentage",
        "index-table-without-default",
        "unknown-parameter",
        "unknown-top-level-key",
        "missing-valuation-year",
        "confidence-as-percentage",
        "unknown-basis",
        "zero-max-duration",
        "toml-syntax",
        "missing-portfolio",
        "missing-parent",
    ],
)
def test_bad_scenario(tmp_path, capsys, scenario, fragments):
    assert_refused(write(tmp_path, scenario=scenario), tmp_path, capsys, *fragments)


def test_missing_portfolio_file(tmp_path, capsys):
    assert_refused(write(tmp_path, flows=None), tmp_path, capsys, "portfolio", "flows.csv")


def test_missing_scenario_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nothing.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "nothing.toml: scenario file not found" in capsys.readouterr().err


def test_extends_cycle(tmp_path, capsys):
    path = write(tmp_path, scenario='extends = "scenario.toml"\n' + GOOD_SCENARIO)
    assert_refused(path, tmp_path, capsys, "cycle")


def test_bad_input_is_refused_before_an_earlier_output_is_touched(tmp_path, capsys):
    """A refused run leaves the folder of an earlier good run as it was, its modification times included:
    the input is checked before anything is opened for writing. (An output kept whole when the writer
    itself fails midway is tested in test_atomic.py.)"""
    path = write(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    (tmp_path / "portfolio" / "flows.csv").write_text(GOOD_FLOWS.replace(",100", ",honderd"))
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "portfolio", "scenario.toml"]
