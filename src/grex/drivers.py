"""Monte Carlo drivers: their parameters and the pure numpy functions that draw them.

The ``[montecarlo]`` table and the ``[[risks]]`` array of a scenario file
(docs/montecarlo.md) become the frozen dataclasses of this module; the
functions turn uniforms and normals into driver values and re-time flows
along a complex's planned sales curve. No files, no pandas.

Drivers (names of the ``drivers`` keyword of :func:`grex.montecarlo.simulate`):

``pace``
    Uitgiftetempo: a market factor shared by all complexes times a complex
    factor, each triangular or uniform. A factor of 1 keeps the plan, 0.5 sells at half
    the planned speed (the sales take twice as long), 1.5 sells faster.
``delay``
    Start delay of plot sales per complex, triangular or uniform. [years]
``costs``, ``prices``
    Shocks on the yearly cost and revenue (land price) index rates, shared by
    all complexes, AR(1) with persistence; their innovations are correlated
    with each other and with the market pace factor.
``interest``
    A shift of the rekenrente (the interest on the book value) per draw,
    triangular or uniform, the same for every complex and year, independent
    of the other drivers; the discount rate (BBV) does not vary. [decimal]
``risks``
    The risk register: independent events, each with a probability and a
    triangular or uniform impact at price level in a given year.

A distribution is written ``{ low, mode, high }`` (triangular) or
``{ low, high }`` (uniform: no mode); by docs/montecarlo.md section 2 ``low`` and
``high`` are the 5% and 95% points unless ``[montecarlo] bounds = "extremes"``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from grex.errors import InputError

__all__ = [
    "DRIVERS",
    "MonteCarlo",
    "Risk",
    "Shock",
    "Triangular",
    "Uniform",
    "ar1",
    "correlate",
    "correlation_root",
    "distribution_ppf",
    "parse_distribution",
    "retime",
    "triangular_ppf",
]

#: The drivers that can keep or lose their spread, in a fixed order.
DRIVERS = ("pace", "delay", "costs", "prices", "interest", "risks")
#: What ``low`` and ``high`` of a triangle are: the share of the distribution beyond each.
BOUNDS = {"p5_p95": 0.05, "extremes": 0.0}
#: Order of the rows and columns of ``montecarlo.correlation``.
CORRELATION_ORDER = ("market pace", "cost index innovation", "price index innovation")


def triangular_ppf(
    u: npt.ArrayLike, low: npt.ArrayLike, mode: npt.ArrayLike, high: npt.ArrayLike
) -> NDArray[np.float64]:
    """Inverse CDF of the triangular distribution.

    Parameters
    ----------
    u : array_like
        Uniforms in [0, 1).
    low, mode, high : array_like
        ``low <= mode <= high``; ``low == high`` gives that value exactly.

    Examples
    --------
    >>> triangular_ppf([0.0, 0.5, 1.0], 0.0, 1.0, 2.0).tolist()
    [0.0, 1.0, 2.0]
    >>> triangular_ppf(0.3, 1.0, 1.0, 1.0).tolist()
    1.0
    """
    u = np.asarray(u, dtype=np.float64)
    low, mode, high = (np.asarray(v, dtype=np.float64) for v in (low, mode, high))
    width = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        split = np.where(width > 0, (mode - low) / np.where(width > 0, width, 1.0), 0.0)
    left = low + np.sqrt(u * width * (mode - low))
    right = high - np.sqrt((1.0 - u) * width * (high - mode))
    return np.where(u < split, left, right)


def distribution_ppf(
    u: npt.ArrayLike, low: npt.ArrayLike, mode: npt.ArrayLike, high: npt.ArrayLike, uniform: npt.ArrayLike
) -> NDArray[np.float64]:
    """Inverse CDF of triangular or uniform distributions, element by element.

    Parameters
    ----------
    u : array_like
        Uniforms in [0, 1).
    low, mode, high : array_like
        Extremes and mode (a uniform's ``mode`` is not used).
    uniform : array_like of bool
        Where true, ``low + u * (high - low)``; elsewhere :func:`triangular_ppf`.

    Examples
    --------
    >>> distribution_ppf([0.25, 0.25], [0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [False, True]).tolist()
    [0.7071067811865476, 0.5]
    """
    u = np.asarray(u, dtype=np.float64)
    low, mode, high = (np.asarray(v, dtype=np.float64) for v in (low, mode, high))
    uniform = np.asarray(uniform, dtype=bool)
    triangular = triangular_ppf(u, low, np.where(uniform, low, mode), high)
    if not uniform.any():
        return triangular
    return np.where(uniform, low + u * (high - low), triangular)


def correlation_root(matrix: npt.ArrayLike) -> NDArray[np.float64]:
    """A matrix ``A`` with ``A @ A.T == matrix`` for a positive semi-definite matrix.

    Cholesky where the matrix is definite; else the symmetric square root
    from the eigen decomposition (negative round-off eigenvalues set to zero).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrix)
        return vectors * np.sqrt(np.clip(values, 0.0, None))


def correlate(
    normals: npt.ArrayLike, root: npt.ArrayLike, out: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Correlated normals ``normals @ root.T``, added up in a fixed order.

    ``out[..., j] = ((normals[..., 0] * root[j, 0]) + normals[..., 1] * root[j, 1]) + ...``:
    each product rounded, then added left to right. A matrix product would
    leave the order and the fused multiply-adds to the BLAS library, whose
    kernels differ between processors, so the same seed could give other
    draws on another machine; this gives the same bits on every machine.

    Parameters
    ----------
    normals : array_like, shape (..., k)
        Independent standard normals.
    root : array_like, shape (k, k)
        :func:`correlation_root` of the correlation matrix.
    out : ndarray, shape (..., k), optional
        Where to write the result.

    Examples
    --------
    >>> correlate([[1.0, 2.0]], [[1.0, 0.0], [0.5, 0.5]]).tolist()
    [[1.0, 1.5]]
    """
    normals = np.asarray(normals, dtype=np.float64)
    root = np.asarray(root, dtype=np.float64)
    k = root.shape[0]
    if out is None:
        out = np.empty(normals.shape[:-1] + (k,))
    for j in range(k):
        column = out[..., j]
        np.multiply(normals[..., 0], root[j, 0], out=column)
        for i in range(1, k):
            column += normals[..., i] * root[j, i]
    return out


def ar1(innovations: npt.ArrayLike, persistence: float, sd: float) -> NDArray[np.float64]:
    """AR(1) shocks on a yearly grid: ``x_t = persistence * x_{t-1} + sd * e_t``, ``x_{-1} = 0``.

    Parameters
    ----------
    innovations : array_like, shape (..., T)
        Standard normal innovations ``e_t``, year on the last axis.
    persistence : float
        Share of last year's shock that remains. [decimal]
    sd : float
        Standard deviation of an innovation. [decimal per year]

    Returns
    -------
    ndarray, shape (..., T)
        Shocks on the yearly rates. [decimal per year]

    Examples
    --------
    >>> ar1([1.0, 0.0, 0.0], 0.5, 0.02).round(6).tolist()
    [0.02, 0.01, 0.005]
    """
    e = np.asarray(innovations, dtype=np.float64)
    out = np.empty(e.shape)
    previous = np.zeros(e.shape[:-1])
    for t in range(e.shape[-1]):
        previous = persistence * previous + sd * e[..., t]
        out[..., t] = previous
    return out


def retime(
    planned: npt.ArrayLike,
    anchor: npt.ArrayLike,
    pace: npt.ArrayLike,
    delay: npt.ArrayLike,
    n_years: int,
) -> NDArray[np.float64]:
    """Re-time flows along a complex's planned cumulative sales curve.

    Planned time ``p`` (years from 1-1-V; a flow of year ``j`` is spread
    evenly over ``[j, j + 1]``) maps to simulated time
    ``tau = anchor + delay + (p - anchor) / pace``: the curve starts
    ``delay`` years later and runs ``pace`` times as fast. Simulated year
    ``k`` receives, of every planned year ``j``, the share of ``[j, j + 1]``
    that the preimage ``[a_k, a_k + pace]`` with
    ``a_k = anchor + (k - anchor - delay) * pace`` covers. The amount at
    price level is conserved (up to rounding) and with ``pace = 1`` and a
    whole-year delay the flows shift exactly, bit for bit.

    Parameters
    ----------
    planned : array_like, shape (C, T0)
        Planned flows per complex and year from V. [EUR, price level]
    anchor : array_like of int, shape (C,)
        Year index of the start of each complex's sales (its first revenue or
        sales-linked cost); flows before it stay where they are only if zero.
    pace : array_like, shape (..., C)
        Pace factor (> 0). [1 = as planned]
    delay : array_like, shape (..., C)
        Start delay (>= 0). [years]
    n_years : int
        Years T of the result (must hold every re-timed flow).

    Returns
    -------
    ndarray, shape (..., C, n_years)
        Re-timed flows. [EUR, price level]

    Examples
    --------
    >>> retime([[0.0, 10.0, 20.0]], [1], [1.0], [1.0], 5).tolist()
    [[0.0, 0.0, 10.0, 20.0, 0.0]]
    >>> retime([[10.0]], [0], [0.5], [0.0], 3).tolist()
    [[5.0, 5.0, 0.0]]
    """
    planned = np.asarray(planned, dtype=np.float64)
    pace = np.asarray(pace, dtype=np.float64)
    delay = np.asarray(delay, dtype=np.float64)
    shape = np.broadcast(pace, delay).shape
    pace = np.broadcast_to(pace, shape)
    delay = np.broadcast_to(delay, shape)
    n_complexes, planned_years = planned.shape
    anchor = np.asarray(anchor, dtype=np.float64)
    out = np.zeros(shape + (n_years,))
    if planned_years == 0 or pace.size == 0:
        return out
    pace_max = float(pace.max())
    steps = math.ceil(pace_max) + 1
    # Pad the table with zeros so that every preimage index lands inside it.
    low_a = float(np.min(anchor + (0.0 - anchor - delay) * pace))
    high_a = float(np.max(anchor + (n_years - anchor - delay) * pace))
    pad_left = max(0, math.ceil(-low_a) + 1)
    pad_right = max(0, math.ceil(high_a) - planned_years + steps + 1)
    width = pad_left + planned_years + pad_right
    table = np.zeros((n_complexes, width))
    table[:, pad_left : pad_left + planned_years] = planned
    flat = table.ravel()
    row_start = (np.arange(n_complexes) * width + pad_left).astype(np.intp)
    for k in range(n_years):
        a = anchor + ((k - anchor) - delay) * pace  # start of the preimage [planned years]
        j0 = np.floor(a)
        index = row_start + j0.astype(np.intp)
        share = np.minimum((j0 + 1.0) - a, pace)
        rest = pace - share
        column = np.take(flat, index) * share
        for m in range(1, steps):
            share = np.minimum(rest, 1.0)
            rest = rest - share
            column += np.take(flat, index + m) * share
        out[..., k] = column
    return out


# -- parameters ---------------------------------------------------------------


def _number(value: Any, source: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(source, where, f"must be a finite number, not {value!r}")
    return float(value)


def _probability(value: Any, source: Any, where: str) -> float:
    number = _number(value, source, where)
    if not 0.0 <= number <= 1.0:
        raise InputError(source, where, f"must be a probability between 0 and 1, not {value!r}")
    return number


def _check_table(value: Any, allowed: Sequence[str], source: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(source, where, "must be a table")
    for key in value:
        if key not in allowed:
            raise InputError(source, f"{where}.{key}", f"unknown key; expected one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True)
class Triangular:
    """A triangular distribution given by ``low``, most likely ``mode`` and ``high``.

    By the convention of docs/montecarlo.md section 2, ``low`` and ``high`` are the 5% and
    95% points (``tail = 0.05``, ``[montecarlo] bounds = "p5_p95"``, the default):
    the triangle's extremes :attr:`minimum` and :attr:`maximum` lie beyond them
    (the "trigen" fit). Where ``low == mode`` the minimum is the mode (a one-sided
    distribution, as practitioners write a delay of "0, 0, 2"); likewise
    ``high == mode``. With ``tail = 0`` (``bounds = "extremes"``) ``low`` and
    ``high`` are the extremes themselves. ``low == mode == high`` is a fixed value.

    Examples
    --------
    >>> t = Triangular(0.0, 1.0, 2.0)
    >>> round(t.minimum, 4), round(t.maximum, 4)
    (-0.4625, 2.4625)
    >>> [round(float(v), 6) for v in t.ppf([0.05, 0.95])]
    [0.0, 2.0]
    >>> Triangular(0.0, 0.0, 2.0).minimum
    0.0
    """

    low: float
    mode: float
    high: float
    tail: float = 0.05

    #: Not a uniform distribution (see :class:`Uniform`).
    uniform: ClassVar[bool] = False

    @property
    def spread(self) -> bool:
        return self.high > self.low

    @property
    def minimum(self) -> float:
        """Lower extreme of the triangle."""
        return _extremes(self.low, self.mode, self.high, self.tail)[0]

    @property
    def maximum(self) -> float:
        """Upper extreme of the triangle."""
        return _extremes(self.low, self.mode, self.high, self.tail)[1]

    def ppf(self, u: npt.ArrayLike) -> NDArray[np.float64]:
        """Values at uniforms ``u``."""
        return triangular_ppf(u, self.minimum, self.mode, self.maximum)

    def to_json(self) -> dict[str, float]:
        return {"low": self.low, "mode": self.mode, "high": self.high}

    @classmethod
    def parse(
        cls,
        value: Any,
        source: Any,
        where: str,
        *,
        minimum: float | None = None,
        strict: bool = False,
        tail: float = 0.05,
    ) -> Triangular:
        """Read ``{low, mode, high}`` (a missing key takes ``mode``) or one number.

        ``minimum`` (``strict``: exclusive) bounds the triangle's lower extreme,
        so a 5% point whose fitted extreme falls below it is refused by name.
        """
        if not isinstance(value, Mapping):
            number = _number(value, source, where)
            out = cls(number, number, number, tail)
        else:
            _check_table(value, ("low", "mode", "high"), source, where)
            if "mode" not in value:
                raise InputError(
                    source,
                    f"{where}.mode",
                    "is missing (a table with low and high and no mode is a uniform distribution)",
                )
            mode = _number(value["mode"], source, f"{where}.mode")
            low = _number(value.get("low", mode), source, f"{where}.low")
            high = _number(value.get("high", mode), source, f"{where}.high")
            if low > mode:
                raise InputError(source, f"{where}.low", f"low {low:g} is above mode {mode:g}")
            if mode > high:
                raise InputError(source, f"{where}.high", f"high {high:g} is below mode {mode:g}")
            out = cls(low, mode, high, tail)
        _check_minimum(out, minimum, strict, source, where, "the triangle's", "raise low, set low = mode")
        return out


def _check_minimum(
    out: Any, minimum: float | None, strict: bool, source: Any, where: str, whose: str, remedy: str
) -> None:
    """Refuse a distribution whose lower extreme is below ``minimum`` (``strict``: not above it), by key."""
    if minimum is None or not (out.minimum < minimum or (strict and out.minimum <= minimum)):
        return
    bound = "above" if strict else "at least"
    if out.minimum == out.low:
        raise InputError(source, where, f"low must be {bound} {minimum:g}, not {out.low:g}")
    raise InputError(
        source,
        f"{where}.low",
        f"with low {out.low:g} as the 5% point {whose} minimum is {out.minimum:.4g}, "
        f'which must be {bound} {minimum:g}: {remedy}, or use bounds = "extremes"',
    )


@functools.lru_cache(maxsize=1024)
def _extremes(low: float, mode: float, high: float, tail: float) -> tuple[float, float]:
    """Extremes (a, b) of the triangle with mode ``mode`` whose ``tail`` and
    ``1 - tail`` points are ``low`` and ``high``.

    With ``A = mode - a`` and ``B = b - mode`` the conditions
    ``(low - a)**2 = tail (b - a)(mode - a)`` and ``(b - high)**2 = tail (b - a)(b - mode)``
    become ``A = l + sqrt(tail (A + B) A)`` and ``B = h + sqrt(tail (A + B) B)``
    with ``l = mode - low``, ``h = high - mode``: a contraction, iterated to
    convergence from ``A = l, B = h`` (``A`` stays 0 where ``l`` is 0).
    """
    if tail == 0.0 or low == high:
        return low, high
    left, right = mode - low, high - mode
    a_side, b_side = left, right
    for _ in range(500):
        total = a_side + b_side
        new_a = left + math.sqrt(tail * total * a_side)
        new_b = right + math.sqrt(tail * total * b_side)
        if abs(new_a - a_side) <= 1e-15 * total and abs(new_b - b_side) <= 1e-15 * total:
            a_side, b_side = new_a, new_b
            break
        a_side, b_side = new_a, new_b
    return mode - a_side, mode + b_side


@dataclass(frozen=True)
class Uniform:
    """A uniform distribution between ``low`` and ``high``, written ``{ low, high }`` (no mode).

    As for :class:`Triangular`, ``low`` and ``high`` are the 5% and 95%
    points by default (``tail = 0.05``): the extremes :attr:`minimum` and
    :attr:`maximum` lie ``tail / (1 - 2 tail)`` of the width beyond them;
    with ``tail = 0`` (``bounds = "extremes"``) they are the extremes.

    Examples
    --------
    >>> u = Uniform(0.8, 1.2)
    >>> round(u.minimum, 6), round(u.maximum, 6)
    (0.777778, 1.222222)
    >>> [round(float(v), 6) for v in u.ppf([0.05, 0.5, 0.95])]
    [0.8, 1.0, 1.2]
    >>> Uniform(0.8, 1.2, tail=0.0).minimum
    0.8
    """

    low: float
    high: float
    tail: float = 0.05

    #: A uniform distribution (:func:`distribution_ppf` takes this flag).
    uniform: ClassVar[bool] = True

    @property
    def mode(self) -> float:
        """The middle of the distribution (where code needs one central value); a uniform has no mode."""
        return 0.5 * (self.low + self.high)

    @property
    def spread(self) -> bool:
        return self.high > self.low

    @property
    def _beyond(self) -> float:
        # How far each extreme lies beyond its bound: tail / (1 - 2 tail) of the width.
        return self.tail / (1.0 - 2.0 * self.tail) * (self.high - self.low)

    @property
    def minimum(self) -> float:
        """Lower extreme."""
        return self.low - self._beyond

    @property
    def maximum(self) -> float:
        """Upper extreme."""
        return self.high + self._beyond

    def ppf(self, u: npt.ArrayLike) -> NDArray[np.float64]:
        """Values at uniforms ``u``."""
        return distribution_ppf(u, self.minimum, self.mode, self.maximum, True)

    def to_json(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high}


#: A driver's distribution.
Distribution = Triangular | Uniform


def parse_distribution(
    value: Any,
    source: Any,
    where: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
    tail: float = 0.05,
) -> Distribution:
    """Read ``{low, mode, high}`` (triangular), ``{low, high}`` (uniform) or one number.

    ``minimum`` (``strict``: exclusive) bounds the distribution's lower
    extreme, so a 5% point whose fitted extreme falls below it is refused by
    name, as :meth:`Triangular.parse` does.
    """
    if not (isinstance(value, Mapping) and "mode" not in value and "low" in value and "high" in value):
        return Triangular.parse(value, source, where, minimum=minimum, strict=strict, tail=tail)
    _check_table(value, ("low", "mode", "high"), source, where)
    low = _number(value["low"], source, f"{where}.low")
    high = _number(value["high"], source, f"{where}.high")
    if low > high:
        raise InputError(source, f"{where}.high", f"high {high:g} is below low {low:g}")
    out = Uniform(low, high, tail)
    _check_minimum(out, minimum, strict, source, where, "the uniform distribution's", "raise low")
    return out


@dataclass(frozen=True)
class Shock:
    """AR(1) shocks on a yearly index rate: ``x_t = persistence * x_{t-1} + sd * e_t``.

    Attributes
    ----------
    sd : float
        Standard deviation of a yearly innovation. [decimal per year]
    persistence : float
        AR(1) coefficient, in [0, 1). [decimal]
    """

    sd: float
    persistence: float

    def to_json(self) -> dict[str, float]:
        return {"sd": self.sd, "persistence": self.persistence}

    @classmethod
    def parse(cls, value: Any, default: Shock, source: Any, where: str) -> Shock:
        table = _check_table(value, ("sd", "persistence"), source, where)
        sd = _number(table.get("sd", default.sd), source, f"{where}.sd")
        persistence = _number(table.get("persistence", default.persistence), source, f"{where}.persistence")
        if not 0.0 <= sd < 1.0:
            raise InputError(
                source, f"{where}.sd", f"must be a decimal in [0, 1) (0.02 for 2 points a year), not {sd:g}"
            )
        if not 0.0 <= persistence < 1.0:
            raise InputError(source, f"{where}.persistence", f"must be in [0, 1), not {persistence:g}")
        return cls(sd, persistence)


@dataclass(frozen=True)
class Risk:
    """One entry of the risk register (``[[risks]]``).

    Attributes
    ----------
    project : str
        The complex it belongs to.
    name : str
    probability : float
        Chance that the event happens. [decimal]
    impact : Triangular or Uniform
        Extra cost or lost revenue if it happens. [EUR, price level]
    year : int
        Calendar year of the flow; it is indexed like the complex's flows of
        that year, but gets no uncertainty margin and is not re-timed.
    type : {"cost", "revenue"}
        An extra cost, or a reduction of revenues.
    """

    project: str
    name: str
    probability: float
    impact: Distribution
    year: int
    type: str

    KEYS = ("project", "name", "probability", "impact", "year", "type")

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "probability": self.probability,
            "impact": self.impact.to_json(),
            "year": self.year,
            "type": self.type,
        }

    @classmethod
    def parse(cls, value: Any, source: Any, where: str, *, tail: float = 0.05) -> Risk:
        table = _check_table(value, cls.KEYS, source, where)
        for key in cls.KEYS:
            if key not in table:
                raise InputError(source, f"{where}.{key}", "is missing")
        for key in ("project", "name"):
            if not isinstance(table[key], str) or not table[key].strip():
                raise InputError(source, f"{where}.{key}", f"must be a non-empty string, not {table[key]!r}")
        year = table["year"]
        if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
            raise InputError(source, f"{where}.year", f"must be a year such as 2025, not {year!r}")
        if table["type"] not in ("cost", "revenue"):
            raise InputError(source, f"{where}.type", f"must be cost or revenue, not {table['type']!r}")
        return cls(
            project=table["project"],
            name=table["name"],
            probability=_probability(table["probability"], source, f"{where}.probability"),
            impact=parse_distribution(table["impact"], source, f"{where}.impact", minimum=0.0, tail=tail),
            year=year,
            type=table["type"],
        )


def _default_correlation() -> tuple[tuple[float, ...], ...]:
    return ((1.0, 0.2, 0.6), (0.2, 1.0, 0.3), (0.6, 0.3, 1.0))


@dataclass(frozen=True)
class MonteCarlo:
    """The ``[montecarlo]`` table of a scenario; defaults in brackets.

    Attributes
    ----------
    draws : int
        Number of draws when none is asked for. [10,000]
    seed : int
        Seed when none is asked for. [2024]
    market_pace : Triangular or Uniform
        Market pace factor shared by all complexes. [0.6, 1.0, 1.2]
    complex_pace : Triangular or Uniform
        Pace factor of each complex, independent between complexes, multiplied
        with the market factor. [0.8, 1.0, 1.2]
    delay : Triangular or Uniform
        Start delay of plot sales per complex. [years] [0, 0, 2]
    cost_shock, price_shock : Shock
        AR(1) shocks on the cost index and on the revenue (land price) index,
        from the valuation year on. [sd 0.01, persistence 0.5] and
        [sd 0.03, persistence 0.6]
    interest : Triangular or Uniform
        Shift of the rekenrente (``parameters.interest_rate``) per draw, for
        every complex and year; the scenario's rate is the base. A decimal:
        0.01 is one point. [0: no spread]
    correlation : tuple of tuple of float, 3 x 3
        Correlation of (market pace, cost innovation, price innovation); the
        market pace is correlated with the innovations of the valuation year,
        which the persistence carries on; the two innovations with each other
        in every year. [[1, 0.2, 0.6], [0.2, 1, 0.3], [0.6, 0.3, 1]]
    complexes : mapping of project to {"pace": distribution, "delay": distribution}
        Per-complex overrides of ``complex_pace`` and ``delay``
        (``[montecarlo.complex.<project>]``).
    bounds : {"p5_p95", "extremes"}
        What ``low`` and ``high`` of every distribution (the risk register's
        impacts included) are: the 5% and 95% points (docs/montecarlo.md section 2,
        the default) or the extremes. ["p5_p95"]
    foresight : {"perfect", "plan", "adaptive"}
        What each year's revaluation along a path expects of the remaining
        flows (docs/reserves.md section 6). ["perfect": the draw's own future]
    learning_rate : float
        Weight in [0, 1] of the observed pace and price level in the
        ``adaptive`` rule (0: the plan, 1: what was observed). [0.5]
    revaluation_years : int
        Years of the path (1 ... 10) with a revaluation under the rule; later
        years recognise the draw's own future. [10]
    expected_revenue_index : grex.scenario.RatePath or None
        The land price index the revaluations expect (``plan`` and the plan
        part of ``adaptive``), as ``parameters.revenue_index`` is written;
        None: ``parameters.revenue_index``. [None]
    """

    draws: int = 10_000
    seed: int = 2024
    market_pace: Distribution = Triangular(0.6, 1.0, 1.2)
    complex_pace: Distribution = Triangular(0.8, 1.0, 1.2)
    delay: Distribution = Triangular(0.0, 0.0, 2.0)
    cost_shock: Shock = Shock(0.01, 0.5)
    price_shock: Shock = Shock(0.03, 0.6)
    interest: Distribution = Triangular(0.0, 0.0, 0.0)
    correlation: tuple[tuple[float, ...], ...] = field(default_factory=_default_correlation)
    complexes: Mapping[str, Mapping[str, Distribution]] = field(default_factory=dict)
    bounds: str = "p5_p95"
    # yearly revaluation (issue 16)
    foresight: str = "perfect"
    learning_rate: float = 0.5
    revaluation_years: int = 10
    expected_revenue_index: Any = None

    #: Keys of ``[montecarlo]``; ``complex`` holds the per-complex overrides.
    KEYS = (
        "draws",
        "seed",
        "bounds",
        "market_pace",
        "complex_pace",
        "delay",
        "cost_shock",
        "price_shock",
        "interest",
        "correlation",
        "complex",
        "foresight",
        "learning_rate",
        "revaluation_years",
        "expected_revenue_index",
    )

    @property
    def tail(self) -> float:
        """Share of a triangle below ``low`` (and above ``high``): 0.05, or 0 for extremes."""
        return BOUNDS[self.bounds]

    def pace_of(self, project: str) -> Distribution:
        return self.complexes.get(project, {}).get("pace", self.complex_pace)

    def delay_of(self, project: str) -> Distribution:
        return self.complexes.get(project, {}).get("delay", self.delay)

    def to_json(self) -> dict[str, Any]:
        return {
            "draws": self.draws,
            "seed": self.seed,
            "bounds": self.bounds,
            "market_pace": self.market_pace.to_json(),
            "complex_pace": self.complex_pace.to_json(),
            "delay": self.delay.to_json(),
            "cost_shock": self.cost_shock.to_json(),
            "price_shock": self.price_shock.to_json(),
            "interest": self.interest.to_json(),
            "correlation": [list(row) for row in self.correlation],
            "correlation_order": list(CORRELATION_ORDER),
            "complex": {p: {k: t.to_json() for k, t in v.items()} for p, v in self.complexes.items()},
            # the yearly revaluation only where it is used (results and hashes of perfect foresight stay as they were)
            **(
                {}
                if self.foresight == "perfect"
                else {
                    "foresight": self.foresight,
                    "learning_rate": self.learning_rate,
                    "revaluation_years": self.revaluation_years,
                    "expected_revenue_index": None
                    if self.expected_revenue_index is None
                    else self.expected_revenue_index.to_json(),
                }
            ),
        }

    @classmethod
    def parse(cls, table: Any, source: Any, prefix: str = "montecarlo") -> MonteCarlo:
        table = _check_table(table, cls.KEYS, source, f"key {prefix}")
        values: dict[str, Any] = {}
        bounds = table.get("bounds", cls.bounds)
        if bounds not in BOUNDS:
            raise InputError(source, f"key {prefix}.bounds", f"must be one of {', '.join(BOUNDS)}, not {bounds!r}")
        values["bounds"] = bounds
        tail = BOUNDS[bounds]
        for key, value in table.items():
            where = f"key {prefix}.{key}"
            if key == "draws":
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise InputError(source, where, f"must be a whole number of draws > 0, not {value!r}")
                values[key] = value
            elif key == "seed":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise InputError(source, where, f"must be a whole number ≥ 0, not {value!r}")
                values[key] = value
            elif key == "bounds":
                continue
            elif key == "market_pace" or key == "complex_pace":
                values[key] = parse_distribution(value, source, where, minimum=0.0, strict=True, tail=tail)
            elif key == "delay":
                values[key] = parse_distribution(value, source, where, minimum=0.0, tail=tail)
            elif key in ("cost_shock", "price_shock"):
                values[key] = Shock.parse(value, getattr(cls(), key), source, where)
            elif key == "interest":
                values[key] = _parse_interest(value, source, where, tail)
            elif key == "correlation":
                values[key] = _parse_correlation(value, source, where)
            elif key == "foresight":
                if value not in ("perfect", "plan", "adaptive"):
                    raise InputError(source, where, f"must be one of perfect, plan, adaptive, not {value!r}")
                values[key] = value
            elif key == "learning_rate":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                    raise InputError(source, where, f"must be a number from 0 to 1, not {value!r}")
                values[key] = float(value)
            elif key == "revaluation_years":
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
                    raise InputError(source, where, f"must be a whole number of years from 1 to 10, not {value!r}")
                values[key] = value
            elif key == "expected_revenue_index":
                values[key] = value  # read as a RatePath by grex.scenario (which imports this module)
            else:  # complex
                overrides = _check_table(value, list(value) if isinstance(value, Mapping) else [], source, where)
                parsed = {}
                for project, override in overrides.items():
                    at = f"{where}.{project}"
                    override = _check_table(override, ("pace", "delay"), source, at)
                    parsed[project] = {
                        name: parse_distribution(
                            v, source, f"{at}.{name}", minimum=0.0, strict=name == "pace", tail=tail
                        )
                        for name, v in override.items()
                    }
                values["complexes"] = parsed
        for key in ("market_pace", "complex_pace", "delay"):
            if key not in values:
                default = getattr(cls, key)
                values[key] = Triangular(default.low, default.mode, default.high, tail)
        return cls(**values)


def _parse_interest(value: Any, source: Any, where: str, tail: float) -> Distribution:
    shift = parse_distribution(value, source, where, tail=tail)
    for name in ("low", "mode", "high"):
        if abs(getattr(shift, name)) >= 0.2 and (name != "mode" or not shift.uniform):
            raise InputError(
                source,
                f"{where}.{name}" if isinstance(value, Mapping) else where,
                f"a shift of the interest rate is a decimal (0.01 for one point), not {getattr(shift, name):g}",
            )
    return shift


def _parse_correlation(value: Any, source: Any, where: str) -> tuple[tuple[float, ...], ...]:
    size = len(CORRELATION_ORDER)
    if (
        not isinstance(value, Sequence)
        or len(value) != size
        or any(not isinstance(row, Sequence) or len(row) != size for row in value)
    ):
        raise InputError(source, where, f"must be a {size} x {size} matrix over ({', '.join(CORRELATION_ORDER)})")
    matrix = np.array([[_number(v, source, where) for v in row] for row in value])
    if not np.allclose(matrix, matrix.T, rtol=0, atol=1e-12):
        raise InputError(source, where, "must be symmetric")
    if not np.all(np.diag(matrix) == 1.0):
        raise InputError(source, where, "must have ones on the diagonal")
    if np.any(np.abs(matrix) > 1.0):
        raise InputError(source, where, "correlations must lie between -1 and 1")
    smallest = float(np.linalg.eigvalsh(matrix).min())
    if smallest < -1e-10:
        raise InputError(source, where, f"is not positive semi-definite (smallest eigenvalue {smallest:.4g})")
    return tuple(tuple(float(v) for v in row) for row in matrix)


def parse_risks(value: Any, source: Any, *, tail: float = 0.05) -> tuple[Risk, ...]:
    """Read the ``[[risks]]`` array; ``tail`` as of the ``[montecarlo]`` table's ``bounds``."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise InputError(source, "key risks", "must be an array of tables ([[risks]])")
    return tuple(Risk.parse(item, source, f"key risks[{i}]", tail=tail) for i, item in enumerate(value))
