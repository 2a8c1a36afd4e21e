"""The bounds grex holds every input and every run to, checked before any work.

An amount above :data:`MAX_AMOUNT` (10¹² euros) in one row is taken for a unit
mistake (cents for euros, a typo of a few zeros); a Monte Carlo whose re-timed
sales would run more than :data:`MAX_YEARS` years past the plan's horizon, or with
more draws than :data:`MAX_DRAWS` or fewer than :data:`MIN_DRAWS`, is refused
by key (bad input). A run whose results would not fit in the memory
available is refused with the number of draws that would fit
(:class:`~grex.errors.OutputError`: the machine, not the input, is the limit).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from grex.errors import InputError, OutputError

__all__ = [
    "MAX_AMOUNT",
    "MAX_DRAWS",
    "MAX_EXTENDS",
    "MAX_WORKERS",
    "MAX_YEARS",
    "MIN_DRAWS",
    "RUNS_HELD",
    "available_memory",
    "check_amounts",
    "check_draws",
    "check_horizon",
    "check_memory",
    "check_scenario_amounts",
    "memory_needed",
]

#: Largest amount of one row, in euros (a whole portfolio of a large city is some 10⁹).
MAX_AMOUNT = 1e12
#: Most years a simulation's horizon may reach past the plan's own (its last year with a flow).
MAX_YEARS = 200
#: Fewest draws of a Monte Carlo run from the command line: the required capacity is a
#: quantile and its standard error comes from 20 batches of draws.
MIN_DRAWS = 100
#: Most draws of one Monte Carlo run.
MAX_DRAWS = 1_000_000_000
#: Most local worker processes of a batch.
MAX_WORKERS = 256
#: Most files in an ``extends`` chain.
MAX_EXTENDS = 100
#: Memory a simulation needs besides its results: the interpreter, libraries, chunks being valued. [bytes]
BASE_MEMORY = 512 << 20

#: Bytes per draw and complex a command keeps: for ``simulate`` the results (end year, end value
#: and present value: 2 + 8 + 8 = 18 bytes) and a margin (``draws.parquet`` is written in row groups
#: of at most a million rows, and the quantiles take one complex or the portfolio at a time); for a
#: batch also the parts waiting to be joined and the table written. Measured (``benchmarks/README.md``,
#: "Scale"): 1,000 complexes x 100,000 draws peak at about 2.3 GB for ``grex simulate``, which this
#: estimates at 3.0 GB.
BYTES_PER_CELL = {"simulate": 24, "report": 24, "sensitivity": 24, "batch": 128}
#: Simulations a command holds at once: ``grex report`` and ``grex sensitivity`` keep the run with
#: every driver and one with each of the six drivers alone (measured: ``grex sensitivity`` of the
#: example at 300,000 draws peaks at 1.21 GB, ``grex simulate`` at 0.47 GB).
RUNS_HELD = {"report": 7, "sensitivity": 7}
#: Bytes per draw besides the complexes: the general reserve path (11 years) and its percentiles.
BYTES_PER_DRAW = 11 * 8 * 3 + 64


def _too_large(value: float) -> bool:
    return not math.isfinite(value) or abs(value) > MAX_AMOUNT


def _unit_mistake(value: float) -> str:
    return f"{value:g} is above EUR {MAX_AMOUNT:,.0f} (10^12) in one row: a unit mistake? (amounts are in euros)"


def check_amounts(portfolio: Any) -> None:
    """Refuse a portfolio amount above :data:`MAX_AMOUNT` in absolute value, naming file, row and column.

    Checks ``book_value``, ``realised_costs``, ``realised_revenues``,
    ``profit_taken``, ``provision_balance`` and ``realised_interest`` of the
    projects table and ``amount`` of the flows table.
    """
    tables = (
        (
            portfolio.projects,
            portfolio.projects_source,
            (
                "book_value",
                "realised_costs",
                "realised_revenues",
                "profit_taken",
                "provision_balance",
                "realised_interest",
            ),
        ),
        (portfolio.flows, portfolio.flows_source, ("amount",)),
    )
    for frame, source, columns in tables:
        for column in columns:
            if column not in frame.columns or not len(frame):
                continue
            values = np.asarray(frame[column], dtype=np.float64)
            bad = np.abs(values) > MAX_AMOUNT  # NaN (an empty optional cell) is not above
            if bad.any():
                i = int(np.argmax(bad))
                row = frame["row"].iloc[i] if "row" in frame.columns else f"row {i + 1}"
                raise InputError(source, f"{row}, column {column!r}", _unit_mistake(float(values[i])))


def check_scenario_amounts(scenario: Any) -> None:
    """Refuse reserves and risk impacts above :data:`MAX_AMOUNT`, naming the key."""
    for key in ("general_reserve", "resistance_reserve"):
        value = getattr(scenario.reserves, key)
        if value is not None and _too_large(value):
            raise InputError(scenario.source, f"key reserves.{key}", _unit_mistake(value))
    for i, risk in enumerate(scenario.risks):
        written = risk.impact.to_json()
        values = list(written.values()) if isinstance(written, dict) else [written]
        for value in [*values, risk.impact.minimum, risk.impact.maximum]:
            if _too_large(float(value)):
                raise InputError(scenario.source, f"key risks[{i}].impact", _unit_mistake(float(value)))


def check_draws(draws: Any, key: str = "--draws", *, minimum: int = MIN_DRAWS, source: Any = None) -> int:
    """A number of draws from :data:`MIN_DRAWS` (or ``minimum``) to :data:`MAX_DRAWS`, or InputError naming ``key``."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)):
        raise InputError(source, key, f"must be a whole number, not {draws!r}")
    if draws < minimum:
        raise InputError(
            source,
            key,
            f"must be at least {minimum:,}, not {draws:,}: the required capacity is a quantile of the draws "
            f"and its standard error needs 20 batches of them",
        )
    if draws > MAX_DRAWS:
        raise InputError(source, key, f"must be at most {MAX_DRAWS:,}, not {draws:,}")
    return int(draws)


def _sales_span(inputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sales = (np.asarray(inputs.revenues) != 0) | (np.asarray(inputs.linked_costs) != 0)
    has_sales = sales.any(axis=-1)
    width = sales.shape[-1]
    anchor = np.where(has_sales, np.argmax(sales, axis=-1), 0)
    sales_end = np.where(has_sales, width - np.argmax(sales[:, ::-1], axis=-1), 0)
    return has_sales, anchor, sales_end


def check_horizon(scenario: Any, *, inputs: Any) -> int:
    """Refuse a Monte Carlo whose slowest draw would sell past the engine's year limit, naming the key.

    The slowest draw of a complex sells at its market pace minimum times its
    complex pace minimum after its longest delay (the extremes of the
    distributions): its sales end ``anchor + delay + (end - anchor) / pace``
    years from V. The limit is :data:`MAX_YEARS` years past the plan's own
    horizon (its last year with a flow or end year). A risk dated further
    out is refused too. Returns that horizon (at least the deterministic
    one), which the simulation's own never exceeds.

    Parameters
    ----------
    scenario : Scenario
    inputs : ModelInputs
        :func:`grex.valuation.build_inputs` of the scenario and portfolio.

    Raises
    ------
    InputError
        Naming ``montecarlo.market_pace``, ``montecarlo.complex_pace``,
        ``montecarlo.delay`` or a complex's override, whichever stretches the
        slowest draw most, or ``risks[i].year``.
    """
    mc = scenario.montecarlo
    base = int(inputs.n_years)
    limit = base + MAX_YEARS
    has_sales, anchor, sales_end = _sales_span(inputs)
    worst, worst_reach = None, float(base)
    for c, project in enumerate(inputs.projects):
        if not has_sales[c]:
            continue
        pace = mc.market_pace.minimum * mc.pace_of(str(project)).minimum
        delay = mc.delay_of(str(project)).maximum
        with np.errstate(all="ignore"):
            reach = float(anchor[c] + delay + (sales_end[c] - anchor[c]) / pace) if pace > 0 else math.inf
        if not reach <= worst_reach:
            worst, worst_reach = c, reach
    if worst is not None and not worst_reach <= limit:
        project = str(inputs.projects[worst])
        pace = mc.market_pace.minimum * mc.pace_of(project).minimum
        delay = mc.delay_of(project).maximum
        span = float(sales_end[worst] - anchor[worst])
        with np.errstate(all="ignore"):
            slowing = span / pace - span if pace > 0 else math.inf
        override = mc.complexes.get(project, {})
        if delay >= slowing:
            key = f"montecarlo.complex.{project}.delay" if "delay" in override else "montecarlo.delay"
        elif "pace" in override and override["pace"].minimum <= mc.market_pace.minimum:
            key = f"montecarlo.complex.{project}.pace"
        elif "pace" in override or mc.market_pace.minimum <= mc.complex_pace.minimum:
            key = "montecarlo.market_pace"
        else:
            key = "montecarlo.complex_pace"
        raise InputError(
            scenario.source,
            f"key {key}",
            f"the slowest draw (pace {pace:.3g} after a delay of {delay:.3g} years) would sell complex "
            f"{project!r} until {worst_reach:,.0f} years after the valuation year; grex simulates at most "
            f"{MAX_YEARS} years past the plan's {base}: a pace or delay in the wrong unit?",
        )
    V = scenario.valuation_year
    for i, risk in enumerate(scenario.risks):
        if risk.year - V + 1 > limit:
            raise InputError(
                scenario.source,
                f"key risks[{i}].year",
                f"{risk.year} lies more than {MAX_YEARS} years after the plan's last year {V + base - 1}",
            )
    return int(min(max(worst_reach, base), limit))


def memory_needed(draws: int, complexes: int, command: str = "simulate") -> int:
    """Bytes a Monte Carlo of ``draws`` draws of ``complexes`` complexes needs, estimated. [bytes]

    ``RUNS_HELD[command] × draws × (complexes × BYTES_PER_CELL[command] + BYTES_PER_DRAW) + BASE_MEMORY``:
    the results kept per draw and complex (end year, end value and present
    value, with a margin; for a batch also the parts waiting to be joined
    and the table written), the general reserve path per draw, for each
    simulation the command holds at once (:data:`RUNS_HELD`, else one), and
    the rest of the process.
    """
    per_draw = RUNS_HELD.get(command, 1) * (max(complexes, 1) * BYTES_PER_CELL[command] + BYTES_PER_DRAW)
    return int(draws) * per_draw + BASE_MEMORY


def _read_number(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes of memory this process may still take, or None where it cannot be told.

    ``MemAvailable`` of ``/proc/meminfo``, lowered to the room left under a
    cgroup (v2 ``memory.max``, v1 ``memory.limit_in_bytes``) where one is set.
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit, usage = _read_number(limit_file), _read_number(usage_file)
        if limit is not None and usage is not None and limit < 1 << 60:
            room = max(limit - usage, 0)
            available = room if available is None else min(available, room)
    return available


def check_memory(draws: int, complexes: int, command: str = "simulate", *, what: str = "--draws") -> None:
    """Refuse a run that would not fit in the memory available, saying how many draws would.

    Raises
    ------
    OutputError
        :func:`memory_needed` exceeds :func:`available_memory`.
    """
    available = available_memory()
    if available is None:
        return
    needed = memory_needed(draws, complexes, command)
    if needed <= available:
        return
    per_draw = memory_needed(1, complexes, command) - BASE_MEMORY
    fit = max(0, (available - BASE_MEMORY) // per_draw)
    fit = fit // 1000 * 1000 if fit >= 1000 else fit
    raise OutputError(
        None,
        f"{what} {draws:,}: {draws:,} draws of {complexes:,} complexes need about {needed / 2**30:,.1f} GiB of memory, "
        f"{available / 2**30:,.1f} GiB is available; at most about {fit:,} draws fit on this machine",
    )
