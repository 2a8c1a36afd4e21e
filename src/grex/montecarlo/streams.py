"""Random numbers, block by block: the driver values of every draw.

The random numbers of draw ``d`` come from block ``d // BLOCK`` of
:data:`BLOCK` draws; each block has its own streams,
``numpy.random.SeedSequence(seed, spawn_key=(block, stream))``:

- stream 0: the timing drivers (market pace, complex pace, delay) and the
  index innovations of year 0 (correlated with the market pace);
- stream 1: the index innovations of the later years (cost and price shocks),
  per draw the years of the scenario without markets first and then, drawn
  after them, the years a market adds to the bound, so that a market does
  not move the shocks of any draw (:func:`_later_doubles`);
- stream 2: the risk register (whether each event happens, and its amount);
- stream 3: the interest rate (rekenrente) of each draw;
- stream 4: the markets' own normals of their absorption (issue 15), only with a market.

A chunk generates the blocks it covers and slices them, so the result is
bit-identical whatever the chunk size. Every number is an inverse-CDF
transform of a uniform; a driver that is switched off still consumes its
numbers, so the others draw the same values (stream 3 is only read where the
interest driver has a spread).

:func:`_block` transforms them with numpy and scipy; :func:`_block_compiled`
gives the same numbers bit for bit with the compiled transforms of
:mod:`grex.kernel`, into buffers (:class:`_Scratch`) that a thread reuses.
It also draws them compiled (issue 17): the streams' PCG64 states as numpy's
``SeedSequence`` and ``PCG64`` seed them (:func:`grex.kernel.pcg64_seeds`),
their doubles as ``Generator.random`` makes them (:func:`grex.kernel.pcg64_fill`),
and of stream 1 only the doubles of the years each draw reads, jumping the
generator's state over the rest (:func:`grex.kernel.pcg64_rows`); the normal
CDF is scipy's ``ndtr`` ported (:func:`grex.kernel.ndtr`), so the compiled
engine imports no ``scipy.special``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from grex.drivers import Uniform, ar1, correlate, distribution_ppf
from grex.montecarlo.plan import Plan

#: The streams of a block (0 ... 4, as the module's docstring lists them).
STREAMS = 5


def ndtr(x: Any, out: Any = None) -> Any:
    """:func:`scipy.special.ndtr`, scipy imported on first use (``grex run`` imports this module, not scipy)."""
    from scipy.special import ndtr as scipy_ndtr  # type: ignore[import-untyped]  # noqa: PLC0415

    return scipy_ndtr(x) if out is None else scipy_ndtr(x, out=out)


def ndtri(x: Any) -> Any:
    """:func:`scipy.special.ndtri`, scipy imported on first use."""
    from scipy.special import ndtri as scipy_ndtri  # noqa: PLC0415

    return scipy_ndtri(x)


__all__ = ["BLOCK"]

#: Draws per random-number block (independent of the chunk size).
BLOCK = 1024

# -- random numbers, block by block --------------------------------------------


def _generator(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, stream))))


@functools.lru_cache(maxsize=16)
def _seed_words(seed: int) -> tuple[int, ...]:
    """The 32-bit words of ``seed`` as ``SeedSequence`` assembles them before a spawn key (zeros up to 4 words)."""
    words = [seed & 0xFFFFFFFF]
    seed >>= 32
    while seed:
        words.append(seed & 0xFFFFFFFF)
        seed >>= 32
    return tuple(words + [0] * (4 - len(words)))


def _stream_states(seed: int, block: int, w: _Scratch | None = None) -> NDArray[np.uint64]:
    """The PCG64 states of the :data:`STREAMS` streams of block ``block``, as :func:`_generator` seeds them, compiled.

    Row ``stream``: ``(state_hi, state_lo, inc_hi, inc_lo)``, :func:`grex.kernel.pcg64_seeds`
    (issue 17: numpy's ``SeedSequence`` and ``PCG64`` cost some 14 us each, five times a block);
    kept in ``w`` for the block's other streams. A seed or block outside one 32-bit word
    of the spawn key (negative, or a block of 2**32 or more) takes numpy's own.
    """
    from grex.kernel import pcg64_seeds  # noqa: PLC0415 - numba is slow to import

    if w is not None and w.states_of == (seed, block):
        return w.states
    out = np.empty((STREAMS, 4), dtype=np.uint64) if w is None else w.states
    if seed < 0 or not 0 <= block < 2**32:
        for stream in range(STREAMS):
            state = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, stream))).state["state"]
            words = (int(state["state"]), int(state["inc"]))
            out[stream] = [words[0] >> 64, words[0] & 0xFFFFFFFFFFFFFFFF, words[1] >> 64, words[1] & 0xFFFFFFFFFFFFFFFF]
    else:
        pcg64_seeds(np.array([*_seed_words(seed), block, 0], dtype=np.uint64), out)
    if w is not None:
        w.states_of = (seed, block)
    return out


def _stream_doubles(
    seed: int, block: int, stream: int, out: NDArray[np.float64], w: _Scratch | None = None
) -> NDArray[np.float64]:
    """``_generator(seed, block, stream).random(out=out)``, compiled (:func:`grex.kernel.pcg64_fill`)."""
    from grex.kernel import pcg64_fill  # noqa: PLC0415 - numba is slow to import

    pcg64_fill(_stream_states(seed, block, w)[stream], out)
    return out


def _uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float64]:
    # Open interval (0, 1): the inverse normal CDF stays finite.
    return _open(rng.random(shape))


def _open(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    return (np.floor(raw * 2.0**53) + 0.5) / 2.0**53


def _later_doubles(plan: Plan, seed: int, block: int, out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Stream 1 of a block: the raw doubles of the index innovations of years 1 to T - 1, shape (BLOCK, T - 1, 2).

    Each draw's first ``plan.shock_years_base - 1`` years come first, in one
    call, as in a scenario without markets; the years a market adds to the
    bound (``plan.bound_years > plan.shock_years_base``) are drawn after them
    from the same generator and placed after each draw's base years; where the
    bound is shorter, each draw keeps its first ``T - 1`` years. So a market
    does not move any draw's cost and price shocks (issue 15). Written into
    ``out`` (flat, BLOCK * (T - 1) * 2 doubles) where given.
    """
    T = plan.bound_years
    base = plan.shock_years_base or T
    rng = _generator(seed, block, 1)
    shape = (BLOCK, max(T - 1, 0), 2)
    if base == T:  # no market, or one that adds no year: one call, as always
        raw = rng.random(shape) if out is None else rng.random(out=out).reshape(shape)
        return raw
    head = rng.random((BLOCK, max(base - 1, 0), 2))
    if T > base:
        joined = np.concatenate([head, rng.random((BLOCK, T - base, 2))], axis=1)
    else:
        joined = head[:, : shape[1]]
    if out is None:
        return joined
    view = out.reshape(shape)
    view[...] = joined
    return view


def _later_doubles_read(
    plan: Plan, seed: int, block: int, counts: NDArray[np.int64], out: NDArray[np.float64], w: _Scratch | None = None
) -> None:
    """The doubles of :func:`_later_doubles` that each draw reads, compiled (issue 17).

    ``out`` (BLOCK, 2 (T - 1)) gets in row ``d`` the first ``counts[d]`` doubles of
    the row of draw ``d`` of :func:`_later_doubles` (its years flattened), bit for
    bit; the rest of the row is left as it was. :func:`grex.kernel.pcg64_rows`
    makes them from the stream's PCG64 state and skips the doubles no draw reads
    (a draw reads its first years only: most of the numbers of a long bound).
    """
    from grex.kernel import pcg64_rows  # noqa: PLC0415 - numba is slow to import

    T = plan.bound_years
    base = plan.shock_years_base or T
    state = _stream_states(seed, block, w)[1]
    # the base years of every draw first (rows of 2 (base - 1) doubles), then the years a market adds
    head = 2 * max(base - 1, 0)
    head_counts = np.minimum(counts, head)
    pcg64_rows(state, 0, head, head_counts, out)
    if T > base:
        pcg64_rows(state, BLOCK * head, 2 * (T - base), counts - head_counts, out[:, head:])


def _timing(plan: Plan, seed: int, block: int) -> dict[str, NDArray[np.float64]]:
    """Stream 0 of a block: market pace normal, year-0 innovations, complex pace, delay."""
    rng = _generator(seed, block, 0)
    C = plan.inputs.n_complexes
    z = correlate(ndtri(_uniform(rng, (BLOCK, 3))), plan.root3)  # correlated (pace, cost, price)
    u_pace = _uniform(rng, (BLOCK, C))
    u_delay = _uniform(rng, (BLOCK, C))
    if "pace" in plan.active:
        market = plan.mc.market_pace.ppf(ndtr(z[:, 0]))
        pace = market[:, None] * distribution_ppf(u_pace, *plan.pace)
    else:
        pace = np.ones((BLOCK, C))
    if "delay" in plan.active:
        delay = distribution_ppf(u_delay, *plan.delay)
    else:
        delay = np.zeros((BLOCK, C))
    return {"pace": pace, "delay": delay, "innovation0": z[:, 1:]}


def _block(plan: Plan, seed: int, block: int) -> dict[str, NDArray[np.float64]]:
    """All driver values of the draws of one block."""
    out = _timing(plan, seed, block)
    later = correlate(ndtri(_open(_later_doubles(plan, seed, block))), plan.root2)
    innovations = np.concatenate([out.pop("innovation0")[:, None, :], later], axis=1)  # (BLOCK, T, 2)
    mc = plan.mc
    cost_sd = mc.cost_shock.sd if "costs" in plan.active else 0.0
    price_sd = mc.price_shock.sd if "prices" in plan.active else 0.0
    out["cost_shock"] = ar1(innovations[..., 0], mc.cost_shock.persistence, cost_sd)
    out["price_shock"] = ar1(innovations[..., 1], mc.price_shock.persistence, price_sd)
    out["risk"] = _risks(plan, seed, block)
    out["interest"] = _interest(plan, seed, block)
    if plan.market is not None:
        out["absorption"] = _absorption(plan, seed, block, innovations[..., 1])
    return out


def _absorption(plan: Plan, seed: int, block: int, price_normals: NDArray[np.float64]) -> NDArray[np.float64]:
    """Stream 4 of a block (issue 15): the units each market takes in each year, shape (BLOCK, M, T).

    ``price_normals`` (BLOCK, T) are the normal innovations of the land-price
    shock (the same numbers in both engines). With the driver ``pace`` off,
    every year takes the absorption's mode.
    """
    M, T = len(plan.markets), plan.bound_years
    # years past the plan's market reach are never read (every unit is sold by then): they take the mode
    reach = _reach(plan)
    out = np.empty((BLOCK, M, T))
    eps = ndtri(_uniform(_generator(seed, block, 4), (BLOCK, M, reach)))
    for m, market in enumerate(plan.markets):
        out[:, m, reach:] = market.absorption.mode
        if "pace" not in plan.active or not market.absorption.spread:
            out[:, m, :reach] = market.absorption.mode
            continue
        rho, phi = market.price_correlation, market.persistence
        e = rho * price_normals[:, :reach] + math.sqrt(1.0 - rho * rho) * eps[:, m, :]
        x = np.empty((BLOCK, reach))
        x[:, 0] = e[:, 0]
        scale = math.sqrt(1.0 - phi * phi)
        for t in range(1, reach):
            x[:, t] = phi * x[:, t - 1] + scale * e[:, t]
        out[:, m, :reach] = market.absorption.ppf(ndtr(x))
    return out


def _reach(plan: Plan) -> int:
    """Years of the markets' absorption that are drawn: the plan's market reach, at least 1, at most the bound."""
    return min(max(plan.market_reach, 1), plan.bound_years)


def _absorption_compiled(
    plan: Plan, seed: int, block: int, first: NDArray[np.float64], later: NDArray[np.float64], w: _Scratch
) -> NDArray[np.float64]:
    """:func:`_absorption` with the transforms of :mod:`grex.kernel`: the same numbers, bit for bit.

    ``first`` (BLOCK, 3) and ``later`` (BLOCK, T - 1, 2) are the correlated
    normals of streams 0 and 1 (the land-price innovations in their last
    column). Returns a view of ``w.absorption``.
    """
    from grex.kernel import absorption_block  # noqa: PLC0415 - numba is slow to import

    markets = plan.markets
    drawn = np.array(["pace" in plan.active and m.absorption.spread for m in markets], dtype=np.bool_)
    rho = np.array([m.price_correlation for m in markets], dtype=np.float64)
    phi = np.array([m.persistence for m in markets], dtype=np.float64)
    independent = np.array([math.sqrt(1.0 - r * r) for r in rho.tolist()])
    scale = np.array([math.sqrt(1.0 - f * f) for f in phi.tolist()])
    distributions = [m.absorption for m in markets]
    # stream 4's doubles (compiled PCG64), normals, paths, scipy's ndtr (compiled: no scipy.special in a
    # simulation) and units, draw by draw in one call
    absorption_block(
        _stream_states(seed, block, w)[4],
        first,
        later,
        rho,
        independent,
        phi,
        scale,
        np.array([float(a.minimum) for a in distributions]),
        np.array([float(a.mode) for a in distributions]),
        np.array([float(a.maximum) for a in distributions]),
        np.array([isinstance(a, Uniform) for a in distributions], dtype=np.bool_),
        drawn,
        _reach(plan),
        w.absorption,
    )
    return w.absorption


def _risks(plan: Plan, seed: int, block: int) -> NDArray[np.float64]:
    """Stream 2 of a block: the amount of each risk event (0 where it does not happen)."""
    R = len(plan.risk_probability)
    rng = _generator(seed, block, 2)
    u_event = _uniform(rng, (BLOCK, R))
    u_impact = _uniform(rng, (BLOCK, R))
    if "risks" in plan.active and R:
        happens = u_event < plan.risk_probability
        return np.where(happens, distribution_ppf(u_impact, *plan.risk_impact), 0.0)
    return np.zeros((BLOCK, R))


def _interest(plan: Plan, seed: int, block: int) -> NDArray[np.float64]:
    """Stream 3 of a block: the rekenrente of each draw (the scenario's rate plus the draw's shift).

    Where the rekenrente is a table of rates per year (``inputs.interest_rates``)
    this is the draw's shift alone: the engines add it to every year's rate.
    """
    rate = 0.0 if plan.inputs.interest_rates is not None else float(plan.inputs.interest_rate)
    shift = plan.mc.interest
    if "interest" not in plan.active:
        return np.full(BLOCK, rate)
    if not shift.spread:  # a fixed shift (0 by default: the scenario's rate exactly)
        return np.full(BLOCK, rate + shift.mode)
    u = _uniform(_generator(seed, block, 3), (BLOCK,))
    return rate + distribution_ppf(u, *plan.interest)


def _risks_compiled(plan: Plan, seed: int, block: int, w: _Scratch) -> NDArray[np.float64]:
    """:func:`_risks` with :func:`grex.kernel.risk_amounts`: the same numbers, into ``w.risk`` (issue 17)."""
    from grex.kernel import risk_amounts  # noqa: PLC0415 - numba is slow to import

    R = len(plan.risk_probability)
    raw = _stream_doubles(seed, block, 2, w.raw2, w)  # the doubles of _risks' two calls, in their order
    if "risks" in plan.active and R:
        risk_amounts(raw, plan.risk_probability, *plan.risk_impact, w.risk)
    else:
        w.risk[...] = 0.0
    return w.risk


def _interest_compiled(plan: Plan, seed: int, block: int, w: _Scratch) -> NDArray[np.float64]:
    """:func:`_interest` with :func:`grex.kernel.distribution_values`: the same numbers (issue 17)."""
    from grex.kernel import distribution_values  # noqa: PLC0415 - numba is slow to import

    shift = plan.mc.interest
    if "interest" not in plan.active or not shift.spread:
        return _interest(plan, seed, block)
    rate = 0.0 if plan.inputs.interest_rates is not None else float(plan.inputs.interest_rate)
    u = _open(_stream_doubles(seed, block, 3, w.raw3, w))
    low, mode, high, uniform = (values[0] for values in plan.interest)  # as _interest: the plan's one row
    distribution_values(u, float(low), float(mode), float(high), bool(uniform), w.interest)
    return np.add(rate, w.interest, out=w.interest)


class _Scratch:
    """The buffers of one thread for the random numbers of a block, reused from block to block.

    Fresh arrays of these sizes (megabytes) would be new pages from the
    operating system on every block, and the page faults cost about as much
    as the transforms themselves.
    """

    def __init__(self, plan: Plan) -> None:
        C, T = plan.inputs.n_complexes, plan.bound_years
        later = (BLOCK, max(T - 1, 0), 2)
        self.raw0 = np.empty(BLOCK * (3 + 2 * C))
        self.normal0 = np.empty((BLOCK, 3))
        self.z = np.empty((BLOCK, 3))
        self.pace = np.empty((BLOCK, C))
        self.delay = np.empty((BLOCK, C))
        self.raw1 = np.empty(math.prod(later))
        self.normal1 = np.empty(later)
        self.later = np.empty(later)
        self.cost_shock = np.empty((BLOCK, T))
        # issue 17: the risks' doubles and amounts, the rekenrente's doubles, the market pace of a block
        R = len(plan.risk_probability)
        self.raw2 = np.empty(2 * BLOCK * R)
        self.risk = np.empty((BLOCK, R))
        self.raw3 = np.empty(BLOCK)
        self.market = np.empty(BLOCK)
        self.interest = np.empty(BLOCK)
        self.price_shock = np.empty((BLOCK, T))
        # the markets' absorption (issue 15): the units each market takes each year
        M = len(plan.markets) if plan.market is not None else 0
        self.absorption = np.empty((BLOCK, M, T))
        # issue 17: the PCG64 states of the streams of the block last seeded (_stream_states)
        self.states = np.empty((STREAMS, 4), dtype=np.uint64)
        self.states_of: tuple[int, int] | None = None


def _timing_compiled(
    plan: Plan, seed: int, block: int, scratch: _Scratch | None = None
) -> dict[str, NDArray[np.float64]]:
    """:func:`_timing` with the transforms of :mod:`grex.kernel` (numba): the same numbers, bit for bit.

    The arrays returned are views of ``scratch`` (fresh buffers where none is given).
    """
    from grex.kernel import block_timing  # noqa: PLC0415 - numba is slow to import

    w = _Scratch(plan) if scratch is None else scratch
    market = plan.mc.market_pace
    # the doubles, normals, correlation, market pace (scipy's ndtr, compiled: no scipy in the simulation),
    # pace and delay in one compiled call (issue 17)
    block_timing(
        _stream_states(seed, block, w)[0],
        plan.root3,
        float(market.minimum),
        float(market.mode),
        float(market.maximum),
        bool(market.uniform),
        *plan.pace,
        *plan.delay,
        "pace" in plan.active,
        "delay" in plan.active,
        w.raw0,
        w.normal0,
        w.z,
        w.market,
        w.pace,
        w.delay,
    )
    z = w.z
    return {"pace": w.pace, "delay": w.delay, "innovation0": z}


def _block_compiled(
    plan: Plan,
    seed: int,
    block: int,
    scratch: _Scratch | None = None,
    years: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.int64]] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """:func:`_block` with the transforms of :mod:`grex.kernel` (numba): the same numbers, bit for bit.

    The inverse normal CDF, the correlation products, the triangular
    transforms and the AR(1) recursion run compiled (without the GIL).
    The arrays returned (``risk`` aside) are views of ``scratch`` (fresh
    buffers where none is given).

    ``years``, where given, is a function of the block's ``pace`` and
    ``delay`` (BLOCK, C) that returns the years of index shocks each draw
    needs (BLOCK,), each from 1 to ``plan.bound_years``: the shocks of a draw
    are then computed for those years only, and the rest of its rows of
    ``cost_shock`` and ``price_shock`` hold whatever the buffers held (the
    random numbers are drawn all the same, so every number computed is the
    one computed without ``years``).
    """
    from grex.kernel import correlate as correlate_compiled  # noqa: PLC0415 - numba is slow to import
    from grex.kernel import index_shocks, index_shocks_by_draw, normals  # noqa: PLC0415

    w = _Scratch(plan) if scratch is None else scratch
    out = _timing_compiled(plan, seed, block, w)
    later = w.later
    mc = plan.mc
    cost_sd = mc.cost_shock.sd if "costs" in plan.active else 0.0
    price_sd = mc.price_shock.sd if "prices" in plan.active else 0.0
    first = out.pop("innovation0")
    if years is None:
        raw = _later_doubles(plan, seed, block, w.raw1).reshape(-1)
        normals(raw, w.normal1.reshape(-1))
        correlate_compiled(w.normal1.reshape(-1, 2), plan.root2, w.later.reshape(-1, 2))
        index_shocks(
            first,
            later,
            float(mc.cost_shock.persistence),
            float(cost_sd),
            float(mc.price_shock.persistence),
            float(price_sd),
            w.cost_shock,
            w.price_shock,
        )
    else:  # each draw over its own years (the years after them are never read)
        width = 2 * max(plan.bound_years - 1, 0)
        own = np.ascontiguousarray(years(out["pace"], out["delay"]), dtype=np.int64)
        rows = w.raw1.reshape(BLOCK, width)
        _later_doubles_read(plan, seed, block, 2 * (own - 1), rows, w)  # only the doubles of each draw's years
        index_shocks_by_draw(
            first,
            rows,
            plan.root2,
            own,
            float(mc.cost_shock.persistence),
            float(cost_sd),
            float(mc.price_shock.persistence),
            float(price_sd),
            w.normal1.reshape(BLOCK, width),
            later,
            w.cost_shock,
            w.price_shock,
        )
    out["cost_shock"] = w.cost_shock
    out["price_shock"] = w.price_shock
    out["risk"] = _risks_compiled(plan, seed, block, w)
    out["interest"] = _interest_compiled(plan, seed, block, w)
    if plan.market is not None:
        out["absorption"] = _absorption_compiled(plan, seed, block, first, later, w)
    return out


def _draws(plan: Plan, seed: int, start: int, stop: int, make: Any) -> dict[str, NDArray[np.float64]]:
    """Driver values of draws ``start:stop`` from the blocks that cover them."""
    first, last = start // BLOCK, (stop - 1) // BLOCK
    parts = [make(plan, seed, b) for b in range(first, last + 1)]
    offset = first * BLOCK
    return {k: np.concatenate([p[k] for p in parts])[start - offset : stop - offset] for k in parts[0]}


def _needed_years(plan: Plan, pace: NDArray[np.float64], delay: NDArray[np.float64]) -> int:
    """Years from V that hold every re-timed flow of these draws."""
    reach = plan.anchor + delay + (plan.sales_end - plan.anchor) / pace
    reach = np.where(plan.has_sales, np.ceil(reach), 0)
    return int(reach.max(initial=0))
