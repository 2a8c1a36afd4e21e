"""Markets of the sales programme (issue 15): a town-wide absorption that the complexes share.

A ``[market.NAME]`` table of the scenario names the revenue categories it
covers (``segments``), its ``unit`` (``dwelling``, ``m2`` or ``ha``) and its
``absorption``, the units it takes a year: a number or a distribution as
elsewhere in ``[montecarlo]`` (``{ low, mode, high }`` triangular, ``{ low,
high }`` uniform). ``persistence`` (in [0, 1), default 0) and
``price_correlation`` (in [-1, 1], default 0) shape the yearly draws: the
normal ``x_t = persistence * x_{t-1} + sqrt(1 - persistence**2) * e_t``
(``x_0 = e_0``), ``e_t = price_correlation * n_t + sqrt(1 -
price_correlation**2) * eps_t`` with ``n_t`` the normal innovation of the
land-price shock of year t and ``eps_t`` from the market's own random
stream; the absorption of year t is the distribution at ``Phi(x_t)``.

Each year of each draw the units a complex offers in a market (its planned
units of that year plus what it has not sold yet) are sold up to the
absorption; when the complexes together offer more, each sells
``offer * (absorption / total offer)`` (pro rata to what it offers). Unsold
units carry over, oldest first (FIFO): the units of a planned year are sold
before those of the next, each at its planned price (at price level), and
the costs tied to them follow the units, ``cost_lag`` years later.
:func:`allocate` is the numpy version; :func:`grex.kernel.allocate_market`
the compiled one, bit for bit the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from grex.drivers import Distribution, parse_distribution
from grex.errors import InputError
from grex.portfolio import M2_PER_HA, PROGRAMME_ROW, SEGMENT_UNITS

__all__ = [
    "MARKET_KEYS",
    "Market",
    "MarketPlan",
    "allocate",
    "market_labels",
    "market_plan",
    "parse_markets",
    "reach",
]

#: Keys of a ``[market.NAME]`` table.
MARKET_KEYS = ("segments", "unit", "absorption", "persistence", "price_correlation", "label")
#: Units of a market.
UNITS = ("dwelling", "m2", "ha")


@dataclass(frozen=True)
class Market:
    """One ``[market.NAME]`` table, checked.

    ``label`` (optional free text, e.g. ``"Woningmarkt Assen"``) is what the
    report and the console show for the market; it changes no figure, so it
    is no input of the hash (:func:`grex.scenario.canonical`) and not in
    :meth:`to_json`.
    """

    name: str
    segments: tuple[str, ...]
    unit: str
    absorption: Distribution
    persistence: float = 0.0
    price_correlation: float = 0.0
    label: str | None = field(default=None, metadata={"input": False})

    @property
    def shown(self) -> str:
        """The market as the report and the console show it: its label, else its name."""
        return self.label if self.label is not None else self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "segments": list(self.segments),
            "unit": self.unit,
            "absorption": self.absorption.to_json(),
            "persistence": self.persistence,
            "price_correlation": self.price_correlation,
        }


def parse_markets(value: Any, source: Any, *, tail: float = 0.05) -> tuple[Market, ...]:
    """Check the ``[market]`` tables; raise :class:`InputError` naming the key."""
    if not isinstance(value, Mapping):
        raise InputError(source, "key market", "must be a table of markets ([market.housing], ...)")
    out = []
    owner: dict[str, str] = {}
    for name, table in value.items():
        where = f"key market.{name}"
        if not isinstance(table, Mapping):
            raise InputError(source, where, "must be a table with segments, unit and absorption")
        for key in table:
            if key not in MARKET_KEYS:
                raise InputError(source, f"{where}.{key}", f"unknown key; expected one of {', '.join(MARKET_KEYS)}")
        for key in ("segments", "unit", "absorption"):
            if key not in table:
                raise InputError(source, f"{where}.{key}", "is missing")
        segments = table["segments"]
        if isinstance(segments, str):
            segments = [segments]
        if not isinstance(segments, list) or not segments:
            raise InputError(source, f"{where}.segments", "must list at least one revenue category")
        unit = table["unit"]
        if unit not in UNITS:
            raise InputError(source, f"{where}.unit", f"{unit!r} is not one of {', '.join(UNITS)}")
        for segment in segments:
            if segment not in SEGMENT_UNITS:
                raise InputError(
                    source, f"{where}.segments", f"{segment!r} is not a segment; expected {', '.join(SEGMENT_UNITS)}"
                )
            if not _fits(unit, SEGMENT_UNITS[segment]):
                raise InputError(source, f"{where}.unit", f"{unit!r} does not fit segment {segment!r}")
            if segment in owner:
                raise InputError(
                    source,
                    f"{where}.segments",
                    f"{segment!r} is in market {owner[segment]!r} too: one market a segment",
                )
            owner[segment] = str(name)
        absorption = parse_distribution(
            table["absorption"], source, f"{where}.absorption", minimum=0.0, strict=True, tail=tail
        )
        if absorption.low <= 0:
            raise InputError(source, f"{where}.absorption", f"must be above 0, not {absorption.low:g}")
        persistence = _number(table.get("persistence", 0.0), source, f"{where}.persistence")
        if not 0.0 <= persistence < 1.0:
            raise InputError(source, f"{where}.persistence", f"must lie in [0, 1), not {persistence:g}")
        correlation = _number(table.get("price_correlation", 0.0), source, f"{where}.price_correlation")
        if not -1.0 <= correlation <= 1.0:
            raise InputError(source, f"{where}.price_correlation", f"must lie in [-1, 1], not {correlation:g}")
        label = table.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise InputError(source, f"{where}.label", f"must be a non-empty string (text), not {label!r}")
        out.append(Market(str(name), tuple(segments), unit, absorption, persistence, correlation, label))
    shown: dict[str, str] = {}
    for market in out:  # the report draws a panel per shown name: two markets cannot share one
        if market.shown in shown:
            key = f"key market.{market.name}" + (".label" if market.label is not None else "")
            raise InputError(source, key, f"{market.shown!r} is shown for market {shown[market.shown]!r} too")
        shown[market.shown] = market.name
    return tuple(out)


def market_labels(scenario: Any) -> dict[str, str]:
    """Market name -> what the report and the console show for it (its ``label``, else the name)."""
    return {m.name: m.shown for m in getattr(scenario, "markets", ())}


def _fits(unit: str, allowed: tuple[str, ...]) -> bool:
    return unit in allowed or (unit in ("m2", "ha") and ("m2" in allowed or "ha" in allowed))


def _number(value: Any, source: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(source, where, f"must be a number, not {value!r}")
    return float(value)


def _in_unit(quantity: float, unit: str, market_unit: str) -> float:
    if unit == market_unit:
        return quantity
    return quantity / M2_PER_HA if market_unit == "ha" else quantity * M2_PER_HA


# -- the plan of the allocation -------------------------------------------------------


@dataclass(frozen=True)
class MarketPlan:
    """The programme in the markets, as the allocation reads it (nothing here changes between draws).

    ``P`` participants (a complex in a market), ``T`` years from V.

    Attributes
    ----------
    market : ndarray of int, shape (P,)
        The market of each participant (participants ordered by market, then complex).
    complex : ndarray of int, shape (P,)
        The complex (row of the portfolio) of each participant.
    lag : ndarray of int, shape (P,)
        Years between a sale and the costs tied to it.
    units, revenue, cost : ndarray, shape (P, T)
        Planned units [market unit], revenues and tied costs [EUR, price level] of each planned year.
    first_market : ndarray of int, shape (M + 1,)
        Participants of market m: ``first_market[m]`` up to ``first_market[m + 1]``.
    """

    market: NDArray[np.int64]
    complex: NDArray[np.int64]
    lag: NDArray[np.int64]
    units: NDArray[np.float64]
    revenue: NDArray[np.float64]
    cost: NDArray[np.float64]
    first_market: NDArray[np.int64]

    def widen(self, n_years: int) -> MarketPlan:
        """The same plan on ``n_years`` years (zero columns added)."""
        T = self.units.shape[1]
        if n_years <= T:
            return self

        def pad(a: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.concatenate([a, np.zeros((a.shape[0], n_years - T))], axis=1)

        return MarketPlan(
            self.market, self.complex, self.lag, pad(self.units), pad(self.revenue), pad(self.cost), self.first_market
        )


def market_rows(markets: tuple[Market, ...], portfolio: Any) -> NDArray[np.bool_]:
    """Which flow rows the markets re-time: those made from programme rows of a segment in a market."""
    programme = portfolio.programme
    if not markets or programme is None:
        return np.zeros(len(portfolio.flows), dtype=bool)
    covered = {s for m in markets for s in m.segments}
    rows = {f"{PROGRAMME_ROW}{r}" for r, s in zip(programme["row"], programme["segment"], strict=True) if s in covered}
    return portfolio.flows["row"].isin(rows).to_numpy(dtype=bool)


def check_foresight(scenario: Any, portfolio: Any) -> None:
    """Refuse what the yearly revaluation (``foresight = "plan"`` or ``"adaptive"``) cannot value yet.

    The revaluations expect the re-timed sales curve only, every cost at
    ``cost_index`` and the end value discounted: a ``[market]`` that sells
    programme rows, ``parameters.cost_index_by_category`` and
    ``present_value_method = "cash_flows"`` are refused with one line naming
    ``montecarlo.foresight`` (docs/montecarlo.md section 7b). ``grex
    validate``, ``run`` and the Monte Carlo (:func:`grex.montecarlo.plan.make_plan`)
    run it; ``foresight = "perfect"`` takes them all.
    """
    mc = scenario.montecarlo
    if mc.foresight == "perfect":
        return
    markets = tuple(getattr(scenario, "markets", ()))
    if markets and market_rows(markets, portfolio).any():
        raise InputError(
            scenario.source,
            "key montecarlo.foresight",
            f"{mc.foresight!r} cannot be combined with a [market] that sells programme rows; "
            'use foresight = "perfect" or leave the market out',
        )
    params = scenario.parameters
    for key, refused, what in (
        ("cost_index_by_category", bool(params.cost_index_by_category), "a cost index per kostensoort"),
        ("present_value_method", params.present_value_method == "cash_flows", "cash_flows"),
    ):
        if refused:
            raise InputError(
                scenario.source,
                "key montecarlo.foresight",
                f'{mc.foresight!r} cannot be combined with parameters.{key} ({what}); use foresight = "perfect"',
            )


def market_plan(markets: tuple[Market, ...], portfolio: Any, valuation_year: int, n_years: int) -> MarketPlan:
    """The :class:`MarketPlan` of the programme rows whose segment a market covers."""
    programme = portfolio.programme
    position = {p: i for i, p in enumerate(portfolio.ids)}
    keys: list[tuple[int, int]] = []
    rows: dict[tuple[int, int], list[Any]] = {}
    if programme is not None:
        for m, market in enumerate(markets):
            for row in programme.itertuples(index=False):
                if row.segment in market.segments:
                    key = (m, position[row.project])
                    if key not in rows:
                        rows[key] = []
                        keys.append(key)
                    rows[key].append(row)
    keys.sort()
    P = len(keys)
    units = np.zeros((P, n_years))
    revenue = np.zeros((P, n_years))
    cost = np.zeros((P, n_years))
    lag = np.zeros(P, dtype=np.int64)
    for p, key in enumerate(keys):
        market = markets[key[0]]
        for row in rows[key]:  # in the programme's row order, as build_inputs adds the flows
            t = int(row.year) - valuation_year
            units[p, t] += _in_unit(float(row.quantity), row.unit, market.unit)
            revenue[p, t] += row.quantity * row.price
            cost[p, t] += row.quantity * row.cost_per_unit
            lag[p] = int(row.cost_lag)
    first = np.searchsorted(np.array([k[0] for k in keys], dtype=np.int64), np.arange(len(markets) + 1))
    return MarketPlan(
        market=np.array([k[0] for k in keys], dtype=np.int64),
        complex=np.array([k[1] for k in keys], dtype=np.int64),
        lag=lag,
        units=units,
        revenue=revenue,
        cost=cost,
        first_market=first.astype(np.int64),
    )


def reach(plan: MarketPlan, markets: tuple[Market, ...]) -> int:
    """Years from V that hold every allocated sale and tied cost, at the lowest absorption of each market.

    Let tau be the last year whose offer the market took whole (the backlog
    then 0, everything planned up to tau sold), or the year before the
    first: every later year the market binds and sells at least its lowest
    absorption, so the last sale falls at most ``ceil((total - planned up to
    tau) / lowest)`` years after tau. The bound is the largest of these over
    tau up to the last planned year, plus the cost lag and a year of margin.
    """
    most = 0
    for m, market in enumerate(markets):
        lo, hi = plan.first_market[m], plan.first_market[m + 1]
        if lo == hi:
            continue
        yearly = plan.units[lo:hi].sum(axis=0)
        planned = np.flatnonzero(yearly)
        if not len(planned):
            continue
        last = int(planned.max())
        total = float(yearly.sum())
        cumulative = np.concatenate([[0.0], np.cumsum(yearly[: last + 1])])  # planned up to tau, tau = -1 ... last
        taus = np.arange(-1, last + 1)
        finish = taus + np.ceil((total - cumulative) / market.absorption.minimum)
        years = int(finish.max()) + 2 + int(plan.lag[lo:hi].max())
        most = max(most, years)
    return most


# -- the allocation (numpy version) ---------------------------------------------------------


def allocate(plan: MarketPlan, absorption: NDArray[np.float64], n_years: int, C: int) -> tuple[Any, Any, Any]:
    """Sell the programme of a set of draws; the numpy twin of :func:`grex.kernel.allocate_market`.

    Parameters
    ----------
    plan : MarketPlan
    absorption : ndarray, shape (D, M, >= n_years)
        Units each market takes in each year of each draw.
    n_years : int
    C : int
        Complexes.

    Returns
    -------
    revenues, costs : ndarray, shape (D, C, n_years)
        Revenues of the units sold and the costs tied to them, by year of sale
        (costs ``lag`` years later). [EUR, price level]
    sold : ndarray, shape (D, P, n_years)
        Units sold by each participant in each year.
    """
    plan = plan.widen(n_years)
    if absorption.shape[2] < n_years:  # years past the drawn ones take the last year's (the mode, past the reach)
        extra = np.repeat(absorption[:, :, -1:], n_years - absorption.shape[2], axis=2)
        absorption = np.concatenate([absorption, extra], axis=2)
    D = absorption.shape[0]
    P = plan.market.shape[0]
    revenues = np.zeros((D, C, n_years))
    costs = np.zeros((D, C, n_years))
    sold = np.zeros((D, P, n_years))
    units = plan.units
    left = np.broadcast_to(units[None, :, :n_years], (D, P, n_years)).copy()  # units of each planned year unsold
    taken = np.zeros((D, P, n_years))  # revenue of each planned year already sold
    taken_cost = np.zeros((D, P, n_years))
    backlog = np.zeros((D, P))
    for m in range(plan.first_market.shape[0] - 1):
        lo, hi = int(plan.first_market[m]), int(plan.first_market[m + 1])
        for t in range(n_years):
            offer = backlog[:, lo:hi] + units[None, lo:hi, t]
            total = np.zeros(D)
            for p in range(hi - lo):
                total = total + offer[:, p]
            a = absorption[:, m, t]
            everything = total <= a
            live = total != 0.0  # (the kernel skips a year with no offer)
            share = a / np.where(everything, 1.0, total)
            for p in range(lo, hi):
                c = plan.complex[p]
                lag = int(plan.lag[p])
                o = offer[:, p - lo]
                s = np.where(everything, o, o * share)
                sold[:, p, t] = s
                backlog[:, p] = np.where(everything, 0.0, o - s)
                rest = s.copy()
                offered = live & (o != 0.0)  # (the kernel skips a participant with nothing to offer)
                for k in range(t + 1):  # FIFO over the planned years
                    u = left[:, p, k].copy()
                    has = u > 0.0
                    if not has.any():
                        continue
                    whole = has & offered & (everything | (rest >= u))
                    part = has & ~whole & (rest > 0.0)
                    fraction = np.where(part, rest / np.where(units[p, k] > 0, units[p, k], 1.0), 0.0)
                    r_part = plan.revenue[p, k] * fraction
                    c_part = plan.cost[p, k] * fraction
                    r = np.where(whole, plan.revenue[p, k] - taken[:, p, k], np.where(part, r_part, 0.0))
                    k_cost = np.where(whole, plan.cost[p, k] - taken_cost[:, p, k], np.where(part, c_part, 0.0))
                    revenues[:, c, t] = revenues[:, c, t] + r
                    if t + lag < n_years:
                        costs[:, c, t + lag] = costs[:, c, t + lag] + k_cost
                    taken[:, p, k] = np.where(part, taken[:, p, k] + r_part, taken[:, p, k])
                    taken_cost[:, p, k] = np.where(part, taken_cost[:, p, k] + c_part, taken_cost[:, p, k])
                    left[:, p, k] = np.where(whole, 0.0, np.where(part, u - rest, u))
                    rest = np.where(whole, rest - u, np.where(part, 0.0, rest))
    return revenues, costs, sold


# -- the deterministic check of the programme (grex run) -------------------------------


def programme_check(scenario: Any, portfolio: Any) -> Any:
    """Planned units per market and year against the absorption's mode: the over-programming.

    Returns a DataFrame (None without a market that covers a programme row)
    with ``market``, ``unit``, ``year``, ``planned`` (units of the
    programme in the market's segments), ``absorbable`` (the absorption's
    mode), ``over_programming`` (planned − absorbable; negative: room left),
    ``over_programming_pct`` (that as a share of absorbable, decimal) and
    ``backlog`` (units still unsold at the end of the year if the market
    took its mode every year, carried over as in the simulation).
    """
    import pandas as pd  # noqa: PLC0415

    markets = tuple(getattr(scenario, "markets", ()))
    programme = portfolio.programme
    if not markets or programme is None:
        return None
    rows = []
    for market in markets:
        mine = programme[programme["segment"].isin(market.segments)]
        if mine.empty:
            continue
        units: dict[int, float] = {}
        for row in mine.itertuples(index=False):
            units[int(row.year)] = units.get(int(row.year), 0.0) + _in_unit(float(row.quantity), row.unit, market.unit)
        mode = float(market.absorption.mode)
        backlog = 0.0
        year = min(units) - 1
        while year < max(units) or backlog > 0.0:  # on until what the mode leaves unsold is sold
            year += 1
            planned = units.get(year, 0.0)
            backlog = max(backlog + planned - mode, 0.0)
            rows.append(
                {
                    "market": market.name,
                    "unit": market.unit,
                    "year": year,
                    "planned": planned,
                    "absorbable": mode,
                    "over_programming": planned - mode,
                    "over_programming_pct": (planned - mode) / mode,
                    "backlog": backlog,
                }
            )
    return pd.DataFrame(rows) if rows else None


def format_programme_check(check: Any, lang: str = "nl", labels: Mapping[str, str] | None = None) -> str:
    """The check of :func:`programme_check` as lines for the console, in Dutch (``nl``) or English.

    ``labels`` maps a market's name to what is shown for it (:func:`market_labels`); by default the name.
    """
    from grex.formatting import format_value  # noqa: PLC0415

    words = {
        "nl": (
            "Programmering tegenover de markt (modus van de afzet; overprogrammering = gepland - opneembaar):",
            ("markt", "jaar", "gepland", "opneembaar", "over", "%", "achterstand"),
        ),
        "en": (
            "Programme against the market (absorption's mode; over-programming = planned - absorbable):",
            ("market", "year", "planned", "absorbable", "over", "%", "backlog"),
        ),
    }
    title, heads = words.get(lang, words["en"])
    labels = labels or {}
    shown = [labels.get(name, name) for name in check["market"]]
    width = max([12, *(len(name) for name in shown)])
    lines = [title, f"  {heads[0]:<{width}} {heads[1]:>4} " + " ".join(f"{h:>11}" for h in heads[2:])]
    for name, row in zip(shown, check.itertuples(index=False), strict=True):
        cells = (row.planned, row.absorbable, row.over_programming)
        kind = "number" if row.unit == "dwelling" else "ratio"  # whole dwellings, hectares to two decimals
        numbers = [format_value(v, kind, lang) for v in cells]
        numbers.append(format_value(row.over_programming_pct, "percent", lang))
        numbers.append(format_value(row.backlog, kind, lang))
        lines.append(f"  {name:<{width}} {row.year:>4} " + " ".join(f"{n:>11}" for n in numbers))
    return "\n".join(lines)
