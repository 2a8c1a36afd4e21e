"""The fused Monte Carlo kernel: one sweep per draw and complex, compiled with numba.

:func:`value_draws` does for a set of draws what
:func:`grex.montecarlo._value_chunk` does with whole-array numpy passes:
re-timing of revenues and sales-linked costs (:func:`grex.drivers.retime`),
index factors with the shocks (:func:`grex.core.index_factors`, the revenue
freeze applied), the uncertainty margin, the risk register, the end year
(:func:`grex.core.end_index`), the book value roll with interest
(:func:`grex.core.roll_book_value`), discounting, and the entries of the
general reserve path (:func:`grex.montecarlo.reserve_path`). It keeps the
same floating-point operations in the same order, so its results are
bit-identical to the numpy twin (``tests/test_kernel.py`` holds it to that
with ``assert_array_equal``):

- the re-timing uses the same overlap shares; the numpy version runs a fixed
  number of overlap steps for all draws of a chunk, the kernel stops when
  nothing is left to spread, and the steps it leaves out add exact zeros;
- index factors are the cumulative product over the rate grid, divided by
  the product at the price level year (computed once per distinct pair of
  rate row and price level: the same numbers as per complex);
- years in which a complex can have no flow are skipped; their flows are
  exact zeros in the numpy version too, and adding them changes no sum;
- the sum of the provisions over complexes uses numpy's pairwise summation
  (:func:`pairwise_sum`), the reserve entries are added complex by complex,
  as ``numpy.sum`` over a non-contiguous axis does.

The module imports numba; nothing in ``grex run`` imports it. Compiled code
is cached next to the module (``cache=True``), so only the first call after
an install compiles (a few seconds).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["pairwise_sum", "value_draws"]

#: Block size of numpy's pairwise summation (``PW_BLOCKSIZE`` in numpy's loops).
_PW_BLOCKSIZE = 128


@njit(cache=True, nogil=True, fastmath=False)
def _block_sum(a, start, n):  # pragma: no cover - compiled
    # numpy's pairwise_sum for n <= 128: eight interleaved partial sums.
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0 = a[start + 0]
    r1 = a[start + 1]
    r2 = a[start + 2]
    r3 = a[start + 3]
    r4 = a[start + 4]
    r5 = a[start + 5]
    r6 = a[start + 6]
    r7 = a[start + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[start + i + 0]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@njit(cache=True, nogil=True, fastmath=False)
def pairwise_sum(a, start, n):  # pragma: no cover - compiled
    """Sum ``a[start:start + n]`` in the order of numpy's pairwise summation.

    ``numpy.add.reduce`` over a contiguous axis adds eight interleaved partial
    sums in blocks of up to 128 values and splits longer runs in halves (a
    multiple of 8 on the left); doing the same gives the same rounding, bit
    for bit. The halving is done with an explicit stack, not by recursion
    (numba's cache does not load recursive functions reliably).
    """
    if n <= _PW_BLOCKSIZE:
        return _block_sum(a, start, n)
    size = 256
    starts = np.empty(size, dtype=np.int64)
    counts = np.empty(size, dtype=np.int64)  # -1 marks "add the last two values"
    values = np.empty(size)
    top = 0
    held = 0
    starts[0] = start
    counts[0] = n
    top = 1
    while top > 0:
        top -= 1
        s = starts[top]
        m = counts[top]
        if m < 0:
            right = values[held - 1]
            left = values[held - 2]
            held -= 2
            values[held] = left + right
            held += 1
        elif m <= _PW_BLOCKSIZE:
            values[held] = _block_sum(a, s, m)
            held += 1
        else:
            half = m // 2
            half -= half % 8
            counts[top] = -1
            starts[top + 1] = s + half
            counts[top + 1] = m - half
            starts[top + 2] = s
            counts[top + 2] = half
            top += 3
    return values[0]


@njit(cache=True, nogil=True, fastmath=False)
def _factor_table(
    out, rates, base, group_count, rate_offset, n_years, shock, d, use_shock, freeze, cum
):  # pragma: no cover
    # out[g, t] = cum[rate_offset + t] / cum[base[g]], cum the cumulative product of (1 + rate).
    G = rate_offset + n_years
    for g in range(group_count):
        cum[0] = 1.0
        for s in range(G):
            r = rates[g, s]
            if use_shock:
                if s >= rate_offset:
                    r = r + shock[d, s - rate_offset]
                if freeze >= 0 and s >= freeze:
                    r = 0.0
            cum[s + 1] = cum[s] * (1.0 + r)
        b = cum[base[g]]
        for t in range(n_years):
            out[g, t] = cum[rate_offset + t] / b


@njit(cache=True, nogil=True, fastmath=False)
def value_draws(  # pragma: no cover - compiled; tested against the numpy twin
    pace,
    delay,
    cost_shock,
    price_shock,
    risk,
    revenues,
    linked_costs,
    costs,
    anchor,
    sales_end,
    has_sales,
    static_end,
    cost_group,
    cost_rates,
    cost_base,
    revenue_group,
    revenue_rates,
    revenue_base,
    rate_offset,
    shock_costs,
    shock_prices,
    revenue_freeze,
    margin,
    book_value,
    interest_rate,
    discount,
    given_end_index,
    risk_complex,
    risk_index,
    risk_is_cost,
    realised_costs,
    realised_revenues,
    profit_taken,
    adopted,
    planned,
    provision_on_present_value,
    poc_on_present_value,
    general_reserve,
    n_years,
    valuation_year,
    end_year,
    end_value,
    present_value,
    reserve,
):
    """Value draws: end year, end value, present value and reserve path of each.

    Parameters
    ----------
    pace, delay : ndarray, shape (D, C)
        Pace factor [1 = as planned] and start delay [years] of each draw and complex.
    cost_shock, price_shock : ndarray, shape (D, >= n_years)
        Shocks on the index rates from year V. [decimal per year]
    risk : ndarray, shape (D, R)
        Amount of each risk event (0 where it does not happen). [EUR, price level]
    revenues, linked_costs : ndarray, shape (C, pad + T0 + pad)
        Planned flows that follow the sales curve, with ``pad`` zero columns
        on each side, enough for every preimage of the re-timing. [EUR, price level]
    costs : ndarray, shape (C, T0)
        Costs that keep their timing; T0 >= n_years. [EUR, price level]
    anchor, sales_end : ndarray of int, shape (C,)
        Year index of the first sales year, and one past the last.
    has_sales : ndarray of bool, shape (C,)
    static_end : ndarray of int, shape (C,)
        One past the last year with a non-zero ``costs`` entry.
    cost_group, revenue_group : ndarray of int, shape (C,)
        Row of ``cost_rates`` / ``revenue_rates`` and ``cost_base`` /
        ``revenue_base`` of each complex.
    cost_rates, revenue_rates : ndarray, shape (groups, >= rate_offset + n_years)
        Distinct rate rows of the grid. [decimal per year]
    cost_base, revenue_base : ndarray of int, shape (groups,)
        Grid index of the price level year of each group.
    rate_offset : int
        Years of the rate grid before V.
    shock_costs, shock_prices : bool
        Whether the shocks apply (drivers ``costs``, ``prices``).
    revenue_freeze : int
        Grid index from which revenue rates are zero when ``shock_prices``
        (-1: no freeze).
    margin, book_value : ndarray, shape (C,)
        Uncertainty margin [decimal] and book value at 1-1-V [EUR].
    interest_rate : float
        [decimal per year]
    discount : ndarray, shape (n_years,)
        :func:`grex.core.discount_factor` of each end index.
    given_end_index : ndarray of int, shape (C,)
    risk_complex, risk_index : ndarray of int, shape (R,)
        Complex and year index of each risk.
    risk_is_cost : ndarray of bool, shape (R,)
    realised_costs, realised_revenues, profit_taken : ndarray, shape (C,)
        [EUR]
    adopted, planned : ndarray of bool, shape (C,)
        Status ``vastgesteld`` and ``voorbereiding``.
    provision_on_present_value, poc_on_present_value : bool
        The provision and POC bases (else the end value).
    general_reserve : float
        [EUR]
    n_years : int
        Years of the simulated horizon from V.
    valuation_year : int
        V.
    end_year : ndarray of int16, shape (D, C), output
        E of each draw and complex.
    end_value, present_value : ndarray, shape (D, C), output
        [EUR, positive = profit]
    reserve : ndarray, shape (D, years + 1), output
        The general reserve path, :func:`grex.montecarlo.reserve_path`. [EUR]
    """
    D, C = pace.shape
    pad = (revenues.shape[1] - costs.shape[1]) // 2  # zero columns on each side of the planned flows
    R = risk.shape[1]
    years = reserve.shape[1] - 1
    n_cost_groups = cost_rates.shape[0]
    n_revenue_groups = revenue_rates.shape[0]
    G = rate_offset + n_years
    cum = np.empty(G + 1)
    cost_factor = np.empty((n_cost_groups, n_years))
    revenue_factor = np.empty((n_revenue_groups, n_years))
    net = np.zeros((n_years, C))  # year first: the book value roll runs over the complexes side by side
    balance = np.empty(C)
    last_index = np.empty(C, dtype=np.int64)
    first_index = np.empty(C, dtype=np.int64)
    cum_costs = np.empty((C, years))
    cum_revenues = np.empty((C, years))
    totals = np.empty((C, 2))
    taken = np.empty(years)
    change = np.empty(years)
    provisions = np.empty(C)
    for d in range(D):
        _factor_table(
            cost_factor, cost_rates, cost_base, n_cost_groups, rate_offset, n_years, cost_shock, d, shock_costs, -1, cum
        )
        _factor_table(
            revenue_factor,
            revenue_rates,
            revenue_base,
            n_revenue_groups,
            rate_offset,
            n_years,
            price_shock,
            d,
            shock_prices,
            revenue_freeze,
            cum,
        )
        roll_years = 0
        for c in range(C):
            p = pace[d, c]
            cg = cost_group[c]
            rg = revenue_group[c]
            # Years that can hold a flow: the fixed costs, the re-timed sales curve, the risks.
            t_end = static_end[c]
            k_lo = 0
            k_hi = 0
            anchor_f = float(anchor[c])
            lag = delay[d, c]
            if has_sales[c]:
                k_lo = max(0, int(math.floor(anchor_f + lag)) - 2)
                k_hi = min(n_years, int(math.ceil(anchor_f + lag + (sales_end[c] - anchor_f) / p)) + 2)
                t_end = max(t_end, k_hi)
            for r in range(R):
                if risk_complex[r] == c:
                    t_end = max(t_end, risk_index[r] + 1)
            t_end = min(t_end, n_years)
            m_c = margin[c]
            last_flow = -1
            start = -1
            total_costs = 0.0
            total_revenues = 0.0
            for t in range(t_end):
                revenue = 0.0
                linked = 0.0
                if k_lo <= t < k_hi:
                    # drivers.retime: shares of the preimage [a, a + pace] of simulated year t
                    # (the tables carry `pad` zero columns on each side, so no index leaves them).
                    a = anchor_f + ((t - anchor_f) - lag) * p
                    j0 = np.floor(a)
                    j = int(j0) + pad
                    share = min((j0 + 1.0) - a, p)
                    rest = p - share
                    revenue = revenues[c, j] * share
                    linked = linked_costs[c, j] * share
                    while rest > 0.0:
                        j += 1
                        share = min(rest, 1.0)
                        rest = rest - share
                        revenue += revenues[c, j] * share
                        linked += linked_costs[c, j] * share
                cost = linked + costs[c, t]
                if cost != 0.0 or revenue != 0.0:
                    last_flow = t
                indexed = cost * cost_factor[cg, t]
                nominal_cost = indexed + indexed * m_c
                nominal_revenue = revenue * revenue_factor[rg, t]
                net[t, c] = nominal_cost - nominal_revenue
                if start < 0 and (nominal_cost != 0.0 or nominal_revenue != 0.0):
                    start = t
                total_costs += nominal_cost
                total_revenues += nominal_revenue
                if t < years:
                    cum_costs[c, t] = total_costs
                    cum_revenues[c, t] = total_revenues
            for t in range(t_end, years):
                cum_costs[c, t] = total_costs
                cum_revenues[c, t] = total_revenues
            totals[c, 0] = total_costs
            totals[c, 1] = total_revenues
            first_index[c] = max(start, 0)
            last = max(last_flow, 0)
            last = max(last, given_end_index[c])
            for r in range(R):
                if risk_complex[r] == c:
                    t = risk_index[r]
                    f = cost_factor[cg, t] if risk_is_cost[r] else revenue_factor[rg, t]
                    net[t, c] = net[t, c] + risk[d, r] * f
                    if risk[d, r] != 0.0:
                        last = max(last, t)
            for t in range(t_end, last + 1):
                net[t, c] = 0.0
            last_index[c] = last
            balance[c] = book_value[c]
            roll_years = max(roll_years, last + 1)
        # grex.core.roll_book_value: interest on the balance, then the year's net flow, up to
        # and including the end year; complexes side by side (independent chains, vectorised).
        for t in range(roll_years):
            for c in range(C):
                b = balance[c]
                rolled = (b + interest_rate * b) + net[t, c]
                balance[c] = rolled if t <= last_index[c] else b
        for y in range(years):
            change[y] = -0.0
        for c in range(C):
            last = last_index[c]
            start = first_index[c]
            total_costs = totals[c, 0]
            total_revenues = totals[c, 1]
            ev = -balance[c]
            pv = ev * discount[last]
            end_year[d, c] = valuation_year + last
            end_value[d, c] = ev
            present_value[d, c] = pv
            # The reserve path entries of this complex (montecarlo.reserve_path).
            provision_result = pv if provision_on_present_value else ev
            result = pv if poc_on_present_value else ev
            provision_formed = -provision_result if (adopted[c] and provision_result < 0.0) else 0.0
            provisions[c] = provision_formed
            expected_loss = max(-provision_result, 0.0) if planned[c] else 0.0
            pt = profit_taken[c]
            for y in range(years):
                column = min(y, n_years - 1)
                cc = cum_costs[c, column]
                cr = cum_revenues[c, column]
                realised_c = realised_costs[c] + cc
                remaining_c = total_costs - cc
                whole_c = realised_c + remaining_c
                cost_share = realised_c / whole_c if whole_c != 0.0 else 0.0
                realised_r = realised_revenues[c] + cr
                remaining_r = total_revenues - cr
                whole_r = realised_r + remaining_r
                revenue_share = realised_r / whole_r if whole_r != 0.0 else 0.0
                if adopted[c] and result > 0.0 and realised_r > 0.0:
                    value = cost_share * revenue_share * result - pt
                else:
                    value = 0.0
                taken[y] = pt + value
            if last < years:
                taken_before_end = pt if last == 0 else taken[last - 1]
            else:
                taken_before_end = taken[years - 1]
            settlement = ev + provision_formed + expected_loss - taken_before_end
            for y in range(years):
                before = pt if y == 0 else taken[y - 1]
                entry = taken[y] - before if y < last else 0.0
                entry -= expected_loss if y == start else 0.0
                entry += settlement if y == last else 0.0
                if c == 0:
                    change[y] = entry
                else:
                    change[y] += entry
        change[0] -= pairwise_sum(provisions, 0, C)
        reserve[d, 0] = general_reserve
        running = 0.0
        for y in range(years):
            running = change[y] if y == 0 else running + change[y]
            reserve[d, y + 1] = general_reserve + running
