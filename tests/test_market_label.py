"""The optional ``label`` of a ``[market.NAME]`` table (issue 15): shown in the report and the console only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grex.cli import main
from grex.errors import InputError
from grex.valuation import value_portfolio
from test_market import HOUSING, case

LABELLED = HOUSING + 'absorption = { low = 90, mode = 100, high = 120 }\nlabel = "Woningmarkt Assen"\n'


def test_console_shows_the_label_and_the_files_keep_the_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case(tmp_path, LABELLED)
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    # the column as wide as the longest label (17 characters), the figures as without a label
    assert "  markt             jaar     gepland" in out
    assert "  Woningmarkt Assen 2025         180         100          80       80,0%         160" in out
    assert "housing" not in out
    assert (tmp_path / "out" / "programme.csv").read_text().splitlines()[1].startswith("housing,dwelling,2024,")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["programme"][0]["market"] == "housing"


def test_report_shows_the_label_in_the_table_and_the_chart(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from grex.report.content import build_report

    scenario, portfolio = case(tmp_path, LABELLED)
    section = next(s for s in build_report(value_portfolio(scenario, portfolio)).sections if s.key == "programme")
    assert section.tables[0].frame["market"].tolist() == ["Woningmarkt Assen"] * 4
    figure = plt.figure()
    try:
        section.charts[0].draw(figure)
        assert [ax.get_title() for ax in figure.axes] == ["Woningmarkt Assen (woningen)"]
    finally:
        plt.close(figure)


def test_a_label_changes_no_input() -> None:
    # the label is only shown: neither the input hash nor the scenario's parameters in summary.json change
    from grex.market import parse_markets
    from grex.scenario import canonical

    table = {"segments": ["wonen_vrij"], "unit": "dwelling", "absorption": 100}
    (plain,) = parse_markets({"housing": table}, "s.toml")
    (labelled,) = parse_markets({"housing": {**table, "label": "Woningmarkt Assen"}}, "s.toml")
    assert (plain.shown, labelled.shown) == ("housing", "Woningmarkt Assen")
    assert canonical(labelled) == canonical(plain)
    assert labelled.to_json() == plain.to_json()


def test_same_input_hash_with_and_without_a_label(tmp_path: Path) -> None:
    labelled = case(tmp_path, LABELLED)
    other = tmp_path / "plain"
    other.mkdir()
    plain = case(other, LABELLED.replace('label = "Woningmarkt Assen"\n', ""))
    assert value_portfolio(*labelled).input_hash == value_portfolio(*plain).input_hash


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("label = 5\n", "must be a non-empty string \\(text\\), not 5"),
        ('label = "  "\n', "must be a non-empty string"),
        ('label = ["a"]\n', "not \\['a'\\]"),
    ],
)
def test_bad_label_names_the_key(tmp_path: Path, label: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        case(tmp_path, HOUSING + "absorption = 100\n" + label)
    assert error.value.location == "key market.housing.label"


def test_two_markets_shown_alike_are_refused(tmp_path: Path) -> None:
    other = '[market.business]\nsegments = ["bedrijven"]\nunit = "ha"\nabsorption = 2\nlabel = "housing"\n'
    with pytest.raises(InputError, match="'housing' is shown for market 'housing' too") as error:
        case(tmp_path, HOUSING + "absorption = 100\n" + other)
    assert error.value.location == "key market.business.label"


def test_cli_bad_label_exit_2_one_line_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InputError):
        case(tmp_path, HOUSING + "absorption = 100\nlabel = 5\n")
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "s.toml" in err and "key market.housing.label" in err
    assert not (tmp_path / "out").exists()
