"""Words and number formats of the report, in Dutch (default) and English.

The Dutch words are the terms the council knows (docs/glossary.md); the
English ones follow the glossary's English names. Numbers are formatted the
way each language writes them: ``1.234,5`` in Dutch, ``1,234.5`` in English.
"""

from __future__ import annotations

from typing import Any

from grex.formatting import format_value

__all__ = ["LANGUAGES", "Labels", "format_value"]

#: Languages of the report.
LANGUAGES = ("nl", "en")

_WORDS: dict[str, tuple[str, str]] = {
    # title and provenance
    "title": ("Meerjarenperspectief Grondbedrijf (MPG)", "Multi-year outlook of the land development company (MPG)"),
    "subtitle": ("Scenario {name}, waardering per 1-1-{year}", "Scenario {name}, valuation as at 1-1-{year}"),
    "notice": (
        "ILLUSTRATIEF: de cijfers van dit scenario zijn verzonnen (alleen afgestemd op gepubliceerde totalen); "
        "het zijn geen echte projectgegevens.",
        "ILLUSTRATIVE: the figures of this scenario are made up (calibrated to published totals only); "
        "they are not real project data.",
    ),
    "provenance": (
        "grex {version} · scenario {scenario} · invoer-hash {hash} · seed {seed} · {draws} trekkingen · {date}",
        "grex {version} · scenario {scenario} · input hash {hash} · seed {seed} · {draws} draws · {date}",
    ),
    "no_simulation": ("geen Monte Carlo", "no Monte Carlo"),
    "page": ("pagina {n}", "page {n}"),
    "thousands": ("bedragen x € 1.000", "amounts x € 1,000"),
    "contents": ("Inhoud", "Contents"),
    # sections
    "sec_parameters": ("Uitgangspunten", "Assumptions"),
    "sec_complexes": ("Grondexploitaties per complex", "Land development per complex"),
    "sec_resistance": ("Weerstandsvermogen", "Resistance capacity"),
    "sec_risk": ("Risicoanalyse (Monte Carlo)", "Risk analysis (Monte Carlo)"),
    "sec_charts": ("Grafieken", "Charts"),
    "sec_years": ("Verloop per jaar", "Per year"),
    # parameters table
    "tab_parameters": ("Uitgangspunten van de berekening", "Assumptions of the calculation"),
    "sheet_parameters": ("Uitgangspunten", "Assumptions"),
    "col_parameter": ("Uitgangspunt", "Assumption"),
    "col_value": ("Waarde", "Value"),
    "p_scenario": ("Scenario", "Scenario"),
    "p_valuation_date": ("Waarderingsdatum", "Valuation date"),
    "p_interest": ("Rekenrente (rentetoerekening boekwaarde)", "Interest rate on the book value"),
    "p_discount": ("Disconteringsvoet (contante waarde)", "Discount rate (present value)"),
    "p_cost_index_year": ("Kostenstijging {year}", "Cost indexation {year}"),
    "p_cost_index_default": ("Kostenstijging overige jaren", "Cost indexation other years"),
    "p_revenue_index_year": ("Opbrengstenstijging {year}", "Revenue indexation {year}"),
    "p_revenue_index_default": ("Opbrengstenstijging overige jaren", "Revenue indexation other years"),
    "p_cost_index": ("Kostenstijging (alle jaren)", "Cost indexation (every year)"),
    "p_revenue_index": ("Opbrengstenstijging (alle jaren)", "Revenue indexation (every year)"),
    "p_margin": ("Voorziene onzekerheden (opslag nog te maken kosten)", "Uncertainty margin on remaining costs"),
    "p_max_duration": ("Maximale looptijd (BBV), jaren", "Maximum duration (BBV), years"),
    "p_index_after": ("Opbrengsten geïndexeerd na maximale looptijd", "Revenues indexed after the maximum duration"),
    "p_interest_year": ("Rekenrente {year}", "Interest rate {year}"),
    "p_interest_default": ("Rekenrente overige jaren", "Interest rate other years"),
    "p_discount_periods": ("Disconteringsperiode", "Discounting period"),
    "discount_years": ("hele jaren (E − V + 1)", "whole years (E − V + 1)"),
    "discount_days": ("dagen van 1-1-V tot 31-12-E / 365,25", "days from 1-1-V to 31-12-E / 365.25"),
    "p_present_value_method": ("Berekening contante waarde", "Present value computed from"),
    "pv_end_value": ("eindwaarde contant gemaakt", "the end value, discounted"),
    "pv_cash_flows": ("kasstromen per jaar contant gemaakt", "each year's net cash flow, discounted"),
    "p_cost_index_category": ("Kostenstijging {category} (alle jaren)", "Cost indexation {category} (every year)"),
    "p_cost_index_category_year": ("Kostenstijging {category} {year}", "Cost indexation {category} {year}"),
    "p_cost_index_category_default": (
        "Kostenstijging {category} overige jaren",
        "Cost indexation {category} other years",
    ),
    "p_provision_basis": ("Grondslag verliesvoorziening", "Basis of the loss provision"),
    "p_poc_basis": ("Grondslag tussentijdse winstneming", "Basis of the interim profit"),
    "p_iflo_book": ("IFLO-norm: aandeel boekwaarde", "IFLO norm: share of the book value"),
    "p_iflo_costs": ("IFLO-norm: aandeel nog te maken kosten", "IFLO norm: share of the remaining costs"),
    "p_confidence": ("Zekerheidsniveau benodigde weerstandscapaciteit", "Confidence level of the required capacity"),
    "p_resistance_reserve": ("Beschikbare weerstandsreserve grondbedrijf", "Available resistance reserve"),
    "p_general_reserve": ("Algemene reserve grondbedrijf", "General reserve of the land development company"),
    "p_draws": ("Aantal trekkingen (Monte Carlo)", "Number of draws (Monte Carlo)"),
    "p_seed": ("Seed (startgetal toevalsgenerator)", "Seed of the random generator"),
    "p_bounds": ("Laag en hoog van de driehoeksverdelingen", "Low and high of the triangular distributions"),
    "p_bounds_p5_p95": ("5%- en 95%-punt", "5% and 95% points"),
    "p_bounds_extremes": ("uitersten", "extremes"),
    "p_market_pace": ("Uitgiftetempo markt (laag / modus / hoog)", "Market sale pace (low / mode / high)"),
    "p_complex_pace": ("Uitgiftetempo per complex (laag / modus / hoog)", "Sale pace per complex (low / mode / high)"),
    "p_delay": (
        "Vertraging start uitgifte, jaren (laag / modus / hoog)",
        "Delay of the start of sales, years (low / mode / high)",
    ),
    "p_cost_shock": ("Schok kostenstijging (sd / persistentie)", "Cost index shock (sd / persistence)"),
    "p_price_shock": ("Schok grondprijzen (sd / persistentie)", "Land price shock (sd / persistence)"),
    "p_interest_shift": (
        "Afwijking rekenrente, procentpunt (laag / modus / hoog)",
        "Shift of the interest rate, percentage points (low / mode / high)",
    ),
    "p_complex_overrides": ("Complexen met eigen tempo of vertraging", "Complexes with their own pace or delay"),
    "p_risks": ("Risico's in het risicoregister", "Risks in the risk register"),
    "p_version": ("grex-versie", "grex version"),
    "p_hash": ("Invoer-hash (SHA-256)", "Input hash (SHA-256)"),
    "p_date": ("Datum rapport", "Report date"),
    "present_value": ("contante waarde", "present value"),
    "end_value": ("eindwaarde", "end value"),
    "yes": ("ja", "yes"),
    "uniform": ("uniform verdeeld", "uniform"),
    "no": ("nee", "no"),
    "not_given": ("niet opgegeven", "not given"),
    # complexes table
    "tab_complexes": (
        "Grondexploitaties per complex",
        "Land development per complex",
    ),
    "sheet_complexes": ("Complexen", "Complexes"),
    "col_project": ("Code", "Id"),
    "col_name": ("Complex", "Complex"),
    "col_status": ("Status", "Status"),
    "col_end_year": ("Eindjaar", "End year"),
    "col_duration": ("Looptijd (jaren)", "Duration (years)"),
    "col_exceeds": ("> {n} jaar", "> {n} years"),
    "col_measure": ("Beheersmaatregel", "Control measure"),
    "col_book_value": ("Boekwaarde 1-1", "Book value 1-1"),
    "col_costs_pl": ("Nog te maken kosten (prijspeil)", "Remaining costs (price level)"),
    "col_revenues_pl": ("Nog te realiseren opbrengsten (prijspeil)", "Remaining revenues (price level)"),
    "col_costs": ("Nog te maken kosten (nominaal)", "Remaining costs (nominal)"),
    "col_revenues": ("Nog te realiseren opbrengsten (nominaal)", "Remaining revenues (nominal)"),
    "col_margin": ("Voorziene onzekerheden", "Uncertainty margin"),
    "col_interest": ("Rente", "Interest"),
    "col_end_value": ("Eindwaarde", "End value"),
    "col_present_value": ("Contante waarde", "Present value"),
    "col_provision": ("Voorziening", "Provision"),
    "col_poc": ("Tussentijdse winstneming", "Interim profit (POC)"),
    "status_vastgesteld": (
        "Vastgestelde grondexploitaties (bouwgrond in exploitatie)",
        "Adopted complexes (land in development)",
    ),
    "status_voorbereiding": ("Grondexploitaties in voorbereiding", "Complexes in preparation"),
    "status_strategisch": ("Strategische gronden", "Strategic land"),
    "short_vastgesteld": ("vastgesteld", "adopted"),
    "short_voorbereiding": ("voorbereiding", "in preparation"),
    "short_strategisch": ("strategisch", "strategic"),
    "subtotal": ("Subtotaal {status}", "Subtotal {status}"),
    "total": ("Totaal", "Total"),
    "measure_freeze": ("geen indexatie opbrengsten na {n} jaar", "no revenue indexation after {n} years"),
    "measure_none": (
        "geen (opbrengsten worden over de hele looptijd geïndexeerd; motivering vereist)",
        "none (revenues are indexed over the whole duration; motivation required)",
    ),
    "note_duration": (
        "{name}: looptijd {duration} jaar, langer dan {n} jaar; beheersmaatregel: {measure}.",
        "{name}: duration {duration} years, longer than {n} years; control measure: {measure}.",
    ),
    "note_signs": (
        "Eindwaarde, contante waarde en winstneming: positief is winst, negatief is verlies. "
        "Nominaal: geïndexeerd, inclusief voorziene onzekerheden, exclusief rente. "
        "Prijspeil: exclusief rente en indexatie, inclusief voorziene onzekerheden.",
        "End value, present value and interim profit: positive is profit, negative is loss. "
        "Nominal: indexed, with the uncertainty margin, without interest. "
        "Price level: without interest and indexation, with the uncertainty margin.",
    ),
    # resistance
    "tab_iflo": ("IFLO-norm: benodigde weerstandsreserve", "IFLO norm: required resistance reserve"),
    "sheet_iflo": ("IFLO-norm", "IFLO norm"),
    "col_component": ("Onderdeel", "Component"),
    "col_base": ("Grondslag", "Base"),
    "col_share": ("Percentage", "Share"),
    "col_amount": ("Bedrag", "Amount"),
    "iflo_book": (
        "Boekwaarde 1-1 vastgestelde complexen en strategische gronden",
        "Book value 1-1 of adopted complexes and strategic land",
    ),
    "iflo_costs": (
        "Nog te maken kosten vastgestelde complexen (prijspeil, incl. voorziene onzekerheden)",
        "Remaining costs of adopted complexes (price level, with the uncertainty margin)",
    ),
    "iflo_total": ("IFLO-norm", "IFLO norm"),
    "tab_resistance": ("Weerstandsvermogen grondbedrijf", "Resistance capacity of the land development company"),
    "sheet_resistance": ("Weerstand", "Resistance"),
    "col_item": ("Onderdeel", "Item"),
    "r_iflo": ("Benodigde weerstandscapaciteit volgens IFLO-norm", "Required capacity by the IFLO norm"),
    "r_required": (
        "Benodigde weerstandscapaciteit risicogestuurd ({confidence} zekerheid)",
        "Required capacity, risk based ({confidence} confidence)",
    ),
    "r_se": ("Standaardfout van de benodigde weerstandscapaciteit", "Standard error of the required capacity"),
    "r_shortfall": (
        "Verwacht tekort voorbij het zekerheidsniveau (expected shortfall)",
        "Expected shortfall beyond the confidence level",
    ),
    "r_loss": (
        "Kans dat de contante waarde van de portefeuille lager uitvalt dan deterministisch",
        "Probability that the portfolio's present value falls below the deterministic one",
    ),
    "r_available": ("Beschikbare weerstandsreserve", "Available resistance reserve"),
    "r_ratio": (
        "Ratio weerstandsvermogen (beschikbaar / risicogestuurd benodigd)",
        "Ratio (available / risk-based required)",
    ),
    "r_grade": ("Waardering (NAR)", "Grade (NAR)"),
    "r_ratio_iflo": ("Ratio beschikbaar / IFLO-norm", "Ratio available / IFLO norm"),
    "r_grade_iflo": ("Waardering (NAR) t.o.v. IFLO-norm", "Grade (NAR) against the IFLO norm"),
    "r_general": ("Algemene reserve grondbedrijf 1-1", "General reserve 1-1"),
    "r_below_zero": (
        "Kans dat de algemene reserve onder nul komt",
        "Probability that the general reserve falls below zero",
    ),
    "note_grades": (
        "Waardering (NAR / Universiteit Twente): A ≥ 2,0 uitstekend; B 1,4–2,0 ruim voldoende; C 1,0–1,4 voldoende; "
        "D 0,8–1,0 matig; E 0,6–0,8 onvoldoende; F < 0,6 ruim onvoldoende.",
        "Grade (NAR / University of Twente): A ≥ 2.0 excellent; B 1.4–2.0 amply sufficient; C 1.0–1.4 sufficient; "
        "D 0.8–1.0 moderate; E 0.6–0.8 insufficient; F < 0.6 amply insufficient.",
    ),
    "note_required": (
        (
            "De risicogestuurde benodigde weerstandscapaciteit is het verlies op de contante waarde van de portefeuille "
            "ten opzichte van de deterministische waardering dat bij {confidence} zekerheid niet wordt overschreden, "
            "inclusief gesimuleerde projectrisico's ({draws} trekkingen, seed {seed})."
        ),
        (
            "The risk-based required capacity is the loss of the portfolio's present value against the deterministic "
            "valuation that is not exceeded at {confidence} confidence, simulated project risks included "
            "({draws} draws, seed {seed})."
        ),
    ),
    "note_no_simulation": (
        "Zonder Monte Carlo-simulatie: alleen de IFLO-norm is berekend.",
        "Without a Monte Carlo simulation: only the IFLO norm is computed.",
    ),
    # risk tables
    "tab_mc_complexes": (
        "Contante waarde per complex in de simulatie",
        "Present value per complex in the simulation",
    ),
    "sheet_mc_complexes": ("MC per complex", "MC per complex"),
    "col_deterministic": ("Deterministisch", "Deterministic"),
    "col_p5": ("P5", "P5"),
    "col_p50": ("P50", "P50"),
    "col_p95": ("P95", "P95"),
    "col_probability_of_loss": ("Kans op tegenvaller", "Probability below deterministic"),
    "col_required_capacity": ("Benodigde capaciteit", "Required capacity"),
    "tab_percentiles": (
        "Contante waarde van de portefeuille: percentielen",
        "Present value of the portfolio: percentiles",
    ),
    "sheet_percentiles": ("MC percentielen", "MC percentiles"),
    "col_percentile": ("Percentiel", "Percentile"),
    "tab_reserve_path": (
        "Verloop algemene reserve grondbedrijf",
        "General reserve path",
    ),
    "sheet_reserve_path": ("Reserveverloop", "Reserve path"),
    "col_year": ("Jaar", "Year"),
    "tab_drivers": ("Bijdrage per risicofactor aan de spreiding", "Contribution of each driver to the spread"),
    "sheet_drivers": ("Risicofactoren", "Drivers"),
    "col_driver": ("Risicofactor", "Driver"),
    "col_width": ("Breedte P5–P95", "Width P5–P95"),
    "col_std": ("Standaardafwijking", "Standard deviation"),
    "col_variance_share": ("Aandeel in de som van de varianties", "Share of the sum of variances"),
    "driver_pace": ("Uitgiftetempo", "Sale pace"),
    "driver_delay": ("Vertraging", "Delay"),
    "driver_costs": ("Kostenstijging", "Cost indexation"),
    "driver_prices": ("Grondprijzen (opbrengstenstijging)", "Land prices (revenue indexation)"),
    "driver_interest": ("Rekenrente", "Interest rate"),
    "driver_risks": ("Projectrisico's", "Project risks"),
    "driver_all": ("Alle risicofactoren samen", "All drivers together"),
    "note_drivers": (
        (
            "Elke regel: de simulatie met alleen die risicofactor variabel, de andere op hun verwachte waarde. "
            "De varianties tellen niet exact op tot die van alle factoren samen (samenhang)."
        ),
        (
            "Each row: the simulation with only that driver varying, the others at their expected value. "
            "The variances do not add up exactly to that of all drivers together (interaction)."
        ),
    ),
    # years tables
    "tab_years": ("Verloop per complex en jaar", "Per complex and year"),
    "sheet_years": ("Per complex en jaar", "Per complex and year"),
    "col_costs_pl_year": ("Kosten (prijspeil)", "Costs (price level)"),
    "col_revenues_pl_year": ("Opbrengsten (prijspeil)", "Revenues (price level)"),
    "col_costs_year": ("Kosten (nominaal, incl. VO)", "Costs (nominal, with margin)"),
    "col_margin_year": ("Voorziene onzekerheden", "Uncertainty margin"),
    "col_revenues_year": ("Opbrengsten (nominaal)", "Revenues (nominal)"),
    "col_book_value_year": ("Boekwaarde 31-12", "Book value 31-12"),
    "tab_portfolio_years": (
        "Kosten en opbrengsten van de portefeuille per jaar",
        "Costs and revenues of the portfolio per year",
    ),
    "sheet_portfolio_years": ("Portefeuille per jaar", "Portfolio per year"),
    "col_net": ("Saldo (opbrengsten − kosten)", "Net (revenues − costs)"),
    # charts
    "fig_reserve_path": ("Verloop algemene reserve grondbedrijf", "General reserve of the land development company"),
    "fig_present_value": ("Contante waarde per complex", "Present value per complex"),
    "fig_distribution": ("Verdeling contante waarde portefeuille", "Distribution of the portfolio's present value"),
    "fig_book_value": ("Boekwaarde per jaar per complex", "Book value per year by complex"),
    "fig_costs_revenues": ("Kosten en opbrengsten per jaar", "Costs and revenues per year"),
    "fig_drivers": ("Bijdrage per risicofactor aan de spreiding", "Contribution of each driver to the spread"),
    "leg_deterministic": ("deterministisch", "deterministic"),
    "leg_band_90": ("P5–P95", "P5–P95"),
    "leg_band_50": ("P25–P75", "P25–P75"),
    "leg_median": ("mediaan (P50)", "median (P50)"),
    "leg_provision": ("voorziening", "provision"),
    "leg_present_value": ("contante waarde", "present value"),
    "leg_required": ("benodigde weerstandscapaciteit ({confidence})", "required capacity ({confidence})"),
    "leg_draws": ("trekkingen", "draws"),
    "leg_costs": ("kosten", "costs"),
    "leg_revenues": ("opbrengsten", "revenues"),
    "leg_net": ("saldo", "net"),
    "leg_other": ("overige complexen", "other complexes"),
    "leg_width": ("breedte P5–P95", "width P5–P95"),
    "axis_meur": ("mln euro", "EUR million"),
    "axis_year": ("jaar", "year"),
    "axis_count": ("aantal trekkingen", "number of draws"),
}


class Labels:
    """The words of one language: ``labels["title"]``, ``labels("subtotal", status=...)``.

    Parameters
    ----------
    lang : {"nl", "en"}
    """

    def __init__(self, lang: str = "nl") -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        self.lang = lang
        self._index = LANGUAGES.index(lang)

    def __getitem__(self, key: str) -> str:
        return _WORDS[key][self._index]

    def __call__(self, key: str, **values: Any) -> str:
        return self[key].format(**values)

    def number(self, value: float, decimals: int = 0) -> str:
        """A number with thousands separators in this language."""
        return format_value(value, "number", self.lang, decimals=decimals)

    def percent(self, value: float, decimals: int = 1) -> str:
        return format_value(value, "percent", self.lang, decimals=decimals)
