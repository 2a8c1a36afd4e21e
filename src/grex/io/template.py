"""``grex init DIR``: a template workbook and a scenario that run as they are."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

from grex.errors import InputError

__all__ = ["SCENARIO_FILE", "WORKBOOK_FILE", "write_template"]

#: File names ``grex init`` writes.
WORKBOOK_FILE = "portefeuille.xlsx"
SCENARIO_FILE = "scenario.toml"

#: Per column: the table, the name in the Dutch template, in the English one, required, Dutch and English meaning.
COLUMNS = (
    ("projects", "complex", "project", True, "Code van het complex (uniek)", "Id of the complex (unique)"),
    ("projects", "naam", "name", True, "Naam van het complex", "Name of the complex"),
    (
        "projects",
        "status",
        "status",
        True,
        "vastgesteld (bouwgrond in exploitatie), voorbereiding of strategisch",
        "vastgesteld (adopted), voorbereiding (planned) or strategisch (strategic land)",
    ),
    (
        "projects",
        "boekwaarde",
        "book_value",
        True,
        "Boekwaarde per 1-1 van het waarderingsjaar, EUR (positief = debet)",
        "Book value at 1 January of the valuation year, EUR (positive = debit)",
    ),
    (
        "projects",
        "gerealiseerde_kosten",
        "realised_costs",
        True,
        "Tot 1-1 gerealiseerde kosten, EUR",
        "Costs realised up to 1 January, EUR",
    ),
    (
        "projects",
        "gerealiseerde_opbrengsten",
        "realised_revenues",
        True,
        "Tot 1-1 gerealiseerde opbrengsten, EUR",
        "Revenues realised up to 1 January, EUR",
    ),
    (
        "projects",
        "genomen_winst",
        "profit_taken",
        True,
        "Eerder genomen tussentijdse winst, EUR",
        "Interim profit taken in earlier years, EUR",
    ),
    (
        "projects",
        "eindjaar",
        "end_year",
        False,
        "Laatste jaar van de grondexploitatie (leeg: het jaar van de laatste kasstroom)",
        "Last year of the complex (empty: the year of its last flow)",
    ),
    (
        "projects",
        "prijspeil",
        "price_level",
        False,
        "Jaar van het prijspeil van de bedragen (leeg: het waarderingsjaar)",
        "Price level year of the amounts (empty: the valuation year)",
    ),
    (
        "projects",
        "onzekerheidsmarge",
        "uncertainty_margin",
        False,
        "Voorziene onzekerheden voor dit complex als decimaal, 0,10 = 10% (leeg: het scenario)",
        "Uncertainty margin for this complex as a decimal, 0.10 = 10% (empty: the scenario's)",
    ),
    (
        "projects",
        "kostenindex",
        "cost_index",
        False,
        "Kostenstijging per jaar voor dit complex als decimaal (leeg: het scenario)",
        "Cost index per year for this complex as a decimal (empty: the scenario's)",
    ),
    (
        "projects",
        "opbrengstenindex",
        "revenue_index",
        False,
        "Opbrengstenstijging per jaar voor dit complex als decimaal (leeg: het scenario)",
        "Revenue index per year for this complex as a decimal (empty: the scenario's)",
    ),
    ("flows", "complex", "project", True, "Code van het complex, als op het blad projecten", "Id of the complex"),
    (
        "flows",
        "jaar",
        "year",
        True,
        "Jaar van de kasstroom (niet voor het waarderingsjaar)",
        "Year of the flow (not before the valuation year)",
    ),
    ("flows", "soort", "type", True, "kosten of opbrengsten", "cost or revenue"),
    (
        "flows",
        "categorie",
        "category",
        True,
        "Kostensoort: verwerving, sloop, bodem, bouwrijp, woonrijp, plankosten, bijdragen, overig; "
        "opbrengsten: wonen_sociaal, wonen_betaalbaar, wonen_vrij, bedrijven, maatschappelijk, overig, subsidie",
        "Category (kostensoort) of a cost or a revenue, as in the Dutch column",
    ),
    (
        "flows",
        "bedrag",
        "amount",
        True,
        "Bedrag op prijspeil, EUR, niet negatief",
        "Amount at the price level, EUR, not negative",
    ),
    (
        "flows",
        "volgt_uitgifte",
        "sales_linked",
        False,
        "ja voor kosten die de gronduitgifte volgen (zoals woonrijp maken); leeg = nee",
        "true for costs that follow plot sales (such as woonrijp maken); empty = false",
    ),
)


def _example(year: int) -> tuple[list[list[object]], list[list[object]]]:
    """One illustrative complex with its flows over five years from ``year``."""
    projects = [["voorbeeld_1", "Voorbeeldwijk (illustratief)", "vastgesteld", 1_250_000, 2_000_000, 750_000, 0]]
    projects[0] += [year + 4, year, None, None, None]
    flows = [
        ["voorbeeld_1", year, "cost", "verwerving", 400_000, None],
        ["voorbeeld_1", year, "cost", "bouwrijp", 600_000, None],
        ["voorbeeld_1", year + 1, "cost", "bouwrijp", 300_000, None],
        ["voorbeeld_1", year + 1, "revenue", "wonen_vrij", 1_200_000, None],
        ["voorbeeld_1", year + 2, "revenue", "wonen_sociaal", 500_000, None],
        ["voorbeeld_1", year + 2, "cost", "woonrijp", 250_000, True],
        ["voorbeeld_1", year + 3, "revenue", "wonen_vrij", 1_500_000, None],
        ["voorbeeld_1", year + 3, "cost", "woonrijp", 250_000, True],
        ["voorbeeld_1", year + 4, "cost", "plankosten", 50_000, None],
    ]
    return projects, flows


def _workbook(lang: str, year: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    dutch = lang == "nl"
    names = {"projects": "projecten", "flows": "kasstromen"} if dutch else {"projects": "projects", "flows": "flows"}
    projects, flows = _example(year)
    if dutch:
        words = {"cost": "kosten", "revenue": "opbrengsten", True: "ja"}
        flows = [[words.get(v, v) if isinstance(v, (str, bool)) else v for v in row] for row in flows]
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for table, rows in (("projects", projects), ("flows", flows)):
        sheet = workbook.create_sheet(names[table])
        sheet.append([c[1] if dutch else c[2] for c in COLUMNS if c[0] == table])
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = bold
            sheet.column_dimensions[cell.column_letter].width = max(12, len(str(cell.value)) + 4)
        sheet.freeze_panes = "A2"
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool) and cell.value >= 10_000:
                    cell.number_format = "#,##0"
    notes = workbook.create_sheet("toelichting" if dutch else "notes")
    notes.append(["blad / sheet", "kolom (nl)", "column (en)", "verplicht / required", "betekenis", "meaning"])
    for cell in notes[1]:
        cell.font = bold
    for table, nl, en, required, meaning_nl, meaning_en in COLUMNS:
        notes.append([names[table], nl, en, "ja / yes" if required else "nee / no", meaning_nl, meaning_en])
    notes.append([])
    for line in (
        "Illustratief: de voorbeeldregels zijn verzonnen; vervang ze door de eigen complexen.",
        "Illustrative: the example rows are made up; replace them with your own complexes.",
        "Kolommen en bladen mogen Nederlands of Engels heten (projecten/projects, kasstromen/flows); "
        "de kopregel mag onder titelregels staan. Formules worden gelezen met de waarde die Excel bewaarde.",
        "Columns and sheets may have Dutch or English names; the header may stand below title rows. "
        "Formulas are read by the value Excel saved with them.",
        "Kasstromen mogen ook breed: blad kasstromen_breed met complex, soort, categorie en een kolom per jaar.",
        "Flows may also be wide: a sheet flows_wide with project, type, category and one column per year.",
    ):
        notes.append([line])
    for letter, width in zip("ABCDEF", (14, 26, 20, 18, 70, 70), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _scenario(name: str, folder: Path, year: int) -> str:
    return f"""# Scenario written by `grex init`: the parameters of one MPG (meerjarenprognose
# grondexploitaties). Run it with:  grex run {folder / SCENARIO_FILE}
# Every key below is optional unless marked; the values shown are the defaults.
# Rates are decimals: 0.02 for 2%. Unknown keys are errors.

{"name = " + json.dumps(name):<35} # required: names the output folder out/<name>/
{"portfolio = " + json.dumps(WORKBOOK_FILE):<35} # required: the workbook (or a folder of CSV files), relative to this file
{"valuation_year = " + str(year):<35} # required: waarderingsjaar V; values at 1 January of V
illustrative = true                 # the example rows are made up: set to false for real data

[parameters]
interest_rate = 0.01                # rekenrente on the book value
discount_rate = 0.02                # disconteringsvoet for the present value (contante waarde)
uncertainty_margin = 0.10           # voorziene onzekerheden on the remaining costs
cost_index = 0.02                   # kostenstijging per year, or a table: {{ {year} = 0.04, default = 0.02 }}
revenue_index = 0.0                 # opbrengstenstijging per year (a number or a table)
max_duration = 10                   # maximum duration of a complex in years (BBV)
index_revenues_after_max_duration = false
provision_basis = "present_value"   # voorziening on the present value, or "end_value"
poc_basis = "present_value"         # tussentijdse winstneming (POC) on the present value, or "end_value"

[reserves]
general_reserve = 2_000_000         # algemene reserve grondbedrijf available, EUR
resistance_reserve = 500_000        # weerstandsreserve available, EUR (gives the NAR ratio and grade)
iflo_book_value_share = 0.10        # IFLO norm: share of the book values
iflo_remaining_costs_share = 0.10   # IFLO norm: share of the remaining costs
confidence = 0.90                   # confidence of the required capacity (grex simulate)

# Monte Carlo (grex simulate): a [montecarlo] table sets the draws, the seed and
# the spread of each driver; without it the defaults of the README apply.
"""


def write_template(folder: str | Path, *, lang: str = "nl", year: int | None = None) -> list[Path]:
    """Write :data:`WORKBOOK_FILE` and :data:`SCENARIO_FILE` into ``folder`` (created where missing).

    ``lang`` names the sheets and columns in Dutch (``nl``: ``projecten``,
    ``kasstromen``, ``boekwaarde``, ...) or English (``en``); the notes sheet
    explains every column in both. ``year`` is the valuation year (default:
    this calendar year). Raises :class:`InputError`, writing nothing, where
    either file exists already or ``folder`` is a file.
    """
    folder = Path(folder)
    year = dt.date.today().year if year is None else int(year)
    if lang not in ("nl", "en"):
        raise InputError(None, "--lang", f"must be nl or en, not {lang!r}")
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, None, "exists and is not a folder")
    targets = [folder / WORKBOOK_FILE, folder / SCENARIO_FILE]
    for target in targets:
        if target.exists():
            raise InputError(target, None, "already exists; grex init does not overwrite files (choose another folder)")
    workbook = _workbook(lang, year)
    name = folder.resolve().name or "grex"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        targets[0].write_bytes(workbook)
        targets[1].write_text(_scenario(name, folder, year), encoding="utf-8")
    except OSError as error:
        raise InputError(folder, None, f"cannot write the template: {error.strerror or error}") from None
    return targets
