"""Resistance reserve (weerstandsreserve grondbedrijf): IFLO norm, ratio and grade.

Section 6 of ``DOMAIN.md``. Pure functions on numbers and arrays.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["GRADES", "iflo_norm", "nar_grade", "resistance_ratio"]

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
    carries the margin as a cost post, DOMAIN.md section 5). Book values enter
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
