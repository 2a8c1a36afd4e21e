"""Words and number formats of the report, in Dutch (default) and English.

The Dutch words are the terms the council knows (docs/glossary.md); the
English ones follow the glossary's English names. Numbers are formatted the
way each language writes them: ``1.234,5`` in Dutch, ``1,234.5`` in English.
"""

from __future__ import annotations

from typing import Any

from grex.formatting import base_kind, format_value, rounded

__all__ = ["LANGUAGES", "Labels", "base_kind", "format_value", "rounded"]

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
    "thousands": ("bedragen × € 1.000", "amounts × € 1,000"),
    "contents": ("Inhoud", "Contents"),
    # page 1: key figures and verdict
    "sec_summary": ("Kerncijfers en conclusie", "Key figures and conclusion"),
    "tab_summary": ("Kerncijfers", "Key figures"),
    "sheet_summary": ("Kerncijfers", "Key figures"),
    "k_present_value": (
        "Resultaat portefeuille, contante waarde per 1-1-{year}",
        "Result of the portfolio, present value as at 1-1-{year}",
    ),
    "k_end_value": ("Resultaat portefeuille, eindwaarde (nominaal)", "Result of the portfolio, end value (nominal)"),
    "k_provision": ("Verliesvoorzieningen", "Loss provisions"),
    "k_poc": ("Tussentijdse winstneming", "Interim profit taken"),
    "k_required": ("Benodigde weerstandscapaciteit volgens beleid", "Required resistance capacity by the policy"),
    "k_available": ("Beschikbare weerstandsreserve", "Available resistance reserve"),
    "k_ratio": (
        "Ratio weerstandsvermogen volgens beleid (beschikbaar / benodigd)",
        "Resistance ratio by the policy (available / required)",
    ),
    "k_grade": ("Waardering (NAR) volgens beleid", "Grade (NAR) by the policy"),
    "k_policy": ("Norm van het beleid", "Norm of the policy"),
    "k_context_iflo": (
        "Ter vergelijking: benodigd volgens IFLO-norm",
        "For comparison: required by the IFLO norm",
    ),
    "k_context_risk": (
        "Ter vergelijking: benodigd risicogestuurd ({confidence} zekerheid)",
        "For comparison: required, risk based ({confidence} confidence)",
    ),
    "k_context_ratio_iflo": (
        "Ter vergelijking: ratio en waardering t.o.v. IFLO-norm",
        "For comparison: ratio and grade against the IFLO norm",
    ),
    "k_context_ratio_risk": (
        "Ter vergelijking: ratio en waardering t.o.v. risicogestuurd",
        "For comparison: ratio and grade against the risk-based capacity",
    ),
    "k_below_zero": (
        "Kans dat de algemene reserve grondbedrijf binnen tien jaar onder nul komt",
        "Probability that the general reserve falls below zero within ten years",
    ),
    "grade_A": ("uitstekend", "excellent"),
    "grade_B": ("ruim voldoende", "amply sufficient"),
    "grade_C": ("voldoende", "sufficient"),
    "grade_D": ("matig", "moderate"),
    "grade_E": ("onvoldoende", "insufficient"),
    "grade_F": ("ruim onvoldoende", "amply insufficient"),
    "norm_iflo": ("IFLO-norm", "IFLO norm"),
    "norm_risk": ("risicogestuurd ({confidence} zekerheid)", "risk based ({confidence} confidence)"),
    "norm_max": (
        "hoogste van IFLO-norm en risicogestuurd ({confidence} zekerheid)",
        "higher of the IFLO norm and the risk-based capacity ({confidence} confidence)",
    ),
    "norm_long_iflo": ("de IFLO-norm", "the IFLO norm"),
    "norm_long_risk": (
        "de risicogestuurde benodigde weerstandscapaciteit ({confidence} zekerheid)",
        "the risk-based required capacity ({confidence} confidence)",
    ),
    "norm_long_max": (
        "de hoogste van de IFLO-norm en de risicogestuurde benodigde weerstandscapaciteit ({confidence} zekerheid)",
        "the higher of the IFLO norm and the risk-based required capacity ({confidence} confidence)",
    ),
    "millions": ("€ {amount} miljoen", "€ {amount} million"),
    "v_result": (
        "Per 1-1-{year} hebben de {n} grondexploitaties samen een verwacht {outcome} van {pv} op contante waarde "
        "({ev} op eindwaarde).",
        "As at 1-1-{year} the {n} land development complexes together are expected to make a {outcome} of {pv} "
        "at present value ({ev} at end value).",
    ),
    "v_profit": ("voordelig saldo", "profit"),
    "v_loss": ("nadelig saldo", "loss"),
    "v_provision": (
        "Voor de verliesgevende complexen staat {provision} aan verliesvoorzieningen; {poc}.",
        "Loss provisions of {provision} cover the loss-making complexes; {poc}.",
    ),
    "v_no_provision": (
        "Geen vastgesteld complex is verliesgevend, dus er is geen verliesvoorziening nodig; {poc}.",
        "No adopted complex makes a loss, so no loss provision is needed; {poc}.",
    ),
    "v_poc": (
        "op de winstgevende complexen wordt {poc} tussentijds winst genomen",
        "{poc} of interim profit is taken on the profitable ones",
    ),
    "v_poc_none": ("tussentijdse winst wordt per saldo niet genomen", "on balance no interim profit is taken"),
    "v_poc_back": (
        "per saldo wordt {poc} aan eerder genomen tussentijdse winst teruggenomen",
        "on balance {poc} of interim profit taken earlier is taken back",
    ),
    "v_required": (
        "Het beleid meet het weerstandsvermogen af aan {norm}: daarvoor is {required} nodig, tegenover {available} "
        "beschikbare weerstandsreserve.",
        "The policy measures the resistance capacity against {norm}: it requires {required}, against an available "
        "resistance reserve of {available}.",
    ),
    "v_ratio_short": (
        "De ratio weerstandsvermogen is {ratio}, waardering {grade} ({label}): om een ratio van 1,0 te halen is "
        "{gap} extra weerstandsreserve nodig.",
        "The resistance ratio is {ratio}, grade {grade} ({label}): a ratio of 1.0 needs {gap} more resistance reserve.",
    ),
    "v_ratio_ok": (
        "De ratio weerstandsvermogen is {ratio}, waardering {grade} ({label}): de reserve is voldoende om de "
        "risico's op te vangen.",
        "The resistance ratio is {ratio}, grade {grade} ({label}): the reserve is enough to absorb the risks.",
    ),
    "v_context": (
        "Ter vergelijking: {other} is {required}; daartegen is de ratio {ratio} (waardering {grade}).",
        "For comparison: {other} is {required}; against it the ratio is {ratio} (grade {grade}).",
    ),
    "v_below_zero": (
        "De kans dat de algemene reserve grondbedrijf binnen tien jaar onder nul komt, is {p}.",
        "The probability that the general reserve falls below zero within ten years is {p}.",
    ),
    "v_no_simulation": (
        "Het beleid meet het weerstandsvermogen af aan {norm}; zonder Monte Carlo-simulatie is alleen de IFLO-norm "
        "berekend: {required} nodig, tegenover {available} beschikbaar; ratio {ratio}, waardering {grade}.",
        "The policy measures the resistance capacity against {norm}; without a Monte Carlo simulation only the IFLO "
        "norm is computed: {required} required, against {available} available; ratio {ratio}, grade {grade}.",
    ),
    "v_no_reserve": (
        "Er is geen beschikbare weerstandsreserve opgegeven; de ratio weerstandsvermogen is niet berekend "
        "(benodigd: {required}).",
        "No available resistance reserve is given; the resistance ratio is not computed (required: {required}).",
    ),
    "note_summary": (
        "Monte Carlo-uitkomsten zijn afgerond op wat hun standaardfout toelaat (op de macht van tien onder de "
        "standaardfout, minimaal € 10.000); de volledige waarden staan in het Excel-bestand.",
        "Monte Carlo figures are rounded to what their standard error supports (to the power of ten below the "
        "standard error, at least € 10,000); the workbook holds the full values.",
    ),
    # colophon
    "sec_colophon": ("Verantwoording", "Colophon"),
    "tab_colophon": ("Herkomst van de cijfers", "Provenance of the figures"),
    "sheet_colophon": ("Verantwoording", "Colophon"),
    "colophon_text": (
        "Deze rapportage is gemaakt met grex. De invoer-hash is de SHA-256 van het scenario en de portefeuille "
        "zoals ingelezen: dezelfde hash betekent dezelfde invoer, en met dezelfde seed en hetzelfde aantal "
        "trekkingen geeft grex dezelfde cijfers. Bedragen in de tabellen zijn in duizenden euro's; Monte "
        "Carlo-uitkomsten zijn afgerond op de macht van tien onder hun standaardfout (minimaal € 10.000).",
        "This report was made with grex. The input hash is the SHA-256 of the scenario and the portfolio as read: "
        "the same hash means the same input, and with the same seed and number of draws grex gives the same "
        "figures. Amounts in the tables are in thousands of euros; Monte Carlo figures are rounded to the power of "
        "ten below their standard error (at least € 10,000).",
    ),
    # sections
    "sec_parameters": ("Uitgangspunten", "Assumptions"),
    "sec_complexes": ("Grondexploitaties", "Land development"),
    "sec_resistance": ("Weerstandsvermogen", "Resistance capacity"),
    "sec_risk": ("Risicoanalyse (Monte Carlo)", "Risk analysis (Monte Carlo)"),
    "sec_charts": ("Grafieken", "Charts"),
    "sec_years": ("Verloop per jaar", "Per year"),
    # the sales programme against the market (issue 15)
    "sec_programme": ("Programmering", "Sales programme"),
    "par_programme": (
        "Geplande eenheden per markt en jaar tegenover wat de markt opneemt (de modus van de afzet), de "
        "overprogrammering (gepland min opneembaar) en de achterstand als de markt elk jaar de modus opneemt. "
        "De waardering rekent met het plan; de Monte Carlo verkoopt de eenheden zoals de markt ze opneemt.",
        "Planned units per market and year against what the market absorbs (the mode of its absorption), the "
        "over-programming (planned minus absorbable) and the backlog if the market takes its mode every year. "
        "The valuation uses the plan; the Monte Carlo sells the units as the market absorbs them.",
    ),
    "tab_programme": ("Programmering tegenover de markt", "Programme against the market"),
    "sheet_programme": ("Programmering", "Programme"),
    "col_market": ("Markt", "Market"),
    "col_unit": ("Eenheid", "Unit"),
    "col_planned": ("Gepland", "Planned"),
    "col_absorbable": ("Opneembaar", "Absorbable"),
    "col_over_programming": ("Overprogrammering", "Over-programming"),
    "col_over_programming_pct": ("Overprogrammering %", "Over-programming %"),
    "col_backlog": ("Achterstand", "Backlog"),
    "fig_programme": ("Geplande en opneembare eenheden per jaar", "Planned and absorbable units per year"),
    "cap_programme": (
        "Staven: geplande eenheden; lijn: wat de markt per jaar opneemt (modus).",
        "Bars: planned units; line: what the market absorbs a year (mode).",
    ),
    "leg_planned": ("gepland", "planned"),
    "leg_absorbable": ("opneembaar", "absorbable"),
    # parameters table
    "tab_parameters": ("Uitgangspunten van de berekening", "Assumptions of the calculation"),
    "sheet_parameters": ("Uitgangspunten", "Assumptions"),
    "col_parameter": ("Uitgangspunt", "Assumption"),
    "col_value": ("Waarde", "Value"),
    "p_scenario": ("Scenario", "Scenario"),
    "p_norm": ("Norm weerstandsvermogen (beleid)", "Norm of the resistance capacity (policy)"),
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
    "p_cost_shock": (
        "Schok kostenstijging: standaardafwijking per jaar",
        "Cost index shock: standard deviation a year",
    ),
    "p_cost_persistence": ("Schok kostenstijging: persistentie", "Cost index shock: persistence"),
    "p_price_shock": ("Schok grondprijzen: standaardafwijking per jaar", "Land price shock: standard deviation a year"),
    "p_price_persistence": ("Schok grondprijzen: persistentie", "Land price shock: persistence"),
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
    "tab_complexes": ("Resultaat per complex", "Result per complex"),
    "sheet_complexes": ("Complexen", "Complexes"),
    "col_project": ("Code", "Id"),
    "col_name": ("Complex", "Complex"),
    "col_status": ("Status", "Status"),
    "col_end_year": ("Eindjaar", "End year"),
    "col_duration": ("Looptijd (jaren)", "Duration (years)"),
    "col_exceeds": ("Langer dan {n} jaar", "Longer than {n} years"),
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
    "tab_resistance": ("Benodigde en beschikbare weerstandscapaciteit", "Required and available resistance capacity"),
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
    "r_policy_required": (
        "Benodigde weerstandscapaciteit volgens beleid ({norm})",
        "Required capacity by the policy ({norm})",
    ),
    "r_ratio": (
        "Ratio weerstandsvermogen volgens beleid (beschikbaar / benodigd)",
        "Resistance ratio by the policy (available / required)",
    ),
    "r_grade": ("Waardering (NAR) volgens beleid", "Grade (NAR) by the policy"),
    "r_ratio_risk": (
        "Ter vergelijking: ratio beschikbaar / risicogestuurd benodigd",
        "For comparison: ratio available / risk-based required",
    ),
    "r_grade_risk": (
        "Ter vergelijking: waardering (NAR) t.o.v. risicogestuurd",
        "For comparison: grade (NAR) against the risk-based capacity",
    ),
    "r_ratio_iflo": ("Ter vergelijking: ratio beschikbaar / IFLO-norm", "For comparison: ratio available / IFLO norm"),
    "r_grade_iflo": (
        "Ter vergelijking: waardering (NAR) t.o.v. IFLO-norm",
        "For comparison: grade (NAR) against the IFLO norm",
    ),
    "r_general": ("Algemene reserve grondbedrijf 1-1", "General reserve 1-1"),
    "r_below_zero": (
        "Kans dat de algemene reserve grondbedrijf binnen tien jaar onder nul komt",
        "Probability that the general reserve falls below zero within ten years",
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
    "col_probability_of_loss": ("Kans lager dan deterministisch", "Probability below deterministic"),
    "col_required_capacity": ("Benodigde capaciteit ({confidence})", "Required capacity ({confidence})"),
    "tab_percentiles": (
        "Contante waarde van de portefeuille: percentielen",
        "Present value of the portfolio: percentiles",
    ),
    "sheet_percentiles": ("MC percentielen", "MC percentiles"),
    "col_percentile": ("Percentiel", "Percentile"),
    "tab_reserve_path": (
        "Algemene reserve grondbedrijf per 31-12: percentielen",
        "General reserve at 31-12: percentiles",
    ),
    "note_reserve_path": (
        "Het jaar {year} is de stand op de waarderingsdatum 1-1-{next} (= 31-12-{year}): de opgegeven algemene "
        "reserve, voor alle trekkingen gelijk. Daarna de stand aan het eind van elk jaar.",
        "The year {year} is the balance at the valuation date 1-1-{next} (= 31-12-{year}): the general reserve "
        "given, the same in every draw. Then the balance at the end of each year.",
    ),
    "note_mc_rounding": (
        "Monte Carlo-uitkomsten afgerond op wat hun standaardfout toelaat (minimaal € 10.000).",
        "Monte Carlo figures rounded to what their standard error supports (at least € 10,000).",
    ),
    "sheet_reserve_path": ("Reserveverloop", "Reserve path"),
    # yearly revaluation (issue 16)
    "sec_revaluation": (
        "Herkenning van verliezen: de jaarlijkse herziening",
        "Recognising losses: the yearly revaluation",
    ),
    "revaluation_perfect": (
        "In elke trekking wordt de portefeuille aan het eind van ieder jaar opnieuw gewaardeerd, zoals de controller "
        "dat dan zou doen. ",
        "In every draw the portfolio is valued again at the end of each year, as the controller would then. ",
    ),
    "revaluation_plan": (
        "Regel 'plan': wat nog niet verkocht is schuift door naar de volgende jaren, in het tempo van het plan; "
        "prijzen volgen de indexreeks van het plan, niet de werkelijke schokken. Verliezen worden pas genomen als "
        "ze zich voordoen.",
        "Rule 'plan': what has not been sold moves to the following years, at the planned pace; prices follow the "
        "plan's index path, not the realised shocks. Losses are taken only as they occur.",
    ),
    "revaluation_adaptive": (
        "Regel 'adaptief': de resterende verkopen worden verwacht in een tempo dat voor {weight} het tot nu toe "
        "waargenomen tempo volgt en voor de rest het plan; prijzen en kosten liggen voor {weight} op het bereikte "
        "niveau en voor de rest op het plan.",
        "Rule 'adaptive': the remaining sales are expected at a pace that follows the pace observed so far for "
        "{weight} and the plan for the rest; prices and costs sit at the level reached for {weight} and at the "
        "plan for the rest.",
    ),
    "revaluation_delay": (
        "De herkenningsvertraging is het verschil tussen de mediaan van de reserve onder deze regel en die bij "
        "volmaakte voorkennis (alle verliezen direct genomen): het verlies dat eind van het jaar nog niet in de "
        "boeken staat.",
        "The recognition delay is the difference between the median reserve under this rule and with perfect "
        "foresight (every loss taken at once): the loss not yet in the books at the end of the year.",
    ),
    "tab_revaluation": ("Reserve, voorzieningen en risico per jaar", "Reserve, provisions and risk per year"),
    "sheet_revaluation": ("Jaarlijkse herziening", "Yearly revaluation"),
    "col_reserve_rule": ("Reserve P50 (regel)", "Reserve P50 (rule)"),
    "col_reserve_perfect": ("Reserve P50 (voorkennis)", "Reserve P50 (foresight)"),
    "col_recognition_delay": ("Herkenningsvertraging", "Recognition delay"),
    "col_provision_p50": ("Voorzieningen P50", "Provisions P50"),
    "col_below_zero": ("Kans reserve < 0", "Probability reserve < 0"),
    "col_required_year": ("Benodigd (MPG van dat jaar)", "Required (that year's MPG)"),
    "fig_recognition": ("Herkenningsvertraging", "Recognition delay"),
    "cap_recognition": (
        "Mediaan van de algemene reserve onder de regel van het scenario en bij volmaakte voorkennis; het vlak "
        "ertussen is het verlies dat nog niet herkend is, de stippellijn de mediaan van de voorzieningen.",
        "Median general reserve under the scenario's rule and with perfect foresight; the area between is the "
        "loss not yet recognised, the dotted line the median of the provisions.",
    ),
    "leg_rule": ("Mediaan, regel", "Median, rule"),
    "leg_perfect": ("Mediaan, volmaakte voorkennis", "Median, perfect foresight"),
    "leg_provisions": ("Voorzieningen (mediaan)", "Provisions (median)"),
    "col_year": ("Jaar", "Year"),
    "tab_drivers": ("Spreiding per risicofactor", "Spread per driver"),
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
    "col_costs_year": (
        "Kosten (nominaal, incl. voorziene onzekerheden)",
        "Costs (nominal, with the uncertainty margin)",
    ),
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
    "cap_reserve_path": (
        "De algemene reserve grondbedrijf aan het eind van elk jaar: de doorgetrokken lijn volgt het plan, de "
        "vlakken tonen waar de reserve in 50% en 90% van de gesimuleerde toekomsten uitkomt; het eerste jaar is de "
        "stand op de waarderingsdatum.",
        "The general reserve at the end of each year: the solid line follows the plan, the bands show where the "
        "reserve ends up in 50% and 90% of the simulated futures; the first year is the balance at the valuation "
        "date.",
    ),
    "cap_present_value": (
        "Verwacht resultaat per complex op contante waarde (rechts winst, links verlies); de gearceerde balk "
        "eronder is de verliesvoorziening die voor dat complex is getroffen.",
        "Expected result per complex at present value (right profit, left loss); the hatched bar below it is the "
        "loss provision taken for that complex.",
    ),
    "cap_distribution": (
        "Hoe vaak elke uitkomst van de portefeuille in de simulatie voorkomt; de afstand tussen de doorgetrokken "
        "en de gestippelde lijn is de risicogestuurde benodigde weerstandscapaciteit.",
        "How often each result of the portfolio occurs in the simulation; the distance between the solid and the "
        "dashed line is the risk-based required capacity.",
    ),
    "cap_book_value": (
        "De boekwaarde (geïnvesteerd bedrag dat nog moet worden terugverdiend) aan het eind van elk jaar, per "
        "complex gestapeld; onder nul zijn complexen die meer hebben opgebracht dan gekost.",
        "The book value (money invested still to be earned back) at the end of each year, stacked per complex; "
        "below zero are complexes that have earned more than they cost.",
    ),
    "cap_costs_revenues": (
        "Geplande kosten en opbrengsten van alle complexen samen per jaar, met het saldo als lijn.",
        "Planned costs and revenues of all complexes together per year, with the balance as a line.",
    ),
    "cap_drivers": (
        "Hoe breed de uitkomsten van de portefeuille uiteenlopen als alleen die ene risicofactor varieert; de "
        "onderste balk is alle factoren samen.",
        "How widely the results of the portfolio spread when only that one driver varies; the bottom bar is all "
        "drivers together.",
    ),
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
    "leg_loss": ("contante waarde (verlies)", "present value (loss)"),
    "leg_profit": ("contante waarde (winst)", "present value (profit)"),
    "leg_negative": ("negatief (meer opgebracht dan gekost)", "negative (earned more than cost)"),
    "leg_draws": ("trekkingen", "draws"),
    "leg_costs": ("kosten", "costs"),
    "leg_revenues": ("opbrengsten", "revenues"),
    "leg_net": ("saldo", "net"),
    "leg_other": ("overige complexen", "other complexes"),
    "leg_width": ("breedte P5–P95", "width P5–P95"),
    "axis_meur": ("mln euro", "€ million"),
    "axis_year": ("jaar", "year"),
    "axis_year_end": ("stand per 31-12 van het jaar", "balance at 31-12 of the year"),
    "leg_valuation_date": ("stand {date}", "balance {date}"),
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

    def millions(self, value: float, kind: str = "euro") -> str:
        """An amount in words for a sentence: ``€ 15,1 miljoen``, rounded as its ``kind`` says first.

        The sign is kept (``€ -1,2 miljoen``); one decimal.
        """
        amount = rounded(value, kind) / 1e6
        if round(amount, 1) == 0:
            amount = 0.0  # no "-0,0"
        return self("millions", amount=format_value(amount, "number", self.lang, decimals=1))
