"""The yearly revaluation along each simulated path (issue 16): the reserve as a controller sees it move.

Each draw of :mod:`grex.montecarlo` is a path of ten years. With
``[montecarlo] foresight = "perfect"`` (the default) the draw is read as a
valuation at 1-1-V that already knows its whole future
(:func:`grex.montecarlo.reserve.reserve_path`). With ``"plan"`` or
``"adaptive"`` the portfolio is valued again at 1-1-(Y + 1) for every year
Y = V ... V + 9 of the path: the realised flows and book values through Y as
the draw made them, the remaining flows as then expected under the rule. The
rules and the exact sequence of the entries are in docs/reserves.md
section 6; :func:`revalue_yearly` is their numpy definition, and the
compiled engine's stage :func:`grex.kernel.revalue_yearly` gives the same
numbers bit for bit (the same operations in the same order, draw by draw
instead of all draws at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from grex.core import poc_profit, provision
from grex.valuation import ModelInputs

__all__ = [
    "FORESIGHT",
    "MIN_PACE",
    "PlanGrid",
    "RevaluationTables",
    "plan_grid",
    "revaluation_tables",
    "revalue_yearly",
]

#: The expectation rules of ``[montecarlo] foresight`` and their codes in the engines.
FORESIGHT = {"perfect": 0, "plan": 1, "adaptive": 2}
#: The slowest pace a remaining sales curve is expected at (adaptive rule). [1 = as planned]
MIN_PACE = 0.1


@dataclass(frozen=True)
class RevaluationTables:
    """What the revaluations of all draws share: computed once per simulation.

    Attributes
    ----------
    revenues, linked_costs : ndarray, shape (C, P)
        The planned sales curve (revenues and sales-linked costs at price
        level per plan year from V), as the re-timing reads it. [EUR]
    cum_revenues, cum_linked : ndarray, shape (C, P + 1)
        Their running sums from 0 (entry j: the years before j). [EUR]
    fixed_costs : ndarray, shape (C, T)
        Costs that keep their timing. [EUR, price level]
    cost_factor, revenue_factor : ndarray, shape (C, T)
        Index factors of the scenario's index paths, no shocks (the plan's prices).
    margin : ndarray, shape (C,)
    anchor : ndarray of int, shape (C,)
    has_sales : ndarray of bool, shape (C,)
    given_end_index : ndarray of int, shape (C,)
    discount : ndarray, shape (T,)
        :func:`grex.core.discount_factor` of each end index (to 1-1-V), in the
        scenario's ``discount_periods`` (years or days).
    balance : ndarray, shape (C,)
        Provision balance at 31-12-(V - 1). [EUR]
    """

    revenues: NDArray[np.float64]
    linked_costs: NDArray[np.float64]
    cum_revenues: NDArray[np.float64]
    cum_linked: NDArray[np.float64]
    fixed_costs: NDArray[np.float64]
    cost_factor: NDArray[np.float64]
    revenue_factor: NDArray[np.float64]
    margin: NDArray[np.float64]
    anchor: NDArray[np.int64]
    has_sales: NDArray[np.bool_]
    given_end_index: NDArray[np.int64]
    discount: NDArray[np.float64]
    balance: NDArray[np.float64]


def _running(table: NDArray[np.float64]) -> NDArray[np.float64]:
    # Sequential running sums from 0 (the same in both engines: computed here once).
    out = np.zeros((table.shape[0], table.shape[1] + 1))
    for j in range(table.shape[1]):
        out[:, j + 1] = out[:, j] + table[:, j]
    return out


def revaluation_tables(
    inputs: ModelInputs,
    anchor: NDArray[Any],
    has_sales: NDArray[Any],
    n_years: int,
    revenue_rates: NDArray[np.float64] | None = None,
) -> RevaluationTables:
    """The :class:`RevaluationTables` of a plan's inputs on a horizon of ``n_years`` years.

    ``revenue_rates`` (C, G): the revenue index rates the revaluations expect
    (``[montecarlo] expected_revenue_index``); None: the inputs' own.
    """
    from grex.core import discount_factor, index_factors  # noqa: PLC0415

    G = inputs.rate_offset + n_years
    revenues = np.ascontiguousarray(inputs.revenues, dtype=np.float64)
    linked = np.ascontiguousarray(inputs.linked_costs, dtype=np.float64)
    balance = np.zeros(inputs.n_complexes) if inputs.provision_balance is None else inputs.provision_balance
    return RevaluationTables(
        revenues=revenues,
        linked_costs=linked,
        cum_revenues=_running(revenues),
        cum_linked=_running(linked),
        fixed_costs=np.ascontiguousarray(inputs.costs[:, :n_years], dtype=np.float64),
        cost_factor=np.ascontiguousarray(index_factors(inputs.cost_rates[:, :G], inputs.price_level_offset, n_years)),
        revenue_factor=np.ascontiguousarray(
            index_factors(
                (inputs.revenue_rates if revenue_rates is None else revenue_rates)[:, :G],
                inputs.price_level_offset,
                n_years,
            )
        ),
        margin=np.ascontiguousarray(inputs.uncertainty_margin, dtype=np.float64),
        anchor=np.ascontiguousarray(anchor, dtype=np.int64),
        has_sales=np.ascontiguousarray(has_sales, dtype=np.bool_),
        given_end_index=np.ascontiguousarray(inputs.given_end_index, dtype=np.int64),
        discount=np.ascontiguousarray(
            discount_factor(
                inputs.discount_rate,
                np.arange(n_years),
                valuation_year=inputs.valuation_year,
                periods=inputs.discount_periods,
            )
        ),
        balance=np.ascontiguousarray(balance, dtype=np.float64),
    )


@dataclass(frozen=True)
class PlanGrid:
    """The expected flows of a revaluation that expects the sales on the plan's own grid, once per plan.

    A revaluation at the end of year ``s - 1`` expects the remaining sales
    curve from plan time ``x`` at ``speed`` plan years per year. Where ``x``
    is ``s`` itself and ``speed`` exactly 1 (under ``plan`` before the sales
    have begun, under ``adaptive`` too where the weighted pace comes to 1;
    always for a complex without sales), each year's bounds are whole plan
    years, the curve at a whole year ``h`` is ``cum[h]`` (the fraction adds an
    exact zero), and the year's flows and the last year with a flow no longer
    depend on the draw: the compiled engine (:func:`grex.kernel.revalue_yearly`)
    reads them from here instead of reading the curve year by year, the same
    numbers bit for bit.

    Attributes
    ----------
    revenues, linked_costs : ndarray, shape (T, C)
        The year's expected revenues and sales-linked costs at price level,
        the bounds' curve values subtracted as :func:`revalue_yearly` does
        (``cum[min(t + 1, P)] - cum[min(t, P)]``, the last year of the horizon
        taking all that remains); zero for a complex without sales. [EUR]
    last : ndarray of int, shape (rows, C)
        For the revaluation at the end of year ``i`` (``s = i + 1``): the last
        year index with an expected flow, but not before ``max(s, given end)``
        (nor after ``T - 1``): the year its expected balance is read at.
    """

    revenues: NDArray[np.float64]
    linked_costs: NDArray[np.float64]
    last: NDArray[np.int64]


def plan_grid(tables: RevaluationTables, fixed_end: NDArray[Any], sales_end: NDArray[Any], rows: int) -> PlanGrid:
    """The :class:`PlanGrid` of a plan's :class:`RevaluationTables` for the first ``rows`` revaluations.

    ``fixed_end`` (C,): one past the last year with a cost that keeps its
    timing; ``sales_end`` (C,): one past the plan's last sales year. The
    years of each revaluation are scanned as the compiled stage scans them:
    from ``s`` until no fixed cost is left, the end year is passed and the
    expected sales are over.
    """
    C, T = tables.fixed_costs.shape
    P = tables.revenues.shape[1]
    t = np.arange(T)
    lo = np.minimum(t, P)
    hi = np.where((t == T - 1) | (t + 1 >= P), P, t + 1)
    sales = tables.has_sales[:, None]
    revenues = np.where(sales, tables.cum_revenues[:, hi] - tables.cum_revenues[:, lo], 0.0)
    linked = np.where(sales, tables.cum_linked[:, hi] - tables.cum_linked[:, lo], 0.0)
    flow = ((linked + tables.fixed_costs) != 0.0) | (revenues != 0.0)
    last = np.empty((rows, C), dtype=np.int64)
    for i in range(rows):
        s = i + 1
        year = np.minimum(np.maximum(s, tables.given_end_index), T - 1)
        going = np.ones(C, dtype=np.bool_)
        for u in range(s, T):
            going &= ~((u >= fixed_end) & (u > year) & (~tables.has_sales | (u >= sales_end)))
            if not going.any():
                break
            year = np.where(going & flow[:, u], np.maximum(year, u), year)
        last[i] = year
    return PlanGrid(revenues=np.ascontiguousarray(revenues.T), linked_costs=np.ascontiguousarray(linked.T), last=last)


def _curve(cum: NDArray[np.float64], table: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The planned curve summed from plan time 0 to ``x`` (uniform within each plan year)."""
    P = table.shape[0]
    j = np.clip(np.floor(x), 0, P - 1).astype(np.int64)
    with np.errstate(invalid="ignore"):  # x = inf: not selected
        inside = cum[j] + (x - j.astype(np.float64)) * table[j]
    return np.where(x >= P, cum[P], np.where(x <= 0.0, 0.0, inside))


def revalue_yearly(
    *,
    rule: int,
    learning_rate: float,
    horizon: int,
    general_reserve: float,
    tables: RevaluationTables,
    inputs: ModelInputs,
    in_preparation: NDArray[np.bool_],
    interest: NDArray[np.float64],
    net: NDArray[np.float64],
    nominal_costs: NDArray[np.float64],
    nominal_revenues: NDArray[np.float64],
    end_index: NDArray[np.intp],
    end_value: NDArray[np.float64],
    present_value: NDArray[np.float64],
    pace: NDArray[np.float64],
    delay: NDArray[np.float64],
    cost_factor: NDArray[np.float64],
    revenue_factor: NDArray[np.float64],
    years: int = 10,
    interest_rates: NDArray[np.float64] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """The general reserve path of each draw with a revaluation at the end of every year.

    Parameters
    ----------
    rule : int
        :data:`FORESIGHT` code; revaluations from ``horizon`` years on use the
        draw's own future (code 0).
    learning_rate : float
        Weight of the observed pace and price level in the adaptive rule. [0, 1]
    net, nominal_costs, nominal_revenues : ndarray, shape (D, C, T)
        The draw's nominal flows: net (risks included), costs (with the
        margin), revenues. [EUR]
    end_index, end_value, present_value : ndarray, shape (D, C)
        The draw's end year index and result. [EUR]
    pace, delay : ndarray, shape (D, C)
    cost_factor, revenue_factor : ndarray, broadcastable to (D, C, T)
        The draw's index factors.
    interest_rates : ndarray, shape (>= T,), optional
        The rekenrente of each year (``interest_rate`` as a year table): the
        rate of year t is then ``interest_rates[t] + interest`` (``interest``
        the draw's shift), as in the roll of the book value. [decimal per year]

    Returns
    -------
    dict
        ``reserve`` (D, years + 1) as :func:`grex.montecarlo.reserve.reserve_path`;
        ``provision`` (D, years) the provisions held at 31 December of each
        year; ``estimate`` (D, years) the portfolio's present value as each
        year's revaluation estimates it. [EUR]
    """
    D, C, T = net.shape
    cost_factor = np.broadcast_to(cost_factor, (D, C, T))
    revenue_factor = np.broadcast_to(revenue_factor, (D, C, T))
    change = np.zeros((D, years))
    held = np.zeros((D, years))
    estimate = np.zeros((D, years))

    def rate(t: int) -> Any:  # the rekenrente of year t (a year table: its rate plus the draw's shift)
        return interest if interest_rates is None else interest_rates[t] + interest

    weight = float(learning_rate)
    provision_on_pv = inputs.provision_basis == "present_value"
    poc_on_pv = inputs.poc_basis == "present_value"
    for c in range(C):
        E = end_index[:, c]
        flows = (nominal_costs[:, c] != 0) | (nominal_revenues[:, c] != 0)
        start = np.where(flows.any(axis=-1), np.argmax(flows, axis=-1), 0)
        cum_costs = np.zeros(D)
        cum_revenues = np.zeros(D)
        total_costs = np.zeros(D)
        total_revenues = np.zeros(D)
        for t in range(T):
            total_costs = total_costs + nominal_costs[:, c, t]
            total_revenues = total_revenues + nominal_revenues[:, c, t]
        actual = np.full(D, float(inputs.book_value[c]))
        pt = float(inputs.profit_taken[c])
        adopted = bool(inputs.adopted[c])
        previous_provision = np.full(D, float(tables.balance[c]))
        previous_taken = np.full(D, pt)
        charged = np.zeros(D)
        anchor = float(tables.anchor[c])
        for i in range(years):
            t_i = min(i, T - 1)
            cum_costs = cum_costs + (nominal_costs[:, c, t_i] if i < T else 0.0)
            cum_revenues = cum_revenues + (nominal_revenues[:, c, t_i] if i < T else 0.0)
            rolled = (actual + rate(t_i) * actual) + (net[:, c, t_i] if i < T else 0.0)
            actual = np.where(i <= E, rolled, actual)
            if rule == 0 or i >= horizon:
                ev = end_value[:, c]
                pv = present_value[:, c]
                remaining_costs = total_costs - cum_costs
                remaining_revenues = total_revenues - cum_revenues
            else:
                s = i + 1
                if tables.has_sales[c]:
                    if s > anchor:
                        begun = (s - anchor) - delay[:, c]
                        x = anchor + np.maximum(begun, 0.0) * pace[:, c]
                        observed = np.where(begun > 0.0, (x - anchor) / np.where(begun > 0.0, begun, 1.0), 1.0)
                    else:
                        x = np.full(D, float(s))
                        observed = np.ones(D)
                    if rule == 1:
                        speed = np.ones(D)
                    else:
                        speed = np.maximum((1.0 - weight) + weight * observed, MIN_PACE)
                if rule == 1:
                    cost_level = np.ones(D)
                    revenue_level = np.ones(D)
                else:
                    cost_level = (1.0 - weight) + weight * (cost_factor[:, c, t_i] / tables.cost_factor[c, t_i])
                    revenue_level = (1.0 - weight) + weight * (
                        revenue_factor[:, c, t_i] / tables.revenue_factor[c, t_i]
                    )
                expected = actual.copy()
                remaining_costs = np.zeros(D)
                remaining_revenues = np.zeros(D)
                last = np.full(D, max(s, int(tables.given_end_index[c])), dtype=np.int64)
                nets = np.zeros((D, T))
                for t in range(s, T):
                    if tables.has_sales[c]:
                        lo = x + (t - s) * speed
                        hi = x + (t - s + 1) * speed if t < T - 1 else np.full(D, np.inf)
                        revenue = _curve(tables.cum_revenues[c], tables.revenues[c], hi) - _curve(
                            tables.cum_revenues[c], tables.revenues[c], lo
                        )
                        linked = _curve(tables.cum_linked[c], tables.linked_costs[c], hi) - _curve(
                            tables.cum_linked[c], tables.linked_costs[c], lo
                        )
                    else:
                        revenue = np.zeros(D)
                        linked = np.zeros(D)
                    cost = linked + tables.fixed_costs[c, t]
                    last = np.where((cost != 0.0) | (revenue != 0.0), np.maximum(last, t), last)
                    indexed = cost * (tables.cost_factor[c, t] * cost_level)
                    nominal_cost = indexed + indexed * tables.margin[c]
                    nominal_revenue = revenue * (tables.revenue_factor[c, t] * revenue_level)
                    remaining_costs = remaining_costs + nominal_cost
                    remaining_revenues = remaining_revenues + nominal_revenue
                    nets[:, t] = nominal_cost - nominal_revenue
                last = np.minimum(last, T - 1)
                for t in range(s, T):
                    rolled = (expected + rate(t) * expected) + nets[:, t]
                    expected = np.where(t <= last, rolled, expected)
                ev = -expected
                pv = ev * tables.discount[last]
            basis = pv if provision_on_pv else ev
            required = provision(basis, np.full(D, adopted))
            result = pv if poc_on_pv else ev
            taken = pt + poc_profit(
                result,
                inputs.realised_costs[c] + cum_costs,
                remaining_costs,
                inputs.realised_revenues[c] + cum_revenues,
                remaining_revenues,
                pt,
                np.full(D, adopted),
            )
            loss = np.maximum(-basis, 0.0) if in_preparation[c] else np.zeros(D)
            open_ = i < E
            first = open_ & (i == start)
            entry = -(required - previous_provision) + (taken - previous_taken)
            entry = entry - np.where(first, loss, 0.0)
            settlement = end_value[:, c] + previous_provision + charged - previous_taken
            entry = np.where(open_, entry, np.where(i == E, settlement, 0.0))
            change[:, i] = change[:, i] + entry
            held[:, i] = held[:, i] + np.where(open_, required, 0.0)
            estimate[:, i] = estimate[:, i] + np.where(open_, pv, present_value[:, c])
            charged = np.where(first, loss, charged)
            previous_provision = np.where(open_, required, previous_provision)
            previous_taken = np.where(open_, taken, previous_taken)
    reserve = np.empty((D, years + 1))
    reserve[:, 0] = general_reserve
    running = np.zeros(D)
    for i in range(years):
        running = change[:, i] if i == 0 else running + change[:, i]
        reserve[:, i + 1] = general_reserve + running
    return {"reserve": reserve, "provision": held, "estimate": estimate}
