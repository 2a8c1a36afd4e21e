"""Feedback on the console: the steps of a command, notes and log messages, all on stderr.

The command ``grex`` (:mod:`grex.cli`) shows one progress display per command:
a bar over the command's steps (reading, valuing, each simulation, each
chart and format written ...) that names the step under way and counts the
seconds, with the draw-by-draw bar of a simulation beneath it. Notes (the
first-time compile of the Monte Carlo kernel, a grid run as its base, why a
batch runs in one process) are log messages of the logger ``"grex"``
(standard :mod:`logging`), printed above the bars on stderr. stdout holds
only the result.

``-q`` shows warnings and errors only (no bars, no notes); ``-v`` adds debug
messages (each step and its seconds). Bars are shown only where stderr is a
terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "COMPILE_NOTE",
    "PLAIN",
    "VARIANT_WORDS",
    "Steps",
    "compile_note",
    "compile_seconds",
    "configure_logging",
    "kernel_cache_ready",
    "log",
    "show_bars",
]

#: The note before a simulation whose kernel is not in numba's cache yet: each kind of scenario (with a market,
#: a yearly revaluation ...) compiles its own variant of the kernel (:func:`grex.kernel.kernel_for`) once.
COMPILE_NOTE = "compiling the Monte Carlo kernel (once per install and kind of scenario, about 15 s; cached afterwards)"
#: The kernel's plain variant: no market, no cost index per kostensoort, no rate per year, no present value of
#: the flows, no yearly revaluation (:func:`grex.kernel.variant_name` of no stage).
PLAIN = "value_draws"
#: The stages a variant of the kernel adds to its name, in order (:data:`grex.kernel.VARIANT_STAGES`), and how
#: the compile note names a scenario that has them.
VARIANT_WORDS = {
    "market": "a market",
    "categories": "a cost index per kostensoort",
    "rate_by_year": "a rekenrente per year",
    "pv_of_flows": "the present value of the cash flows",
    "yearly": "a yearly revaluation",
}

log = logging.getLogger("grex")

#: Seconds a command may run before its bar appears (a quick command shows none).
DELAY = 0.5
#: numba's index file of a variant of the kernel's main function in its cache (``{variant}``: its name,
#: :func:`grex.kernel.variant_name`); the plain variant's is ``kernel.value_draws-*.nbi``.
INDEX = "kernel.{variant}-*.nbi"
#: Seconds between redraws of the elapsed time while a step runs.
TICK = 0.5

_state = {"quiet": False}


class _ConsoleHandler(logging.Handler):
    """Writes to the present ``sys.stderr``, above any progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            stream = sys.stderr
            if "tqdm" in sys.modules:
                from tqdm import tqdm

                tqdm.write(message, file=stream)
            else:
                stream.write(message + "\n")
            stream.flush()
        except Exception:  # pragma: no cover - as logging.StreamHandler does
            self.handleError(record)


def configure_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Show the ``"grex"`` log messages on stderr: INFO and up, WARNING with ``quiet``, DEBUG with ``verbose``.

    Called by the command; in code, configure :mod:`logging` as you like instead.
    """
    logger = logging.getLogger("grex")
    for handler in list(logger.handlers):
        if isinstance(handler, _ConsoleHandler):
            logger.removeHandler(handler)
    handler = _ConsoleHandler()
    handler.setFormatter(logging.Formatter("grex: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    _state["quiet"] = bool(quiet)


def show_bars() -> bool:
    """Progress bars: where stderr is a terminal and ``-q`` was not given."""
    isatty = getattr(sys.stderr, "isatty", None)
    return not _state["quiet"] and bool(isatty and isatty())


class Steps:
    """One progress display over the steps of a command.

    >>> with Steps("report", 2, show=False) as steps:
    ...     with steps.step("reading"):
    ...         pass
    ...     with steps.step("writing"):
    ...         pass
    >>> steps.done
    2

    Parameters
    ----------
    name : str
        The command, shown before the step under way.
    total : int
        Number of steps (the bar's length).
    show : bool or None
        Draw the bar; None: :func:`show_bars`. Without a bar each step is
        still logged at debug level with its seconds.
    """

    def __init__(self, name: str, total: int, *, show: bool | None = None) -> None:
        self.name = name
        self.total = total
        self.done = 0
        self.label = ""
        self.started = time.perf_counter()
        self._bar: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if show_bars() if show is None else show:
            # the bar appears only once the command has run DELAY seconds: a quick command shows none
            self._ticker = threading.Thread(target=self._tick, name="grex-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        if self._stop.wait(DELAY):
            return
        from tqdm import tqdm

        with self._lock:
            self._bar = tqdm(
                total=self.total,
                initial=self.done,
                desc=self._description(),
                bar_format="{desc} |{bar:16}| {n_fmt}/{total_fmt} [{elapsed}]",
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
            # count the seconds from the command's start (tqdm's clock is time.time)
            self._bar.start_t = time.time() - (time.perf_counter() - self.started)
        # tqdm redraws only on update; redraw the elapsed seconds while a long step runs
        while not self._stop.wait(TICK):
            with self._lock:
                if self._bar is not None:
                    self._bar.refresh()

    def _description(self) -> str:
        return f"{self.name}: {self.label}" if self.label else self.name

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """A step: named on the bar while it runs, counted when it ends, logged at debug level."""
        with self._lock:
            self.label = label
            if self._bar is not None:
                self._bar.set_description_str(self._description(), refresh=True)
        log.debug("%s: %s ...", self.name, label)
        start = time.perf_counter()
        yield
        with self._lock:
            self.done += 1
            if self._bar is not None:
                self._bar.update(1)
        log.debug("%s: %s: %.2f s", self.name, label, time.perf_counter() - start)

    def next(self, label: str) -> None:
        """Count the step under way as done (if any) and name the next: :meth:`step` without a block."""
        with self._lock:
            if self.label:
                self.done += 1
                if self._bar is not None:
                    self._bar.update(1)
            self.label = label
            if self._bar is not None:
                self._bar.set_description_str(self._description(), refresh=True)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
        log.debug("%s: %.2f s in all", self.name, time.perf_counter() - self.started)

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kernel_cache_ready(variant: str = PLAIN) -> bool:
    """Whether numba's cache holds the compiled Monte Carlo kernel ``variant`` (else the first simulation compiles it).

    Each kind of scenario runs its own variant of the kernel (:func:`grex.kernel.kernel_for`): the
    plain one (``value_draws``), or one with the stages it uses (``value_draws_market``,
    ``value_draws_yearly`` ...), each compiled on its first use and cached in its own files.

    Looks for numba's index file of the variant where numba keeps it, newer
    than the module's source, without importing numba: under
    ``NUMBA_CACHE_DIR`` where that is set (numba then uses no other place),
    else beside the kernel module (``__pycache__``). True under
    ``GREX_ENGINE=numpy`` (nothing to compile).
    """
    if os.environ.get("GREX_ENGINE", "").strip().lower() == "numpy":
        return True
    package = Path(__file__).resolve().parent
    sources = [p for p in (package / "kernel.py", package / "montecarlo" / "kernel.py") if p.is_file()]
    if not sources:
        return True  # no kernel where we know to look: say nothing rather than something wrong
    newest_source = max(source.stat().st_mtime for source in sources)
    pattern = INDEX.format(variant=variant)
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    if cache_dir:
        indexes = list(Path(cache_dir).rglob(pattern))
    else:
        indexes = [index for source in sources for index in (source.parent / "__pycache__").glob(pattern)]
    return any(index.stat().st_mtime >= newest_source for index in indexes)


def compile_seconds(variant: str = PLAIN) -> int:
    """About how long the first compile of ``variant`` takes: 15 s for the plain kernel, 25 s with a stage more.

    Measured on a 2-core VM with an empty cache (``python benchmarks/run.py --compile-only``, two idle
    runs): 13.9 and 17.9 s plain, 23.4 and 27.4 s with a market, 23.8 and 21.4 s with a yearly revaluation.
    """
    return 15 if variant == PLAIN else 25


def compile_note(variant: str = PLAIN) -> str:
    """The note before a simulation that compiles the kernel ``variant`` first: which kind of scenario, how long.

    ``compile_note("value_draws_market_yearly")`` names "a scenario with a market and a yearly
    revaluation"; the plain variant's note names no kind.
    """
    stages, rest = [], variant.removeprefix(PLAIN)
    for stage, words in VARIANT_WORDS.items():  # the stages in the order of the name
        if rest.startswith(f"_{stage}"):
            stages.append(words)
            rest = rest[len(stage) + 1 :]
    if not stages:
        return f"compiling the Monte Carlo kernel (once per install, about {compile_seconds(variant)} s; cached afterwards)"
    kind = stages[0] if len(stages) == 1 else ", ".join(stages[:-1]) + " and " + stages[-1]
    return (
        f"compiling the Monte Carlo kernel for a scenario with {kind} "
        f"(once per install, about {compile_seconds(variant)} s; cached afterwards)"
    )
