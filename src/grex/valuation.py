"""The deterministic valuation of a portfolio under a scenario.

This module turns the checked tables of a :class:`~grex.portfolio.Portfolio`
and the parameters of a :class:`~grex.scenario.Scenario` into the arrays of
the core (:class:`ModelInputs`), runs :func:`grex.core.valuate`, and presents
the result as tables (:class:`Valuation`). It reads and writes no files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from grex import __version__
from grex.core import CoreResult, freeze_rates, index_factors, valuate
from grex.portfolio import STATUSES, Portfolio
from grex.reserves import iflo_norm, nar_grade, resistance_ratio
from grex.scenario import Scenario

__all__ = ["COMPLEX_COLUMNS", "ModelInputs", "Valuation", "build_inputs", "input_hash", "value_portfolio"]

#: Columns of ``complexes.csv``, in order.
COMPLEX_COLUMNS = (
    "project",
    "name",
    "status",
    "end_year",
    "duration",
    "exceeds_max_duration",
    "book_value",
    "remaining_costs_price_level",
    "remaining_revenues_price_level",
    "remaining_costs",
    "remaining_revenues",
    "uncertainty_margin_amount",
    "interest",
    "end_value",
    "present_value",
    "provision",
    "provision_balance",
    "dotation",
    "poc_profit",
    "irr",
)
#: Amount columns that add up over complexes (MPG totals).
TOTAL_COLUMNS = tuple(c for c in COMPLEX_COLUMNS[6:] if c != "irr")


@dataclass(frozen=True)
class ModelInputs:
    """A portfolio under a scenario as the arrays of the core.

    Shapes: C complexes in file order, T years from the valuation year V,
    G = ``rate_offset + T`` years of the rate grid, which starts
    ``rate_offset`` years before V (at the earliest price level).

    Attributes
    ----------
    valuation_year : int
        V.
    projects, names, status : ndarray of str, shape (C,)
    years : ndarray of int, shape (T,)
        Calendar years V ... V+T-1.
    costs : ndarray, shape (C, T)
        Remaining costs not linked to sales. [EUR, price level]
    linked_costs : ndarray, shape (C, T)
        Remaining costs that follow plot sales (``sales_linked``). [EUR, price level]
    revenues : ndarray, shape (C, T)
        Remaining revenues. [EUR, price level]
    book_value, realised_costs, realised_revenues, profit_taken : ndarray, shape (C,)
        [EUR]
    given_end_index : ndarray of int, shape (C,)
        ``end_year - V`` where given, else 0.
    price_level_offset : ndarray of int, shape (C,)
        Grid index of each price level year in the rate grid.
    rate_offset : int
        Years of the rate grid before V.
    cost_rates, revenue_rates : ndarray, shape (C, G)
        Yearly index rates per complex, overrides and the revenue freeze
        after the maximum duration applied. [decimal per year]
    uncertainty_margin : ndarray, shape (C,)
        [decimal]
    interest_rate, discount_rate : float
        [decimal per year]
    adopted : ndarray of bool, shape (C,)
        Status ``vastgesteld``.
    max_duration : int
    provision_basis, poc_basis : str
    interest_rates : ndarray, shape (T,), or None
        The rekenrente of each year V ... V+T-1 where ``interest_rate`` is a
        table of rates per year; None where it is one number (``interest_rate``).
        [decimal per year]
    discount_periods, present_value_method : str
        Conventions of the present value (:func:`grex.core.valuate`).
    provision_balance : ndarray, shape (C,), or None
        Voorziening at 31-12-(V − 1); None: zero for every complex. [EUR]
    category_costs : ndarray, shape (K, C, T), or None
        All remaining costs split into K groups of kostensoorten that follow
        their own index (``cost_index_by_category``); None where every cost
        follows ``cost_rates``. [EUR, price level]
    category_rates : ndarray, shape (K, C, G), or None
        The index rates of each group, per-complex overrides applied.
    category_fixed_costs, category_linked_costs : ndarray, shape (K, C, T), or None
        ``category_costs`` split as ``costs`` and ``linked_costs``: the costs
        that keep their timing and those that follow plot sales
        (``sales_linked``), for the Monte Carlo, which re-times the latter.
        [EUR, price level]
    """

    valuation_year: int
    projects: NDArray[np.str_]
    names: NDArray[np.str_]
    status: NDArray[np.str_]
    years: NDArray[np.int64]
    costs: NDArray[np.float64]
    linked_costs: NDArray[np.float64]
    revenues: NDArray[np.float64]
    book_value: NDArray[np.float64]
    realised_costs: NDArray[np.float64]
    realised_revenues: NDArray[np.float64]
    profit_taken: NDArray[np.float64]
    given_end_index: NDArray[np.intp]
    price_level_offset: NDArray[np.intp]
    rate_offset: int
    cost_rates: NDArray[np.float64]
    revenue_rates: NDArray[np.float64]
    uncertainty_margin: NDArray[np.float64]
    interest_rate: float
    discount_rate: float
    adopted: NDArray[np.bool_]
    max_duration: int
    provision_basis: str
    poc_basis: str
    interest_rates: NDArray[np.float64] | None = None
    discount_periods: str = "years"
    present_value_method: str = "end_value"
    provision_balance: NDArray[np.float64] | None = None
    category_costs: NDArray[np.float64] | None = None
    category_rates: NDArray[np.float64] | None = None
    # municipal practice (issue 14)
    category_fixed_costs: NDArray[np.float64] | None = None
    category_linked_costs: NDArray[np.float64] | None = None

    @property
    def n_complexes(self) -> int:
        return len(self.projects)

    @property
    def n_years(self) -> int:
        return len(self.years)

    def cost_factors(self) -> NDArray[np.float64]:
        """Index factor of every cost flow, shape (C, T)."""
        return index_factors(self.cost_rates, self.price_level_offset, self.n_years)

    def revenue_factors(self) -> NDArray[np.float64]:
        """Index factor of every revenue flow, shape (C, T)."""
        return index_factors(self.revenue_rates, self.price_level_offset, self.n_years)

    def indexed_costs(self) -> NDArray[np.float64] | None:
        """Remaining costs indexed per group of kostensoorten, shape (C, T); None without per-category indices."""
        if self.category_costs is None or self.category_rates is None:
            return None
        total = np.zeros((self.n_complexes, self.n_years))
        for costs, rates in zip(self.category_costs, self.category_rates, strict=True):
            total += costs * index_factors(rates, self.price_level_offset, self.n_years)
        return total

    def core_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`grex.core.valuate` other than the flows and factors.

        The conventions of municipal practice (docs/municipal-practice.md)
        are passed only where they differ from the default, so that the
        arguments of a default scenario stay as they were.
        """
        extra: dict[str, Any] = {}
        if self.interest_rates is not None:
            extra["interest_rate"] = np.broadcast_to(self.interest_rates, (self.n_complexes, self.n_years))
            extra["interest_by_year"] = True
        if self.discount_periods != "years":
            extra["discount_periods"] = self.discount_periods
            extra["valuation_year"] = self.valuation_year
        if self.present_value_method != "end_value":
            extra["present_value_method"] = self.present_value_method
            extra["valuation_year"] = self.valuation_year
        return {
            "book_value": self.book_value,
            "uncertainty_margin": self.uncertainty_margin,
            "interest_rate": self.interest_rate,
            "discount_rate": self.discount_rate,
            "given_end_index": self.given_end_index,
            "realised_costs": self.realised_costs,
            "realised_revenues": self.realised_revenues,
            "profit_taken": self.profit_taken,
            "adopted": self.adopted,
            "max_duration": self.max_duration,
            "provision_basis": self.provision_basis,
            "poc_basis": self.poc_basis,
            **extra,
        }

    def valuate(self) -> CoreResult:
        """Run the core on these inputs."""
        return valuate(
            self.costs + self.linked_costs,
            self.revenues,
            cost_factor=self.cost_factors(),
            revenue_factor=self.revenue_factors(),
            indexed_costs=self.indexed_costs(),
            **self.core_arguments(),
        )


def build_inputs(scenario: Scenario, portfolio: Portfolio, *, extra_years: int = 0) -> ModelInputs:
    """Arrays of a portfolio under a scenario.

    Parameters
    ----------
    extra_years : int, keyword-only
        Years added to the horizon after the last flow or end year, with no
        flows (for simulations that move flows later).
    """
    params = scenario.parameters
    valuation_year = scenario.valuation_year
    projects = portfolio.projects
    flows = portfolio.flows
    n = len(projects)

    last_year = max(
        [valuation_year]
        + ([int(flows["year"].max())] if len(flows) else [])
        + [int(y) for y in projects["end_year"].dropna()]
    )
    n_years = last_year - valuation_year + 1 + extra_years
    years = np.arange(valuation_year, valuation_year + n_years)

    position = {project: i for i, project in enumerate(projects["project"])}
    rows = flows["project"].map(position).to_numpy()
    columns = flows["year"].to_numpy() - valuation_year
    amounts = flows["amount"].to_numpy(dtype=np.float64)
    is_cost = (flows["type"] == "cost").to_numpy()
    linked = flows["sales_linked"].to_numpy(dtype=bool)
    tables = {}
    for key, mask in (
        ("costs", is_cost & ~linked),
        ("linked_costs", is_cost & linked),
        ("revenues", ~is_cost),
    ):
        table = np.zeros((n, n_years))
        np.add.at(table, (rows[mask], columns[mask]), amounts[mask])
        tables[key] = table

    price_level = projects["price_level"].fillna(valuation_year).to_numpy(dtype=np.int64)
    grid_start = min(valuation_year, int(price_level.min()))
    rate_offset = valuation_year - grid_start
    grid_years = np.arange(grid_start, valuation_year + n_years)

    def rates(path: Any, override_column: str) -> NDArray[np.float64]:
        table = np.tile(path.values(grid_years), (n, 1))
        override = projects[override_column].to_numpy(dtype=np.float64)
        has = ~np.isnan(override)
        table[has] = override[has, None]
        return table

    # kostenstijging per kostensoort: one group per category named in the table, one for the rest
    category_costs = category_rates = category_fixed_costs = category_linked_costs = None
    if params.cost_index_by_category:
        named = list(params.cost_index_by_category)
        group = flows["category"].map({c: k for k, c in enumerate(named)}).fillna(len(named)).to_numpy(dtype=np.intp)
        category_costs = np.zeros((len(named) + 1, n, n_years))
        np.add.at(category_costs, (group[is_cost], rows[is_cost], columns[is_cost]), amounts[is_cost])
        category_fixed_costs, category_linked_costs = np.zeros((2, len(named) + 1, n, n_years))
        for table, mask in ((category_fixed_costs, is_cost & ~linked), (category_linked_costs, is_cost & linked)):
            np.add.at(table, (group[mask], rows[mask], columns[mask]), amounts[mask])
        category_rates = np.stack(
            [rates(params.cost_index_by_category[c], "cost_index") for c in named]
            + [rates(params.cost_index, "cost_index")]
        )

    interest = params.interest_path
    provision_balance = (
        projects["provision_balance"].fillna(0.0).to_numpy(dtype=np.float64)
        if "provision_balance" in projects.columns
        else None
    )

    revenue_rates = rates(params.revenue_index, "revenue_index")
    if not params.index_revenues_after_max_duration:
        revenue_rates = freeze_rates(revenue_rates, rate_offset + params.max_duration - 1)

    end_year = projects["end_year"]
    given_end_index = np.where(
        end_year.notna(), end_year.fillna(valuation_year).to_numpy(dtype=np.int64) - valuation_year, 0
    )
    margin = projects["uncertainty_margin"].to_numpy(dtype=np.float64)
    return ModelInputs(
        valuation_year=valuation_year,
        projects=projects["project"].to_numpy(dtype=str),
        names=projects["name"].to_numpy(dtype=str),
        status=projects["status"].to_numpy(dtype=str),
        years=years,
        costs=tables["costs"],
        linked_costs=tables["linked_costs"],
        revenues=tables["revenues"],
        book_value=projects["book_value"].to_numpy(dtype=np.float64),
        realised_costs=projects["realised_costs"].to_numpy(dtype=np.float64),
        realised_revenues=projects["realised_revenues"].to_numpy(dtype=np.float64),
        profit_taken=projects["profit_taken"].to_numpy(dtype=np.float64),
        given_end_index=given_end_index.astype(np.intp),
        price_level_offset=(price_level - grid_start).astype(np.intp),
        rate_offset=rate_offset,
        cost_rates=rates(params.cost_index, "cost_index"),
        revenue_rates=revenue_rates,
        uncertainty_margin=np.where(np.isnan(margin), params.uncertainty_margin, margin),
        interest_rate=params.interest_rate if isinstance(params.interest_rate, float) else interest.default,
        discount_rate=params.discount_rate,
        adopted=(projects["status"] == "vastgesteld").to_numpy(),
        max_duration=params.max_duration,
        provision_basis=params.provision_basis,
        poc_basis=params.poc_basis,
        interest_rates=interest.values(years) if interest.by_year else None,
        discount_periods=params.discount_periods,
        present_value_method=params.present_value_method,
        provision_balance=provision_balance,
        category_costs=category_costs,
        category_rates=category_rates,
        category_fixed_costs=category_fixed_costs,
        category_linked_costs=category_linked_costs,
    )


#: Optional project columns added later and the value that changes nothing.
_NEUTRAL = {"provision_balance": 0.0, "realised_interest": np.nan}


def input_hash(scenario: Scenario, portfolio: Portfolio) -> str:
    """SHA-256 of the effective inputs: the typed scenario and both portfolio tables.

    The scenario enters as :meth:`Scenario.effective_inputs` (every field as
    used, defaults included, not the tables as read), so a scenario changed in
    code hashes differently from the file it came from; the portfolio as its
    checked tables, column by column in name order (``row``, which only
    places messages, left out), numbers as their 64-bit floats. The hash is of
    the content, not of the files: the same portfolio as CSV, Parquet or Excel,
    or a scenario file formatted differently, gives the same hash, and paths
    are left out, so a copied folder hashes the same. It is the same in every
    process (nothing in it depends on Python's string hashing).
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(scenario.effective_inputs(), sort_keys=True, separators=(",", ":")).encode())
    for name, frame in (("projects", portfolio.projects), ("flows", portfolio.flows)):
        digest.update(f"\x1d{name}\x1d{len(frame)}".encode())
        for column in sorted(str(c) for c in frame.columns if c != "row"):
            values = frame[column]
            if column in _NEUTRAL and (values.isna().all() or (values == _NEUTRAL[column]).all()):
                continue  # an optional column at its default hashes as if absent (as before it existed)
            digest.update(f"\x1e{column}\x1e".encode())
            digest.update(_column_bytes(frame[column]))
    return digest.hexdigest()


def _column_bytes(values: pd.Series) -> bytes:
    """A column in canonical bytes: numbers (and flags) as little-endian float64 with one NaN
    for every missing value; anything else as length-prefixed UTF-8 text, missing values marked."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan).astype("<f8")
        numbers[np.isnan(numbers)] = np.nan  # one bit pattern for every missing value
        return b"n" + numbers.tobytes()
    out = [b"s"]
    for value in values.tolist():
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            out.append(b"\xff")
        else:
            text = str(value).encode()
            out.append(len(text).to_bytes(8, "little") + text)
    return b"".join(out)


@dataclass(frozen=True)
class Valuation:
    """The deterministic valuation of a portfolio: the MPG figures per complex.

    Attributes
    ----------
    scenario : Scenario
    portfolio : Portfolio
    inputs : ModelInputs
    result : CoreResult
        Arrays per complex (C,) and per complex and year (C, T).
    input_hash : str
        SHA-256 of the inputs (:func:`input_hash`).
    """

    scenario: Scenario
    portfolio: Portfolio
    inputs: ModelInputs
    result: CoreResult
    input_hash: str

    def complexes(self) -> pd.DataFrame:
        """One row per complex with the columns of :data:`COMPLEX_COLUMNS`.

        Amounts in euros; ``end_value``, ``present_value`` and ``poc_profit``
        positive for a profit; ``provision`` (the provision required now),
        ``provision_balance`` (the balance at 31-12-(V − 1)) positive amounts;
        ``dotation`` = provision − provision_balance (positive: added to the
        provision, negative: released, vrijval); ``irr`` the internal rate of
        return of the remaining flows (:meth:`irr`).
        """
        r, x = self.result, self.inputs
        balance = np.zeros(x.n_complexes) if x.provision_balance is None else x.provision_balance
        return pd.DataFrame(
            {
                "project": x.projects,
                "name": x.names,
                "status": x.status,
                "end_year": x.valuation_year + r.end_index,
                "duration": r.duration,
                "exceeds_max_duration": r.exceeds_max_duration,
                "book_value": x.book_value,
                "remaining_costs_price_level": r.remaining_costs_price_level,
                "remaining_revenues_price_level": r.remaining_revenues_price_level,
                "remaining_costs": r.remaining_costs,
                "remaining_revenues": r.remaining_revenues,
                "uncertainty_margin_amount": r.uncertainty_margin_amount,
                "interest": r.interest_total,
                "end_value": r.end_value,
                "present_value": r.present_value,
                "provision": r.provision,
                "provision_balance": balance,
                "dotation": r.provision - balance,
                "poc_profit": r.poc_profit,
                "irr": self.irr(),
            },
            columns=list(COMPLEX_COLUMNS),
        )

    def irr(self) -> NDArray[np.float64]:
        """Internal rate of return per complex (interne rentevoet), shape (C,). [decimal per year]

        The rate ``r`` at which ``-book_value + sum_t net_t / (1 + r) ** (t - V + 1)``
        is zero, with ``net_t`` the nominal revenues minus costs (with the
        margin) of year t from V to E: the present value from the cash flows
        at discount rate r, and the rekenrente at which the end value is nil.
        ``numpy_financial.irr``, only for an investment: the first non-zero
        value (the book value as an outflow, or else the first net flow)
        negative and some later value positive; NaN elsewhere (a complex
        whose book value is already negative has no rate of return in this
        sense). Where several rates solve the equation, the one nearest zero
        (docs/municipal-practice.md).
        """
        return self._irr.copy()

    @cached_property
    def _irr(self) -> NDArray[np.float64]:
        import numpy_financial as npf  # noqa: PLC0415 - only needed here

        r, x = self.result, self.inputs
        net = r.revenues - r.costs
        out = np.full(x.n_complexes, np.nan)
        for i in range(x.n_complexes):
            values = np.concatenate(([-x.book_value[i]], net[i, : int(r.end_index[i]) + 1]))
            signs = np.sign(values[values != 0])
            # an investment: money goes out first and some comes back
            if len(signs) and signs[0] < 0 and (signs > 0).any():
                out[i] = npf.irr(values)
        return out

    def years(self) -> pd.DataFrame:
        """Per complex and year from V to its end year: nominal costs (with the
        margin), revenues, interest and the book value at 31 December."""
        r, x = self.result, self.inputs
        frames = []
        for i, project in enumerate(x.projects):
            span = slice(0, int(r.end_index[i]) + 1)
            frames.append(
                pd.DataFrame(
                    {
                        "project": project,
                        "year": x.years[span],
                        "costs_price_level": (x.costs + x.linked_costs)[i, span],
                        "revenues_price_level": x.revenues[i, span],
                        "costs": r.costs[i, span],
                        "uncertainty_margin_amount": r.margin[i, span],
                        "revenues": r.revenues[i, span],
                        "interest": r.interest[i, span],
                        "book_value": r.balance[i, span],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def totals(self) -> dict[str, dict[str, float]]:
        """MPG totals: ``{"total": {...}, "vastgesteld": {...}, ...}`` over the amount columns."""
        frame = self.complexes()
        out = {"total": {c: float(frame[c].sum()) for c in TOTAL_COLUMNS}}
        for status in STATUSES:
            part = frame[frame["status"] == status]
            out[status] = {c: float(part[c].sum()) for c in TOTAL_COLUMNS}
            out[status]["complexes"] = len(part)
        out["total"]["complexes"] = len(frame)
        return out

    def iflo_norm(self) -> float:
        """Required resistance reserve by the IFLO norm. [EUR]"""
        return iflo_norm(
            self.inputs.status,
            self.inputs.book_value,
            self.result.remaining_costs_price_level,
            book_value_share=self.scenario.reserves.iflo_book_value_share,
            remaining_costs_share=self.scenario.reserves.iflo_remaining_costs_share,
        )

    def ratio(self) -> float | None:
        """Available resistance reserve / IFLO norm, where the reserve is given."""
        available = self.scenario.reserves.resistance_reserve
        return None if available is None else resistance_ratio(available, self.iflo_norm())

    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds."""
        grade = nar_grade(self.ratio())
        return {
            "scenario": self.scenario.name,
            "grex_version": __version__,
            "valuation_year": self.scenario.valuation_year,
            "illustrative": self.scenario.illustrative,
            "input_hash": self.input_hash,
            "parameters": self.scenario.to_json(),
            "totals": self.totals(),
            "iflo_norm": self.iflo_norm(),
            "available_resistance_reserve": self.scenario.reserves.resistance_reserve,
            "ratio": self.ratio(),
            "grade": None if grade is None else grade[0],
            "grade_label": None if grade is None else grade[1],
        }

    def to_frame(self) -> pd.DataFrame:
        """The per-complex table (same as :meth:`complexes`)."""
        return self.complexes()

    def totals_frame(self) -> pd.DataFrame:
        """:meth:`totals` as a table: one row per status and ``total``, the amount columns and ``complexes``."""
        return pd.DataFrame.from_dict(self.totals(), orient="index").rename_axis("status")

    def __repr__(self) -> str:
        from grex.display import valuation_repr

        return valuation_repr(self)

    def _repr_html_(self) -> str:
        from grex.display import valuation_html

        return valuation_html(self)


def value_portfolio(scenario: Scenario, portfolio: Portfolio) -> Valuation:
    """Value a portfolio under a scenario (checks the years against V first)."""
    portfolio.check_years(scenario.valuation_year)
    inputs = build_inputs(scenario, portfolio)
    return Valuation(scenario, portfolio, inputs, inputs.valuate(), input_hash(scenario, portfolio))


def with_parameters(scenario: Scenario, **changes: Any) -> Scenario:
    """A copy of a scenario with some parameters changed (for analyses in code)."""
    return replace(scenario, parameters=replace(scenario.parameters, **changes))
