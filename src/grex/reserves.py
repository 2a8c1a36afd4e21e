"""Resistance reserve (weerstandsreserve grondbedrijf): IFLO norm, ratio and grade.

Two required capacities (benodigde weerstandscapaciteit) are computed: the
IFLO norm (:func:`iflo_norm`, deterministic) and the risk-based capacity of
the Monte Carlo (``grex simulate``). Which one the council's policy uses is
the scenario's ``[reserves] norm``: ``"iflo"``, ``"risk"`` or ``"max"`` (the
higher of the two, the prudent default). One name per meaning in every
output (:func:`reserve_figures`): ``ratio_iflo`` / ``grade_iflo`` against
the IFLO norm, ``ratio_risk`` / ``grade_risk`` against the risk-based
capacity, and ``ratio`` / ``grade`` against the capacity the policy uses.
The rules are in ``docs/reserves.md`` sections 1–4. Pure functions on
numbers and arrays.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_NORM",
    "GRADES",
    "NORMS",
    "iflo_norm",
    "nar_grade",
    "policy_required",
    "reserve_figures",
    "resistance_ratio",
]

#: Values of ``[reserves] norm``: which required capacity the council's policy uses.
NORMS = ("iflo", "risk", "max")
#: The default: the higher of the IFLO norm and the risk-based capacity (prudent).
DEFAULT_NORM = "max"

#: NAR / Universiteit Twente grades: (lower bound, letter, Dutch label), the
#: lower bound inclusive, from the top down.
GRADES: tuple[tuple[float, str, str], ...] = (
    (2.0, "A", "uitstekend"),
    (1.4, "B", "ruim voldoende"),
    (1.0, "C", "voldoende"),
    (0.8, "D", "matig"),
    (0.6, "E", "onvoldoende"),
    (-math.inf, "F", "ruim onvoldoende"),
)

#: Statuses whose book value counts in the IFLO norm.
IFLO_BOOK_VALUE_STATUSES = ("vastgesteld", "strategisch")
#: Statuses whose remaining costs count in the IFLO norm.
IFLO_REMAINING_COSTS_STATUSES = ("vastgesteld",)


def iflo_norm(
    status: npt.ArrayLike,
    book_value: npt.ArrayLike,
    remaining_costs_price_level: npt.ArrayLike,
    *,
    book_value_share: float = 0.10,
    remaining_costs_share: float = 0.10,
) -> float:
    """Required resistance reserve of the grondbedrijf by the IFLO norm.

    ``book_value_share * sum(book value of vastgesteld and strategisch land)
    + remaining_costs_share * sum(remaining costs of vastgesteld complexes)``,
    remaining costs at price level, with the uncertainty margin (the grex
    carries the margin as a cost post, docs/reserves.md section 1). Book values enter
    as they are, negative ones included.

    Parameters
    ----------
    status : array_like of str, shape (C,)
    book_value : array_like, shape (C,)
        Boekwaarde 1-1. [EUR]
    remaining_costs_price_level : array_like, shape (C,)
        Nog te maken kosten. [EUR, price level]

    Examples
    --------
    >>> iflo_norm(["vastgesteld", "strategisch", "voorbereiding"],
    ...           [1000.0, 500.0, 300.0], [2000.0, 0.0, 900.0])
    350.0
    """
    status = np.asarray(status)
    book = np.isin(status, IFLO_BOOK_VALUE_STATUSES)
    costs = np.isin(status, IFLO_REMAINING_COSTS_STATUSES)
    return float(
        book_value_share * np.sum(np.asarray(book_value, dtype=np.float64)[book])
        + remaining_costs_share * np.sum(np.asarray(remaining_costs_price_level, dtype=np.float64)[costs])
    )


def resistance_ratio(available: float, required: float) -> float | None:
    """Ratio available / required capacity; None where nothing is required.

    Examples
    --------
    >>> resistance_ratio(3.7, 1.0)
    3.7
    """
    if required <= 0:
        return None
    return available / required


@overload
def nar_grade(ratio: float) -> tuple[str, str]: ...
@overload
def nar_grade(ratio: None) -> None: ...
@overload
def nar_grade(ratio: float | None) -> tuple[str, str] | None: ...
def nar_grade(ratio: float | None) -> tuple[str, str] | None:
    """NAR grade (letter, Dutch label) of a resistance ratio.

    Examples
    --------
    >>> nar_grade(1.4)
    ('B', 'ruim voldoende')
    >>> nar_grade(0.59)
    ('F', 'ruim onvoldoende')
    >>> nar_grade(float("nan")) is None
    True
    """
    if ratio is None or ratio != ratio:  # None, or NaN: no grade (a NaN ratio compares below no bound)
        return None
    for bound, letter, label in GRADES:
        if ratio >= bound:
            return letter, label
    raise AssertionError("unreachable: the last bound is -inf")


def policy_required(norm: str, iflo: float, risk: float | None) -> float | None:
    """The required capacity the policy uses: the IFLO norm, the risk-based one or the higher.

    None where the policy needs the risk-based capacity and there is none
    (``grex run`` has no Monte Carlo). [EUR]

    Examples
    --------
    >>> policy_required("max", 8.0, 15.0), policy_required("iflo", 8.0, None), policy_required("risk", 8.0, None)
    (15.0, 8.0, None)
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, not {norm!r}")
    if norm == "iflo":
        return iflo
    if risk is None:
        return None
    return risk if norm == "risk" else max(iflo, risk)


def reserve_figures(norm: str, available: float | None, iflo: float, risk: float | None) -> dict[str, object]:
    """The resistance figures under one name per meaning, as ``summary.json`` and the batch hold them.

    Keys: ``norm``; ``ratio_iflo``, ``grade_iflo``, ``grade_iflo_label``
    (available / IFLO norm); where the risk-based capacity is given,
    ``ratio_risk``, ``grade_risk``, ``grade_risk_label`` (available /
    risk-based); where the policy's capacity is known,
    ``required_capacity_policy`` and ``ratio``, ``grade``, ``grade_label``
    (available / the capacity the policy uses). Ratios and grades are None
    where no reserve is given.

    Examples
    --------
    >>> f = reserve_figures("max", 9.0, 6.0, 10.0)
    >>> f["ratio_iflo"], f["grade_iflo"], f["ratio_risk"], f["grade_risk"], f["ratio"], f["grade"]
    (1.5, 'B', 0.9, 'D', 0.9, 'D')
    """
    out: dict[str, object] = {"norm": norm}

    def add(suffix: str, required: float) -> None:
        ratio = None if available is None else resistance_ratio(available, required)
        grade = nar_grade(ratio)
        out[f"ratio{suffix}"] = ratio
        out[f"grade{suffix}"] = None if grade is None else grade[0]
        out[f"grade{suffix}_label"] = None if grade is None else grade[1]

    add("_iflo", iflo)
    if risk is not None:
        add("_risk", risk)
    required = policy_required(norm, iflo, risk)
    if required is not None:
        out["required_capacity_policy"] = required
        add("", required)
    return out
