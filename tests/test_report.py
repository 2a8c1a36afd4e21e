"""The MPG report (``grex report``): content, HTML, PDF and Excel.

The Monte Carlo layer is stood in for by :class:`FakeSimulation`, an object
with exactly the attributes of :class:`grex.montecarlo.Simulation` that the
report reads, with figures derived from the deterministic valuation.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import EURO, EXAMPLE
from grex import __version__
from grex.cli import main
from grex.io import read_portfolio, read_scenario
from grex.io.report import write_report
from grex.io.results import ILLUSTRATIVE_NOTICE
from grex.report import DRIVERS, Section, Table, build_report, render_html, render_pdf
from grex.report.labels import Labels
from grex.report.xlsx import HEADER_ROW
from grex.valuation import value_portfolio

#: The report files of the example scenario: report-<scenario name>.<format>.
REPORT = "report-assen-2024"

DATE = dt.date(2025, 3, 1)
DUTCH_TITLES = (
    "Kerncijfers en conclusie",
    "Grondexploitaties",
    "Weerstandsvermogen",
    "Risicoanalyse (Monte Carlo)",
    "Grafieken",
)


class FakeSimulation:
    """A stand-in for ``grex.montecarlo.Simulation``: normal noise around the deterministic present values."""

    def __init__(self, base, *, draws: int = 300, seed: int = 7, scale: float = 1.0) -> None:
        rng = np.random.default_rng(seed)
        complexes = base.complexes()
        self.draws, self.seed, self.base = draws, seed, base
        self.projects = complexes["project"].to_numpy()
        self.end_year = np.tile(complexes["end_year"].to_numpy(), (draws, 1))
        self.present_value = complexes["present_value"].to_numpy() + scale * rng.normal(
            0.0, 5e5, (draws, len(complexes))
        )
        self.end_value = self.present_value * 1.1
        self.portfolio_present_value = self.present_value.sum(axis=1)
        loss = complexes["present_value"].sum() - self.portfolio_present_value
        self.required_capacity = float(np.quantile(loss, 0.9))
        self.required_capacity_standard_error = 54_321.0
        self.expected_shortfall = float(loss[loss >= self.required_capacity].mean())
        self.probability_of_loss = float((self.portfolio_present_value < 0).mean())
        self.probability_reserve_below_zero = 0.0325
        self.iflo_norm = base.iflo_norm()
        self.ratio = 8_500_000 / self.required_capacity
        self.grade = "B"

    def per_complex(self) -> pd.DataFrame:
        p5, p50, p95 = np.percentile(self.present_value, [5, 50, 95], axis=0)
        return pd.DataFrame(
            {
                "project": self.projects,
                "p5": p5,
                "p50": p50,
                "p95": p95,
                "probability_of_loss": (self.present_value < 0).mean(axis=0),
                "required_capacity": np.maximum(0.0, p50 - p5),
            }
        )

    def percentiles(self) -> dict[str, float]:
        return {f"p{p}": float(np.percentile(self.portfolio_present_value, p)) for p in (5, 25, 50, 75, 95)}

    def reserve_path(self) -> pd.DataFrame:
        years = np.arange(2024, 2043)
        deterministic = 27.5e6 - np.linspace(0, 8e6, len(years))
        spread = np.linspace(0, 9e6, len(years))
        return pd.DataFrame(
            {
                "year": years,
                "deterministic": deterministic,
                "p5": deterministic - 1.6 * spread,
                "p25": deterministic - 0.7 * spread,
                "p50": deterministic - 0.1 * spread,
                "p75": deterministic + 0.6 * spread,
                "p95": deterministic + 1.4 * spread,
            }
        )

    def summary(self) -> dict:
        return {"draws": self.draws, "seed": self.seed, "required_capacity": self.required_capacity}


def fake_simulate(scenario, portfolio, *, draws, seed, chunk_size=None, progress=False, drivers=None):
    """``grex.montecarlo.simulate`` with the fake: fewer drivers, less spread."""
    base = value_portfolio(scenario, portfolio)
    scale = 1.0 if drivers is None else 0.2 * (1 + DRIVERS.index(next(iter(drivers))))
    return FakeSimulation(base, draws=draws, seed=seed, scale=scale)


@pytest.fixture(scope="module")
def valuation():
    scenario = read_scenario(EXAMPLE)
    return value_portfolio(scenario, read_portfolio(scenario.portfolio))


@pytest.fixture(scope="module")
def simulation(valuation):
    return FakeSimulation(valuation)


@pytest.fixture(scope="module")
def report(valuation, simulation):
    drivers = {d: FakeSimulation(valuation, seed=i, scale=0.2 * (i + 1)) for i, d in enumerate(DRIVERS)}
    return build_report(valuation, simulation, drivers=drivers, date=DATE)


@pytest.fixture(scope="module")
def files(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    write_report(report, out)
    return out


@pytest.fixture(scope="module")
def html(files) -> str:
    return (files / f"{REPORT}.html").read_text(encoding="utf-8")


# -- content ---------------------------------------------------------------


def test_content_sections_and_provenance(report, valuation, simulation):
    assert [s.title for s in report.sections][:5] == list(DUTCH_TITLES)
    assert report.provenance == {
        "version": __version__,
        "scenario": "assen-2024",
        "input_hash": valuation.input_hash,
        "seed": 7,
        "draws": 300,
        "date": "2025-03-01",
    }
    assert report.notice == Labels("nl")["notice"]
    assert [s.key for s in report.sections][-2:] == ["parameters", "colophon"]
    colophon = next(t for t in report.tables() if t.key == "colophon").frame.set_index("item")["value"]
    assert (
        colophon["Invoer-hash (SHA-256)"] == valuation.input_hash
        and colophon["Seed (startgetal toevalsgenerator)"] == 7
    )
    parameters = next(t for t in report.tables() if t.key == "parameters").frame["item"]
    assert "Invoer-hash (SHA-256)" not in set(parameters)  # the provenance is in the colophon, not on page 1
    resistance = next(t for t in report.tables() if t.key == "resistance").frame.set_index("item")["value"]
    assert resistance["Beschikbare weerstandsreserve"] == 8_500_000
    assert resistance["Standaardfout van de benodigde weerstandscapaciteit"] == 54_321.0
    assert resistance["Benodigde weerstandscapaciteit risicogestuurd (90% zekerheid)"] == simulation.required_capacity
    iflo = next(t for t in report.tables() if t.key == "iflo").frame
    assert iflo["amount"].iat[-1] == pytest.approx(valuation.iflo_norm())
    assert iflo["amount"].iat[0] + iflo["amount"].iat[1] == pytest.approx(valuation.iflo_norm())


def test_parameters_show_a_uniform_distribution_without_mode(valuation):
    from dataclasses import replace

    from grex.drivers import Uniform

    scenario = valuation.scenario
    uniform = replace(scenario, montecarlo=replace(scenario.montecarlo, complex_pace=Uniform(0.8, 1.2)))
    base = value_portfolio(uniform, read_portfolio(scenario.portfolio))
    for lang, expected in (("nl", "0,80 / – / 1,20 (uniform verdeeld)"), ("en", "0.80 / – / 1.20 (uniform)")):
        built = build_report(base, FakeSimulation(base), lang=lang, date=DATE)
        table = next(t for t in built.tables() if t.key == "parameters").frame
        values = table.set_index(table.columns[0])[table.columns[1]]
        assert expected in set(values.astype(str)), values.to_dict()
        assert "0,80 / 1,00 / 1,20" not in set(values.astype(str))


def test_complex_table_subtotals_and_duration(report, valuation):
    table = next(t for t in report.tables() if t.key == "complexes")
    frame, kinds = table.frame, table.row_kinds
    totals = valuation.totals()
    total = frame[[k == "total" for k in kinds]].iloc[0]
    subtotals = frame[[k == "subtotal" for k in kinds]]
    for column in (
        "book_value",
        "remaining_costs",
        "remaining_costs_price_level",
        "present_value",
        "provision",
        "poc_profit",
    ):
        assert total[column] == pytest.approx(totals["total"][column], abs=EURO)
        assert subtotals[column].sum() == pytest.approx(totals["total"][column], abs=EURO)
    messchenveld = frame[frame["name"] == "Messchenveld 1a"].iloc[0]
    assert messchenveld["exceeds_max_duration"] and messchenveld["measure"] == "geen indexatie opbrengsten na 10 jaar"
    assert any("Messchenveld 1a: looptijd 19 jaar" in note for note in table.notes)


@pytest.mark.slow
def test_english_and_extra_sections(valuation, simulation):
    extra = Section("previous", "Verschillenanalyse", paragraphs=("Vergelijking met het vorige MPG.",))
    report = build_report(valuation, simulation, lang="en", date=DATE, extra_sections=[extra])
    assert report.sections[0].title == "Key figures and conclusion" and extra in report.sections
    assert report.sections[-1].title == "Colophon"
    assert report.notice == ILLUSTRATIVE_NOTICE
    html = render_html(report)
    assert "Verschillenanalyse" in html and "Present value per complex" in html


@pytest.mark.slow
def test_without_simulation(valuation):
    report = build_report(valuation, date=DATE)
    assert "Risicoanalyse (Monte Carlo)" not in [s.title for s in report.sections]
    assert "geen Monte Carlo" in report.provenance_line
    assert render_pdf(report).startswith(b"%PDF")


def test_table_checks_row_kinds():
    with pytest.raises(ValueError, match="row_kinds"):
        Table("t", "T", "T", pd.DataFrame({"a": [1, 2]}), (), row_kinds=("row",))


# -- HTML ------------------------------------------------------------------


def test_html_self_contained(html):
    images = re.findall(r"<img\b[^>]*>", html)
    assert len(images) == 6
    assert all(re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', img) for img in images)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", html)
    assert not re.search(r"<link\b|<script\b|@import|url\(", html)
    assert "http://" not in html and "https://" not in html


def test_html_titles_notice_provenance(html, valuation):
    for title in DUTCH_TITLES:
        assert f">{title}</h2>" in html
    for word in (
        "Boekwaarde 1-1",
        "Nog te maken kosten",
        "Nog te realiseren opbrengsten",
        "Voorziene onzekerheden",
        "Rente",
        "Eindwaarde",
        "Contante waarde",
        "Voorziening",
        "Tussentijdse winstneming",
        "Looptijd",
        "IFLO-norm",
        "Ratio weerstandsvermogen",
        "Waardering (NAR)",
    ):
        assert word in html, word
    assert html.count("ILLUSTRATIEF: de cijfers van dit scenario zijn verzonnen") == 2  # the header and the footer
    assert f"grex {__version__} · scenario assen-2024 · invoer-hash {valuation.input_hash[:12]} · seed 7" in html
    assert "1-3-2025" in html
    assert "@page" in html and "@media print" in html
    # Dutch number format: the total book value of EUR 44.8 million in thousands
    assert ">44.800<" in html


# -- Excel -----------------------------------------------------------------


def _header(sheet) -> list[str]:
    return [c.value for c in sheet[HEADER_ROW] if c.value is not None]


def test_workbook_layout(files, report):
    book = load_workbook(files / f"{REPORT}.xlsx")
    assert book.sheetnames[0] == "Kerncijfers"
    assert {
        "Uitgangspunten",
        "Verantwoording",
        "Complexen",
        "IFLO-norm",
        "Weerstand",
        "MC per complex",
        "Reserveverloop",
        "Risicofactoren",
        "Per complex en jaar",
    } <= set(book.sheetnames)
    for sheet in book.worksheets:
        assert re.fullmatch(rf"[A-Z]+{HEADER_ROW + 1}", sheet.freeze_panes or ""), (sheet.title, sheet.freeze_panes)
        assert sheet["B2"].value is None and report.provenance_line == sheet["A2"].value
        assert sheet["A3"].value.startswith("ILLUSTRATIEF")
        assert sheet.column_dimensions["A"].width >= 8
    parameters = book["Uitgangspunten"]
    values = {row[0].value: row[1] for row in parameters.iter_rows(min_row=HEADER_ROW + 1) if row[0].value}
    assert values["Disconteringsvoet (contante waarde)"].value == 0.02
    assert "%" in values["Disconteringsvoet (contante waarde)"].number_format
    assert values["Kostenstijging 2023"].value == 0.06
    assert values["Aantal trekkingen (Monte Carlo)"].value == 300
    assert values["Seed (startgetal toevalsgenerator)"].value == 7
    assert values["Beschikbare weerstandsreserve grondbedrijf"].value == 8_500_000
    assert "€" in values["Beschikbare weerstandsreserve grondbedrijf"].number_format
    assert values["Waarderingsdatum"].value.date() == dt.date(2024, 1, 1)  # a date, not text
    assert values["Waarderingsdatum"].number_format == "d-m-yyyy"
    assert values["Schok grondprijzen: standaardafwijking per jaar"].value == 0.03
    assert "%" in values["Schok grondprijzen: standaardafwijking per jaar"].number_format


def test_workbook_complexes_equal_grex_run(files, tmp_path):
    assert main(["run", str(EXAMPLE), "--out", str(tmp_path / "run")]) == 0
    expected = pd.read_csv(tmp_path / "run" / "complexes.csv", comment="#").set_index("project")
    sheet = load_workbook(files / f"{REPORT}.xlsx")["Complexen"]
    header = _header(sheet)
    labels = Labels("nl")
    columns = {
        "book_value": labels["col_book_value"],
        "remaining_costs_price_level": labels["col_costs_pl"],
        "remaining_revenues_price_level": labels["col_revenues_pl"],
        "remaining_costs": labels["col_costs"],
        "remaining_revenues": labels["col_revenues"],
        "uncertainty_margin_amount": labels["col_margin"],
        "interest": labels["col_interest"],
        "end_value": labels["col_end_value"],
        "present_value": labels["col_present_value"],
        "provision": labels["col_provision"],
        "poc_profit": labels["col_poc"],
        "end_year": labels["col_end_year"],
        "duration": labels["col_duration"],
    }
    seen = set()
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=False):
        project = row[0].value
        if project not in expected.index:
            continue
        seen.add(project)
        for column, label in columns.items():
            cell = row[header.index(label)]
            assert isinstance(cell.value, (int, float)), (project, column, cell.value)
            assert abs(cell.value - expected.at[project, column]) <= EURO, (project, column)
            if column not in ("end_year", "duration"):
                assert "€" in cell.number_format
    assert seen == set(expected.index)
    totals = [r for r in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if r[1] == "Totaal"]
    assert abs(totals[0][header.index(columns["present_value"])] - expected["present_value"].sum()) <= EURO


# -- PDF -------------------------------------------------------------------


def test_pdf_pages(files, valuation):
    data = (files / f"{REPORT}.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 6
    assert f"input-hash {valuation.input_hash}".encode() in data  # the document's keywords


# -- CLI -------------------------------------------------------------------


@pytest.fixture
def fake_montecarlo(monkeypatch):
    import grex.montecarlo  # the rest of the package is real: the CLI checks the references and plans the note

    monkeypatch.setattr(grex.montecarlo, "simulate", fake_simulate, raising=False)


def test_cli_report(fake_montecarlo, tmp_path, capsys):
    out = tmp_path / "r"
    assert (
        main(
            [
                "report",
                str(EXAMPLE),
                "--draws",
                "200",
                "--seed",
                "3",
                "--format",
                "html,xlsx",
                "--lang",
                "en",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir() if p.name != ".grex-output") == [f"{REPORT}.html", f"{REPORT}.xlsx"]
    html = (out / f"{REPORT}.html").read_text(encoding="utf-8")
    assert ">Assumptions</h2>" in html and "seed 3 · 200 draws" in html
    assert load_workbook(out / f"{REPORT}.xlsx").sheetnames[0] == "Key figures"


@pytest.mark.slow
def test_cli_report_draws_default_to_the_scenario(fake_montecarlo, tmp_path):
    """Without --draws and --seed the report runs the scenario's montecarlo.draws and seed, as grex simulate."""
    out = tmp_path / "r"
    assert main(["report", str(EXAMPLE), "--format", "html", "--out", str(out)]) == 0
    scenario = read_scenario(EXAMPLE)
    html = (out / f"{REPORT}.html").read_text(encoding="utf-8")
    draws = f"{scenario.montecarlo.draws:,}".replace(",", ".")
    assert f"seed {scenario.montecarlo.seed} · {draws} trekkingen" in html


def test_cli_report_bad_format(fake_montecarlo, tmp_path, capsys):
    assert main(["report", str(EXAMPLE), "--format", "docx", "--out", str(tmp_path / "r")]) == 2
    assert "docx" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _sheet_values(workbook, sheet: str) -> dict[str, object]:
    """First column -> second column of a two-column sheet."""
    return {row[0]: row[1] for row in workbook[sheet].iter_rows(values_only=True) if row and row[0] is not None}


def test_cli_report_figures_equal_grex_simulate_and_run(tmp_path):
    """The real Monte Carlo: the resistance figures of the workbook equal those of
    ``grex simulate`` with the same draws and seed, and the complexes those of ``grex run``."""
    out = tmp_path / "r"
    assert main(["report", str(EXAMPLE), "--draws", "600", "--seed", "5", "--format", "xlsx", "--out", str(out)]) == 0
    assert main(["simulate", str(EXAMPLE), "--draws", "600", "--seed", "5", "--out", str(tmp_path / "s")]) == 0
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    workbook = load_workbook(out / f"{REPORT}.xlsx")
    assert workbook.sheetnames[0] == "Kerncijfers"
    values = _sheet_values(workbook, "Weerstand")
    by_start = {str(k).split(" (")[0]: v for k, v in values.items()}
    assert by_start["Benodigde weerstandscapaciteit risicogestuurd"] == pytest.approx(
        summary["required_capacity"], abs=0.01
    )
    assert by_start["Standaardfout van de benodigde weerstandscapaciteit"] == pytest.approx(
        summary["required_capacity_standard_error"], abs=0.01
    )
    assert by_start["Benodigde weerstandscapaciteit volgens IFLO-norm"] == pytest.approx(summary["iflo_norm"], abs=0.01)
    assert by_start["Ratio weerstandsvermogen volgens beleid"] == pytest.approx(summary["ratio"])
    key = _sheet_values(workbook, "Kerncijfers")
    assert key["Benodigde weerstandscapaciteit volgens beleid"] == pytest.approx(summary["required_capacity_policy"])
    assert key["Waardering (NAR) volgens beleid"].startswith(summary["grade"] + " (")
    parameters = _sheet_values(workbook, "Uitgangspunten")
    assert parameters["Uitgiftetempo markt (laag / modus / hoog)"] == "0,60 / 1,00 / 1,20"
    assert parameters["Laag en hoog van de driehoeksverdelingen"] == "5%- en 95%-punt"
    assert parameters["Risico's in het risicoregister"] == 3


@pytest.mark.slow
def test_cli_report_previous_adds_the_difference_analysis(tmp_path):
    """``--previous``: the section Verschillenanalyse, its portfolio effects equal to ``grex diff``."""
    from grex.api import diff_scenarios

    out = tmp_path / "r"
    previous = EXAMPLE.parent / "assen-2023.toml"
    argv = ["report", str(EXAMPLE), "--previous", str(previous), "--draws", "200", "--format", "xlsx,html"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "Verschillenanalyse" in (out / f"{REPORT}.html").read_text(encoding="utf-8")
    workbook = load_workbook(out / f"{REPORT}.xlsx")
    assert "Verschillenanalyse" in workbook.sheetnames
    rows = [r for r in workbook["Verschillenanalyse"].iter_rows(values_only=True) if r and r[0] is not None]
    table = {r[0]: r[2] for r in rows if len(r) > 2 and isinstance(r[2], (int, float))}
    result = diff_scenarios(previous, EXAMPLE)
    before, after = result.total("present_value")
    assert table["Vorige MPG"] == pytest.approx(before, abs=0.01)
    assert table["Huidige MPG"] == pytest.approx(after, abs=0.01)
    assert table["Rente"] == pytest.approx(result.portfolio("present_value")["interest"], abs=0.01)


# -- headless Chromium -------------------------------------------------------


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


_PROBE = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length;
  const wide = document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;
  const tables = [...document.querySelectorAll("table")].filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).length;
  document.title = `probe images=${document.images.length} broken=${broken} overflow=${wide} tables=${tables}`;
});
</script>"""


def _run_chromium(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
    ]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_html_in_headless_chromium(html, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium installed (CI installs it)")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    result = _run_chromium(
        chromium, tmp_path, "--window-size=1366,900", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()
    )
    title = re.search(r"<title>(probe [^<]*)</title>", result.stdout)
    assert title, result.stderr[-2000:]
    assert title.group(1) == "probe images=6 broken=0 overflow=false tables=0"
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / "printed.pdf"
    _run_chromium(chromium, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 4


# -- one figure, one number --------------------------------------------------


def _html_tables(html: str) -> dict[str, list[list[str]]]:
    """Each table of the HTML by key: its rows as lists of cell texts (headers left out)."""
    import html as html_module

    tables = {}
    for key, body in re.findall(r'<table id="table-([\w-]+)"[^>]*>(.*?)</table>', html, flags=re.S):
        rows = []
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
            cells = [html_module.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            if cells:
                rows.append(cells)
        tables[key] = rows
    return tables


def _pairs(rows: list[list[str]]) -> dict[str, str]:
    return {r[0]: r[-1] for r in rows if len(r) >= 2}


def _keur(text: str) -> float:
    """A cell in thousands, Dutch format, as euros."""
    return float(text.replace(".", "").replace(",", ".")) * 1000


def _figures_printed_twice(tables: dict[str, list[list[str]]]) -> list[tuple[str, list[str]]]:
    """The figures that appear in more than one place, each with the texts printed."""
    key, resistance, iflo = _pairs(tables["summary"]), _pairs(tables["resistance"]), tables["iflo"]
    parameters, percentiles = _pairs(tables["parameters"]), _pairs(tables["percentiles"])
    complexes = tables["complexes"]
    total = next(r for r in complexes if r[0] == "Totaal")  # ends: present value, provision, interim profit
    path = tables["reserve_path"]
    return [
        (
            "IFLO-norm",
            [iflo[-1][-1], resistance["Benodigde weerstandscapaciteit volgens IFLO-norm"]]
            + [key[k] for k in key if k.startswith("Ter vergelijking: benodigd volgens IFLO")],
        ),
        (
            "beschikbare weerstandsreserve",
            [
                key["Beschikbare weerstandsreserve"],
                resistance["Beschikbare weerstandsreserve"],
                parameters["Beschikbare weerstandsreserve grondbedrijf"],
            ],
        ),
        (
            "benodigd volgens beleid",
            [key["Benodigde weerstandscapaciteit volgens beleid"]]
            + [v for k, v in resistance.items() if k.startswith("Benodigde weerstandscapaciteit volgens beleid")],
        ),
        (
            "ratio",
            [
                key["Ratio weerstandsvermogen volgens beleid (beschikbaar / benodigd)"],
                resistance["Ratio weerstandsvermogen volgens beleid (beschikbaar / benodigd)"],
            ],
        ),
        ("waardering", [key["Waardering (NAR) volgens beleid"], resistance["Waardering (NAR) volgens beleid"]]),
        (
            "contante waarde portefeuille",
            [key["Resultaat portefeuille, contante waarde per 1-1-2024"], percentiles["Deterministisch"], total[-3]],
        ),
        ("voorziening", [key["Verliesvoorzieningen"], total[-2]]),
        ("tussentijdse winstneming", [key["Tussentijdse winstneming"], total[-1]]),
        (
            "algemene reserve 1-1",
            [parameters["Algemene reserve grondbedrijf"], resistance["Algemene reserve grondbedrijf 1-1"], path[0][1]],
        ),
    ]


def test_every_figure_printed_twice_is_the_same_number(html, files):
    """Read the report as printed (HTML, and the PDF's text where pdftotext is there): a figure shown in two
    places shows the same number; the verdict's millions are the key-figure table's thousands, rounded; Monte
    Carlo amounts are rounded to their standard error; no amount is printed to the euro."""
    from grex.report.content import mc_unit

    tables = _html_tables(html)
    for name, texts in _figures_printed_twice(tables):
        assert len(texts) >= 2 and len(set(texts)) == 1, (name, texts)
    key = _pairs(tables["summary"])
    # the verdict: every amount in millions is a figure of the table, rounded to one decimal
    verdict = re.search(r'<p class="verdict">(.*?)</p>', html, flags=re.S).group(1)
    millions = [float(m.replace(".", "").replace(",", ".")) for m in re.findall(r"€ (-?[\d.,]+) miljoen", verdict)]
    assert len(millions) >= 5, verdict
    amounts = {abs(round(_keur(v) / 1e6, 1)) for k, v in key.items() if re.fullmatch(r"-?[\d.]+", v)}
    available = _keur(key["Beschikbare weerstandsreserve"])
    gap = round((_keur(key["Benodigde weerstandscapaciteit volgens beleid"]) - available) / 1e6, 1)
    for value in millions:
        assert value in amounts | {gap}, (value, sorted(amounts), verdict)
    assert key["Ratio weerstandsvermogen volgens beleid (beschikbaar / benodigd)"] in verdict
    # Monte Carlo amounts rounded to their standard error (the fake's: 54,321 -> to 10,000)
    risk = _keur(_pairs(tables["resistance"])["Benodigde weerstandscapaciteit risicogestuurd (90% zekerheid)"])
    assert risk % mc_unit(54_321.0) == 0 and risk != 0
    # no amount to the euro anywhere: at most two groups of thousands in thousands of euros
    body = re.sub(r"<(style|img)[^>]*>.*?(</style>|>)", "", html, flags=re.S)
    assert not re.search(r"\d{1,3}\.\d{3}\.\d{3}(?!\.)", body), re.search(r".{40}\d{1,3}\.\d{3}\.\d{3}.{20}", body)
    # the PDF prints the same figures
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-layout", str(files / f"{REPORT}.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    for label, value in key.items():
        if label.startswith("Norm van het beleid"):
            continue  # long text, wrapped differently
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(label)), None)
        assert line is not None and line.rstrip().endswith(value), (label, value, line)
    assert not re.search(r"\d{1,3}\.\d{3}\.\d{3}(?![.\d])", text)


@pytest.mark.slow
def test_driver_standard_deviations_agree_with_the_sensitivity_section(valuation):
    """The standard deviation of each driver appears in the risk analysis and in the sensitivity analysis:
    the same runs, the same rule of rounding, the same printed number."""
    from grex.montecarlo import simulate
    from grex.report.sensitivity import sensitivity_section
    from grex.sensitivity import sensitivity

    scenario, portfolio = valuation.scenario, valuation.portfolio
    runs = {"all": simulate(scenario, portfolio, draws=300, seed=3)}
    runs.update({d: simulate(scenario, portfolio, draws=300, seed=3, drivers={d}) for d in DRIVERS})
    result = sensitivity(scenario, portfolio, draws=300, seed=3, runs=runs)
    report = build_report(
        valuation,
        runs["all"],
        drivers={d: runs[d] for d in DRIVERS},
        date=DATE,
        extra_sections=lambda labels: [sensitivity_section(result, labels)],
    )
    tables = _html_tables(render_html(report))
    risk = {row[0]: row[2] for row in tables["drivers"]}
    shares = {row[0]: row[1] for row in tables["sensitivity_variance"]}
    labels = Labels("nl")
    pairs = {labels[f"driver_{d}"]: d for d in DRIVERS}
    names = dict(zip(result.variance_shares["driver"], result.variance_shares["label"], strict=True))
    for label, driver in pairs.items():
        assert risk[label] == shares[names[driver]], (driver, risk[label], shares[names[driver]])
