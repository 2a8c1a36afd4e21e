"""Dutch files in: semicolons and decimal commas, Dutch table and column names, title rows, Excel formulas,
and the wide layout (one column per year)."""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from conftest import EXAMPLE
from grex.cli import main
from grex.errors import InputError
from grex.io import read_portfolio, read_scenario
from grex.io.portfolio import parse_number
from grex.valuation import input_hash, value_portfolio

DUTCH_PROJECT_COLUMNS = {
    "project": "Complex",
    "name": "Naam",
    "status": "Status",
    "book_value": "Boekwaarde",
    "realised_costs": "Gerealiseerde kosten",
    "realised_revenues": "Gerealiseerde_opbrengsten",
    "profit_taken": "genomen winst",
    "end_year": "Eindjaar",
    "price_level": "Prijspeil",
    "uncertainty_margin": "onzekerheidsmarge",
    "cost_index": "kostenindex",
    "revenue_index": "opbrengstenindex",
}
DUTCH_FLOW_COLUMNS = {
    "project": "complex",
    "year": "Jaar",
    "type": "Soort",
    "category": "Kostensoort",
    "amount": "Bedrag",
    "sales_linked": "volgt uitgifte",
}
DUTCH_TYPES = {"cost": "Kosten", "revenue": "Opbrengsten"}


def dutch(value) -> str:
    """A number as Dutch Excel writes it, every digit kept: 1234567.5 -> '1.234.567,5'."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    text = repr(float(value)) if not isinstance(value, int) else str(value)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    number = ".".join([whole, *groups])
    if isinstance(value, int) and value < 10_000:  # a year
        return sign + text
    return sign + number + ("," + fraction if fraction else "")


@pytest.fixture(scope="module")
def example():
    scenario = read_scenario(EXAMPLE)
    portfolio = read_portfolio(scenario.portfolio)
    return scenario, portfolio, value_portfolio(scenario, portfolio)


def dutch_tables(portfolio) -> tuple[pd.DataFrame, pd.DataFrame]:
    projects = portfolio.projects.drop(columns="row")
    flows = portfolio.flows.drop(columns="row")
    flows = flows.assign(type=flows["type"].map(DUTCH_TYPES))
    return projects.rename(columns=DUTCH_PROJECT_COLUMNS), flows.rename(columns=DUTCH_FLOW_COLUMNS)


def write_dutch_csv(folder: Path, portfolio, *, title: bool = True, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    projects, flows = dutch_tables(portfolio)
    for name, frame in (("Projecten", projects), ("kasstromen", flows)):
        lines = [f"Grondexploitaties gemeente Voorbeeld: {name};;;", ";;;", ""] if title else []
        lines.append(";".join(frame.columns))
        for row in frame.itertuples(index=False):
            lines.append(";".join(v if isinstance(v, str) else dutch(v) for v in row))
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding=encoding)
    return folder


def scenario_for(tmp_path: Path, portfolio: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace('portfolio = "assen-2024"', f'portfolio = "{portfolio}"')
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("400.000,00", ",", 400000.0),
        ("1.234,5", ",", 1234.5),
        ("-50,0", ",", -50.0),
        ("1.234", ",", 1234.0),
        ("0,045", ",", 0.045),
        ("2024", ",", 2024.0),
        ("1234.5", ".", 1234.5),
        ("1_000", ".", 1000.0),
        ("1.234,5", "auto", 1234.5),
        ("1234.5", "auto", 1234.5),
    ],
)
def test_numbers_as_written(text, decimal, expected):
    assert parse_number(text, decimal) == expected


@pytest.mark.parametrize(
    ("text", "decimal", "fragment"),
    [
        ("1234.5", ",", "decimal comma"),  # a point that does not separate thousands in a Dutch file
        ("1.23,4", ",", "decimal comma"),
        ("1,5", ".", "decimals take a point"),
        ("veel", ",", "'veel' is not a number"),
    ],
)
def test_numbers_refused_with_the_reason(text, decimal, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_number(text, decimal)


# -- Dutch CSV ----------------------------------------------------------------------


def test_dutch_csv_gives_the_same_valuation(example, tmp_path):
    scenario, portfolio, base = example
    folder = write_dutch_csv(tmp_path / "nl", portfolio)
    text = (folder / "kasstromen.csv").read_text()
    assert "Jaar;Soort;Kostensoort;Bedrag" in text and re.search(r";\d{1,3}(\.\d{3})+,\d+;", text)
    other = read_portfolio(folder)
    assert other.projects_source.endswith("Projecten.csv")
    pd.testing.assert_frame_equal(other.projects.drop(columns="row"), portfolio.projects.drop(columns="row"))
    pd.testing.assert_frame_equal(other.flows.drop(columns="row"), portfolio.flows.drop(columns="row"))
    pd.testing.assert_frame_equal(value_portfolio(scenario, other).complexes(), base.complexes())
    assert input_hash(scenario, other) == base.input_hash
    # row labels are the file's line numbers: three title lines, the header on line 4
    assert other.projects["row"].iloc[0] == "line 5"


def test_windows_1252_and_explicit_separator(example, tmp_path):
    _, portfolio, _ = example
    folder = write_dutch_csv(tmp_path / "nl", portfolio, title=False, encoding="cp1252")
    text = (folder / "Projecten.csv").read_text(encoding="cp1252").replace("Kloosterakker", "Kloosterakker Café")
    (folder / "Projecten.csv").write_text("sep=;\n" + text, encoding="cp1252")
    other = read_portfolio(folder)
    assert "Kloosterakker Café" in set(other.projects["name"])
    assert other.projects["row"].iloc[0] == "line 3"


def test_dutch_csv_errors_name_file_line_and_column_as_written(tmp_path, capsys):
    folder = tmp_path / "nl"
    folder.mkdir()
    (folder / "projecten.csv").write_text(
        "Complex;Naam;Status;Boekwaarde;Gerealiseerde kosten;Gerealiseerde opbrengsten;Genomen winst\n"
        "a;Alpha;Vastgesteld;1.000,50;0;0;0\n",
        encoding="utf-8",
    )
    (folder / "kasstromen.csv").write_text(
        "complex;jaar;soort;categorie;bedrag\na;2024;kosten;Bouwrijp;100,25\na;2025;opbrengsten;wonen vrij;1.234.5\n",
        encoding="utf-8",
    )
    path = scenario_for(tmp_path, "nl")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "kasstromen.csv: line 3, column 'bedrag': '1.234.5' is not a number" in err
    assert "decimal comma" in err


def test_unknown_column_suggests_the_closest_name(tmp_path, capsys):
    folder = tmp_path / "nl"
    folder.mkdir()
    (folder / "projecten.csv").write_text(
        "complex;naam;status;boekwaard;gerealiseerde_kosten;gerealiseerde_opbrengsten;genomen_winst\na;A;vastgesteld;1;0;0;0\n"
    )
    (folder / "kasstromen.csv").write_text("complex;jaar;soort;categorie;bedrag\na;2024;kosten;bouwrijp;1\n")
    assert main(["validate", str(scenario_for(tmp_path, "nl"))]) == 2
    err = capsys.readouterr().err
    assert "column 'boekwaard': unknown column (did you mean 'boekwaarde' (book_value)?)" in err


def test_english_misspelling_suggests_the_english_name():
    from grex.portfolio import _check_columns

    frame = pd.DataFrame(columns=["project", "bookvalue"])
    with pytest.raises(InputError, match=r"did you mean 'book_value'\?"):
        _check_columns(frame, "projects.csv", {"required": ("project", "book_value"), "optional": ()})


def test_a_table_under_two_names_is_refused(tmp_path, capsys):
    scenario = read_scenario(EXAMPLE)
    folder = tmp_path / "p"
    folder.mkdir()
    for name in ("projects", "flows"):
        (folder / f"{name}.csv").write_bytes((scenario.portfolio / f"{name}.csv").read_bytes())
    (folder / "kasstromen.csv").write_bytes((scenario.portfolio / "flows.csv").read_bytes())
    with pytest.raises(InputError, match="holds both flows.csv and kasstromen.csv"):
        read_portfolio(folder)


def test_two_columns_with_one_meaning_are_refused(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "projects.csv").write_text(
        "project,name,naam,status,book_value,realised_costs,realised_revenues,profit_taken\na,A,A,vastgesteld,1,0,0,0\n"
    )
    (folder / "flows.csv").write_text("project,year,type,category,amount\na,2024,cost,bouwrijp,1\n")
    with pytest.raises(InputError, match=r"column 'naam': means the same as column 'name'"):
        read_portfolio(folder)


# -- Excel ----------------------------------------------------------------------


def dutch_workbook(path: Path, portfolio, *, formula: str | None = None, cached: str | None = None) -> Path:
    """Sheets ``Projecten`` and ``Kasstromen`` with two title rows above the header; ``formula`` in the
    first flow's amount cell, with ``cached`` as the value Excel would have saved."""
    projects, flows = dutch_tables(portfolio)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, frame in (("Projecten", projects), ("Kasstromen", flows)):
        sheet = workbook.create_sheet(name)
        sheet.append([f"{name}: grondexploitaties 2024 (illustratief)"])
        sheet.append([])
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append([None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v for v in row])
    if formula is not None:
        workbook["Kasstromen"]["E4"] = formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if cached is not None:  # what Excel stores beside a formula when it saves the workbook
        data = _rewrite(
            data, "xl/worksheets/sheet2.xml", f"<f>{formula[1:]}</f><v />", f"<f>{formula[1:]}</f><v>{cached}</v>"
        )
    path.write_bytes(data)
    return path


def _rewrite(data: bytes, member: str, old: str, new: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == member:
                text = content.decode()
                assert old in text
                content = text.replace(old, new).encode()
            target.writestr(info, content)
    return out.getvalue()


def test_dutch_workbook_with_title_rows(example, tmp_path):
    scenario, portfolio, base = example
    other = read_portfolio(dutch_workbook(tmp_path / "nl.xlsx", portfolio))
    assert other.flows_source.endswith("nl.xlsx[Kasstromen]")
    assert other.projects["row"].iloc[0] == "row 4"  # the header in row 3
    pd.testing.assert_frame_equal(value_portfolio(scenario, other).complexes(), base.complexes())
    assert input_hash(scenario, other) == base.input_hash


def test_formula_read_by_its_saved_value(example, tmp_path):
    scenario, portfolio, base = example
    first = float(portfolio.flows["amount"].iloc[0])
    formula = f"={first / 2!r}*2"
    other = read_portfolio(dutch_workbook(tmp_path / "f.xlsx", portfolio, formula=formula, cached=repr(first)))
    pd.testing.assert_frame_equal(value_portfolio(scenario, other).complexes(), base.complexes())


def test_formula_without_saved_value_is_refused(example, tmp_path, capsys):
    _, portfolio, _ = example
    dutch_workbook(tmp_path / "f.xlsx", portfolio, formula="=1+1")
    assert main(["validate", str(scenario_for(tmp_path, "f.xlsx"))]) == 2
    err = capsys.readouterr().err
    assert "f.xlsx[Kasstromen]: cell E4: holds the formula =1+1 without a saved value" in err
    assert "save it" in err and err.count("\n") == 1


def test_workbook_without_the_sheet_names_the_sheets(example, tmp_path):
    _, portfolio, _ = example
    path = dutch_workbook(tmp_path / "nl.xlsx", portfolio)
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook["Kasstromen"].title = "Cashflows"
    workbook.save(path)
    with pytest.raises(InputError, match=r"has no sheet 'flows' \(or 'kasstromen'.*'Projecten', 'Cashflows'"):
        read_portfolio(path)


# -- wide layout ----------------------------------------------------------------


def wide(flows: pd.DataFrame) -> pd.DataFrame:
    table = flows.pivot_table(
        index=["project", "type", "category", "sales_linked"], columns="year", values="amount", aggfunc="sum"
    )
    table.columns = [str(c) for c in table.columns]
    return table.reset_index()


def test_wide_csv_is_read_as_the_long_table(example, tmp_path):
    scenario, portfolio, base = example
    flows = portfolio.flows.drop(columns="row")
    assert not flows.duplicated(["project", "type", "category", "sales_linked", "year"]).any()
    folder = tmp_path / "wide"
    folder.mkdir()
    (folder / "projects.csv").write_bytes((scenario.portfolio / "projects.csv").read_bytes())
    table = wide(flows)
    table.to_csv(folder / "flows.csv", index=False)  # empty cells where a post has no flow that year
    assert table.isna().any().any()
    other = read_portfolio(folder)
    pd.testing.assert_frame_equal(value_portfolio(scenario, other).complexes(), base.complexes())
    # the same flows, in another order (by post, then year)
    key = ["project", "type", "category", "year"]
    pd.testing.assert_frame_equal(
        other.flows.drop(columns="row").sort_values(key).reset_index(drop=True),
        flows.sort_values(key).reset_index(drop=True),
    )


def test_wide_dutch_sheet_skips_zero_and_empty_cells(tmp_path):
    workbook = Workbook()
    workbook.active.title = "projecten"
    workbook.active.append(["complex", "naam", "status", "boekwaarde", "gerealiseerde kosten"])
    workbook.active["F1"] = "gerealiseerde opbrengsten"
    workbook.active["G1"] = "genomen winst"
    workbook.active.append(["a", "Alpha", "vastgesteld", 1000, 0, 0, 0])
    sheet = workbook.create_sheet("Kasstromen breed")
    sheet.append(["Kasstromen per jaar (prijspeil 2024)"])
    sheet.append(["complex", "soort", "categorie", 2024, 2025, 2026])
    sheet.append(["a", "kosten", "bouwrijp", 100, 0, None])
    sheet.append(["a", "opbrengsten", "wonen_vrij", None, "1.500,5", 0])
    path = tmp_path / "w.xlsx"
    workbook.save(path)
    flows = read_portfolio(path).flows
    assert flows[["year", "type", "amount"]].values.tolist() == [[2024, "cost", 100.0], [2025, "revenue", 1500.5]]
    assert list(flows["row"]) == ["row 3", "row 4"]


def test_wide_year_header_not_a_year(tmp_path, capsys):
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "projects.csv").write_text(
        "project,name,status,book_value,realised_costs,realised_revenues,profit_taken\na,A,vastgesteld,1,0,0,0\n"
    )
    (folder / "flows_wide.csv").write_text("project,type,category,2024,2025,totaal\na,cost,bouwrijp,1,2,3\n")
    assert main(["validate", str(scenario_for(tmp_path, "w"))]) == 2
    err = capsys.readouterr().err
    assert "flows_wide.csv: column 'totaal': is not a year" in err and err.count("\n") == 1


def test_wide_bad_amount_names_the_year_column(tmp_path, capsys):
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "projects.csv").write_text(
        "project,name,status,book_value,realised_costs,realised_revenues,profit_taken\na,A,vastgesteld,1,0,0,0\n"
    )
    (folder / "flows.csv").write_text("project,type,category,2024,2025\na,cost,bouwrijp,1,twee\n")
    assert main(["validate", str(scenario_for(tmp_path, "w"))]) == 2
    assert "flows.csv: line 2, column '2025': 'twee' is not a number" in capsys.readouterr().err
