"""Scenario parameters: what a scenario file holds, checked and typed.

A scenario names a portfolio, a valuation year and the parameters of the
budget (docs/rules.md section 14). Reading the TOML file is :func:`grex.io.read_scenario`;
this module turns the parsed tables into frozen dataclasses and checks every
value, so that a typo or a rate written as a percentage never passes silently.
Defaults are those of docs/rules.md section 14.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from grex.core import BASES, DISCOUNT_PERIODS, PRESENT_VALUE_METHODS
from grex.drivers import MonteCarlo, Risk, parse_risks
from grex.errors import InputError
from grex.limits import check_scenario_amounts
from grex.market import Market, parse_markets
from grex.portfolio import COST_CATEGORIES

__all__ = ["Parameters", "RatePath", "Reserves", "Scenario", "canonical", "check_rate"]


def check_rate(value: Any, source: Any, key: str, *, allow_negative: bool = True) -> float:
    """Check a rate or share written as a decimal and return it as a float.

    A number whose absolute value is 1 or more is taken for a percentage
    (``2`` instead of ``0.02``) and refused, and so is a fall of half or more
    a year (-0.5 or less), which no rate or index plausibly is.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(source, key, f"must be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(source, key, f"must be a finite number, not {value!r}")
    if abs(value) >= 1:
        raise InputError(
            source,
            key,
            f"{value:g} looks like a percentage: write rates as decimals (0.02 for 2%)",
        )
    if not allow_negative and value < 0:
        raise InputError(source, key, f"must not be negative, not {value:g}")
    if value <= -0.5:
        raise InputError(source, key, f"{value:g} is a fall of half or more a year: write -0.01 for -1%")
    return value


@dataclass(frozen=True)
class RatePath:
    """A yearly rate: one number, or a table of year → rate with a default.

    ``rates[year]`` is the rate over that calendar year (the change from
    1 January of the year to 1 January of the next), docs/rules.md section 3.

    Examples
    --------
    >>> path = RatePath(0.02, {2023: 0.06, 2024: 0.04, 2025: 0.04})
    >>> path.values([2023, 2024, 2025, 2026]).tolist()
    [0.06, 0.04, 0.04, 0.02]
    """

    default: float
    by_year: Mapping[int, float] = field(default_factory=dict)

    def values(self, years: npt.ArrayLike) -> NDArray[np.float64]:
        """The rate of each year. [decimal per year]"""
        years = np.asarray(years)
        out = np.full(years.shape, self.default, dtype=np.float64)
        for year, rate in self.by_year.items():
            out[years == year] = rate
        return out

    def to_json(self) -> float | dict[str, float]:
        """The path as written in a scenario file (a number or a table)."""
        if not self.by_year:
            return self.default
        return {**{str(y): r for y, r in sorted(self.by_year.items())}, "default": self.default}

    @classmethod
    def parse(cls, value: Any, source: Any, key: str) -> RatePath:
        """Read a number or a ``{year = rate, ..., default = rate}`` table."""
        if isinstance(value, Mapping):
            if "default" not in value:
                raise InputError(source, key, "a table of rates per year needs a 'default' rate for the other years")
            by_year = {}
            for year, rate in value.items():
                if year == "default":
                    continue
                try:
                    year_number = int(year)
                except ValueError:
                    raise InputError(source, f"{key}.{year}", "keys must be years (e.g. 2024) or 'default'") from None
                by_year[year_number] = check_rate(rate, source, f"{key}.{year}")
            return cls(check_rate(value["default"], source, f"{key}.default"), by_year)
        return cls(check_rate(value, source, key))


@dataclass(frozen=True)
class Parameters:
    """The ``[parameters]`` table of a scenario (docs/rules.md sections 3–14).

    Attributes
    ----------
    interest_rate : float or RatePath
        Rekenrente on the book value, only the share financed with borrowed
        money. [decimal per year] Default 0.01 (the seed). A number, or a
        table of year → rate with a ``default`` (a :class:`RatePath`): the
        rate of year t is charged on the book value at 1-1-t.
    discount_rate : float
        Disconteringsvoet (BBV: the ECB target). [decimal per year] Default 0.02.
    uncertainty_margin : float
        Voorziene onzekerheden on remaining costs. [decimal] Default 0.10.
    cost_index, revenue_index : RatePath
        Kostenstijging and opbrengstenstijging. Defaults 0.02 and 0.0.
    max_duration : int
        BBV maximum duration. [years] Default 10.
    index_revenues_after_max_duration : bool
        False (default): revenue indexation stops after year V + max_duration - 1.
    provision_basis, poc_basis : {"present_value", "end_value"}
        Basis of the loss provision and of the interim profit.
    discount_periods : {"years", "days"}
        ``"years"`` (default): the end value is discounted over E − V + 1
        whole years; ``"days"``: over the days from 1-1-V to 31-12-E / 365.25
        (docs/municipal-practice.md).
    present_value_method : {"end_value", "cash_flows"}
        ``"end_value"`` (default): the present value is the end value
        discounted; ``"cash_flows"``: minus the book value plus every year's
        net remaining flow discounted (docs/municipal-practice.md).
    cost_index_by_category : mapping of str to RatePath
        Kostenstijging per kostensoort (``[parameters.cost_index_by_category]``);
        a category not named follows ``cost_index``. Default: none.
    """

    interest_rate: float | RatePath = 0.01
    discount_rate: float = 0.02
    uncertainty_margin: float = 0.10
    cost_index: RatePath = RatePath(0.02)
    revenue_index: RatePath = RatePath(0.0)
    max_duration: int = 10
    index_revenues_after_max_duration: bool = False
    provision_basis: str = "present_value"
    poc_basis: str = "present_value"
    discount_periods: str = "years"
    present_value_method: str = "end_value"
    cost_index_by_category: Mapping[str, RatePath] = field(default_factory=dict)

    @property
    def interest_path(self) -> RatePath:
        """The rekenrente as a :class:`RatePath` (one number is a path without years)."""
        rate = self.interest_rate
        return rate if isinstance(rate, RatePath) else RatePath(rate)

    @classmethod
    def parse(cls, table: Mapping[str, Any], source: Any, prefix: str = "parameters") -> Parameters:
        _check_keys(cls, table, source, prefix)
        values: dict[str, Any] = {}
        for key, value in table.items():
            where = f"key {prefix}.{key}"
            if key in ("cost_index", "revenue_index"):
                values[key] = RatePath.parse(value, source, where)
            elif key == "interest_rate" and isinstance(value, Mapping):
                values[key] = RatePath.parse(value, source, where)
            elif key in ("interest_rate", "discount_rate"):
                values[key] = check_rate(value, source, where)
            elif key == "cost_index_by_category":
                if not isinstance(value, Mapping):
                    raise InputError(
                        source, where, "must be a table of kostensoort = rate (or a table of rates per year)"
                    )
                by_category = {}
                for category, path in value.items():
                    if category not in COST_CATEGORIES:
                        raise InputError(
                            source,
                            f"{where}.{category}",
                            f"unknown cost category; expected one of {', '.join(COST_CATEGORIES)}",
                        )
                    by_category[category] = RatePath.parse(path, source, f"{where}.{category}")
                values[key] = by_category
            elif key == "discount_periods":
                if value not in DISCOUNT_PERIODS:
                    raise InputError(source, where, f"must be one of {', '.join(DISCOUNT_PERIODS)}, not {value!r}")
                values[key] = value
            elif key == "present_value_method":
                if value not in PRESENT_VALUE_METHODS:
                    raise InputError(source, where, f"must be one of {', '.join(PRESENT_VALUE_METHODS)}, not {value!r}")
                values[key] = value
            elif key == "uncertainty_margin":
                values[key] = check_rate(value, source, where, allow_negative=False)
            elif key == "max_duration":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise InputError(source, where, f"must be a whole number of years ≥ 1, not {value!r}")
                values[key] = value
            elif key == "index_revenues_after_max_duration":
                values[key] = _check_bool(value, source, where)
            else:  # provision_basis, poc_basis
                if value not in BASES:
                    raise InputError(source, where, f"must be one of {', '.join(BASES)}, not {value!r}")
                values[key] = value
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, RatePath):
                value = value.to_json()
            elif f.name == "cost_index_by_category":
                value = {category: path.to_json() for category, path in value.items()}
            out[f.name] = value
        return out


@dataclass(frozen=True)
class Reserves:
    """The ``[reserves]`` table: available reserves and the norms (docs/reserves.md).

    Attributes
    ----------
    general_reserve : float or None
        Algemene reserve grondbedrijf available at the valuation date. [EUR]
    resistance_reserve : float or None
        Weerstandsreserve grondbedrijf available (beschikbare weerstandscapaciteit). [EUR]
    iflo_book_value_share, iflo_remaining_costs_share : float
        Shares of the IFLO norm. [decimal] Defaults 0.10 and 0.10.
    confidence : float
        Confidence level of the risk-based requirement. [decimal] Default 0.90.
    norm : {"max", "iflo", "risk"}
        Which required capacity the council's policy measures the reserve
        against (:data:`grex.reserves.NORMS`): the IFLO norm, the risk-based
        capacity of the Monte Carlo, or the higher of the two (default, the
        prudent choice). The other is shown beside it as context.
    """

    general_reserve: float | None = None
    resistance_reserve: float | None = None
    iflo_book_value_share: float = 0.10
    iflo_remaining_costs_share: float = 0.10
    confidence: float = 0.90
    norm: str = "max"

    @classmethod
    def parse(cls, table: Mapping[str, Any], source: Any, prefix: str = "reserves") -> Reserves:
        _check_keys(cls, table, source, prefix)
        values: dict[str, Any] = {}
        for key, value in table.items():
            where = f"key {prefix}.{key}"
            if key in ("general_reserve", "resistance_reserve"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise InputError(source, where, f"must be an amount in euros, not {value!r}")
                values[key] = float(value)
            elif key == "confidence":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                    raise InputError(
                        source, where, f"must be a probability between 0 and 1 (0.90 for 90%), not {value!r}"
                    )
                values[key] = float(value)
            elif key == "norm":
                if value not in ("max", "iflo", "risk"):
                    raise InputError(source, where, f'must be "max", "iflo" or "risk", not {value!r}')
                values[key] = value
            else:
                values[key] = check_rate(value, source, where, allow_negative=False)
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _expected_index(montecarlo: MonteCarlo, source: Any) -> MonteCarlo:
    """``[montecarlo] expected_revenue_index`` read as a :class:`RatePath` (yearly revaluation, issue 16)."""
    from dataclasses import replace  # noqa: PLC0415

    raw = montecarlo.expected_revenue_index
    if raw is None or isinstance(raw, RatePath):
        return montecarlo
    return replace(
        montecarlo, expected_revenue_index=RatePath.parse(raw, source, "key montecarlo.expected_revenue_index")
    )


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: the portfolio, the valuation year and the parameters.

    Attributes
    ----------
    name : str
        Name of the scenario; outputs go to ``out/<name>/`` by default.
    portfolio : Path
        The portfolio (a folder of CSV or Parquet files, or an Excel workbook).
    valuation_year : int
        V: the valuation date is 1 January of this year.
    illustrative : bool
        The figures are made up; every output says so.
    parameters, reserves : Parameters, Reserves
    montecarlo : MonteCarlo
        The ``[montecarlo]`` table: the drivers of the simulation (:mod:`grex.drivers`).
    risks : tuple of Risk
        The risk register, ``[[risks]]``.

        A ``[grid]`` table (dotted keys into ``[parameters]``, ``[reserves]``
        or ``[montecarlo]``, each with a list of values) is kept in ``data``;
        :func:`grex.batch.expand_grid` turns it into one scenario per
        combination. The scenario itself is the base the grid varies.
    source : Path or None
        The scenario file.
    sources : tuple of Path
        Every file read, the ``extends`` chain included, the scenario file first.
    data : Mapping
        The merged tables as read, for the record (hashing, provenance).
    """

    name: str
    portfolio: Path
    valuation_year: int
    illustrative: bool = False
    parameters: Parameters = Parameters()
    reserves: Reserves = Reserves()
    montecarlo: MonteCarlo = MonteCarlo()
    risks: tuple[Risk, ...] = ()
    source: Path | None = None
    sources: tuple[Path, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # market (issue 15)
    markets: tuple[Market, ...] = ()

    #: Fields that are not inputs of the valuation: where the files lie, and the
    #: tables as read (every value of them is in the typed fields).
    NOT_INPUTS = ("portfolio", "source", "sources", "data")

    #: Top-level keys of a scenario file (``extends`` is resolved on reading).
    KEYS = (
        "name",
        "portfolio",
        "valuation_year",
        "illustrative",
        "description",
        "parameters",
        "reserves",
        "montecarlo",
        "risks",
        "grid",
        "market",
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: Any = None, sources: tuple[Path, ...] = ()) -> Scenario:
        """Check a merged scenario table; ``portfolio`` must already be a resolved path."""
        unknown = sorted(set(data) - set(cls.KEYS))
        if unknown:
            raise InputError(source, f"key {unknown[0]}", f"unknown key; expected one of {', '.join(cls.KEYS)}")
        for key in ("name", "portfolio", "valuation_year"):
            if key not in data:
                raise InputError(source, f"key {key}", "is missing")
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\"):
            raise InputError(source, "key name", f"must be a non-empty name without slashes, not {name!r}")
        if not name.isprintable():
            raise InputError(
                source, "key name", f"must not hold control characters (a NUL, a line break), not {name!r}"
            )
        year = data["valuation_year"]
        if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
            raise InputError(source, "key valuation_year", f"must be a year such as 2024, not {year!r}")
        for key in ("parameters", "reserves", "grid"):
            if key in data and not isinstance(data[key], Mapping):
                raise InputError(source, f"key {key}", "must be a table")
        if "description" in data and not isinstance(data["description"], str):
            raise InputError(source, "key description", "must be a string")
        scenario = cls(
            name=name,
            portfolio=Path(data["portfolio"]),
            valuation_year=year,
            illustrative=_check_bool(data.get("illustrative", False), source, "key illustrative"),
            parameters=Parameters.parse(data.get("parameters", {}), source),
            reserves=Reserves.parse(data.get("reserves", {}), source),
            montecarlo=(montecarlo := _expected_index(MonteCarlo.parse(data.get("montecarlo", {}), source), source)),
            risks=parse_risks(data.get("risks", []), source, tail=montecarlo.tail),
            source=None if source is None else Path(source),
            sources=sources,
            data=data,
            markets=parse_markets(data.get("market", {}), source, tail=montecarlo.tail),
        )
        check_scenario_amounts(scenario)  # reserves and risk impacts: above 10^12 EUR is a unit mistake
        return scenario

    def _portfolio_label(self) -> str:
        """The portfolio path relative to the scenario file, as written there."""
        if self.source is None or not self.portfolio.is_absolute():
            return self.portfolio.as_posix()
        return Path(os.path.relpath(self.portfolio, Path(self.source).resolve().parent)).as_posix()

    def effective_inputs(self) -> dict[str, Any]:
        """Every value the scenario feeds the valuation and the simulation, in canonical form.

        All fields but :data:`NOT_INPUTS`, defaults included, as
        :func:`canonical` writes them: the basis of the input hash
        (:func:`grex.valuation.input_hash`). A scenario changed in code
        (``dataclasses.replace``, :func:`grex.valuation.with_parameters`)
        gives other values here; the raw ``data`` is not read.
        """
        return {
            f.name: canonical(getattr(self, f.name))
            for f in fields(self)
            if f.name not in self.NOT_INPUTS and not (f.name == "markets" and not self.markets)  # hash as before
        }

    def to_json(self) -> dict[str, Any]:
        """Every parameter as used, for ``summary.json``."""
        return {
            "name": self.name,
            "valuation_year": self.valuation_year,
            "illustrative": self.illustrative,
            "portfolio": self._portfolio_label(),
            "parameters": self.parameters.to_json(),
            "reserves": self.reserves.to_json(),
            "montecarlo": self.montecarlo.to_json(),
            "risks": [risk.to_json() for risk in self.risks],
            **({"market": {m.name: m.to_json() for m in self.markets}} if self.markets else {}),
        }


def canonical(value: Any) -> Any:
    """A value as plain JSON data that is the same for equal values, in any process.

    Dataclasses become tables of their fields (all but those whose metadata
    says ``input=False``: what is only shown, as a market's label) with the class name under
    ``"__type__"`` (a uniform and a triangular distribution with the same
    bounds differ); mappings become lists of ``[key, value]`` pairs sorted by
    key; tuples and lists, lists; numpy scalars, Python numbers. A float with a
    whole value becomes an int, so ``0`` and ``0.0`` (and ``-0.0``) are the same
    input; other floats keep every bit (``json`` writes the shortest text that
    reads back exactly).

    Examples
    --------
    >>> canonical(RatePath(0.02, {2025: 0.04, 2024: 0.06}))
    {'__type__': 'RatePath', 'default': 0.02, 'by_year': {'__map__': [[2024, 0.06], [2025, 0.04]]}}
    >>> canonical(1.0), canonical(-0.0), canonical(np.float64(0.1))
    (1, 0, 0.1)
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return canonical(value.item())
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if is_dataclass(value) and not isinstance(value, type):
        shown = (f for f in fields(value) if f.metadata.get("input", True))  # not what is only shown (a label)
        return {"__type__": type(value).__name__, **{f.name: canonical(getattr(value, f.name)) for f in shown}}
    if isinstance(value, Mapping):
        pairs = [[canonical(k), canonical(v)] for k, v in value.items()]
        return {"__map__": sorted(pairs, key=lambda pair: json.dumps(pair[0], sort_keys=True))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, Path):
        return value.as_posix()
    raise TypeError(f"no canonical form for {type(value).__name__}: {value!r}")


def _check_keys(cls: type, table: Mapping[str, Any], source: Any, prefix: str) -> None:
    allowed = [f.name for f in fields(cls)]
    for key in table:
        if key not in allowed:
            raise InputError(source, f"key {prefix}.{key}", f"unknown key; expected one of {', '.join(allowed)}")


def _check_bool(value: Any, source: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(source, where, f"must be true or false, not {value!r}")
    return value
