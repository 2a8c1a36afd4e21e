"""The slow twin of :mod:`grex.core`: one complex, plain Python loops.

This module exists to validate the vectorised core: it implements the same
rules of docs/rules.md sections 2–11, written as a controller would work them
out by hand, year by year, with no numpy. The tests hold the core against it
on random portfolios. Never use it for real work.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ReferenceResult", "value_complex"]


@dataclass(frozen=True)
class ReferenceResult:
    """The valuation of one complex; the names of :class:`grex.core.CoreResult`."""

    end_year: int
    duration: int
    exceeds_max_duration: bool
    remaining_costs_price_level: float
    remaining_revenues_price_level: float
    remaining_costs: float
    remaining_revenues: float
    uncertainty_margin_amount: float
    interest_total: float
    end_value: float
    present_value: float
    provision: float
    provision_balance: float
    dotation: float
    poc_profit: float
    costs: dict[int, float]
    revenues: dict[int, float]
    interest: dict[int, float]
    balance: dict[int, float]


def _index(rates: Mapping[int, float], default: float, price_level: int, year: int, stop_after: int | None) -> float:
    """prod_{s=P}^{t-1} (1 + rate_s); the inverse for a flow before P."""

    def rate(s: int) -> float:
        if stop_after is not None and s >= stop_after:
            return 0.0
        return rates.get(s, default)

    factor = 1.0
    if year >= price_level:
        for s in range(price_level, year):
            factor *= 1.0 + rate(s)
    else:
        for s in range(year, price_level):
            factor /= 1.0 + rate(s)
    return factor


def value_complex(
    *,
    valuation_year: int,
    book_value: float,
    costs: Mapping[int, float],
    revenues: Mapping[int, float],
    interest_rate: Mapping[int, float] | float,
    discount_rate: float,
    uncertainty_margin: float,
    cost_index: Mapping[int, float] | float,
    revenue_index: Mapping[int, float] | float,
    price_level: int | None = None,
    end_year: int | None = None,
    realised_costs: float = 0.0,
    realised_revenues: float = 0.0,
    profit_taken: float = 0.0,
    adopted: bool = True,
    max_duration: int = 10,
    index_revenues_after_max_duration: bool = False,
    provision_basis: str = "present_value",
    poc_basis: str = "present_value",
    discount_periods: str = "years",
    present_value_method: str = "end_value",
    provision_balance: float = 0.0,
    costs_by_category: Mapping[str, Mapping[int, float]] | None = None,
    cost_index_by_category: Mapping[str, Mapping[int, float] | float] | None = None,
) -> ReferenceResult:
    """Value one complex by hand.

    Parameters
    ----------
    costs, revenues : mapping of year to amount
        Remaining flows. [EUR, price level] Negative amounts are corrections.
    interest_rate : float or mapping of year to rate
        The rekenrente; a mapping may hold ``"default"`` for the other years.
    cost_index, revenue_index : float or mapping of year to rate
        A mapping may hold the key ``"default"`` for the other years.
    discount_periods : {"years", "days"}
        Whole years, or calendar days from 1-1-V to 31-12 of the year / 365.25.
    present_value_method : {"end_value", "cash_flows"}
        Discount the end value, or minus the book value plus every year's net
        flow discounted from the end of its year.
    provision_balance : float
        Voorziening at 31-12-(V − 1); the dotation is the required provision minus it.
    costs_by_category : mapping of category to (mapping of year to amount), optional
        The costs per kostensoort; replaces ``costs``.
    cost_index_by_category : mapping of category to index, optional
        The index of a kostensoort; the others follow ``cost_index``.

    See docs/rules.md for every rule.
    """
    V = valuation_year
    P = V if price_level is None else price_level

    def split(index):
        if isinstance(index, Mapping):
            return {int(k): v for k, v in index.items() if k != "default"}, index.get("default", 0.0)
        return {}, index

    cost_rates, cost_default = split(cost_index)
    revenue_rates, revenue_default = split(revenue_index)
    interest_rates, interest_default = split(interest_rate)
    if costs_by_category is None:
        costs_by_category = {"": costs}
    costs = {}
    for amounts in costs_by_category.values():
        for year, amount in amounts.items():
            costs[year] = costs.get(year, 0.0) + amount
    category_index = {c: split(i) for c, i in (cost_index_by_category or {}).items()}
    revenue_stop = None if index_revenues_after_max_duration else V + max_duration - 1

    flow_years = [y for y, a in costs.items() if a != 0] + [y for y, a in revenues.items() if a != 0]
    E = max(flow_years) if flow_years else V
    if end_year is not None:
        E = max(E, end_year)

    nominal_costs: dict[int, float] = {}
    nominal_revenues: dict[int, float] = {}
    margin_total = 0.0
    costs_price_level = 0.0
    revenues_price_level = 0.0
    for year in range(V, E + 1):
        cost = costs.get(year, 0.0)
        indexed = 0.0
        for category, amounts in costs_by_category.items():
            rates, default = category_index.get(category, (cost_rates, cost_default))
            indexed += amounts.get(year, 0.0) * _index(rates, default, P, year, None)
        margin = indexed * uncertainty_margin
        margin_total += margin
        nominal_costs[year] = indexed + margin
        costs_price_level += cost * (1 + uncertainty_margin)
        revenue = revenues.get(year, 0.0)
        nominal_revenues[year] = revenue * _index(revenue_rates, revenue_default, P, year, revenue_stop)
        revenues_price_level += revenue

    balance = book_value
    interest: dict[int, float] = {}
    balances: dict[int, float] = {}
    interest_total = 0.0
    for year in range(V, E + 1):
        interest[year] = interest_rates.get(year, interest_default) * balance
        interest_total += interest[year]
        balance = balance + interest[year] + nominal_costs[year] - nominal_revenues[year]
        balances[year] = balance

    end_value = -balance
    duration = E - V + 1

    def periods(year: int) -> float:
        """Years from 1-1-V to 31-12 of ``year``."""
        if discount_periods == "days":
            return (datetime.date(year, 12, 31) - datetime.date(V, 1, 1)).days / 365.25
        return year - V + 1

    if present_value_method == "cash_flows":
        present_value = -book_value
        for year in range(V, E + 1):
            present_value += (nominal_revenues[year] - nominal_costs[year]) / (1 + discount_rate) ** periods(year)
    else:
        present_value = end_value / (1 + discount_rate) ** periods(E)

    remaining_costs = sum(nominal_costs.values())
    remaining_revenues = sum(nominal_revenues.values())

    provision_result = present_value if provision_basis == "present_value" else end_value
    provision = -provision_result if adopted and provision_result < 0 else 0.0

    poc_result = present_value if poc_basis == "present_value" else end_value
    poc = 0.0
    if adopted and poc_result > 0 and realised_revenues > 0:
        total_costs = realised_costs + remaining_costs
        total_revenues = realised_revenues + remaining_revenues
        cost_share = min(max(realised_costs / total_costs, 0.0), 1.0) if total_costs else 0.0
        revenue_share = min(max(realised_revenues / total_revenues, 0.0), 1.0) if total_revenues else 0.0
        poc = cost_share * revenue_share * poc_result - profit_taken

    return ReferenceResult(
        end_year=E,
        duration=duration,
        exceeds_max_duration=duration > max_duration,
        remaining_costs_price_level=costs_price_level,
        remaining_revenues_price_level=revenues_price_level,
        remaining_costs=remaining_costs,
        remaining_revenues=remaining_revenues,
        uncertainty_margin_amount=margin_total,
        interest_total=interest_total,
        end_value=end_value,
        present_value=present_value,
        provision=provision,
        provision_balance=provision_balance,
        dotation=provision - provision_balance,
        poc_profit=poc,
        costs=nominal_costs,
        revenues=nominal_revenues,
        interest=interest,
        balance=balances,
    )
