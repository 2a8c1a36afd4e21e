"""The general reserve path (algemene reserve grondbedrijf), year by year.

The numpy definition of the path's entries; the compiled engine has the same
entries in the stage :func:`grex.kernel.reserve_entries`, tested bit for bit
against this one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from grex.core import poc_profit, provision
from grex.valuation import ModelInputs

__all__ = ["RESERVE_YEARS", "reserve_path"]

#: Years of the general reserve path after the valuation date.
RESERVE_YEARS = 10

# -- the general reserve path ---------------------------------------------------


def _balance(inputs: ModelInputs) -> NDArray[np.float64]:
    """The provision balance (voorziening) of each complex at 31-12-(V - 1), 0 where none is given."""
    if inputs.provision_balance is None:
        return np.zeros(inputs.n_complexes)
    return np.asarray(inputs.provision_balance, dtype=np.float64)


def reserve_path(
    *,
    general_reserve: float,
    nominal_costs: NDArray[np.float64],
    nominal_revenues: NDArray[np.float64],
    end_index: NDArray[np.intp],
    end_value: NDArray[np.float64],
    present_value: NDArray[np.float64],
    inputs: ModelInputs,
    in_preparation: NDArray[np.bool_],
    years: int = RESERVE_YEARS,
) -> NDArray[np.float64]:
    """The general reserve (algemene reserve grondbedrijf) year by year.

    Parameters
    ----------
    general_reserve : float
        Reserve at the valuation date 1-1-V. [EUR]
    nominal_costs, nominal_revenues : ndarray, shape (..., C, T)
        Remaining costs (with the margin) and revenues per year. [EUR, nominal]
    end_index : ndarray of int, shape (..., C)
        ``E - V``.
    end_value, present_value : ndarray, shape (..., C)
        [EUR, positive = profit]
    inputs : ModelInputs
        Realised amounts, profit taken, status and the BBV bases.
    in_preparation : ndarray of bool, shape (C,)
        Status ``voorbereiding`` (in preparation: no grex adopted yet).
    years : int
        Years of the path after the valuation date.

    Returns
    -------
    ndarray, shape (..., years + 1)
        Entry 0 is the reserve at 1-1-V; entry ``i`` the reserve at
        31 December of year ``V + i - 1``. [EUR]

    Notes
    -----
    Each draw is read as a valuation at 1-1-V that knew that draw's outcome
    (and the deterministic path as the valuation itself):

    - **Provisions** (verliesvoorziening) of the adopted complexes, on the
      scenario's provision basis: year V is charged the dotation, the
      provision required less the balance already formed at 31-12-(V - 1)
      (``inputs.provision_balance``; a negative dotation is a release,
      vrijval, credited). A balance on a complex that needs no provision is
      released in year V.
    - **Interim profit** (POC) of an adopted complex in year Y < E is the
      increase of the profit taken: ``taken(Y) - taken(Y-1)``, with
      ``taken(V-1) = profit_taken`` and ``taken(Y) = profit_taken +
      poc_profit(...)`` of :func:`grex.core.poc_profit` with realised costs and
      revenues through the end of Y (the realised amounts plus the nominal
      flows of V ... Y); it may be negative (terugname).
    - **Complexes in preparation** (status ``voorbereiding``) are charged their expected loss
      (the negative result on the provision basis) in their start year, the
      first year with a flow (V where there is none).
    - **Settlement** in the end year E: the end value (nominal at 31-12-E)
      plus the provision formed, plus the expected loss charged for a complex in
      preparation, minus the profit taken through E - 1 (profit taken before V
      included, as it was credited before the valuation date). Over the life
      of a complex the reserve thus receives ``end_value - profit_taken +
      provision_balance``: the result not yet credited (the balance was
      charged before the valuation date).
    - Strategic land gets no provision and no POC: its end value is settled
      in its end year.
    """
    years = int(years)
    shape = end_value.shape[:-1]
    C = end_value.shape[-1]
    T = nominal_costs.shape[-1]
    bases = {"present_value": present_value, "end_value": end_value}
    provision_formed = provision(bases[inputs.provision_basis], inputs.adopted)
    result = bases[inputs.poc_basis]
    # Cumulative flows (sequential sums: the same value whatever the horizon length).
    cum_costs = np.cumsum(nominal_costs, axis=-1)
    cum_revenues = np.cumsum(nominal_revenues, axis=-1)
    total_costs = cum_costs[..., -1:]
    total_revenues = cum_revenues[..., -1:]
    columns = np.minimum(np.arange(years), T - 1)
    cum_costs = cum_costs[..., columns]
    cum_revenues = cum_revenues[..., columns]
    taken = inputs.profit_taken[:, None] + poc_profit(
        result[..., None],
        inputs.realised_costs[:, None] + cum_costs,
        total_costs - cum_costs,
        inputs.realised_revenues[:, None] + cum_revenues,
        total_revenues - cum_revenues,
        inputs.profit_taken[:, None],
        inputs.adopted[:, None],
    )  # (..., C, years)
    before = np.concatenate([np.broadcast_to(inputs.profit_taken[:, None], shape + (C, 1)), taken[..., :-1]], axis=-1)
    year = np.arange(years)
    last = end_index[..., None]
    entries = np.where(year < last, taken - before, 0.0)
    # Complexes in preparation (voorbereiding): the expected loss in the start year.
    expected_loss = np.where(in_preparation, np.maximum(-bases[inputs.provision_basis], 0.0), 0.0)
    flows = (nominal_costs != 0) | (nominal_revenues != 0)
    start = np.where(flows.any(axis=-1), np.argmax(flows, axis=-1), 0)
    entries -= np.where(year == start[..., None], expected_loss[..., None], 0.0)
    # Settlement in the end year.
    taken_before_end = np.take_along_axis(
        np.concatenate([before, taken[..., -1:]], axis=-1), np.minimum(end_index, years)[..., None], axis=-1
    )[..., 0]
    settlement = end_value + provision_formed + expected_loss - taken_before_end
    entries += np.where(year == last, settlement[..., None], 0.0)
    change = entries.sum(axis=-2)
    # Year V: the dotation (the provision required less the balance at 31-12-(V - 1); negative: vrijval).
    change[..., 0] -= (provision_formed - _balance(inputs)).sum(axis=-1)
    out = np.empty(shape + (years + 1,))
    out[..., 0] = general_reserve
    out[..., 1:] = general_reserve + np.cumsum(change, axis=-1)
    return out
