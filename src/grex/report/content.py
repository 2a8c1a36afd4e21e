"""The content of the MPG report, built once as a neutral structure.

:func:`build_report` turns a :class:`~grex.valuation.Valuation` and a Monte
Carlo simulation (:func:`grex.montecarlo.simulate`) into a :class:`Report`:
sections holding paragraphs, tables (DataFrames with a kind per column) and
charts (functions that draw into a matplotlib figure). The renderers
(:mod:`grex.report.html`, :mod:`grex.report.pdf`, :mod:`grex.report.xlsx`)
only lay this structure out; every figure in the report is computed here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from grex import __version__
from grex.plot import charts
from grex.portfolio import STATUSES
from grex.report.labels import Labels, base_kind, format_value, rounded
from grex.reserves import IFLO_BOOK_VALUE_STATUSES, IFLO_REMAINING_COSTS_STATUSES, reserve_figures
from grex.valuation import Valuation

__all__ = [
    "DRIVERS",
    "MIN_UNIT",
    "Chart",
    "Column",
    "Report",
    "Section",
    "SimulationLike",
    "Table",
    "build_report",
    "mc_kind",
    "mc_unit",
    "standard_error",
    "std_kind",
    "untitled",
]

#: Drivers of the Monte Carlo whose contribution to the spread is shown.
DRIVERS = ("pace", "delay", "costs", "prices", "interest", "risks")
#: Output formats a table or chart can appear in.
FORMATS = frozenset({"html", "pdf", "xlsx"})
#: Smallest rounding unit of a Monte Carlo amount. [EUR]
MIN_UNIT = 10_000
#: Batches of the batch-means standard error (as :data:`grex.montecarlo.BATCHES`).
SE_BATCHES = 20


def mc_unit(standard_error: float) -> int:
    """Rounding unit of a Monte Carlo amount: the power of ten at or below its standard error, at least € 10.000.

    Examples
    --------
    >>> mc_unit(178_825.0), mc_unit(54_321.0), mc_unit(2_000.0), mc_unit(float("nan"))
    (100000, 10000, 10000, 10000)
    """
    if not math.isfinite(standard_error) or standard_error <= 0:
        return MIN_UNIT
    return max(MIN_UNIT, 10 ** math.floor(math.log10(standard_error)))


def mc_kind(standard_error: float) -> str:
    """The cell kind of a Monte Carlo amount: thousands of euros, rounded to :func:`mc_unit` (``"keur~5"``)."""
    return f"keur~{round(math.log10(mc_unit(standard_error)))}"


def untitled(figure: Any) -> Any:
    """The chart without its own axes title: the report prints the chart's title above it (no heading twice)."""
    for ax in figure.axes:
        ax.set_title("")
    return figure


def std_kind(standard_deviation: float, draws: int) -> str:
    """The cell kind of a simulated standard deviation: rounded to its standard error ``sd / sqrt(2 (n - 1))``.

    The same rule wherever a standard deviation of the Monte Carlo is printed
    (the risk analysis and the sensitivity analysis), so both print the same figure.
    """
    if draws < 2:
        return mc_kind(math.nan)
    return mc_kind(standard_deviation / math.sqrt(2.0 * (draws - 1)))


def standard_error(values: Any, statistic: Callable[[Any], Any]) -> Any:
    """Batch-means standard error of ``statistic`` over the draws (axis 0), as the required capacity's.

    The draws in :data:`SE_BATCHES` consecutive batches, the statistic of
    each, their standard deviation over ``sqrt(SE_BATCHES)``; NaN under 200
    draws. ``statistic`` maps an array of draws (axis 0) to a number or an
    array of numbers.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 10 * SE_BATCHES:
        return np.full(np.shape(statistic(values)), np.nan)[()]
    parts = np.array([statistic(part) for part in np.array_split(values, SE_BATCHES)])
    return (parts.std(axis=0, ddof=1) / math.sqrt(SE_BATCHES))[()]


class SimulationLike(Protocol):
    """What the report reads of a :class:`grex.montecarlo.Simulation` (read only)."""

    @property
    def draws(self) -> int: ...
    @property
    def seed(self) -> Any: ...
    @property
    def portfolio_present_value(self) -> NDArray[np.float64]: ...
    @property
    def required_capacity(self) -> float: ...
    @property
    def required_capacity_standard_error(self) -> float: ...
    @property
    def expected_shortfall(self) -> float: ...
    @property
    def probability_of_loss(self) -> float: ...
    @property
    def probability_reserve_below_zero(self) -> float: ...
    @property
    def ratio(self) -> float | None: ...
    @property
    def present_value(self) -> NDArray[np.float64]: ...

    def per_complex(self) -> pd.DataFrame: ...
    def percentiles(self) -> Mapping[str, float]: ...
    def reserve_path(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Column:
    """A column of a table.

    Attributes
    ----------
    key : str
        Column of the table's frame.
    label : str
        Heading, in the report's language.
    kind : str
        How to show a cell (:func:`grex.report.labels.format_value`);
        ``"mixed"`` takes the kind of each row from the frame's ``kind`` column;
        where the frame has a column ``kind:<key>``, each cell's kind is read
        from it (Monte Carlo amounts, each rounded to its own standard error).
    formats : frozenset of str
        Where the column appears (the workbook may hold more than the page).
    """

    key: str
    label: str
    kind: str = "text"
    formats: frozenset[str] = FORMATS


@dataclass(frozen=True)
class Table:
    """A titled table.

    Attributes
    ----------
    key : str
    title : str
    sheet : str
        Name of its sheet in the workbook (≤ 31 characters).
    frame : DataFrame
        The values, unformatted: amounts in euros, rates as decimals.
    columns : tuple of Column
    row_kinds : tuple of str
        Per row: ``"row"``, ``"group"`` (a heading row), ``"subtotal"`` or ``"total"``.
    notes : tuple of str
        Lines printed under the table.
    wide : bool
        Many columns: a landscape page in print.
    formats : frozenset of str
        Where the table appears.
    """

    key: str
    title: str
    sheet: str
    frame: pd.DataFrame
    columns: tuple[Column, ...]
    row_kinds: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    wide: bool = False
    formats: frozenset[str] = FORMATS

    def __post_init__(self) -> None:
        if not self.row_kinds:
            object.__setattr__(self, "row_kinds", ("row",) * len(self.frame))
        if len(self.row_kinds) != len(self.frame):
            raise ValueError(f"row_kinds has {len(self.row_kinds)} entries for {len(self.frame)} rows")

    def title_for(self, fmt: str, labels: Labels) -> str:
        """The title, with the unit where amounts are shown in thousands (not in the workbook)."""
        if fmt != "xlsx" and any(
            base_kind(self.cell_kind(c, i)) == "keur" for c in self.columns_for(fmt) for i in range(len(self.frame))
        ):
            return f"{self.title} ({labels['thousands']})"
        return self.title

    def columns_for(self, fmt: str) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if fmt in c.formats)

    def cell_kind(self, column: Column, row: int) -> str:
        if column.kind == "mixed":
            return str(self.frame["kind"].iat[row])
        own = f"kind:{column.key}"
        if own in self.frame.columns and self.frame[own].iat[row] is not None:
            return str(self.frame[own].iat[row])
        return column.kind

    def display(self, fmt: str, lang: str) -> list[list[str]]:
        """The cells of the rows as text, for the columns shown in ``fmt``."""
        columns = self.columns_for(fmt)
        return [
            [format_value(self.frame[c.key].iat[i], self.cell_kind(c, i), lang) for c in columns]
            for i in range(len(self.frame))
        ]


@dataclass(frozen=True)
class Chart:
    """A titled chart: ``draw(figure)`` draws it into a matplotlib Figure or SubFigure.

    Attributes
    ----------
    size : tuple of float
        Width and height at which it reads well. [inch]
    """

    key: str
    title: str
    draw: Callable[[Any], object]
    caption: str = ""
    size: tuple[float, float] = (7.0, 3.6)
    formats: frozenset[str] = FORMATS


@dataclass(frozen=True)
class Section:
    """A titled section: paragraphs, then tables, then charts."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class Report:
    """The whole report, language chosen, ready for the renderers.

    Attributes
    ----------
    lang : str
    title, subtitle : str
    notice : str or None
        The illustrative notice, where the scenario is illustrative.
    provenance : dict
        ``version, scenario, input_hash, seed, draws, date`` (date as ISO text).
    provenance_line : str
        The line printed on every page and sheet.
    sections : tuple of Section
    """

    lang: str
    title: str
    subtitle: str
    notice: str | None
    provenance: dict[str, Any]
    provenance_line: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def tables(self, fmt: str | None = None) -> list[Table]:
        return [t for s in self.sections for t in s.tables if fmt is None or fmt in t.formats]

    def charts(self, fmt: str | None = None) -> list[Chart]:
        return [c for s in self.sections for c in s.charts if fmt is None or fmt in c.formats]


def build_report(
    valuation: Valuation,
    simulation: SimulationLike | None = None,
    *,
    drivers: Mapping[str, SimulationLike] | None = None,
    lang: str = "nl",
    date: dt.date | None = None,
    extra_sections: Sequence[Section] | Callable[[Labels], Sequence[Section]] = (),
) -> Report:
    """Build the MPG report of a valuation and its Monte Carlo simulation.

    Parameters
    ----------
    valuation : Valuation
        The deterministic valuation (``grex run``).
    simulation : Simulation, optional
        The Monte Carlo of the same scenario (:func:`grex.montecarlo.simulate`);
        without it the report holds the deterministic figures and the IFLO norm.
    drivers : mapping of str to Simulation, optional
        Per driver (``pace, delay, costs, prices, interest, risks``) a simulation with only
        that driver varying; gives the table and chart of each driver's
        contribution to the spread.
    lang : {"nl", "en"}, keyword-only
    date : datetime.date, optional
        The report date (default today).
    extra_sections : sequence of Section, or a callable taking the Labels
        Sections added after the standard ones (e.g. the comparison with a
        previous MPG, ``grex diff``).
    """
    labels = Labels(lang)
    scenario = valuation.scenario
    date = date or dt.date.today()
    provenance = {
        "version": __version__,
        "scenario": scenario.name,
        "input_hash": valuation.input_hash,
        "seed": None if simulation is None else simulation.seed,
        "draws": None if simulation is None else int(simulation.draws),
        "date": date.isoformat(),
    }
    if simulation is None:
        seed_text, draws_text = "–", labels["no_simulation"]
    else:
        seed_text, draws_text = str(simulation.seed), labels.number(simulation.draws)
    line = labels(
        "provenance",
        version=__version__,
        scenario=scenario.name,
        hash=valuation.input_hash[:12],
        seed=seed_text,
        draws=draws_text,
        date=format_value(date, "date", lang),
    )
    if simulation is None:
        line = line.replace(f" · {draws_text} trekkingen", f" · {draws_text}").replace(
            f" · {draws_text} draws", f" · {draws_text}"
        )
    sections = [
        _summary_section(valuation, simulation, labels),
        _complexes_section(valuation, labels),
        _resistance_section(valuation, simulation, labels),
    ]
    if simulation is not None:
        sections.append(_risk_section(valuation, simulation, drivers, labels))
        revaluation = _revaluation_section(simulation, labels)
        if revaluation is not None:
            sections.append(revaluation)
    sections.append(_charts_section(valuation, simulation, drivers, labels))
    sections.append(_years_section(valuation, labels))
    programme = _programme_section(valuation, labels)
    if programme is not None:
        sections.append(programme)
    extra = extra_sections(labels) if callable(extra_sections) else extra_sections
    sections.extend(extra)
    sections.append(
        Section(
            "parameters", labels["sec_parameters"], tables=(_parameters_table(valuation, simulation, labels, date),)
        )
    )
    sections.append(_colophon_section(valuation, provenance, labels, date))
    return Report(
        lang=lang,
        title=labels["title"],
        subtitle=labels("subtitle", name=scenario.name, year=scenario.valuation_year),
        notice=labels["notice"] if scenario.illustrative else None,
        provenance=provenance,
        provenance_line=line,
        sections=tuple(sections),
    )


# ---------------------------------------------------------------------------
# sections


def _policy(valuation: Valuation, simulation) -> dict[str, Any]:
    """The resistance figures of :func:`grex.reserves.reserve_figures`, with the Monte Carlo rounding.

    ``risk`` (the risk-based capacity) and ``required`` (the policy's) are
    rounded to what the standard error supports; ``risk_kind`` is their cell
    kind. Ratios are of the unrounded figures, as ``summary.json`` holds them.
    """
    reserves = valuation.scenario.reserves
    iflo = valuation.iflo_norm()
    risk = None if simulation is None else float(simulation.required_capacity)
    figures = reserve_figures(reserves.norm, reserves.resistance_reserve, iflo, risk)
    risk_kind = "keur" if simulation is None else mc_kind(float(simulation.required_capacity_standard_error))
    required = figures.get("required_capacity_policy")
    required_kind = risk_kind if required is not None and required == risk and required != iflo else "keur"
    return {
        **figures,
        "available": reserves.resistance_reserve,
        "iflo": iflo,
        "risk": risk,
        "risk_kind": risk_kind,
        "required": required,
        "required_kind": required_kind,
    }


def _grade_words(letter: str | None, label: str | None, labels: Labels | None = None) -> str:
    """``F (ruim onvoldoende)``: the letter and its words, in the report's language where ``labels`` is given."""
    if letter is None:
        return "–"
    return f"{letter} ({label if labels is None else labels[f'grade_{letter}']})"


def _summary_section(valuation: Valuation, simulation, labels: Labels) -> Section:
    """Page 1: the key figures (kerncijfers) and the verdict in three to five sentences."""
    scenario = valuation.scenario
    reserves = scenario.reserves
    totals = valuation.totals()["total"]
    confidence = labels.percent(reserves.confidence, 0)
    policy = _policy(valuation, simulation)
    norm = reserves.norm
    rows: list[tuple[str, Any, str]] = [
        (labels("k_present_value", year=scenario.valuation_year), totals["present_value"], "keur"),
        (labels["k_end_value"], totals["end_value"], "keur"),
        (labels["k_provision"], totals["provision"], "keur"),
        (labels["k_poc"], totals["poc_profit"], "keur"),
        (labels["k_policy"], labels(f"norm_{norm}", confidence=confidence), "text"),
    ]
    if policy["required"] is not None:
        rows.append((labels["k_required"], policy["required"], policy["required_kind"]))
    rows.append(_amount_row(labels["k_available"], reserves.resistance_reserve, labels))
    if "ratio" in policy and policy["ratio"] is not None:
        rows += [
            (labels["k_ratio"], float(policy["ratio"]), "ratio"),
            (labels["k_grade"], _grade_words(policy["grade"], policy["grade_label"], labels), "text"),
        ]
    # the other capacities, as context
    # (the one the policy takes is not repeated)
    if norm != "iflo" and policy["required"] != policy["iflo"]:
        rows.append((labels["k_context_iflo"], policy["iflo"], "keur"))
    if policy["risk"] is not None and norm != "risk" and policy["required"] != policy["risk"]:
        rows.append((labels("k_context_risk", confidence=confidence), policy["risk"], policy["risk_kind"]))
    for suffix in ("iflo", "risk"):
        ratio = policy.get(f"ratio_{suffix}")
        if ratio is None or (policy.get("ratio") is not None and policy["required"] == policy[suffix]):
            continue  # the policy's own ratio, shown above
        text = f"{labels.number(ratio, 2)} · {_grade_words(policy[f'grade_{suffix}'], policy[f'grade_{suffix}_label'], labels)}"
        rows.append((labels[f"k_context_ratio_{suffix}"], text, "text"))
    if simulation is not None and reserves.general_reserve is not None:
        rows.append((labels["k_below_zero"], float(simulation.probability_reserve_below_zero), "percent~0"))
    notes = (labels["note_summary"],) if simulation is not None else ()
    table = _mixed(rows, labels, "summary", labels["tab_summary"], labels["sheet_summary"], notes)
    return Section(
        "summary", labels["sec_summary"], paragraphs=(_verdict(valuation, simulation, policy, labels),), tables=(table,)
    )


def _verdict(valuation: Valuation, simulation, policy: Mapping[str, Any], labels: Labels) -> str:
    """Three to five sentences of plain language, every figure as the key-figure table shows it."""
    scenario = valuation.scenario
    reserves = scenario.reserves
    totals = valuation.totals()["total"]
    confidence = labels.percent(reserves.confidence, 0)
    million = labels.millions
    pv, ev = totals["present_value"], totals["end_value"]
    sentences = [
        labels(
            "v_result",
            year=scenario.valuation_year,
            n=int(totals["complexes"]),
            outcome=labels["v_profit"] if pv >= 0 else labels["v_loss"],
            pv=million(abs(pv)),
            ev=million(abs(ev)),
        ),
    ]
    poc = totals["poc_profit"]
    if round(poc / 1e6, 1) > 0:
        poc_words = labels("v_poc", poc=million(poc))
    elif round(poc / 1e6, 1) < 0:
        poc_words = labels("v_poc_back", poc=million(-poc))
    else:
        poc_words = labels["v_poc_none"]
    if round(totals["provision"] / 1e6, 1) > 0:
        sentences.append(labels("v_provision", provision=million(totals["provision"]), poc=poc_words))
    else:
        sentences.append(labels("v_no_provision", poc=poc_words))
    norm_words = labels(f"norm_long_{reserves.norm}", confidence=confidence)
    available = reserves.resistance_reserve
    if available is None:
        required = policy["required"] if policy["required"] is not None else policy["iflo"]
        kind = policy["required_kind"] if policy["required"] is not None else "keur"
        sentences.append(labels("v_no_reserve", required=million(required, kind)))
    elif policy["required"] is None:
        sentences.append(
            labels(
                "v_no_simulation",
                norm=norm_words,
                required=million(policy["iflo"]),
                available=million(available),
                ratio=labels.number(policy["ratio_iflo"], 2),
                grade=_grade_words(policy["grade_iflo"], policy["grade_iflo_label"], labels),
            )
        )
    else:
        required, kind = policy["required"], policy["required_kind"]
        sentences.append(
            labels("v_required", norm=norm_words, required=million(required, kind), available=million(available))
        )
        ratio = policy["ratio"]
        if ratio is not None:
            grade = {
                "grade": policy["grade"],
                "label": labels[f"grade_{policy['grade']}"],
                "ratio": labels.number(ratio, 2),
            }
            if ratio < 1:
                gap = rounded(required, kind) - available
                sentences.append(labels("v_ratio_short", gap=million(gap), **grade))
            else:
                sentences.append(labels("v_ratio_ok", **grade))
        context = [s for s in ("iflo", "risk") if policy.get(f"ratio_{s}") is not None and policy[s] != required]
        if context and len(sentences) < 5:
            other = context[0]
            sentences.append(
                labels(
                    "v_context",
                    other=labels(f"norm_long_{other}", confidence=confidence),
                    required=million(policy[other], policy["risk_kind"] if other == "risk" else "keur"),
                    ratio=labels.number(policy[f"ratio_{other}"], 2),
                    grade=policy[f"grade_{other}"],
                )
            )
    if simulation is not None and reserves.general_reserve is not None and len(sentences) < 5:
        p = float(simulation.probability_reserve_below_zero)
        sentences.append(labels("v_below_zero", p=format_value(p, "percent~0", labels.lang)))
    return " ".join(sentences)


def _colophon_section(valuation: Valuation, provenance: Mapping[str, Any], labels: Labels, date: dt.date) -> Section:
    """The provenance at the end: version, scenario, input hash, seed, draws and date."""
    rows: list[tuple[str, Any, str]] = [
        (labels["p_version"], provenance["version"], "text"),
        (labels["p_scenario"], provenance["scenario"], "text"),
        (labels["p_hash"], provenance["input_hash"], "text"),
        (labels["p_seed"], "–" if provenance["seed"] is None else int(provenance["seed"]), "year"),
        (
            labels["p_draws"],
            provenance["draws"] or labels["no_simulation"],
            "integer" if provenance["draws"] else "text",
        ),
        (labels["p_date"], date, "date"),
    ]
    if provenance["seed"] is None:
        rows[3] = (labels["p_seed"], "–", "text")
    table = _mixed(rows, labels, "colophon", labels["tab_colophon"], labels["sheet_colophon"])
    return Section("colophon", labels["sec_colophon"], paragraphs=(labels["colophon_text"],), tables=(table,))


def _mixed(rows: list[tuple[str, Any, str]], labels: Labels, key: str, title: str, sheet: str, notes=()) -> Table:
    frame = pd.DataFrame(rows, columns=["item", "value", "kind"])
    frame["value"] = frame["value"].astype(object)
    return Table(
        key,
        title,
        sheet,
        frame,
        (
            Column("item", labels["col_parameter"] if key == "parameters" else labels["col_item"]),
            Column("value", labels["col_value"], "mixed"),
        ),
        notes=tuple(notes),
    )


def _parameters_table(valuation: Valuation, simulation, labels: Labels, date: dt.date) -> Table:
    scenario = valuation.scenario
    params, reserves = scenario.parameters, scenario.reserves
    basis = {"present_value": labels["present_value"], "end_value": labels["end_value"]}
    rows: list[tuple[str, Any, str]] = [
        (labels["p_scenario"], scenario.name, "text"),
        (labels["p_valuation_date"], dt.date(scenario.valuation_year, 1, 1), "date"),
    ]
    interest = params.interest_path
    if not interest.by_year:
        rows.append((labels["p_interest"], interest.default, "percent"))
    else:
        rows += [(labels("p_interest_year", year=y), r, "percent") for y, r in sorted(interest.by_year.items())]
        rows.append((labels["p_interest_default"], interest.default, "percent"))
    rows += [
        (labels["p_discount"], params.discount_rate, "percent"),
        (labels["p_discount_periods"], labels[f"discount_{params.discount_periods}"], "text"),
        (labels["p_present_value_method"], labels[f"pv_{params.present_value_method}"], "text"),
    ]
    for path, one, year_key, default_key, words in (
        (params.cost_index, "p_cost_index", "p_cost_index_year", "p_cost_index_default", {}),
        *(
            (p, "p_cost_index_category", "p_cost_index_category_year", "p_cost_index_category_default", {"category": c})
            for c, p in params.cost_index_by_category.items()
        ),
        (params.revenue_index, "p_revenue_index", "p_revenue_index_year", "p_revenue_index_default", {}),
    ):
        if not path.by_year:
            rows.append((labels(one, **words), path.default, "percent"))
            continue
        rows += [(labels(year_key, year=year, **words), rate, "percent") for year, rate in sorted(path.by_year.items())]
        rows.append((labels(default_key, **words), path.default, "percent"))
    rows += [
        (labels["p_margin"], params.uncertainty_margin, "percent"),
        (labels["p_max_duration"], params.max_duration, "integer"),
        (labels["p_index_after"], labels["yes"] if params.index_revenues_after_max_duration else labels["no"], "text"),
        (labels["p_provision_basis"], basis[params.provision_basis], "text"),
        (labels["p_poc_basis"], basis[params.poc_basis], "text"),
        (labels["p_iflo_book"], reserves.iflo_book_value_share, "percent"),
        (labels["p_iflo_costs"], reserves.iflo_remaining_costs_share, "percent"),
        (labels["p_confidence"], reserves.confidence, "percent"),
        (labels["p_norm"], labels(f"norm_{reserves.norm}", confidence=labels.percent(reserves.confidence, 0)), "text"),
        _amount_row(labels["p_resistance_reserve"], reserves.resistance_reserve, labels),
        _amount_row(labels["p_general_reserve"], reserves.general_reserve, labels),
    ]
    if simulation is not None:
        mc = scenario.montecarlo

        def triangle(t) -> str:
            if t.uniform:  # no mode
                return f"{labels.number(t.low, 2)} / – / {labels.number(t.high, 2)} ({labels['uniform']})"
            return " / ".join(labels.number(v, 2) for v in (t.low, t.mode, t.high))

        def points(t) -> str:
            # a shift of a rate in percentage points
            values = (t.low, t.high) if t.uniform else (t.low, t.mode, t.high)
            text = " / ".join(labels.number(v * 100, 2) for v in values)
            return f"{text} ({labels['uniform']})" if t.uniform else text

        rows += [
            (labels["p_draws"], int(simulation.draws), "integer"),
            (labels["p_seed"], simulation.seed if simulation.seed is None else int(simulation.seed), "year"),
            (labels["p_bounds"], labels[f"p_bounds_{mc.bounds}"], "text"),
            (labels["p_market_pace"], triangle(mc.market_pace), "text"),
            (labels["p_complex_pace"], triangle(mc.complex_pace), "text"),
            (labels["p_delay"], triangle(mc.delay), "text"),
            (labels["p_cost_shock"], mc.cost_shock.sd, "percent"),
            (labels["p_cost_persistence"], mc.cost_shock.persistence, "ratio"),
            (labels["p_price_shock"], mc.price_shock.sd, "percent"),
            (labels["p_price_persistence"], mc.price_shock.persistence, "ratio"),
            (labels["p_interest_shift"], points(mc.interest), "text"),
            (labels["p_complex_overrides"], ", ".join(_names(valuation, sorted(mc.complexes))) or "–", "text"),
            (labels["p_risks"], len(scenario.risks), "integer"),
        ]
    return _mixed(rows, labels, "parameters", labels["tab_parameters"], labels["sheet_parameters"])


def _names(valuation: Valuation, projects: Sequence[str]) -> list[str]:
    """The names of complexes, by their codes (a code where there is no name)."""
    names = dict(zip(valuation.inputs.projects, valuation.inputs.names, strict=False))
    return [str(names.get(p, p)) for p in projects]


def _amount_row(label: str, amount: float | None, labels: Labels) -> tuple[str, Any, str]:
    return (label, labels["not_given"], "text") if amount is None else (label, float(amount), "keur")


#: Amount columns of the per-complex table: (column of Valuation.complexes(), label key).
_COMPLEX_AMOUNTS = (
    ("book_value", "col_book_value"),
    ("remaining_costs_price_level", "col_costs_pl"),
    ("remaining_revenues_price_level", "col_revenues_pl"),
    ("remaining_costs", "col_costs"),
    ("remaining_revenues", "col_revenues"),
    ("uncertainty_margin_amount", "col_margin"),
    ("interest", "col_interest"),
    ("end_value", "col_end_value"),
    ("present_value", "col_present_value"),
    ("provision", "col_provision"),
    ("poc_profit", "col_poc"),
)


def _measure(valuation: Valuation, labels: Labels) -> str:
    params = valuation.scenario.parameters
    if params.index_revenues_after_max_duration:
        return labels["measure_none"]
    return labels("measure_freeze", n=params.max_duration)


def _complexes_section(valuation: Valuation, labels: Labels) -> Section:
    frame = valuation.complexes()
    params = valuation.scenario.parameters
    measure = _measure(valuation, labels)
    frame["measure"] = np.where(frame["exceeds_max_duration"], measure, "")
    frame["status_label"] = frame["status"].map(lambda s: labels[f"short_{s}"])
    amounts = [key for key, _ in _COMPLEX_AMOUNTS]
    parts, kinds = [], []
    for status in STATUSES:
        part = frame[frame["status"] == status]
        if part.empty:
            continue
        parts.append(pd.DataFrame([{"name": labels[f"status_{status}"]}]))
        kinds.append("group")
        parts.append(part)
        kinds += ["row"] * len(part)
        subtotal: dict[str, Any] = {"name": labels("subtotal", status=labels[f"short_{status}"])}
        subtotal.update({key: part[key].sum() for key in amounts})
        parts.append(pd.DataFrame([subtotal]))
        kinds.append("subtotal")
    total: dict[str, Any] = {"name": labels["total"]}
    total.update({key: frame[key].sum() for key in amounts})
    parts.append(pd.DataFrame([total]))
    kinds.append("total")
    shown = pd.concat(parts, ignore_index=True).astype(object)
    shown = shown.where(pd.notna(shown), None)
    xlsx = frozenset({"xlsx"})
    columns = (
        Column("project", labels["col_project"], formats=xlsx),
        Column("name", labels["col_name"]),
        Column("status_label", labels["col_status"], formats=xlsx),
        Column("end_year", labels["col_end_year"], "year"),
        Column("duration", labels["col_duration"], "integer"),
        Column("exceeds_max_duration", labels("col_exceeds", n=params.max_duration), "flag"),
        *(Column(key, labels[label], "keur") for key, label in _COMPLEX_AMOUNTS),
        Column("measure", labels["col_measure"], formats=xlsx),
    )
    notes = [
        labels(
            "note_duration",
            name=row.name,
            duration=int(row.duration),  # type: ignore[arg-type]  # a whole number of years
            n=params.max_duration,
            measure=measure,
        )
        for row in frame[frame["exceeds_max_duration"]].itertuples()
    ]
    notes.append(labels["note_signs"])
    table = Table(
        "complexes",
        labels["tab_complexes"],
        labels["sheet_complexes"],
        shown,
        columns,
        row_kinds=tuple(kinds),
        notes=tuple(notes),
        wide=True,
    )
    return Section("complexes", labels["sec_complexes"], tables=(table,))


def _iflo_table(valuation: Valuation, labels: Labels) -> Table:
    reserves = valuation.scenario.reserves
    frame = valuation.complexes()
    book = float(frame.loc[frame["status"].isin(IFLO_BOOK_VALUE_STATUSES), "book_value"].sum())
    costs = float(frame.loc[frame["status"].isin(IFLO_REMAINING_COSTS_STATUSES), "remaining_costs_price_level"].sum())
    rows = pd.DataFrame(
        {
            "component": [labels["iflo_book"], labels["iflo_costs"], labels["iflo_total"]],
            "base": [book, costs, None],
            "share": [reserves.iflo_book_value_share, reserves.iflo_remaining_costs_share, None],
            "amount": [
                reserves.iflo_book_value_share * book,
                reserves.iflo_remaining_costs_share * costs,
                valuation.iflo_norm(),
            ],
        }
    ).astype(object)
    rows = rows.where(pd.notna(rows), None)
    return Table(
        "iflo",
        labels["tab_iflo"],
        labels["sheet_iflo"],
        rows,
        (
            Column("component", labels["col_component"]),
            Column("base", labels["col_base"], "keur"),
            Column("share", labels["col_share"], "percent"),
            Column("amount", labels["col_amount"], "keur"),
        ),
        row_kinds=("row", "row", "total"),
    )


def _resistance_section(valuation: Valuation, simulation, labels: Labels) -> Section:
    reserves = valuation.scenario.reserves
    confidence = labels.percent(reserves.confidence, 0)
    policy = _policy(valuation, simulation)
    rows: list[tuple[str, Any, str]] = [(labels["r_iflo"], valuation.iflo_norm(), "keur")]
    notes = []
    if simulation is not None:
        se = float(simulation.required_capacity_standard_error)
        kind = policy["risk_kind"]
        rows += [
            (labels("r_required", confidence=confidence), float(simulation.required_capacity), kind),
            (labels["r_se"], se, "keur~4"),
            (labels["r_shortfall"], float(simulation.expected_shortfall), kind),
            (labels["r_loss"], float(simulation.probability_of_loss), "percent~0"),
        ]
        notes.append(
            labels("note_required", confidence=confidence, draws=labels.number(simulation.draws), seed=simulation.seed)
        )
        notes.append(labels["note_mc_rounding"])
    else:
        notes.append(labels["note_no_simulation"])
    norm_words = labels(f"norm_{reserves.norm}", confidence=confidence)
    if policy["required"] is not None:
        rows.append((labels("r_policy_required", norm=norm_words), policy["required"], policy["required_kind"]))
    rows.append(_amount_row(labels["r_available"], reserves.resistance_reserve, labels))
    if policy.get("ratio") is not None:
        rows += [
            (labels["r_ratio"], float(policy["ratio"]), "ratio"),
            (labels["r_grade"], _grade_words(policy["grade"], policy["grade_label"], labels), "text"),
        ]
    for suffix in ("risk", "iflo"):
        ratio = policy.get(f"ratio_{suffix}")
        if ratio is None or (policy.get("ratio") is not None and policy["required"] == policy[suffix]):
            continue
        rows += [
            (labels[f"r_ratio_{suffix}"], float(ratio), "ratio"),
            (
                labels[f"r_grade_{suffix}"],
                _grade_words(policy[f"grade_{suffix}"], policy[f"grade_{suffix}_label"], labels),
                "text",
            ),
        ]
    rows.append(_amount_row(labels["r_general"], reserves.general_reserve, labels))
    if simulation is not None and reserves.general_reserve is not None:
        rows.append((labels["r_below_zero"], float(simulation.probability_reserve_below_zero), "percent~0"))
    notes.append(labels["note_grades"])
    table = _mixed(rows, labels, "resistance", labels["tab_resistance"], labels["sheet_resistance"], notes)
    return Section("resistance", labels["sec_resistance"], tables=(_iflo_table(valuation, labels), table))


def _driver_spread(drivers: Mapping[str, SimulationLike] | None, simulation, labels: Labels) -> pd.DataFrame | None:
    """Per driver alone and all together: the width P5–P95 and the standard deviation of the portfolio's
    present value, each with its cell kind (rounded to its standard error), and the share of the variance.

    The standard deviation is the population one (``ddof=0``), as :func:`grex.sensitivity.variance_shares`
    has it, so that the two sections print the same figure."""
    if not drivers:
        return None
    rows = []
    names = [d for d in DRIVERS if d in drivers] + [d for d in drivers if d not in DRIVERS]
    for name, run, kind in [(n, drivers[n], "row") for n in names] + [("all", simulation, "total")]:
        values = np.asarray(run.portfolio_present_value, dtype=np.float64)
        if name == "all":
            label = labels["driver_all"]
        else:
            label = labels[f"driver_{name}"] if name in DRIVERS else name
        rows.append(
            {
                "driver": label,
                "key": name,
                "width": _width(values),
                "std": float(values.std()),
                "kind": kind,
                "kind:width": mc_kind(float(standard_error(values, _width))),
                "kind:std": std_kind(float(values.std()), len(values)),
            }
        )
    frame = pd.DataFrame(rows)
    variance = frame["std"] ** 2
    total = float(variance[frame["kind"] == "row"].sum())
    frame["variance_share"] = [
        None if k == "total" else (v / total if total > 0 else 0.0)
        for k, v in zip(frame["kind"], variance, strict=True)
    ]
    return frame


def _width(values: NDArray[np.float64]) -> float:
    p5, p95 = np.percentile(values, [5, 95])
    return float(p95 - p5)


def _percentile(q: float) -> Callable[[Any], Any]:
    """The q-th percentile over the draws (axis 0)."""
    return lambda values: np.percentile(values, q, axis=0)


def _cell_kinds(values: NDArray[np.float64], statistic: Callable[[Any], Any]) -> list[str]:
    """Per column of ``values`` (draws on axis 0): the cell kind of ``statistic`` rounded to its standard error."""
    errors = np.atleast_1d(standard_error(values, statistic))
    return [mc_kind(float(e)) for e in errors]


def _risk_section(valuation: Valuation, simulation, drivers, labels: Labels) -> Section:
    complexes = valuation.complexes()
    confidence = valuation.scenario.reserves.confidence
    per = simulation.per_complex().copy()
    per = per.merge(complexes[["project", "name", "present_value"]], on="project", how="left")
    order = {p: i for i, p in enumerate(complexes["project"])}
    per = per.sort_values("project", key=lambda s: s.map(order)).reset_index(drop=True)
    # each Monte Carlo cell rounded to its own standard error
    draws = np.asarray(simulation.present_value, dtype=np.float64)
    column = {p: i for i, p in enumerate(simulation.projects)}
    draws = draws[:, [column[p] for p in per["project"]]]
    base = per["present_value"].to_numpy(dtype=np.float64)
    for key, q in (("p5", 5), ("p50", 50), ("p95", 95)):
        per[f"kind:{key}"] = _cell_kinds(draws, _percentile(q))
    per["kind:required_capacity"] = _cell_kinds(base - draws, lambda v: np.quantile(v, confidence, axis=0))
    per["kind:probability_of_loss"] = "percent~0"
    mc = Table(
        "mc_complexes",
        labels["tab_mc_complexes"],
        labels["sheet_mc_complexes"],
        per,
        (
            Column("project", labels["col_project"], formats=frozenset({"xlsx"})),
            Column("name", labels["col_name"]),
            Column("present_value", labels["col_deterministic"], "keur"),
            Column("p5", labels["col_p5"], "keur"),
            Column("p50", labels["col_p50"], "keur"),
            Column("p95", labels["col_p95"], "keur"),
            Column("probability_of_loss", labels["col_probability_of_loss"], "percent"),
            Column(
                "required_capacity",
                labels("col_required_capacity", confidence=labels.percent(confidence, 0)),
                "keur",
            ),
        ),
        notes=(labels["note_mc_rounding"],),
    )
    percentiles = simulation.percentiles()
    values = np.asarray(simulation.portfolio_present_value, dtype=np.float64)
    levels = [float(k[1:]) for k in percentiles]
    pct = pd.DataFrame(
        {
            "percentile": [k.upper() for k in percentiles] + [labels["col_deterministic"]],
            "value": [float(v) for v in percentiles.values()] + [float(complexes["present_value"].sum())],
            "kind:value": _cell_kinds(values[:, None], lambda v: np.percentile(v, levels, axis=0).ravel()) + ["keur"],
        }
    )
    pct_table = Table(
        "percentiles",
        labels["tab_percentiles"],
        labels["sheet_percentiles"],
        pct,
        (Column("percentile", labels["col_percentile"]), Column("value", labels["col_present_value"], "keur")),
        row_kinds=("row",) * len(percentiles) + ("total",),
    )
    path = simulation.reserve_path()
    reserve = getattr(simulation, "reserve", None)
    for key in (c for c in path.columns if c not in ("year", "deterministic")):
        if reserve is not None and key.startswith("p") and key[1:].isdigit():
            q = int(key[1:])
            path[f"kind:{key}"] = _cell_kinds(np.asarray(reserve), _percentile(q))
        else:
            path[f"kind:{key}"] = mc_kind(math.nan)
        path.loc[0, f"kind:{key}"] = "keur"  # the valuation date: the same in every draw
    path_columns = (
        Column("year", labels["col_year"], "year"),
        Column("deterministic", labels["col_deterministic"], "keur"),
    ) + tuple(Column(c, c.upper(), "keur") for c in path.columns if c not in ("year", "deterministic") and ":" not in c)
    first = int(path["year"].iat[0])
    path_table = Table(
        "reserve_path",
        labels["tab_reserve_path"],
        labels["sheet_reserve_path"],
        path,
        path_columns,
        notes=(labels("note_reserve_path", year=first, next=first + 1), labels["note_mc_rounding"]),
    )
    tables = [mc, pct_table, path_table]
    spread = _driver_spread(drivers, simulation, labels)
    if spread is not None:
        tables.append(
            Table(
                "drivers",
                labels["tab_drivers"],
                labels["sheet_drivers"],
                spread,
                (
                    Column("driver", labels["col_driver"]),
                    Column("width", labels["col_width"], "keur"),
                    Column("std", labels["col_std"], "keur"),
                    Column("variance_share", labels["col_variance_share"], "percent"),
                ),
                row_kinds=tuple(spread["kind"]),
                notes=(labels["note_drivers"], labels["note_mc_rounding"]),
            )
        )
    return Section("risk", labels["sec_risk"], tables=tuple(tables))


def _revaluation_section(simulation, labels: Labels) -> Section | None:
    """The yearly revaluation (issue 16): the rule in plain words, the reserve, provisions and risk per year, and
    the herkenningsvertraging against perfect foresight; None where the scenario reads each draw with perfect
    foresight."""
    mc = getattr(simulation, "parameters", None)
    foresight = getattr(mc, "foresight", "perfect")
    other = getattr(simulation, "alternative_reserve", None)
    if mc is None or foresight == "perfect" or other is None or getattr(simulation, "provision_held", None) is None:
        return None
    rule = (
        labels["revaluation_plan"]
        if foresight == "plan"
        else labels("revaluation_adaptive", weight=labels.percent(mc.learning_rate, 0))
    )
    yearly = simulation.provision_path()
    rule_median = np.median(simulation.reserve[:, 1:], axis=0)
    perfect_median = np.median(other[:, 1:], axis=0)
    frame = pd.DataFrame(
        {
            "year": yearly["year"],
            "rule": rule_median,
            "perfect": perfect_median,
            "delay": rule_median - perfect_median,
            "provision": yearly["provision_p50"],
            "below_zero": yearly["probability_reserve_below_zero"],
            "required": yearly["required_capacity"],
        }
    )
    table = Table(
        "revaluation",
        labels["tab_revaluation"],
        labels["sheet_revaluation"],
        frame,
        (
            Column("year", labels["col_year"], "year"),
            Column("rule", labels["col_reserve_rule"], "keur"),
            Column("perfect", labels["col_reserve_perfect"], "keur"),
            Column("delay", labels["col_recognition_delay"], "keur"),
            Column("provision", labels["col_provision_p50"], "keur"),
            Column("below_zero", labels["col_below_zero"], "percent"),
            Column("required", labels["col_required_year"], "keur"),
        ),
        notes=(labels["note_mc_rounding"],),
    )
    chart = Chart(
        "recognition_delay",
        labels["fig_recognition"],
        lambda fig: charts.recognition_delay(frame, labels, fig=fig),
        caption=labels["cap_recognition"],
    )
    return Section(
        "revaluation",
        labels["sec_revaluation"],
        paragraphs=(labels["revaluation_perfect"] + rule, labels["revaluation_delay"]),
        tables=(table,),
        charts=(chart,),
    )


def _charts_section(valuation: Valuation, simulation, drivers, labels: Labels) -> Section:
    complexes = valuation.complexes()
    years = valuation.years()
    confidence = valuation.scenario.reserves.confidence
    items = []
    if simulation is not None:
        path = simulation.reserve_path()
        items.append(
            Chart(
                "reserve_path",
                labels["fig_reserve_path"],
                lambda fig: charts.reserve_path(path, labels, fig=fig),
                caption=labels["cap_reserve_path"],
            )
        )
    items.append(
        Chart(
            "present_value",
            labels["fig_present_value"],
            lambda fig: charts.present_value_by_complex(complexes, labels, fig=fig),
            caption=labels["cap_present_value"],
            size=(7.0, max(4.4, 0.2 * len(complexes) + 1.2)),
        )
    )
    if simulation is not None:
        values = np.asarray(simulation.portfolio_present_value, dtype=np.float64)
        base = float(complexes["present_value"].sum())
        required = float(simulation.required_capacity)
        items.append(
            Chart(
                "distribution",
                labels["fig_distribution"],
                lambda fig: charts.present_value_distribution(values, base, required, confidence, labels, fig=fig),
                caption=labels["cap_distribution"],
            )
        )
    items.append(
        Chart(
            "book_value",
            labels["fig_book_value"],
            lambda fig: charts.book_value_by_complex(years, complexes, labels, fig=fig),
            caption=labels["cap_book_value"],
        )
    )
    items.append(
        Chart(
            "costs_revenues",
            labels["fig_costs_revenues"],
            lambda fig: charts.costs_and_revenues(years, labels, fig=fig),
            caption=labels["cap_costs_revenues"],
        )
    )
    spread = _driver_spread(drivers, simulation, labels) if simulation is not None else None
    if spread is not None:
        items.append(
            Chart(
                "drivers",
                labels["fig_drivers"],
                lambda fig: charts.driver_contributions(spread, labels, fig=fig),
                caption=labels["cap_drivers"],
                size=(7.0, 3.0),
            )
        )
    return Section("charts", labels["sec_charts"], charts=tuple(items))


def _programme_section(valuation: Valuation, labels: Labels) -> Section | None:
    """Programmering (issue 15): the programme per market and year against the absorption's mode; None without one."""
    from grex.market import market_labels, programme_check  # noqa: PLC0415

    check = programme_check(valuation.scenario, valuation.portfolio)
    if check is None:
        return None
    check = check.copy()
    names = market_labels(valuation.scenario)
    check["market"] = [names.get(name, name) for name in check["market"]]  # a market's label where it has one
    shown = check.copy()
    # dwellings are whole units, hectares and square metres to two decimals; the unit in the report's language
    whole = shown["unit"] == "dwelling"
    for column in ("planned", "absorbable", "over_programming", "backlog"):
        shown[f"kind:{column}"] = ["number" if w else "ratio" for w in whole]
    if labels.lang == "nl":
        shown["unit"] = shown["unit"].map({"dwelling": "woningen", "ha": "ha", "m2": "m²"}).fillna(shown["unit"])
    else:
        shown["unit"] = shown["unit"].map({"dwelling": "dwellings", "m2": "m²"}).fillna(shown["unit"])
    table = Table(
        "programme",
        labels["tab_programme"],
        labels["sheet_programme"],
        shown,
        (
            Column("market", labels["col_market"]),
            Column("unit", labels["col_unit"]),
            Column("year", labels["col_year"], "year"),
            Column("planned", labels["col_planned"], "ratio"),
            Column("absorbable", labels["col_absorbable"], "ratio"),
            Column("over_programming", labels["col_over_programming"], "ratio"),
            Column("over_programming_pct", labels["col_over_programming_pct"], "percent"),
            Column("backlog", labels["col_backlog"], "ratio"),
        ),
    )
    chart = Chart(
        "programme",
        labels["fig_programme"],
        lambda fig: charts.programme_against_market(shown, labels, fig=fig),  # the label and unit as in the table
        caption=labels["cap_programme"],
    )
    return Section(
        "programme", labels["sec_programme"], paragraphs=(labels["par_programme"],), tables=(table,), charts=(chart,)
    )


def _years_section(valuation: Valuation, labels: Labels) -> Section:
    years = valuation.years()
    names = dict(zip(valuation.inputs.projects, valuation.inputs.names, strict=False))
    years.insert(1, "name", years["project"].map(names))
    amount_keys = (
        ("costs_price_level", "col_costs_pl_year"),
        ("revenues_price_level", "col_revenues_pl_year"),
        ("costs", "col_costs_year"),
        ("uncertainty_margin_amount", "col_margin_year"),
        ("revenues", "col_revenues_year"),
        ("interest", "col_interest"),
        ("book_value", "col_book_value_year"),
    )
    per_complex = Table(
        "years",
        labels["tab_years"],
        labels["sheet_years"],
        years,
        (
            Column("project", labels["col_project"]),
            Column("name", labels["col_name"]),
            Column("year", labels["col_year"], "year"),
            *(Column(key, labels[label], "euro") for key, label in amount_keys),
        ),
        formats=frozenset({"xlsx"}),
    )
    portfolio = years.groupby("year", as_index=False)[["costs", "revenues", "interest"]].sum()
    portfolio["net"] = portfolio["revenues"] - portfolio["costs"]
    portfolio_table = Table(
        "portfolio_years",
        labels["tab_portfolio_years"],
        labels["sheet_portfolio_years"],
        portfolio,
        (
            Column("year", labels["col_year"], "year"),
            Column("costs", labels["col_costs_year"], "keur"),
            Column("revenues", labels["col_revenues_year"], "keur"),
            Column("interest", labels["col_interest"], "keur"),
            Column("net", labels["col_net"], "keur"),
        ),
    )
    return Section("years", labels["sec_years"], tables=(portfolio_table, per_complex))
