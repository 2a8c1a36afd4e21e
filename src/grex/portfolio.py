"""The portfolio: the complexes of the grondbedrijf and their flows.

Two tables (docs/glossary.md for the names):

``projects``
    one row per complex: ``project`` (id), ``name``, ``status``,
    ``book_value``, ``realised_costs``, ``realised_revenues``,
    ``profit_taken``; optional ``end_year``, ``price_level``,
    ``uncertainty_margin``, ``cost_index``, ``revenue_index``,
    ``provision_balance`` (voorziening at 31-12 of V − 1, ≥ 0, default 0)
    and ``realised_interest`` (interest capitalised so far, for the check of
    ``book_value``; docs/municipal-practice.md).
``flows``
    ``project``, ``year``, ``type`` (cost | revenue), ``category``,
    ``amount`` [EUR, price level; a negative amount is a correction: a
    negative cost lowers the costs, a negative revenue reverses an earlier
    sale], optional ``sales_linked``.

Reading the files is :func:`grex.io.read_portfolio`; this module holds the
checks of both tables (:func:`check_tables`, the one validation path for
tables read from files and tables built in code), the checked tables
(:class:`Portfolio`) and the checks that need the valuation year.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from grex.errors import InputError
from grex.limits import check_amounts

__all__ = [
    "COST_CATEGORIES",
    "FLOW_COLUMNS",
    "FLOW_TYPES",
    "PROGRAMME_COLUMNS",
    "PROJECT_COLUMNS",
    "REVENUE_CATEGORIES",
    "SEGMENT_UNITS",
    "STATUSES",
    "Portfolio",
    "cell_text",
    "check_programme",
    "check_tables",
    "parse_number",
]

#: Complex statuses (docs/rules.md section 9).
STATUSES = ("vastgesteld", "voorbereiding", "strategisch")
#: Flow types.
FLOW_TYPES = ("cost", "revenue")
#: Cost categories, kostensoorten (Bro art. 6.2.3–6.2.5; docs/glossary.md).
COST_CATEGORIES = ("verwerving", "sloop", "bodem", "bouwrijp", "woonrijp", "plankosten", "bijdragen", "overig")
#: Revenue categories (docs/glossary.md).
REVENUE_CATEGORIES = (
    "wonen_sociaal",
    "wonen_betaalbaar",
    "wonen_vrij",
    "bedrijven",
    "maatschappelijk",
    "overig",
    "subsidie",
)
#: Columns of ``projects``: required, then optional.
PROJECT_COLUMNS: dict[str, tuple[str, ...]] = {
    "required": ("project", "name", "status", "book_value", "realised_costs", "realised_revenues", "profit_taken"),
    "optional": (
        "end_year",
        "price_level",
        "uncertainty_margin",
        "cost_index",
        "revenue_index",
        "provision_balance",
        "realised_interest",
    ),
}
#: Columns of ``flows``: required, then optional.
FLOW_COLUMNS = {
    "required": ("project", "year", "type", "category", "amount"),
    "optional": ("sales_linked",),
}
#: Columns of ``programme`` (issue 15): required, then optional (a cost tied to the units sold).
PROGRAMME_COLUMNS = {
    "required": ("project", "year", "segment", "unit", "quantity", "price"),
    "optional": ("cost_per_unit", "cost_category", "cost_lag"),
}
#: The units a programme row of each revenue category (segment) may use.
SEGMENT_UNITS: dict[str, tuple[str, ...]] = {
    "wonen_sociaal": ("dwelling",),
    "wonen_betaalbaar": ("dwelling",),
    "wonen_vrij": ("dwelling",),
    "bedrijven": ("m2", "ha"),
    "maatschappelijk": ("m2", "ha"),
    "overig": ("dwelling", "m2", "ha"),
}
#: Square metres in a hectare: a programme in m2 sold in a market counted in ha (and back).
M2_PER_HA = 10_000.0
#: The label of a flow row grex made from a programme row (``programme row 5``): the prefix.
PROGRAMME_ROW = "programme "


@dataclass(frozen=True)
class Portfolio:
    """Checked portfolio tables.

    Built in code, ``Portfolio(projects, flows)`` (or :meth:`from_frames`)
    runs the same checks as a portfolio read from files (:func:`check_tables`)
    and holds the typed tables; a message names ``projects table`` or
    ``flows table`` (or the sources given), the row (the ``row`` column where
    there is one, else the index) and the column.

    Attributes
    ----------
    projects : DataFrame
        One row per complex in file order, the columns of
        :data:`PROJECT_COLUMNS` (optional ones filled with NA), plus ``row``:
        where the row stands in its file, for messages.
    flows : DataFrame
        One row per flow, the columns of :data:`FLOW_COLUMNS`
        (``sales_linked`` filled with False), plus ``row``.
    projects_source, flows_source : str
        The files (or ``file[sheet]``) the tables came from.
    programme : DataFrame or None
        The sales programme (issue 15; :data:`PROGRAMME_COLUMNS`, checked,
        plus ``row``), or None. Its revenues (quantity × price) and the
        costs tied to it are already rows of ``flows`` (their ``row`` label
        starts with :data:`PROGRAMME_ROW`), so every valuation reads them
        from there; the Monte Carlo's market re-times them by units.
    programme_source : str
    """

    projects: pd.DataFrame
    flows: pd.DataFrame
    projects_source: str = "projects table"
    flows_source: str = "flows table"
    # market (issue 15)
    programme: pd.DataFrame | None = None
    programme_source: str = "programme table"

    def __post_init__(self) -> None:
        projects, flows = check_tables(
            self.projects, self.flows, projects_source=self.projects_source, flows_source=self.flows_source
        )
        object.__setattr__(self, "projects", projects)
        object.__setattr__(self, "flows", flows)
        if self.programme is not None:
            programme, flows = check_programme(
                self.programme, projects, flows, programme_source=self.programme_source, flows_source=self.flows_source
            )
            object.__setattr__(self, "programme", programme)
            object.__setattr__(self, "flows", flows)

    @classmethod
    def from_frames(
        cls,
        projects: pd.DataFrame,
        flows: pd.DataFrame,
        *,
        projects_source: str = "projects table",
        flows_source: str = "flows table",
    ) -> Portfolio:
        """A portfolio from two tables built in code, checked as files are (same as the constructor)."""
        return cls(projects, flows, projects_source, flows_source)

    @classmethod
    def checked(
        cls,
        projects: pd.DataFrame,
        flows: pd.DataFrame,
        projects_source: str,
        flows_source: str,
        programme: pd.DataFrame | None = None,
        programme_source: str = "programme table",
    ) -> Portfolio:
        """A portfolio of tables in the checked form, not checked again.

        For tables that :func:`check_tables` returned, or that grex derived
        from checked tables itself (the states of the difference analysis).
        """
        portfolio = object.__new__(cls)
        for name, value in (
            ("projects", projects),
            ("flows", flows),
            ("projects_source", projects_source),
            ("flows_source", flows_source),
            ("programme", programme),
            ("programme_source", programme_source),
        ):
            object.__setattr__(portfolio, name, value)
        return portfolio

    @property
    def ids(self) -> list[str]:
        return self.projects["project"].tolist()

    def check_years(self, valuation_year: int) -> None:
        """The checks that need the valuation year V.

        Raises :class:`InputError` for a flow before V, an ``end_year``
        before V or before the complex's last flow, and a ``price_level``
        more than 50 years from V.
        """
        early = self.flows[self.flows["year"] < valuation_year]
        if len(early):
            first = early.iloc[0]
            source, row = self.flows_source, str(first["row"])
            if row.startswith(PROGRAMME_ROW):  # a row of the programme: name its file and row
                source, row = self.programme_source, row[len(PROGRAMME_ROW) :]
            raise InputError(
                source,
                f"{row}, column 'year'",
                f"flow in {first['year']} lies before the valuation year {valuation_year}: "
                "past flows belong in book_value, realised_costs and realised_revenues",
            )
        projects = self.projects
        last_flow = projects["project"].map(self.flows.groupby("project")["year"].max())
        end_year = projects["end_year"]
        checks = (
            (
                end_year.notna() & (end_year < valuation_year),
                "end_year",
                lambda c: f"end_year {c['end_year']} lies before the valuation year {valuation_year}",
            ),
            (
                end_year.notna() & last_flow.notna() & (end_year < last_flow),
                "end_year",
                lambda c: (
                    f"end_year {c['end_year']} lies before the last flow of {c['project']!r} in {int(c['last_flow'])}"
                ),
            ),
            (
                projects["price_level"].notna() & ((projects["price_level"] - valuation_year).abs() > 50),
                "price_level",
                lambda c: (
                    f"price level {c['price_level']} is more than 50 years from the valuation year {valuation_year}"
                ),
            ),
        )
        for condition, column, message in checks:
            failed = condition.fillna(False).to_numpy(dtype=bool)
            if failed.any():
                complex_ = projects.assign(last_flow=last_flow)[failed].iloc[0]
                raise InputError(self.projects_source, f"{complex_['row']}, column '{column}'", message(complex_))


# -- numbers as written -----------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: empty for None, NA or NaN; a whole float without ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_DUTCH_NUMBER = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")


def parse_number(value: str, decimal: str = ".") -> float:
    """A number as written in a file.

    ``decimal="."``: Python's notation (``_`` between digits allowed). ``","``:
    Dutch, a decimal comma and ``.`` between thousands (``400.000,00``,
    ``-50,0``, ``1.234``); a ``.`` that does not separate thousands is refused
    as ambiguous. ``"auto"`` (Excel text cells): Python's notation, else Dutch.
    Raises ValueError with the reason.
    """
    text = value.replace("_", "")
    if decimal == "," and ("," in text or "." in text):
        if _DUTCH_NUMBER.fullmatch(text):
            return float(text.replace(".", "").replace(",", "."))
        raise ValueError(
            f"{value!r} is not a number as this file writes them: it is read as Dutch (';' between fields), "
            "with a decimal comma and '.' between thousands (1.234,5)"
        )
    try:
        return float(text)
    except ValueError:
        if "," in text and _DUTCH_NUMBER.fullmatch(text):
            if decimal == "auto":
                return float(text.replace(".", "").replace(",", "."))
            raise ValueError(
                f"{value!r} is not a number: this file is comma-separated, so decimals take a point "
                "(a Dutch file with ';' between fields takes decimal commas)"
            ) from None
        raise ValueError(f"{value!r} is not a number") from None


# -- the checks: one path for files and for tables built in code ---------------


def _check_columns(frame: pd.DataFrame, source: str, spec: dict[str, tuple[str, ...]]) -> None:
    allowed = spec["required"] + spec["optional"]
    for column in frame.columns:
        if column not in allowed:
            raise InputError(
                source,
                f"column {column!r}",
                f"unknown column{_suggest(frame, column, allowed)}; expected {', '.join(allowed)}",
            )
    for column in spec["required"]:
        if column not in frame.columns:
            raise InputError(source, f"column {column!r}", "required column is missing")
    if len(set(frame.columns)) != len(frame.columns):
        raise InputError(source, None, "a column appears twice in the header")


def _suggest(frame: pd.DataFrame, column: str, allowed: tuple[str, ...]) -> str:
    """`` (did you mean 'book_value'?)`` for the closest known name, or nothing.

    The reader may have found a closer name among the aliases (``attrs["suggestions"]``).
    """
    match = frame.attrs.get("suggestions", {}).get(column)
    if match is None:
        key = str(column).strip().lower().replace(" ", "_")
        found = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        match = repr(found[0]) if found else None
    return f" (did you mean {match}?)" if match else ""


class _Cells:
    """Typed access to one column, with messages that name the row and the column as written.

    Cells are strings (from files: empty for a missing value) or values built
    in code (numbers, booleans, None or NaN for a missing value).
    ``frame.attrs``: ``rows`` (a label per row), optional ``decimal`` (the
    number notation of strings, :func:`parse_number`) and ``labels`` (a
    column's name in the file, or a name per row, where it differs).
    """

    def __init__(self, frame: pd.DataFrame, source: str) -> None:
        # the cells without the attrs: pandas copies attrs (a label per row) on every column access
        self.frame = pd.DataFrame(frame, copy=False)
        self.source = source
        self.rows: list[str] = frame.attrs["rows"]
        self.decimal: str = frame.attrs.get("decimal", ".")
        self.labels: dict[str, Any] = frame.attrs.get("labels", {})

    def fail(self, i: int, column: str, message: str) -> InputError:
        label = self.labels.get(column, column)
        if isinstance(label, list):
            label = label[i]
        return InputError(self.source, f"{self.rows[i]}, column {label!r}", message)

    def values(self, column: str) -> list[Any]:
        if column not in self.frame.columns:
            return [""] * len(self.frame)
        series = self.frame[column]
        if series.dtype.kind in "fiu" or isinstance(series.dtype, pd.Int64Dtype):  # numbers built in code
            return series.to_numpy(dtype=np.float64, na_value=np.nan).tolist()
        return list(series)

    def text(self, column: str, *, choices: tuple[str, ...] | None = None) -> list[str]:
        out = []
        for i, raw in enumerate(self.values(column)):
            value = raw if isinstance(raw, str) else cell_text(raw)
            if not value:
                raise self.fail(i, column, "is empty")
            if choices is not None and value not in choices:
                raise self.fail(i, column, f"{value!r} is not one of {', '.join(choices)}")
            out.append(value)
        return out

    def number(
        self,
        column: str,
        *,
        required: bool,
        check: Callable[[float], str | None] | None = None,
    ) -> list[float]:
        out = []
        for i, value in enumerate(self.values(column)):
            if _missing(value):
                if required:
                    raise self.fail(i, column, "is empty; a number is required")
                out.append(math.nan)
                continue
            try:
                number = _number(value, self.decimal)
            except ValueError as error:
                raise self.fail(i, column, str(error)) from None
            if not math.isfinite(number):
                raise self.fail(i, column, f"{value!r} is not a finite number")
            if check is not None and (problem := check(number)):
                raise self.fail(i, column, problem)
            out.append(number)
        return out

    def year(self, column: str, *, required: bool) -> list[int | None]:
        out: list[int | None] = []
        for i, number in enumerate(self.number(column, required=required)):
            if math.isnan(number):
                out.append(None)
            elif not number.is_integer() or not 1900 <= number <= 2200:
                raise self.fail(i, column, f"{self.values(column)[i]!r} is not a year such as 2024")
            else:
                out.append(int(number))
        return out

    def flag(self, column: str) -> list[bool]:
        truth = {
            "true": True,
            "1": True,
            "yes": True,
            "ja": True,
            "false": False,
            "0": False,
            "no": False,
            "nee": False,
        }
        out = []
        for i, raw in enumerate(self.values(column)):
            if raw is True or raw is False:
                out.append(raw)
                continue
            value = raw if isinstance(raw, str) else cell_text(raw)
            if not value:
                out.append(False)
            elif value.lower() in truth:
                out.append(truth[value.lower()])
            else:
                raise self.fail(i, column, f"{value!r} is not true or false")
        return out


def _missing(value: Any) -> bool:
    """An empty cell: an empty string, None, NA or NaN."""
    if type(value) is float:
        return value != value  # NaN
    if isinstance(value, str):
        return not value
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _number(value: Any, decimal: str) -> float:
    """A cell as a number: a string as written (:func:`parse_number`), a number from code as it is."""
    if type(value) is float:
        return value
    if isinstance(value, str):
        return parse_number(value, decimal)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _non_negative(number: float) -> str | None:
    return (
        f"{number:g} is negative; amounts are positive (costs and revenues are separate types)" if number < 0 else None
    )


def _correction(number: float) -> str | None:
    """Flow amounts: a negative amount is a correction (docs/municipal-practice.md)."""
    return None


def _non_negative_balance(number: float) -> str | None:
    return f"{number:g} is negative; a provision balance (voorziening) is a positive amount" if number < 0 else None


def _decimal_rate(number: float) -> str | None:
    if abs(number) >= 1:
        return f"{number:g} looks like a percentage: write rates as decimals (0.02 for 2%)"
    return None


def _decimal_share(number: float) -> str | None:
    return _decimal_rate(number) or (f"{number:g} is negative" if number < 0 else None)


def _check_projects(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    _check_columns(frame, source, PROJECT_COLUMNS)
    if frame.empty:
        raise InputError(source, None, "has no complexes")
    cells = _Cells(frame, source)
    ids = cells.text("project")
    seen: dict[str, int] = {}
    for i, project in enumerate(ids):
        if project in seen:
            raise cells.fail(i, "project", f"duplicate project id {project!r} (also {cells.rows[seen[project]]})")
        seen[project] = i
    return pd.DataFrame(
        {
            "project": ids,
            "name": cells.text("name"),
            "status": cells.text("status", choices=STATUSES),
            "book_value": cells.number("book_value", required=True),
            "realised_costs": cells.number("realised_costs", required=True, check=_non_negative),
            "realised_revenues": cells.number("realised_revenues", required=True, check=_non_negative),
            "profit_taken": cells.number("profit_taken", required=True),
            "end_year": pd.array(cells.year("end_year", required=False), dtype="Int64"),
            "price_level": pd.array(cells.year("price_level", required=False), dtype="Int64"),
            "uncertainty_margin": cells.number("uncertainty_margin", required=False, check=_decimal_share),
            "cost_index": cells.number("cost_index", required=False, check=_decimal_rate),
            "revenue_index": cells.number("revenue_index", required=False, check=_decimal_rate),
            "provision_balance": [
                0.0 if math.isnan(v) else v
                for v in cells.number("provision_balance", required=False, check=_non_negative_balance)
            ],
            "realised_interest": cells.number("realised_interest", required=False),
            "row": cells.rows,
        }
    )


def _known_projects(cells: _Cells, projects: pd.DataFrame) -> list[str]:
    """The ``project`` column of a table whose rows must name complexes of the projects table."""
    known = set(projects["project"])
    project = cells.text("project")
    for i, name in enumerate(project):
        if name not in known:
            raise cells.fail(i, "project", f"unknown project {name!r}: not in the projects table")
    return project


def _check_flows(frame: pd.DataFrame, source: str, *, projects: pd.DataFrame) -> pd.DataFrame:
    _check_columns(frame, source, FLOW_COLUMNS)
    cells = _Cells(frame, source)
    project = _known_projects(cells, projects)
    types = cells.text("type", choices=FLOW_TYPES)
    categories = cells.text("category")
    for i, (kind, category) in enumerate(zip(types, categories, strict=True)):
        allowed = COST_CATEGORIES if kind == "cost" else REVENUE_CATEGORIES
        if category not in allowed:
            raise cells.fail(i, "category", f"{category!r} is not a {kind} category; expected {', '.join(allowed)}")
    return pd.DataFrame(
        {
            "project": project,
            "year": pd.array(cells.year("year", required=True), dtype="int64"),
            "type": types,
            "category": categories,
            "amount": cells.number("amount", required=True, check=_correction),
            "sales_linked": cells.flag("sales_linked"),
            "row": cells.rows,
        }
    )


def _as_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A table with a label per row in ``attrs["rows"]``: as a reader gave it, from its ``row`` column
    (a checked table), or its index (``index 3``)."""
    rows = frame.attrs.get("rows")
    if rows is not None and len(rows) == len(frame):
        return frame
    if "row" in frame.columns:
        out = frame.drop(columns="row")
        labels = [str(r) for r in frame["row"]]
    else:
        out = frame.copy(deep=False)
        labels = [f"index {label}" for label in frame.index]
    out.attrs = {**frame.attrs, "rows": labels}
    return out


def check_tables(
    projects: pd.DataFrame,
    flows: pd.DataFrame,
    *,
    projects_source: str = "projects table",
    flows_source: str = "flows table",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check both tables and return them typed, as :class:`Portfolio` holds them.

    The one validation path: :func:`grex.io.read_portfolio` calls it on the
    cells of the files (strings, a label per row in ``attrs["rows"]``), and
    :class:`Portfolio` on tables built in code (numbers or strings; the rows
    named by a ``row`` column where there is one, else by the index). Raises
    :class:`InputError` naming the source, the row and the column.
    """
    checked = _check_projects(_as_cells(projects), projects_source)
    _check_book_value(checked, projects_source)
    checked_flows = _check_flows(_as_cells(flows), flows_source, projects=checked)
    # an amount above 10^12 EUR in one row is a unit mistake (grex.limits)
    check_amounts(
        SimpleNamespace(
            projects=checked, flows=checked_flows, projects_source=projects_source, flows_source=flows_source
        )
    )
    return checked, checked_flows


def _non_negative_quantity(number: float) -> str | None:
    return f"{number:g} is negative; a quantity or price in the programme is at least 0" if number < 0 else None


def _whole_lag(number: float) -> str | None:
    if number < 0 or not number.is_integer() or number > 50:
        return f"{number:g} is not a whole number of years from 0 to 50"
    return None


def check_programme(
    programme: pd.DataFrame,
    projects: pd.DataFrame,
    flows: pd.DataFrame,
    *,
    programme_source: str = "programme table",
    flows_source: str = "flows table",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check a sales programme (issue 15) against the checked projects and flows; return it and the flows with it.

    The programme's revenues (``quantity * price``, category ``segment``) and
    the costs tied to it (``quantity * cost_per_unit``, category
    ``cost_category`` (default ``woonrijp``), in ``year + cost_lag``, sales
    linked) are appended to ``flows`` as rows labelled ``programme <row>``.
    Raises :class:`InputError` naming the row and column for an unknown
    complex, a segment that is not a revenue category with units, a unit
    that does not fit the segment, a negative or non-numeric quantity or
    price, two cost lags for one complex, and a revenue that the flows hold
    too for the same complex, year and category.
    """
    frame = _as_cells(programme)
    _check_columns(frame, programme_source, PROGRAMME_COLUMNS)
    cells = _Cells(frame, programme_source)
    project = _known_projects(cells, projects)
    years = cells.year("year", required=True)
    segments = cells.text("segment", choices=tuple(SEGMENT_UNITS))
    units = cells.text("unit")
    for i, (segment, unit) in enumerate(zip(segments, units, strict=True)):
        if unit not in SEGMENT_UNITS[segment]:
            raise cells.fail(
                i, "unit", f"{unit!r} does not fit segment {segment!r}; expected {', '.join(SEGMENT_UNITS[segment])}"
            )
    quantity = cells.number("quantity", required=True, check=_non_negative_quantity)
    price = cells.number("price", required=True, check=_non_negative_quantity)
    cost = [
        0.0 if math.isnan(v) else v for v in cells.number("cost_per_unit", required=False, check=_non_negative_quantity)
    ]
    categories = []
    for i, raw in enumerate(cells.values("cost_category")):
        value = raw if isinstance(raw, str) else cell_text(raw)
        value = value or "woonrijp"
        if value not in COST_CATEGORIES:
            raise cells.fail(
                i, "cost_category", f"{value!r} is not a cost category; expected {', '.join(COST_CATEGORIES)}"
            )
        categories.append(value)
    lags = [0 if math.isnan(v) else int(v) for v in cells.number("cost_lag", required=False, check=_whole_lag)]
    lag_of: dict[str, int] = {}
    for i, (name, lag) in enumerate(zip(project, lags, strict=True)):
        if lag_of.setdefault(name, lag) != lag:
            raise cells.fail(
                i,
                "cost_lag",
                f"{lag} differs from the lag {lag_of[name]} of an earlier row of {name!r}: one lag per complex",
            )
    checked = pd.DataFrame(
        {
            "project": project,
            "year": pd.array(years, dtype="int64"),
            "segment": segments,
            "unit": units,
            "quantity": quantity,
            "price": price,
            "cost_per_unit": cost,
            "cost_category": categories,
            "cost_lag": pd.array(lags, dtype="int64"),
            "row": cells.rows,
        }
    )
    revenues = flows[flows["type"] == "revenue"]
    planned = set(zip(revenues["project"], revenues["year"], revenues["category"], strict=True))
    for i, key in enumerate(zip(project, years, segments, strict=True)):
        if key in planned:
            raise cells.fail(
                i,
                "segment",
                f"the flows ({flows_source}) hold a {key[2]} revenue of {key[0]!r} in {key[1]} too: "
                "a revenue comes from the flows or the programme, not both",
            )
    rows = [f"{PROGRAMME_ROW}{r}" for r in cells.rows]
    revenue_rows = pd.DataFrame(
        {
            "project": project,
            "year": pd.array(years, dtype="int64"),
            "type": "revenue",
            "category": segments,
            "amount": [q * p for q, p in zip(quantity, price, strict=True)],
            "sales_linked": False,
            "row": rows,
        }
    )
    tied = [i for i, c in enumerate(cost) if c != 0.0]
    cost_rows = pd.DataFrame(
        {
            "project": [project[i] for i in tied],
            "year": np.array([int(years[i] or 0) + lags[i] for i in tied], dtype=np.int64),
            "type": "cost",
            "category": [categories[i] for i in tied],
            "amount": [quantity[i] * cost[i] for i in tied],
            "sales_linked": True,
            "row": [rows[i] for i in tied],
        }
    )
    merged = pd.concat([flows, revenue_rows, cost_rows], ignore_index=True)
    merged["year"] = merged["year"].astype("int64")
    merged["sales_linked"] = merged["sales_linked"].astype(bool)
    check_amounts(
        SimpleNamespace(
            projects=projects, flows=merged, projects_source="projects table", flows_source=programme_source
        )
    )
    return checked, merged


#: Difference between ``book_value`` and the sum of its parts that passes without a warning. [EUR]
BOOK_VALUE_TOLERANCE = 1.0

log = logging.getLogger(__name__)


def _check_book_value(projects: pd.DataFrame, source: str) -> None:
    """Warn where ``book_value`` is not realised costs − realised revenues + profit taken + realised interest.

    Only where ``realised_interest`` is given; a difference up to
    :data:`BOOK_VALUE_TOLERANCE` passes. A warning, not an error: the
    valuation uses ``book_value`` as given (docs/municipal-practice.md).
    """
    parts = (
        projects["realised_costs"]
        - projects["realised_revenues"]
        + projects["profit_taken"]
        + projects["realised_interest"]
    )
    difference = projects["book_value"] - parts
    for i in np.flatnonzero((difference.abs() > BOOK_VALUE_TOLERANCE).to_numpy()):
        row = projects.iloc[i]
        log.warning(
            "%s: %s, complex %r: book_value %.2f differs by %.2f from realised_costs - realised_revenues "
            "+ profit_taken + realised_interest = %.2f",
            source,
            row["row"],
            row["project"],
            row["book_value"],
            difference.iloc[i],
            parts.iloc[i],
        )
