"""The vectorised valuation core: pure numpy functions, no files, no pandas.

Every array is shaped ``(..., complexes, years)``: years on the last axis, the
complexes before them, and any leading axes (Monte Carlo draws, scenarios) in
front. A deterministic valuation is the same code with no leading axis. Per-
complex quantities are shaped ``(..., complexes)``.

The year axis starts at the valuation year V: index ``t`` is calendar year
``V + t``. All conventions (timing, indexation, interest, end year, discounting,
the uncertainty margin) are those of ``docs/rules.md`` sections 2–7; the BBV rules
(provision, interim profit, duration) of its sections 8–11. Docstrings refer to
them instead of repeating them.

Amounts are in euros. ``[EUR, price level]`` means prices of 1 January of the
complex's price level year; ``[EUR, nominal]`` means indexed to the year of the
flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

__all__ = [
    "BASES",
    "DISCOUNT_PERIODS",
    "PRESENT_VALUE_METHODS",
    "CoreResult",
    "cumulative_index",
    "discount_factor",
    "discount_periods",
    "end_index",
    "freeze_rates",
    "index_factors",
    "nominal_flows",
    "poc_profit",
    "present_value_of_flows",
    "provision",
    "roll_book_value",
    "valuate",
]

#: The two bases on which a provision or an interim profit can be computed.
BASES = ("present_value", "end_value")
#: How the periods of discounting are counted: whole years, or days / 365.25.
DISCOUNT_PERIODS = ("years", "days")
#: How the present value is found: the end value discounted, or every year's net flow discounted.
PRESENT_VALUE_METHODS = ("end_value", "cash_flows")
#: Days of the average year in the day count (``discount_periods = "days"``).
DAYS_PER_YEAR = 365.25


def cumulative_index(rates: npt.ArrayLike) -> NDArray[np.float64]:
    """Cumulative price index on a yearly grid.

    Parameters
    ----------
    rates : array_like, shape (..., G)
        Yearly price change rates (kostenstijging / opbrengstenstijging),
        decimals per year; ``rates[..., g]`` applies over grid year ``g``.

    Returns
    -------
    ndarray, shape (..., G + 1)
        ``C[..., g] = prod_{s < g} (1 + rates[..., s])``, so ``C[..., 0] = 1``.
        The factor that brings a price of 1 January of grid year ``p`` to a flow
        in grid year ``g`` is ``C[g] / C[p]`` (docs/rules.md section 3).

    Examples
    --------
    >>> cumulative_index([0.06, 0.04, 0.02]).round(6).tolist()
    [1.0, 1.06, 1.1024, 1.124448]
    """
    rates = np.asarray(rates, dtype=np.float64)
    out = np.empty(rates.shape[:-1] + (rates.shape[-1] + 1,), dtype=np.float64)
    out[..., 0] = 1.0
    np.cumprod(1.0 + rates, axis=-1, out=out[..., 1:])
    return out


def index_factors(
    rates: npt.ArrayLike,
    price_level_offset: npt.ArrayLike,
    n_years: int,
) -> NDArray[np.float64]:
    """Index factor of a flow in each year of the valuation grid.

    Parameters
    ----------
    rates : array_like, shape (..., C, G) or (..., G)
        Yearly rates on a grid that starts ``offset`` years before the
        valuation year, where ``offset = G - n_years`` (the grid starts at the
        earliest price level year, so that a price level before V can be
        indexed up to V). [decimal per year]
    price_level_offset : array_like of int, shape (..., C) or ()
        Grid index of each complex's price level year P (``P - grid start``).
    n_years : int
        Number of years T of the valuation grid (V ... V+T-1), the last
        ``n_years`` entries of the rate grid.

    Returns
    -------
    ndarray, shape (..., C, T)
        ``prod_{s=P}^{t-1} (1 + rate_s)`` for a flow in year t (docs/rules.md
        section 3): a flow in year P is not indexed. For a flow before P the
        factor is the inverse product (deflation to the flow's year).

    Examples
    --------
    Price level 2024, valuation 2024, cost index 4%, 4%, 2%:

    >>> index_factors([0.04, 0.04, 0.02], 0, 3).round(6).tolist()
    [1.0, 1.04, 1.0816]

    Price level 2023 (grid starts in 2023), valuation 2024, 6% over 2023:

    >>> index_factors([0.06, 0.04, 0.04], 0, 2).round(6).tolist()
    [1.06, 1.1024]
    """
    cum = cumulative_index(rates)
    grid = cum.shape[-1] - 1
    offset = grid - n_years
    if offset < 0:
        raise ValueError(f"rates cover {grid} years, fewer than the {n_years} years of the grid")
    base = np.asarray(price_level_offset, dtype=np.intp)
    base_value = np.take_along_axis(cum, np.broadcast_to(base[..., None], cum.shape[:-1] + (1,)), axis=-1)
    return cum[..., offset : offset + n_years] / base_value


def freeze_rates(rates: npt.ArrayLike, from_index: int) -> NDArray[np.float64]:
    """Set rates to zero from grid index ``from_index`` on.

    Used for the beheersmaatregel "niet indexeren van opbrengsten na 10 jaar":
    with the rate of year V+9 and later set to zero, every later flow keeps
    the index factor of year V+9 (docs/rules.md section 3, the revenue freeze).
    """
    out = np.array(rates, dtype=np.float64, copy=True)
    if from_index < out.shape[-1]:
        out[..., max(from_index, 0) :] = 0.0
    return out


def nominal_flows(
    costs: npt.ArrayLike,
    revenues: npt.ArrayLike,
    cost_factor: npt.ArrayLike,
    revenue_factor: npt.ArrayLike,
    uncertainty_margin: npt.ArrayLike,
    indexed_costs: npt.ArrayLike | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Indexation and the uncertainty margin: flows at price level to nominal flows.

    ``indexed = costs * cost_factor``, ``margin = indexed * uncertainty_margin``,
    ``nominal costs = indexed + margin`` and ``nominal revenues = revenues *
    revenue_factor`` (docs/rules.md sections 3 and 4): the margin (voorziene
    onzekerheden) is a share of the indexed remaining costs, and revenues
    carry none.

    Parameters
    ----------
    costs, revenues : array_like, shape (..., C, T)
        Flows at price level. [EUR, price level]
    cost_factor, revenue_factor : array_like, broadcastable to (..., C, T)
        Index factors from :func:`index_factors`.
    uncertainty_margin : array_like, broadcastable to (..., C)
        Share of the remaining costs. [decimal]
    indexed_costs : array_like, shape (..., C, T), optional
        Costs already indexed, where each kostensoort follows its own index
        (``cost_index_by_category``); ``costs * cost_factor`` when omitted.

    Returns
    -------
    nominal_costs, nominal_revenues, margin : ndarray, shape (..., C, T)
        [EUR, nominal]; ``margin`` is the margin part of ``nominal_costs``.

    Examples
    --------
    >>> costs, revenues, margin = nominal_flows([[100.0]], [[50.0]], [[1.1]], [[1.2]], [0.1])
    >>> float(costs[0, 0]), float(revenues[0, 0]), float(margin[0, 0])
    (121.00000000000001, 60.0, 11.000000000000002)
    """
    margin_share = np.asarray(uncertainty_margin, dtype=np.float64)[..., None]
    indexed: NDArray[np.float64]
    if indexed_costs is None:
        indexed = np.asarray(costs, dtype=np.float64) * np.asarray(cost_factor, dtype=np.float64)
    else:
        indexed = np.asarray(indexed_costs, dtype=np.float64)
    margin: NDArray[np.float64] = indexed * margin_share
    nominal_revenues = np.asarray(revenues, dtype=np.float64) * np.asarray(revenue_factor, dtype=np.float64)
    return indexed + margin, nominal_revenues, margin


def end_index(
    costs: npt.ArrayLike,
    revenues: npt.ArrayLike,
    given_end_index: npt.ArrayLike,
) -> NDArray[np.intp]:
    """Year index of each complex's end year E (``E - V``).

    E is the given end year where there is one, but never before the last
    year with a non-zero flow; without one, the last year with a flow; a
    complex with no flows and no given end year ends in V (index 0).

    Parameters
    ----------
    costs, revenues : array_like, shape (..., C, T)
        Flows of the complexes. [EUR]
    given_end_index : array_like of int, shape (..., C)
        ``end_year - V`` where the complex names an end year, else 0.
    """
    flows = (np.asarray(costs) != 0) | (np.asarray(revenues) != 0)
    n_years = flows.shape[-1]
    any_flow = flows.any(axis=-1)
    last = n_years - 1 - np.argmax(flows[..., ::-1], axis=-1)
    last = np.where(any_flow, last, 0)
    return np.maximum(last, np.asarray(given_end_index, dtype=np.intp)).astype(np.intp)


def roll_book_value(
    book_value: npt.ArrayLike,
    net_flows: npt.ArrayLike,
    interest_rate: npt.ArrayLike,
    last_index: npt.ArrayLike,
    *,
    keep_path: bool = False,
    rate_by_year: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64] | None]:
    """Run the book value forward with interest (docs/rules.md section 5).

    ``interest_t = interest_rate * B_t`` and
    ``B_{t+1} = B_t + interest_t + costs_t - revenues_t`` for every year up to
    and including the end year; after it the balance stands still.

    Parameters
    ----------
    book_value : array_like, shape (..., C)
        Boekwaarde at 1 January of the valuation year. [EUR, positive = debit]
    net_flows : array_like, shape (..., C, T)
        Costs minus revenues of each year. [EUR, nominal]
    interest_rate : array_like, broadcastable to (..., C), or to (..., C, T) with ``rate_by_year``
        Rekenrente. [decimal per year]
    last_index : array_like of int, shape (..., C)
        Year index of the end year E.
    keep_path : bool, keyword-only
        Also return the balance at 31 December and the interest of every year.
    rate_by_year : bool, keyword-only
        ``interest_rate`` has a year axis last: ``interest_rate[..., t]`` is
        the rekenrente of year t, charged on the balance at 1 January of t.

    Returns
    -------
    balance : ndarray, shape (..., C)
        ``B_{E+1}``, the balance at 31 December of the end year. [EUR]
    interest_total : ndarray, shape (..., C)
        Interest charged from V to E. [EUR]
    balance_path, interest_path : ndarray, shape (..., C, T), or None
        Only with ``keep_path``.
    """
    net = np.asarray(net_flows, dtype=np.float64)
    shape = net.shape[:-1]
    balance = np.array(np.broadcast_to(np.asarray(book_value, dtype=np.float64), shape))
    if rate_by_year:
        rates = np.broadcast_to(np.asarray(interest_rate, dtype=np.float64), net.shape)
    else:
        rate = np.broadcast_to(np.asarray(interest_rate, dtype=np.float64), shape)
    last = np.asarray(last_index)
    interest_total = np.zeros(shape)
    balance_path = np.empty(net.shape) if keep_path else None
    interest_path = np.empty(net.shape) if keep_path else None
    interest = np.empty(shape)
    for t in range(net.shape[-1]):
        np.multiply(rates[..., t] if rate_by_year else rate, balance, out=interest)
        interest[last < t] = 0.0
        interest_total += interest
        balance += interest
        # after the end year the balance stands still, also where indexed corrections of different
        # kostensoorten leave a nominal flow in a year without a flow at price level
        balance += np.where(last < t, 0.0, net[..., t])
        if balance_path is not None and interest_path is not None:  # keep_path
            balance_path[..., t] = balance
            interest_path[..., t] = interest
    return balance, interest_total, balance_path, interest_path


def discount_periods(
    last_index: npt.ArrayLike, valuation_year: int | None = None, periods: str = "years"
) -> NDArray[np.float64]:
    """Years of discounting from 1-1-V to 31-12 of the year with index ``last_index``.

    ``"years"``: ``last_index + 1`` whole years (docs/rules.md section 7).
    ``"days"``: the calendar days from 1-1-V to 31-12-(V + last_index),
    leap days included, divided by 365.25 (docs/municipal-practice.md);
    needs ``valuation_year``.

    Examples
    --------
    1-1-2017 to 31-12-2025 is 3,286 days, 8.9966 years; 1-1-2024 to
    31-12-2032 is 3,287 days (three leap days), 8.9993 years:

    >>> discount_periods([8], 2017, "days").round(4).tolist()
    [8.9966]
    >>> discount_periods([8], 2024, "days").round(4).tolist()
    [8.9993]
    """
    if periods not in DISCOUNT_PERIODS:
        raise ValueError(f"periods must be one of {DISCOUNT_PERIODS}, not {periods!r}")
    index = np.asarray(last_index)
    if periods == "years":
        return index.astype(np.float64) + 1.0
    if valuation_year is None:
        raise ValueError("counting days needs the valuation year")
    # 1 January of the year after the end year, as a day number; minus one day is 31 December
    next_january = (
        (index.astype(np.int64) + (valuation_year + 1 - 1970)).astype("datetime64[Y]").astype("datetime64[D]")
    )
    days = (next_january - np.datetime64(f"{valuation_year:04d}-01-01", "D")).astype(np.int64) - 1
    return days.astype(np.float64) / DAYS_PER_YEAR


def discount_factor(
    discount_rate: npt.ArrayLike,
    last_index: npt.ArrayLike,
    *,
    valuation_year: int | None = None,
    periods: str = "years",
) -> NDArray[np.float64]:
    """Factor that brings an end value at 31-12-E to 1 January of V.

    ``1 / (1 + discount_rate) ** n`` with ``n = E - V + 1`` (docs/rules.md
    section 7), or with ``periods="days"`` the day count of
    :func:`discount_periods` (docs/municipal-practice.md).

    Examples
    --------
    The check of docs/rules.md section 7: valuation 1-1-2017, end 31-12-2025 (index 8):

    >>> float(discount_factor(0.02, 8)) == 1 / 1.02**9
    True
    """
    if periods == "years":
        exponent = np.asarray(last_index, dtype=np.float64) + 1.0
    else:
        exponent = discount_periods(last_index, valuation_year, periods)
    return np.power(1.0 + np.asarray(discount_rate, dtype=np.float64), -exponent)


def present_value_of_flows(
    book_value: npt.ArrayLike,
    net_revenues: npt.ArrayLike,
    discount_rate: npt.ArrayLike,
    *,
    valuation_year: int | None = None,
    periods: str = "years",
) -> NDArray[np.float64]:
    """Present value from the cash flows (``present_value_method = "cash_flows"``).

    ``-book_value + sum_t net_t / (1 + d) ** n_t`` with ``n_t = t - V + 1``
    (or the day count to 31-12-t): every year's net flow at the end of its
    year, discounted to 1-1-V; interest is an internal charge and left out.

    Parameters
    ----------
    book_value : array_like, shape (..., C)
        Boekwaarde 1-1-V. [EUR]
    net_revenues : array_like, shape (..., C, T)
        Revenues minus costs (with the margin) of each year. [EUR, nominal]
    discount_rate : array_like, broadcastable to (..., C)
        [decimal per year]

    Examples
    --------
    Book value 100, net flows +60 and +60, 2%: -100 + 60/1.02 + 60/1.02**2 = 16.4937.

    >>> round(float(present_value_of_flows(100.0, [60.0, 60.0], 0.02)), 4)
    16.4937
    """
    net = np.asarray(net_revenues, dtype=np.float64)
    factors = discount_factor(
        np.asarray(discount_rate, dtype=np.float64)[..., None],
        np.arange(net.shape[-1]),
        valuation_year=valuation_year,
        periods=periods,
    )
    return (net * factors).sum(axis=-1) - np.asarray(book_value, dtype=np.float64)


def provision(result: npt.ArrayLike, applies: npt.ArrayLike = True) -> NDArray[np.float64]:
    """Verliesvoorziening: the full expected loss, as a positive amount.

    Parameters
    ----------
    result : array_like
        Expected result on the provision basis (present or end value).
        [EUR, positive = profit]
    applies : array_like of bool
        Where a provision is formed (adopted complexes, ``vastgesteld``).

    Examples
    --------
    >>> provision([-100.0, 50.0]).tolist()
    [100.0, 0.0]
    """
    result = np.asarray(result, dtype=np.float64)
    return np.where(np.asarray(applies) & (result < 0), -result, 0.0)


def poc_profit(
    result: npt.ArrayLike,
    realised_costs: npt.ArrayLike,
    remaining_costs: npt.ArrayLike,
    realised_revenues: npt.ArrayLike,
    remaining_revenues: npt.ArrayLike,
    profit_taken: npt.ArrayLike,
    applies: npt.ArrayLike = True,
) -> NDArray[np.float64]:
    """Tussentijdse winstneming by percentage of completion (POC).

    ``(realised costs / total costs) * (realised revenues / total revenues)
    * result - profit_taken`` where the result is positive, some revenue is
    realised and ``applies`` holds; zero elsewhere (docs/rules.md section 11).
    Totals are realised plus remaining; remaining amounts are nominal, with the
    uncertainty margin, without interest. A share whose total is zero counts
    as zero; a share is at most 1 and at least 0 (with negative remaining
    amounts, corrections, a total can fall below what is realised; docs/
    municipal-practice.md). The figure is negative where more profit was taken earlier than
    the present degree of completion allows (a reversal, terugname).

    Examples
    --------
    Half the costs and 40% of the revenues realised, result 1,000, nothing
    taken yet: 0.5 * 0.4 * 1000 = 200.

    >>> float(poc_profit(1000.0, 50.0, 50.0, 40.0, 60.0, 0.0))
    200.0
    """
    result = np.asarray(result, dtype=np.float64)
    realised_costs = np.asarray(realised_costs, dtype=np.float64)
    realised_revenues = np.asarray(realised_revenues, dtype=np.float64)
    total_costs = realised_costs + remaining_costs
    total_revenues = realised_revenues + remaining_revenues
    cost_share = np.divide(
        realised_costs,
        total_costs,
        out=np.zeros(np.broadcast(realised_costs, total_costs).shape),
        where=total_costs != 0,
    )
    revenue_share = np.divide(
        realised_revenues,
        total_revenues,
        out=np.zeros(np.broadcast(realised_revenues, total_revenues).shape),
        where=total_revenues != 0,
    )
    # corrections (negative remaining amounts) can push a share outside [0, 1]; a share
    # within it is returned unchanged, bit for bit
    cost_share = np.clip(cost_share, 0.0, 1.0)
    revenue_share = np.clip(revenue_share, 0.0, 1.0)
    eligible = np.asarray(applies) & (result > 0) & (realised_revenues > 0)
    return np.where(eligible, cost_share * revenue_share * result - profit_taken, 0.0)


@dataclass(frozen=True)
class CoreResult:
    """Valuation of every complex; arrays shaped ``(..., C)`` or ``(..., C, T)``.

    Attributes
    ----------
    costs : (..., C, T) remaining costs with the margin. [EUR, nominal]
    revenues : (..., C, T) remaining revenues. [EUR, nominal]
    margin : (..., C, T) the uncertainty margin part of ``costs``. [EUR, nominal]
    interest : (..., C, T) interest of each year. [EUR]
    balance : (..., C, T) book value at 31 December of each year. [EUR]
    end_index : (..., C) year index of the end year E (``E - V``).
    duration : (..., C) looptijd ``E - V + 1``. [years]
    exceeds_max_duration : (..., C) duration longer than the maximum.
    remaining_costs_price_level, remaining_revenues_price_level : (..., C)
        NTMK (with the margin) and NTRO. [EUR, price level]
    remaining_costs, remaining_revenues : (..., C) the same nominal. [EUR, nominal]
    uncertainty_margin_amount : (..., C) voorziene onzekerheden. [EUR, nominal]
    interest_total : (..., C) interest from V to E. [EUR]
    end_value : (..., C) eindwaarde at 31-12-E. [EUR, positive = profit]
    present_value : (..., C) contante waarde at 1-1-V. [EUR, positive = profit]
    provision : (..., C) verliesvoorziening. [EUR, positive amount]
    poc_profit : (..., C) tussentijdse winstneming of this valuation. [EUR]
    """

    costs: NDArray[np.float64]
    revenues: NDArray[np.float64]
    margin: NDArray[np.float64]
    interest: NDArray[np.float64]
    balance: NDArray[np.float64]
    end_index: NDArray[np.intp]
    duration: NDArray[np.intp]
    exceeds_max_duration: NDArray[np.bool_]
    remaining_costs_price_level: NDArray[np.float64]
    remaining_revenues_price_level: NDArray[np.float64]
    remaining_costs: NDArray[np.float64]
    remaining_revenues: NDArray[np.float64]
    uncertainty_margin_amount: NDArray[np.float64]
    interest_total: NDArray[np.float64]
    end_value: NDArray[np.float64]
    present_value: NDArray[np.float64]
    provision: NDArray[np.float64]
    poc_profit: NDArray[np.float64]


def valuate(
    costs: npt.ArrayLike,
    revenues: npt.ArrayLike,
    *,
    book_value: npt.ArrayLike,
    cost_factor: npt.ArrayLike,
    revenue_factor: npt.ArrayLike,
    uncertainty_margin: npt.ArrayLike,
    interest_rate: npt.ArrayLike,
    discount_rate: npt.ArrayLike,
    given_end_index: npt.ArrayLike,
    realised_costs: npt.ArrayLike,
    realised_revenues: npt.ArrayLike,
    profit_taken: npt.ArrayLike,
    adopted: npt.ArrayLike,
    max_duration: int = 10,
    provision_basis: str = "present_value",
    poc_basis: str = "present_value",
    interest_by_year: bool = False,
    discount_periods: str = "years",
    valuation_year: int | None = None,
    present_value_method: str = "end_value",
    indexed_costs: npt.ArrayLike | None = None,
) -> CoreResult:
    """Value every complex under the BBV rules (docs/rules.md sections 2–11).

    Parameters
    ----------
    costs, revenues : array_like, shape (..., C, T)
        Remaining costs (nog te maken kosten) and revenues (nog te realiseren
        opbrengsten) per year from V. [EUR, price level]
    book_value : array_like, shape (..., C)
        Boekwaarde 1-1-V. [EUR]
    cost_factor, revenue_factor : array_like, shape (..., C, T)
        Index factors from :func:`index_factors`.
    uncertainty_margin : array_like, broadcastable to (..., C)
        Voorziene onzekerheden as a share of remaining costs. [decimal]
    interest_rate, discount_rate : array_like, broadcastable to (..., C)
        Rekenrente and disconteringsvoet. [decimal per year]
    given_end_index : array_like of int, shape (..., C)
        ``end_year - V`` where given, else 0 (see :func:`end_index`).
    realised_costs, realised_revenues, profit_taken : array_like, shape (..., C)
        Realised so far, for the interim profit. [EUR]
    adopted : array_like of bool, shape (..., C)
        Complexes with an adopted grex (``vastgesteld``): only these get a
        provision or take interim profit.
    max_duration : int
        Maximum duration in years (BBV: 10); longer is flagged.
    provision_basis, poc_basis : {"present_value", "end_value"}
        Which expected result the provision and the interim profit use.
    interest_by_year : bool
        ``interest_rate`` has a year axis, shape (..., C, T) after
        broadcasting (a rekenrente per year, :func:`roll_book_value`).
    discount_periods : {"years", "days"}
        Whole years or days / 365.25 (:func:`discount_periods`); ``"days"``
        needs ``valuation_year``.
    valuation_year : int, optional
        V, for the day count.
    present_value_method : {"end_value", "cash_flows"}
        The end value discounted, or :func:`present_value_of_flows`.
    indexed_costs : array_like, shape (..., C, T), optional
        The remaining costs already indexed (before the margin), where costs
        of different kostensoorten follow different indices; replaces
        ``costs * cost_factor``. ``costs`` still gives the price level
        totals and the years with a flow.
    """
    for label, basis in (("provision_basis", provision_basis), ("poc_basis", poc_basis)):
        if basis not in BASES:
            raise ValueError(f"{label} must be one of {BASES}, not {basis!r}")
    if present_value_method not in PRESENT_VALUE_METHODS:
        raise ValueError(f"present_value_method must be one of {PRESENT_VALUE_METHODS}, not {present_value_method!r}")
    costs = np.asarray(costs, dtype=np.float64)
    revenues = np.asarray(revenues, dtype=np.float64)
    if costs.shape != revenues.shape:
        raise ValueError(f"costs {costs.shape} and revenues {revenues.shape} differ in shape")
    margin_share = np.asarray(uncertainty_margin, dtype=np.float64)[..., None]
    nominal_costs, nominal_revenues, margin = nominal_flows(
        costs, revenues, cost_factor, revenue_factor, uncertainty_margin, indexed_costs
    )

    last = end_index(costs, revenues, given_end_index)
    balance, interest_total, balance_path, interest_path = roll_book_value(
        book_value, nominal_costs - nominal_revenues, interest_rate, last, keep_path=True, rate_by_year=interest_by_year
    )
    assert balance_path is not None and interest_path is not None  # kept: keep_path=True
    end_value = -balance
    if present_value_method == "cash_flows":
        # the flows of V ... E (after E only a nominal remainder of corrections that cancel at price level)
        present_value = present_value_of_flows(
            book_value,
            np.where(np.arange(costs.shape[-1]) <= last[..., None], nominal_revenues - nominal_costs, 0.0),
            discount_rate,
            valuation_year=valuation_year,
            periods=discount_periods,
        )
    elif discount_periods == "years":
        present_value = end_value * discount_factor(discount_rate, last)
    else:
        present_value = end_value * discount_factor(
            discount_rate, last, valuation_year=valuation_year, periods=discount_periods
        )
    duration = last + 1

    remaining_costs = nominal_costs.sum(axis=-1)
    remaining_revenues = nominal_revenues.sum(axis=-1)
    bases = {"present_value": present_value, "end_value": end_value}
    return CoreResult(
        costs=nominal_costs,
        revenues=nominal_revenues,
        margin=margin,
        interest=interest_path,
        balance=balance_path,
        end_index=last,
        duration=duration,
        exceeds_max_duration=duration > max_duration,
        remaining_costs_price_level=(costs * (1.0 + margin_share)).sum(axis=-1),
        remaining_revenues_price_level=revenues.sum(axis=-1),
        remaining_costs=remaining_costs,
        remaining_revenues=remaining_revenues,
        uncertainty_margin_amount=margin.sum(axis=-1),
        interest_total=interest_total,
        end_value=end_value,
        present_value=present_value,
        provision=provision(bases[provision_basis], adopted),
        poc_profit=poc_profit(
            bases[poc_basis],
            realised_costs,
            remaining_costs,
            realised_revenues,
            remaining_revenues,
            profit_taken,
            adopted,
        ),
    )
