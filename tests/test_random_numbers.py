"""The compiled random numbers of a block (issue 17) against numpy's and scipy's, bit for bit.

:func:`grex.kernel.pcg64_rows` makes the doubles of numpy's PCG64 stream that a
draw reads (and skips the others by jumping the 128-bit state);
:func:`grex.kernel.ndtr` is scipy's normal CDF, so that a simulation does not
import :mod:`scipy.special`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE, ROOT
from grex.montecarlo import streams

MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
MOD = 1 << 128


def _state(seed: int, block: int, stream: int) -> tuple[int, int]:
    state = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, stream))).state["state"]
    return int(state["state"]), int(state["inc"])


def _jump(steps, inc):
    from grex.kernel import pcg64_jump

    a_hi, a_lo, c_hi, c_lo = (int(w) for w in pcg64_jump(np.uint64(inc >> 64), np.uint64(inc & (2**64 - 1)), steps))
    return (a_hi << 64) | a_lo, (c_hi << 64) | c_lo


def _words(*numbers):
    return np.array([w for x in numbers for w in (x >> 64, x & (2**64 - 1))], dtype=np.uint64)


def test_a_jump_is_the_steps_one_after_the_other():
    # hand-worked: 0 steps leave the state, 1 step is s * m + inc, 2 steps s * m^2 + inc * (m + 1)
    inc = 0x1234567890ABCDEF1234567890ABCDEF | 1
    assert _jump(0, inc) == (1, 0)
    assert _jump(1, inc) == (MULTIPLIER, inc)
    assert _jump(2, inc) == (MULTIPLIER**2 % MOD, inc * (MULTIPLIER + 1) % MOD)
    assert _jump(3, inc) == (MULTIPLIER**3 % MOD, inc * (MULTIPLIER**2 + MULTIPLIER + 1) % MOD)
    # and a long jump is numpy's own advance of the generator
    start, inc = _state(2024, 7, 1)
    bit_generator = np.random.PCG64(np.random.SeedSequence(2024, spawn_key=(7, 1)))
    for steps in (5, 196, 1024 * 196, 10**9 + 7, 2**62 + 11):
        a, c = _jump(steps, inc)
        expected = int(bit_generator.jumped(0).advance(steps).state["state"]["state"])
        assert (a * start + c) % MOD == expected, steps


@pytest.mark.parametrize(
    "seed, block, width, skip", [(2024, 0, 196, 0), (1, 5, 7, 3), (99, 123, 1, 1024 * 50), (7, 2, 0, 0)]
)
def test_compiled_pcg64_rows_are_numpys_doubles_where_read(seed, block, width, skip):
    from grex.kernel import pcg64_rows

    start, inc = _state(seed, block, 1)
    rows = 300
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, 1))))
    generator.random(skip)  # the doubles before row 0
    expected = generator.random((rows, width))
    counts = np.random.default_rng(seed).integers(0, width + 1, rows)
    counts[:2] = (0, width)  # a row read not at all, a row read whole
    out = np.full((rows, width), np.nan)
    pcg64_rows(_words(start, inc), skip, width, counts, out)
    read = np.arange(width)[None, :] < counts[:, None]
    np.testing.assert_array_equal(out[read].view(np.int64), expected[read].view(np.int64))
    assert np.isnan(out[~read]).all()  # nothing written past a row's count


@pytest.mark.parametrize("bound, base", [(40, 40), (40, 25), (25, 40), (1, 1), (12, 1)])
def test_the_doubles_each_draw_reads_are_those_of_later_doubles(bound, base):
    # stream 1 as _later_doubles lays it out: one call, or the base years of every draw and then a market's
    # added years (bound > base), or the first bound - 1 years of the base rows (bound < base)
    plan = SimpleNamespace(bound_years=bound, shock_years_base=base)
    width = 2 * (bound - 1)
    for block in (0, 9):
        expected = streams._later_doubles(plan, 2024, block).reshape(streams.BLOCK, width)
        counts = 2 * (np.random.default_rng(block).integers(1, bound + 1, streams.BLOCK) - 1)
        counts[:2] = (0, width)
        got = np.full((streams.BLOCK, width), np.nan)
        streams._later_doubles_read(plan, 2024, block, counts, got)
        read = np.arange(width)[None, :] < counts[:, None]
        np.testing.assert_array_equal(got[read].view(np.int64), expected[read].view(np.int64))
        assert np.isnan(got[~read]).all()


#: Where scipy's ndtr changes branch (|a| / sqrt(2) = 1 and 8, exp(-x^2) underflowing) and special values.
SPECIAL = [0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, 1e-300, 1.0, -1.0, 37.5, -37.5, 38.0, -38.0, 40.0, -40.0]
for edge in (np.sqrt(2.0), 8.0 * np.sqrt(2.0), np.sqrt(2.0 * 7.09782712893383996843e2)):
    for sign in (1.0, -1.0):
        value = sign * edge
        SPECIAL += [value, np.nextafter(value, 0.0), np.nextafter(value, 2.0 * value)]


def _scipy_ndtr(x):
    from scipy.special import ndtr as scipy_ndtr

    return scipy_ndtr(x)


def test_ndtr_is_scipys_bit_for_bit():
    from grex.kernel import ndtr, normal_cdf

    rng = np.random.default_rng(17)
    n = 1_000_000
    x = np.concatenate(
        [
            rng.standard_normal(n) * 3.0,
            rng.uniform(-40.0, 40.0, n),  # both tails, to where the CDF is 0 and 1
            np.sqrt(2.0) + rng.uniform(-0.05, 0.05, n // 4) * rng.choice([-1.0, 1.0], n // 4),  # erf | erfc
            -np.sqrt(2.0) + rng.uniform(-0.05, 0.05, n // 4),
            8.0 * np.sqrt(2.0) + rng.uniform(-0.1, 0.1, n // 4),  # the two erfc approximations
            -8.0 * np.sqrt(2.0) + rng.uniform(-0.1, 0.1, n // 4),
            np.exp(rng.uniform(-700.0, 0.0, n // 4)) * rng.choice([-1.0, 1.0], n // 4),  # near 0
            SPECIAL,
        ]
    )
    got = np.empty_like(x)
    normal_cdf(x, got)
    np.testing.assert_array_equal(got.view(np.int64), _scipy_ndtr(x).view(np.int64))
    assert [ndtr(v) for v in (0.0, np.inf, -np.inf)] == [0.5, 1.0, 0.0]
    assert np.isnan(ndtr(np.nan)) and np.isnan(got[np.isnan(x)]).all()
    normal_cdf(x, x)  # in place, as the market pace of a block uses it
    np.testing.assert_array_equal(x.view(np.int64), got.view(np.int64))


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_ndtr_is_scipys_at_any_double(a):
    from grex.kernel import ndtr

    assert np.float64(ndtr(a)).view(np.int64) == np.float64(_scipy_ndtr(a)).view(np.int64)


@pytest.mark.parametrize("scenario", [EXAMPLE, ROOT / "scenarios" / "assen-2024-markt.toml"], ids=["plain", "market"])
def test_a_simulation_does_not_import_scipy_special(tmp_path, scenario):
    # issue 17: scipy.special costs a simulation's start some 0.05-0.2 s; the compiled ndtr replaces it (also in
    # the markets' absorption)
    code = (
        "import json, sys\n"
        "from grex.cli import main\n"
        f"status = main(['simulate', {str(scenario)!r}, '--draws', '2048', '--out', {str(tmp_path / 'out')!r}])\n"
        "print(json.dumps([status, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    status, modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == 0, out.stderr
    assert "grex.kernel" in modules  # the compiled engine ran
    assert "scipy.special" not in modules


@settings(max_examples=200, deadline=None)
@given(
    seed=st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32, 2**130)),
    block=st.one_of(st.integers(0, 3), st.integers(0, 2**32 + 5)),
    stream=st.integers(0, 4),
)
def test_compiled_seeding_is_numpys_seed_sequence_and_pcg64(seed, block, stream):
    got = streams._stream_states(seed, block)[stream]
    state, inc = _state(seed, block, stream)
    assert [int(w) for w in got] == [state >> 64, state & (2**64 - 1), inc >> 64, inc & (2**64 - 1)]


@pytest.mark.parametrize("seed, block, stream, n", [(2024, 0, 0, 3000), (0, 0, 2, 1), (2**40 + 1, 77, 3, 1024)])
def test_compiled_stream_doubles_are_generator_random(seed, block, stream, n):
    expected = streams._generator(seed, block, stream).random(n)
    got = streams._stream_doubles(seed, block, stream, np.empty(n))
    np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))


def test_a_threads_buffers_keep_the_states_of_the_block_last_seeded_only():
    # _Scratch keeps the five states of a block for its streams; the next block (or seed) seeds afresh
    plan = SimpleNamespace(inputs=SimpleNamespace(n_complexes=2), bound_years=3, risk_probability=[0.1], markets=[],
                           market=None, market_reach=0)  # fmt: skip
    w = streams._Scratch(plan)
    for seed, block in ((2024, 0), (2024, 1), (5, 1), (5, 1)):
        got = streams._stream_doubles(seed, block, 2, np.empty(10), w)
        expected = streams._generator(seed, block, 2).random(10)
        np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))
