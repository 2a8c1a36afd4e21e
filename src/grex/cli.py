"""The ``grex`` command: a thin layer over the library.

``main(argv)`` parses the arguments, calls the library and returns the exit
status (:data:`EXIT_STATUSES`): 0 on success; 1 for a ``grex batch`` in which
some scenarios failed (each reported; the others ran) and for an internal
error; 2 for bad input (one message on stderr naming the file, the row or key
and what is wrong); 3 when the output cannot be written or the run does not
fit (the path and the system's reason); 130 when interrupted (Ctrl-C), 143
when terminated; 141 when the reader of the output went away (``| head``).
Every failure ends in one line on stderr; ``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import gc
import os
import shutil
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grex import __version__
from grex.display import Column, keur, number, percent, text_table, wrap_header
from grex.errors import InputError, OutputError
from grex.progress import (
    COMPILE_NOTE,
    Steps,
    compile_note,
    compile_seconds,
    configure_logging,
    kernel_cache_ready,
    log,
    show_bars,
)

#: The engines of :func:`grex.montecarlo.simulate` (``GREX_ENGINE``); the same as ``grex.montecarlo.ENGINES``,
#: written out so that ``grex run`` need not import the Monte Carlo package.
ENGINES = ("numba", "numpy")

__all__ = ["EXIT_STATUSES", "main"]

#: Exit statuses of the ``grex`` command (also in ``grex --help`` and the README).
EXIT_STATUSES = {
    0: "success",
    1: "grex batch: some scenarios failed (each reported, the others ran); or an internal error (a bug)",
    2: "bad input or arguments: one line names the file, the row or key, and what is wrong; nothing written",
    3: "the output cannot be written or the run does not fit: disk full, read-only, no permission, name too "
    "long, --out a file or a folder grex did not write, not enough memory; one line names the path and the "
    "reason; nothing written",
    130: "interrupted (Ctrl-C); nothing written",
    141: "the reader of the output went away (grex diff ... | head); quiet",
    143: "terminated (SIGTERM); nothing written",
}

Command = Callable[[argparse.Namespace], int]


def _command(function: Command) -> Command:
    """A command handler that first sets up the console: log messages and bars on stderr (-q, -v)."""

    @functools.wraps(function)
    def run(args: argparse.Namespace) -> int:
        configure_logging(quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False))
        return function(args)

    return run


def _read(scenario_path: str, resume: bool = True):  # -> (Scenario, Portfolio)
    """The scenario and its portfolio; then the collector resumed (:func:`_resume_collector`) unless ``resume`` is
    false (``grex simulate`` resumes it when its draws have started)."""
    from grex.io import read_portfolio, read_scenario

    scenario = read_scenario(scenario_path)
    read = scenario, read_portfolio(scenario.portfolio)
    if resume:
        _resume_collector()
    return read


#: The commands that read one scenario (:func:`_read`) as they start: in the command line's own process they
#: import and read with the cyclic garbage collector paused (:func:`_pause_collector`).
_READERS = frozenset({"run", "simulate", "validate", "report", "sensitivity"})
_collector = {"paused": False}


def _pause_collector() -> None:
    """Start-up (issue 17): no cyclic garbage collection while a command imports its libraries and reads its input
    (``grex simulate``: until its first draws are valued).

    Importing pandas, pyarrow, scipy and numba makes some 150,000 objects that live as long as the
    process, and the collector's passes over them while they are made cost 0.1 s of CPU (``grex run``)
    to 0.4 s (``grex simulate``, numba's start included) in every process. Paused until the input is
    read (:func:`_resume_collector`), then those objects are frozen (:func:`gc.freeze`: never collected,
    never scanned again) and the collector runs as before for the work itself.
    """
    gc.disable()
    _collector["paused"] = True


def _import_engine(settings: dict[str, Any]) -> None:
    """Import the compiled engine (numba) of a command that simulates before it reads, while the collector is paused.

    numba is imported by the first simulation anyway (where the engine is numba, the default);
    imported here, its tens of thousands of objects are frozen with the libraries' at
    :func:`_resume_collector` instead of being scanned by the collector's passes while the draws
    start. An import error is left to the simulation, which says it and runs the numpy engine.
    """
    if settings.get("engine") == "numpy" or not _collector["paused"]:
        return
    with contextlib.suppress(ImportError):
        import grex.kernel  # noqa: F401, PLC0415 - numba: slow to import, only for a simulation


def _resume_collector() -> None:
    if _collector["paused"]:
        _collector["paused"] = False
        gc.freeze()
        gc.enable()


def _load(scenario_path: str):  # -> Valuation
    from grex.valuation import value_portfolio

    return value_portfolio(*_read(scenario_path))


def _engine_settings() -> dict[str, Any]:
    """``engine`` and ``threads`` of the simulations, from ``GREX_ENGINE`` and ``GREX_THREADS``.

    The one place that reads them: the library takes them as arguments.
    Unset or empty means the default (the kernel where numba can be imported;
    the CPUs this process may use), and is left out of the result.
    """
    engine = os.environ.get("GREX_ENGINE", "").strip() or None
    if engine is not None and engine not in ENGINES:
        raise InputError(None, "environment variable GREX_ENGINE", f"must be numba or numpy, not {engine!r}")
    text = os.environ.get("GREX_THREADS", "").strip()
    threads = None
    if text:
        try:
            threads = int(text)
        except ValueError:
            threads = 0
        if threads < 1:
            raise InputError(None, "environment variable GREX_THREADS", f"must be a whole number ≥ 1, not {text!r}")
    settings = {"engine": engine, "threads": threads}
    return {key: value for key, value in settings.items() if value is not None}


def _default_out(name: str) -> Path:
    """``out/<name>``, the scenario name made a safe folder name (:func:`grex.io.paths.safe_name`)."""
    from grex.io.paths import safe_name

    return Path("out") / safe_name(name)


def _out_dir(args: argparse.Namespace, default: Callable[[], Path]) -> Path:
    """The output folder of a command, checked before any work (:func:`grex.io.paths.check_output`)."""
    from grex.io.paths import check_output

    out_dir = Path(args.out) if getattr(args, "out", None) else default()
    check_output(out_dir)
    return out_dir


def _check_all(valuation, path: str) -> None:
    """What ``validate`` checks beyond reading: the grid, the Monte Carlo references and horizon."""
    from grex.limits import check_horizon
    from grex.market import check_foresight
    from grex.montecarlo import check_references

    scenario = valuation.scenario
    if "grid" in scenario.data:  # grex.batch (and the Monte Carlo's streams it imports) only for a grid
        from grex.batch import check_grid

        check_grid(scenario.data, scenario.source or path)
    check_references(scenario, valuation.portfolio)
    check_horizon(scenario, inputs=valuation.inputs)
    check_foresight(scenario, valuation.portfolio)


def _draws(args: argparse.Namespace, scenario, valuation, command: str = "simulate") -> tuple[int, int]:
    """Draws and seed of a Monte Carlo command, checked before any work: bounds and memory.

    The horizon is checked with the rest of the scenario (:func:`_check_all`), before this.
    """
    from grex.limits import check_draws, check_memory

    given = getattr(args, "draws", None)
    if given is None:
        draws = check_draws(scenario.montecarlo.draws, "key montecarlo.draws", source=scenario.source)
    else:
        draws = check_draws(given)
    seed = scenario.montecarlo.seed if args.seed is None else args.seed
    if seed < 0:
        raise InputError(None, "--seed", f"must be a whole number ≥ 0, not {seed}")
    check_memory(draws, valuation.inputs.n_complexes, command)
    return draws, seed


@_command
def _cmd_run(args: argparse.Namespace) -> int:
    from grex.io import write_valuation
    from grex.valuation import value_portfolio

    with Steps("run", 3) as steps:
        with steps.step("reading the scenario and portfolio"):
            scenario, portfolio = _read(args.scenario)
        with steps.step("valuing"):
            valuation = value_portfolio(scenario, portfolio)
        _check_all(valuation, args.scenario)
        _grid_note(scenario, args.scenario)
        out_dir = _out_dir(args, lambda: _default_out(valuation.scenario.name))
        with steps.step("writing"):
            write_valuation(valuation, out_dir)
    print(format_valuation(valuation, lang=args.lang))
    from grex.market import format_programme_check, market_labels, programme_check  # noqa: PLC0415

    check = programme_check(valuation.scenario, valuation.portfolio)
    if check is not None:
        print(format_programme_check(check, lang=args.lang, labels=market_labels(valuation.scenario)))
    log.info("written to %s/", out_dir)
    return 0


@_command
def _cmd_validate(args: argparse.Namespace) -> int:
    from grex.limits import check_draws

    valuation = _load(args.scenario)
    _check_all(valuation, args.scenario)
    scenario = valuation.scenario
    check_draws(scenario.montecarlo.draws, "key montecarlo.draws", source=scenario.source)
    print(
        f"{args.scenario}: valid. Scenario {scenario.name!r}, valuation 1-1-{scenario.valuation_year}, "
        f"{valuation.inputs.n_complexes} complexes, {len(valuation.portfolio.flows)} flows "
        f"({valuation.portfolio.projects_source}, {valuation.portfolio.flows_source})."
    )
    return 0


def _kernel_variant(valuation) -> str | None:
    """The variant of the kernel a simulation of ``valuation`` runs (:func:`grex.kernel.variant_name`).

    The kernel's own choice (:func:`grex.kernel.variant` of the kernel plan the simulation makes again: a
    few milliseconds). The kernel is imported here, just before the simulation that imports it anyway;
    None where numba cannot be imported (the simulation then runs the numpy engine: nothing to compile).
    """
    try:
        from grex.kernel import variant, variant_name
    except ImportError:
        return None
    from grex.montecarlo.execution import kernel_plan
    from grex.montecarlo.plan import make_plan

    plan = make_plan(valuation.scenario, valuation.portfolio, None)
    return variant_name(variant(kernel_plan(plan, plan.base_years)))


def _simulating(draws: int, valuation, lang: str = "en") -> str:
    """The label of a simulation step; it says so when the kernel's variant of this scenario compiles first."""
    label = f"simulating {number(draws, lang)} draws"
    if os.environ.get("GREX_ENGINE", "").strip().lower() == "numpy":
        return label  # nothing to compile (and no plan to make for the note)
    variant = _kernel_variant(valuation)
    if variant is not None and not kernel_cache_ready(variant):
        log.info(compile_note(variant))
        label += f" (compiling first, about {compile_seconds(variant)} s)"
    return label


@_command
def _cmd_report(args: argparse.Namespace) -> int:
    from grex.io.report import write_report
    from grex.montecarlo import simulate
    from grex.report import DRIVERS, FORMATS, build_report

    formats = list(dict.fromkeys(f.strip() for f in args.format.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InputError(
            None, "--format", f"must be a comma-separated list of {', '.join(FORMATS)}, not {args.format!r}"
        )
    settings = _engine_settings()
    show = show_bars()
    # reading, the simulation and one per driver, [previous], [sensitivity], the charts, each format, writing
    total = 1 + 1 + len(DRIVERS) + bool(args.previous) + bool(args.sensitivity) + 1 + len(formats) + 1
    with Steps("report", total) as steps:
        with steps.step("reading and valuing"):
            _import_engine(settings)
            valuation = _load(args.scenario)
        scenario, portfolio = valuation.scenario, valuation.portfolio
        _check_all(valuation, args.scenario)
        # the scenario's own draws and seed, as grex simulate: both print the same required capacity
        draws, seed = _draws(args, scenario, valuation, "report")
        out_dir = _out_dir(args, lambda: _default_out(scenario.name) / "report")
        with steps.step(_simulating(draws, valuation)):
            simulation = simulate(scenario, portfolio, draws=draws, seed=seed, progress=show, **settings)
        # each driver alone, same draws and seed: its contribution to the spread
        drivers = {}
        for d in DRIVERS:
            with steps.step(f"simulating the driver {d} alone"):
                drivers[d] = simulate(
                    scenario, portfolio, draws=draws, seed=seed, drivers={d}, progress=show, **settings
                )
        builders = []
        if args.previous:
            from grex.api import diff_scenarios
            from grex.report.diff import diff_section

            with steps.step("difference analysis against the previous MPG"):
                difference = diff_scenarios(args.previous, args.scenario)
            builders.append(lambda labels: diff_section(difference, labels))
        if args.sensitivity:
            from grex.report.sensitivity import sensitivity_section
            from grex.sensitivity import sensitivity

            with steps.step("sensitivity analysis"):
                # the same draws and seed as the report's own runs: reuse them rather than simulate again
                runs = {"all": simulation, **drivers}
                result = sensitivity(scenario, portfolio, draws=draws, seed=seed, lang=args.lang, runs=runs, **settings)
            builders.append(lambda labels: sensitivity_section(result, labels))

        def extra(labels):
            return [build(labels) for build in builders]

        with steps.step("tables and charts"):
            report = build_report(valuation, simulation, drivers=drivers, lang=args.lang, extra_sections=extra)
        written = write_report(report, out_dir, formats, step=steps.step)
    print("\n".join(str(path) for path in written))
    return 0


@_command
def _cmd_simulate(args: argparse.Namespace) -> int:
    from grex.io.simulation import simulate_to
    from grex.valuation import value_portfolio

    settings = _engine_settings()
    with Steps("simulate", 3) as steps:
        with steps.step("reading the scenario and portfolio"):
            _import_engine(settings)
            scenario, portfolio = _read(args.scenario, resume=False)
        if args.chunk_size is not None and args.chunk_size <= 0:
            raise InputError(None, "--chunk-size", f"must be a whole number > 0, not {args.chunk_size}")
        with steps.step("valuing"):
            valuation = value_portfolio(scenario, portfolio)
        _check_all(valuation, args.scenario)
        _grid_note(scenario, args.scenario)
        draws, seed = _draws(args, scenario, valuation)
        out_dir = _out_dir(args, lambda: _default_out(scenario.name) / "simulation")
        log.info("simulating %s draws, seed %s", number(draws, "en"), seed)
        # draws.parquet is written as the draws are valued (issue 17), the rest after: one step
        with steps.step(_simulating(draws, valuation) + " and writing"):
            simulation = simulate_to(
                valuation,
                out_dir,
                draws=draws,
                seed=seed,
                chunk_size=args.chunk_size,
                progress=show_bars(),
                # the collector stays paused until the draws run: loading the compiled kernel from numba's
                # cache (its typing and lowering registries) makes tens of thousands of objects (issue 17)
                started=_resume_collector,
                **settings,
            )
    print(format_simulation(simulation, lang=args.lang))
    log.info("written to %s/", out_dir)
    return 0


#: Words of the console tables: key -> (nl, en).
_WORDS = {
    "notice": (
        "ILLUSTRATIEF (ILLUSTRATIVE): verzonnen cijfers, geen echte projectgegevens.",
        "ILLUSTRATIVE: made-up figures, not real project data.",
    ),
    "amounts": ("bedragen x € 1.000", "amounts x EUR 1,000"),
}
_NL, _EN = 0, 1


#: Words of the simulation's console lines, (nl, en).
_SIMULATION_WORDS = (
    {
        "required": "benodigde weerstandscapaciteit (risicogestuurd) bij {confidence} zekerheid: {required}"
        " (standaardfout {se})",
        "loss": "kans op verlies {probability}",
        "iflo": "IFLO-norm",
        "ratio_risk": "beschikbaar / benodigd (risicogestuurd) = {available} / {required}",
        "ratio_policy": "volgens het beleid (norm {norm}): beschikbaar / benodigd = {available} / {required}",
        "grade": "klasse",
        "below_zero": "kans dat de algemene reserve binnen tien jaar onder nul komt: ",
    },
    {
        "required": "required capacity (risk based) at {confidence} confidence: {required} (standard error {se})",
        "loss": "probability of a loss {probability}",
        "iflo": "IFLO norm",
        "ratio_risk": "available / required (risk based) = {available} / {required}",
        "ratio_policy": "by the policy (norm {norm}): available / required = {available} / {required}",
        "grade": "grade",
        "below_zero": "probability that the general reserve falls below zero within ten years: ",
    },
)


def _w(key: str, lang: str) -> str:
    return _WORDS[key][_NL if lang == "nl" else _EN]


def format_simulation(simulation, lang: str = "nl") -> str:
    """The headline figures of a simulation, in thousands of euros (Dutch or English number format)."""
    from grex.reserves import reserve_figures

    scenario = simulation.base.scenario
    nl = lang == "nl"
    lines = []
    if scenario.illustrative:
        lines.append(_w("notice", lang))
    draws = number(simulation.draws, lang)
    lines.append(
        f"Scenario {scenario.name!r}: {draws} {'trekkingen' if nl else 'draws'}, seed {simulation.seed}; "
        + _w("amounts", lang)
    )
    deterministic = keur(float(simulation.base.result.present_value.sum()), lang)
    lines.append(
        f"{'contante waarde van de portefeuille: deterministisch' if nl else 'present value of the portfolio: deterministic'}"
        f" {deterministic}"
    )
    lines.append("  " + "  ".join(f"{k.upper()} {keur(v, lang)}" for k, v in simulation.percentiles().items()))
    se = simulation.required_capacity_standard_error
    confidence = percent(simulation.confidence, lang, 0)
    figures = reserve_figures(
        simulation.base.scenario.reserves.norm,
        simulation.available_capacity,
        simulation.iflo_norm,
        simulation.required_capacity,
    )
    available, required = simulation.available_capacity, simulation.required_capacity
    words = _SIMULATION_WORDS[_NL if nl else _EN]
    lines.append(
        words["required"].format(confidence=confidence, required=keur(required, lang), se=keur(se, lang))
        + f"\nexpected shortfall {keur(simulation.expected_shortfall, lang)}; "
        + words["loss"].format(probability=percent(simulation.probability_of_loss, lang))
    )
    lines.append(f"{words['iflo']} {keur(simulation.iflo_norm, lang)}")
    if simulation.ratio is not None:
        lines.append(
            words["ratio_risk"].format(available=keur(available, lang), required=keur(required, lang))
            + f" = {number(simulation.ratio, lang, 2)}, {words['grade']} {simulation.grade}"
        )
    policy_ratio, policy_required = figures.get("ratio"), figures.get("required_capacity_policy")
    if isinstance(policy_ratio, float) and isinstance(policy_required, float):
        lines.append(
            words["ratio_policy"].format(
                norm=figures["norm"], available=keur(available, lang), required=keur(policy_required, lang)
            )
            + f" = {number(policy_ratio, lang, 2)}, {words['grade']} {figures['grade']}"
        )
    lines.append(words["below_zero"] + percent(simulation.probability_reserve_below_zero, lang))
    return "\n".join(lines)


#: Columns of the console table of ``grex run``: column of Valuation.complexes() -> (nl, en) header.
_VALUATION_COLUMNS = {
    "book_value": ("boek-\nwaarde", "book\nvalue"),
    "remaining_costs_price_level": ("NTMK\n(pp)", "costs to\ngo (pp)"),
    "remaining_revenues_price_level": ("NTRO\n(pp)", "revenues\nto go (pp)"),
    "end_value": ("eind-\nwaarde", "end\nvalue"),
    "present_value": ("contante\nwaarde", "present\nvalue"),
    "provision": ("voor-\nziening", "provision"),
    "poc_profit": ("winst-\nneming", "POC\nprofit"),
}
_STATUS_WORDS = {
    "vastgesteld": ("vastgesteld", "adopted (vastgesteld)"),
    "voorbereiding": ("in voorbereiding", "in preparation (voorbereiding)"),
    "strategisch": ("strategisch", "strategic (strategisch)"),
}
#: Widest complex name shown in the console tables (the files hold the whole name).
NAME_WIDTH = 30


def format_valuation(valuation, lang: str = "nl") -> str:
    """The per-complex table with subtotals per status, in thousands of euros (Dutch or English format)."""
    frame = valuation.complexes()
    scenario = valuation.scenario
    k = _NL if lang == "nl" else _EN
    columns = [
        Column("complex", "left", NAME_WIDTH),
        Column("eind" if k == _NL else "end"),
        *(Column(words[k]) for words in _VALUATION_COLUMNS.values()),
    ]
    rows: list[list[str] | list[None]] = []

    def amounts(part) -> list[str]:
        return [keur(float(part[c].sum()), lang) for c in _VALUATION_COLUMNS]

    for status, words in _STATUS_WORDS.items():
        part = frame[frame["status"] == status]
        if part.empty:
            continue
        rows.append([words[k]] + [""] * (len(columns) - 1))
        for _, row in part.iterrows():
            end = f"{row['end_year']}{'*' if row['exceeds_max_duration'] else ' '}"
            rows.append([f"  {row['name']}", end, *(keur(row[c], lang) for c in _VALUATION_COLUMNS)])
        rows.append([f"  {'subtotaal' if k == _NL else 'subtotal'} {words[k].split(' (')[0]}", "", *amounts(part)])
    rows.append([None])
    rows.append(["totaal" if k == _NL else "total", "", *amounts(frame)])
    lines = []
    if scenario.illustrative:
        lines.append(_w("notice", lang))
    if k == _NL:
        lines.append(
            f"Scenario {scenario.name!r}, waardering 1-1-{scenario.valuation_year}; {_w('amounts', lang)}\n"
            "pp = prijspeil; * = langer dan de maximale looptijd"
        )
    else:
        lines.append(
            f"Scenario {scenario.name!r}, valuation 1-1-{scenario.valuation_year}; {_w('amounts', lang)}\n"
            "pp = price level; * = longer than the maximum duration"
        )
    lines.append(text_table(columns, rows))
    iflo = valuation.iflo_norm()
    euro = "€" if k == _NL else "EUR"
    if k == _NL:
        reserve = f"IFLO-norm (benodigde weerstandsreserve): {euro} {number(iflo, lang)}"
    else:
        reserve = f"IFLO norm (required resistance reserve): {euro} {number(iflo, lang)}"
    ratio = valuation.ratio()
    if ratio is not None:
        from grex.reserves import nar_grade

        letter, label = nar_grade(ratio)
        reserve += (
            f"; {'beschikbaar' if k == _NL else 'available'} {euro} "
            f"{number(scenario.reserves.resistance_reserve, lang)}\n"
            f"{'ratio beschikbaar / IFLO-norm' if k == _NL else 'ratio available / IFLO norm'} {number(ratio, lang, 2)}, "
            f"{'klasse' if k == _NL else 'grade'} {letter} ({label})"
        )
    lines.append(reserve)
    return "\n".join(lines)


@_command
def _cmd_diff(args: argparse.Namespace) -> int:
    from grex.api import diff_scenarios
    from grex.io.diff import write_diff

    if args.out:
        _out_dir(args, lambda: Path(args.out))  # refused before the work, not after
    with Steps("diff", 2) as steps:
        with steps.step("reading and revaluing effect by effect"):
            result = diff_scenarios(args.before, args.after, order=args.order)
        before, after = result.before.scenario.name, result.after.scenario.name
        out_dir = _out_dir(args, lambda: _default_out(f"diff-{before}-{after}"))
        with steps.step("writing the tables and waterfall charts"):
            write_diff(result, out_dir)
    print(format_diff(result, lang=args.lang))
    log.info("written to %s/", out_dir)
    return 0


_EFFECT_WORDS_EN = {
    "valuation_date": "Valuation date moved",
    "realisation": "Realisation",
    "interest": "Interest rate",
    "discount": "Discount rate",
    "cost_index": "Cost indexation",
    "revenue_index": "Revenue indexation",
    "uncertainty_margin": "Uncertainty margin",
    "phasing": "Phasing",
    "closed": "Closed complexes",
    "new": "New complexes",
}


_COST_WORDS_EN = {
    "verwerving": "acquisition",
    "sloop": "demolition",
    "bodem": "soil remediation",
    "bouwrijp": "site preparation",
    "woonrijp": "site finishing",
    "plankosten": "planning",
    "bijdragen": "contributions",
    "overig": "other",
}
_REVENUE_WORDS_EN = {
    "wonen_sociaal": "social housing",
    "wonen_betaalbaar": "affordable housing",
    "wonen_vrij": "private housing",
    "bedrijven": "business sites",
    "maatschappelijk": "public facilities",
    "overig": "other",
    "subsidie": "subsidies",
}


def effect_label(effect: str, lang: str = "nl") -> str:
    """The full name of an effect of the difference analysis in a language."""
    from grex.diff import EFFECT_LABELS

    if lang == "nl":
        return EFFECT_LABELS.get(effect, effect)
    if effect in _EFFECT_WORDS_EN:
        return _EFFECT_WORDS_EN[effect]
    kind, _, category = effect.partition("_")
    words = _COST_WORDS_EN if kind == "cost" else _REVENUE_WORDS_EN
    return f"{'Costs' if kind == 'cost' else 'Revenues'} {words.get(category, category.replace('_', ' '))}"


def _width(width: int | None) -> int:
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    return max(60, width)


def format_diff(result, lang: str = "nl", width: int | None = None) -> str:
    """The difference analysis as text, in thousands of euros: the portfolio effects, then the
    present value per complex with the effects as rows and the complexes as columns, in blocks
    as wide as ``width`` (default: the terminal's width, at least 60 characters)."""
    width = _width(width)
    nl = lang == "nl"
    lines = []
    if result.illustrative:
        lines.append(_w("notice", lang))
    b, a = result.before.scenario, result.after.scenario
    lines.append(
        f"{'Verschillenanalyse' if nl else 'Difference analysis'} {b.name!r} (1-1-{b.valuation_year}) -> "
        f"{a.name!r} (1-1-{a.valuation_year})\n{_w('amounts', lang)}; "
        + ("positief = beter resultaat" if nl else "positive = better result")
    )
    end_value, present_value = result.portfolio("end_value"), result.portfolio("present_value")
    shown = [
        e
        for e in result.order
        if abs(end_value[e]) >= 0.5 or abs(present_value[e]) >= 0.5 or e in ("valuation_date", "realisation")
    ]
    first, last = ("stand vorige MPG", "stand huidige MPG") if nl else ("previous MPG", "present MPG")
    rows: list[list[str | None]] = [
        [first, keur(result.total("end_value")[0], lang), keur(result.total("present_value")[0], lang)]
    ]
    rows += [[effect_label(e, lang), keur(end_value[e], lang), keur(present_value[e], lang)] for e in shown]
    rows += [[None], [last, keur(result.total("end_value")[1], lang), keur(result.total("present_value")[1], lang)]]
    headers = ("effect", "eindwaarde", "contante waarde") if nl else ("effect", "end value", "present value")
    lines.append(text_table([Column(headers[0], "left"), Column(headers[1]), Column(headers[2])], rows))

    wide = result.table()
    wide = wide[wide["measure"] == "present_value"].reset_index(drop=True)
    effects = [e for e in result.order if (wide[e].abs() >= 0.5).any()]
    labels = [first, *(effect_label(e, lang) for e in effects), last]
    values = [wide["before"], *(wide[e] for e in effects), wide["after"]]
    label_width = max(len(label) for label in labels)
    lines.append("\n" + ("Contante waarde per complex:" if nl else "Present value per complex:"))
    # blocks of complexes as wide as the terminal, the portfolio total in the last
    cells = [[keur(v, lang) for v in column] for column in values]  # [row][complex]
    headers_wrapped = [wrap_header(str(name), 12) for name in wide["name"]]
    column_widths = [
        max(max(len(line) for line in header.split("\n")), max(len(cells[r][c]) for r in range(len(labels))))
        for c, header in enumerate(headers_wrapped)
    ]
    blocks: list[list[int]] = [[]]
    used = label_width
    for c, w in enumerate(column_widths):
        if blocks[-1] and used + 2 + w > width:
            blocks.append([])
            used = label_width
        blocks[-1].append(c)
        used += 2 + w
    for block in blocks:
        table_rows: list[list[str | None]] = [[labels[r], *(cells[r][c] for c in block)] for r in range(len(labels))]
        table_rows.insert(len(labels) - 1, [None])
        columns = [Column("effect", "left"), *(Column(headers_wrapped[c]) for c in block)]
        lines.append(text_table(columns, table_rows))
        lines.append("")
    total = result.provisions().iloc[-1]
    names = (
        ("vorige MPG", "saldo 31-12", "vereist", "dotatie (+) / vrijval (-)")
        if nl
        else ("previous MPG", "balance 31-12", "required", "dotation (+) / release (-)")
    )
    lines.append("Verliesvoorzieningen x € 1.000:" if nl else "Loss provisions x EUR 1,000:")
    for name, column in zip(names, ("provision_before", "provision_balance", "provision", "dotation"), strict=True):
        lines.append(f"  {name:<28}{keur(total[column], lang):>12}")
    return "\n".join(lines).rstrip()


def _grid_note(scenario, path: str) -> None:
    """A scenario file with a [grid] runs as its base; say so."""
    if "grid" in scenario.data:
        from grex.batch import grid_size

        log.info(
            "note: %s holds a grid of %d scenarios; this runs its base without the grid. Run them all with: "
            "grex batch %s",
            path,
            grid_size(scenario.data),
            path,
        )


@_command
def _cmd_batch(args: argparse.Namespace) -> int:
    from grex.io.batch import run_batch
    from grex.io.cluster import check_cluster
    from grex.io.storage import Location, is_url, location
    from grex.limits import check_draws

    settings = _engine_settings()
    if args.draws is not None:
        check_draws(args.draws)
    if args.cluster is not None:
        check_cluster(args.cluster)
    if args.out and is_url(args.out):
        out_dir: Path | Location = location(args.out)  # checked before any work: its package, bucket and credentials
    else:
        out_dir = _out_dir(args, lambda: Path("out") / "batch")

    def starting() -> None:  # once the scenarios are read: an input error stays one line
        if not kernel_cache_ready():
            log.info(COMPILE_NOTE)

    def said(name: str, status: str) -> None:
        line = f"{name}: {'already complete for the same inputs, skipped' if status == 'skipped' else 'done'}"
        if "tqdm" in sys.modules:
            from tqdm import tqdm

            tqdm.write(line, file=sys.stdout)  # above the bar, which tqdm redraws beneath
        else:
            print(line)

    result = run_batch(
        args.scenarios,
        out_dir,
        draws=args.draws,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        cluster=args.cluster,
        retries=args.retries,
        allow_mismatch=args.allow_mismatch,
        progress=show_bars(),
        on_scenario=said,
        on_start=starting,
        **settings,
    )
    for failure in result.failures:
        print(f"grex: error: {failure}", file=sys.stderr)
    print(
        f"\n{len(result.rows)} scenarios complete ({len(result.ran)} run, {len(result.skipped)} skipped), "
        f"{len(result.failures)} failed; written to {out_dir}/"
    )
    return 0 if result.ok else 1


@_command
def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from grex.io.sensitivity import write_sensitivity
    from grex.montecarlo import simulate
    from grex.sensitivity import DRIVERS, sensitivity

    settings = _engine_settings()
    show = show_bars()
    with Steps("sensitivity", 3 + 1 + len(DRIVERS)) as steps:
        with steps.step("reading and valuing"):
            _import_engine(settings)
            valuation = _load(args.scenario)
        scenario, portfolio = valuation.scenario, valuation.portfolio
        _check_all(valuation, args.scenario)
        draws, seed = _draws(args, scenario, valuation, "sensitivity")
        out_dir = _out_dir(args, lambda: _default_out(scenario.name) / "sensitivity")
        # the runs variance_shares needs, made here one by one so that the bar can follow them
        with steps.step(_simulating(draws, valuation)):
            runs = {"all": simulate(scenario, portfolio, draws=draws, seed=seed, progress=show, **settings)}
        for d in DRIVERS:
            with steps.step(f"simulating the driver {d} alone"):
                runs[d] = simulate(scenario, portfolio, draws=draws, seed=seed, drivers={d}, progress=show, **settings)
        with steps.step("tornado"):
            result = sensitivity(scenario, portfolio, draws=draws, seed=seed, lang=args.lang, runs=runs, **settings)
        with steps.step("writing"):
            write_sensitivity(result, out_dir)
    lang = args.lang
    nl = lang == "nl"
    if scenario.illustrative:
        print(_w("notice", lang))
    print(
        f"Scenario {scenario.name!r}: {'contante waarde portefeuille' if nl else 'portfolio present value'} "
        f"{keur(result.tornado['base'].iloc[0], lang)}; {_w('amounts', lang)}"
    )
    heads = ("driver", "bij laag", "bij hoog", "bandbreedte") if nl else ("driver", "at low", "at high", "range")
    rows = [
        [
            row["label"],
            keur(row["present_value_low"], lang),
            keur(row["present_value_high"], lang),
            keur(row["range"], lang),
        ]
        for _, row in result.tornado.iterrows()
    ]
    print(text_table([Column(heads[0], "left"), *(Column(h) for h in heads[1:])], rows))
    shares = [[row["label"], percent(row["share"], lang)] for _, row in result.variance_shares.iterrows()]
    if nl:
        print(f"\naandeel in de variantie ({number(draws, lang)} trekkingen, seed {seed}):")
    else:
        print(f"\nshare of the variance ({number(draws, lang)} draws, seed {seed}):")
    print(text_table([Column("driver", "left"), Column("aandeel" if nl else "share")], shares))
    log.info("written to %s/", out_dir)
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from grex.io.template import write_template

    written = write_template(args.folder, lang=args.lang, year=args.year)
    print("\n".join(str(path) for path in written))
    print(f"\nnext: fill in the workbook, then  grex run {written[1]}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grex",
        description="Dutch municipal land development (grondexploitatie) under the BBV.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"grex {__version__}")
    # -q and -v before or after the command: the command's own default leaves the main parser's value alone
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes, only the result")
    loudness.add_argument("-v", "--verbose", action="store_true", help="debug messages: each step and its seconds")
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress or notes, only the result"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug messages: each step, its seconds"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def lang(command: argparse.ArgumentParser, what: str) -> None:
        command.add_argument(
            "--lang", choices=("nl", "en"), default="nl", help=f"language of {what} (default nl: 1.234,5)"
        )

    run = sub.add_parser("run", parents=[common], help="value a portfolio deterministically and write the MPG tables")
    run.add_argument("scenario", help="scenario file (TOML)")
    run.add_argument("--out", help="output folder (default out/<scenario name>/)")
    lang(run, "the table on the console")
    run.set_defaults(handler=_cmd_run)

    validate = sub.add_parser("validate", parents=[common], help="check a scenario and its portfolio without running")
    validate.add_argument("scenario", help="scenario file (TOML)")
    validate.set_defaults(handler=_cmd_validate)

    simulate = sub.add_parser(
        "simulate", parents=[common], help="Monte Carlo over sale pace, indexation and risks; reserves"
    )
    simulate.add_argument("scenario", help="scenario file (TOML)")
    simulate.add_argument("--draws", type=int, help="number of draws (default montecarlo.draws, 10,000)")
    simulate.add_argument("--seed", type=int, help="seed of the random numbers (default montecarlo.seed, 2024)")
    simulate.add_argument("--chunk-size", type=int, help="draws valued at once (the result does not depend on it)")
    simulate.add_argument("--out", help="output folder (default out/<scenario name>/simulation/)")
    lang(simulate, "the figures on the console")
    simulate.set_defaults(handler=_cmd_simulate)

    report = sub.add_parser("report", parents=[common], help="the MPG report for the council: HTML, PDF and Excel")
    report.add_argument("scenario", help="scenario file (TOML)")
    report.add_argument(
        "--draws",
        type=int,
        help="Monte Carlo draws of the report and of each driver's run (default montecarlo.draws, as grex simulate)",
    )
    report.add_argument("--seed", type=int, help="seed of the random numbers (default montecarlo.seed, 2024)")
    report.add_argument(
        "--format", default="html,pdf,xlsx", help="comma-separated formats: html, pdf, xlsx (default all)"
    )
    report.add_argument("--lang", choices=("nl", "en"), default="nl", help="language of the report (default nl)")
    report.add_argument(
        "--sensitivity", action="store_true", help="add the section Gevoeligheidsanalyse (grex sensitivity)"
    )
    report.add_argument(
        "--previous",
        metavar="BEFORE",
        help="scenario of the previous MPG: adds the section Verschillenanalyse (grex diff)",
    )
    report.add_argument(
        "--out", help="output folder (default out/<scenario name>/report/); files report-<scenario name>.<format>"
    )
    report.set_defaults(handler=_cmd_report)

    diff = sub.add_parser(
        "diff",
        parents=[common],
        help="difference analysis (verschillenanalyse) between two MPGs, per complex and effect",
    )
    diff.add_argument("before", help="scenario file of the previous MPG (TOML)")
    diff.add_argument("after", help="scenario file of the present MPG (TOML)")
    diff.add_argument("--out", help="output folder (default out/diff-<before name>-<after name>/)")
    diff.add_argument(
        "--order",
        help="comma-separated effect names in the order applied; effects not named follow in the default order "
        "(see grex.diff.DEFAULT_ORDER; 'amounts', 'costs', 'revenues' name groups)",
    )
    lang(diff, "the tables on the console")
    diff.set_defaults(handler=_cmd_diff)
    batch = sub.add_parser(
        "batch",
        parents=[common],
        help="run many scenarios (grids expanded), locally or on a Dask cluster, and compare them",
    )
    batch.add_argument(
        "scenarios", nargs="+", help="scenario files (TOML); a file with a [grid] stands for its combinations"
    )
    batch.add_argument("--draws", type=int, help="draws of every scenario (default each scenario's montecarlo.draws)")
    batch.add_argument("--seed", type=int, help="seed of every scenario (default each scenario's montecarlo.seed)")
    batch.add_argument(
        "--workers",
        type=int,
        default=1,
        help="local processes (default 1: in this process); a batch too small to gain from them runs in this "
        "process, and grex says so",
    )
    batch.add_argument(
        "--scheduler",
        help="address of a running Dask scheduler (tcp://host:8786); needs grex[dask]. The workers write the "
        "scenarios to --out (a folder they share, or a URL)",
    )
    batch.add_argument(
        "--cluster",
        metavar="NAME",
        help="start a Dask cluster for this batch: 'local', or a name under grex.clusters in Dask's configuration "
        "(~/.config/dask/grex.yaml; kinds local, slurm, pbs, kubernetes: grex[dask], grex[jobqueue], "
        "grex[kubernetes]; docs/cluster.md)",
    )
    batch.add_argument(
        "--retries",
        type=int,
        default=2,
        help="on a cluster: times a failed task (a lost worker too) runs again before its scenario fails (default 2)",
    )
    batch.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="run although a worker's grex, Python, numpy, numba or C library differs from this machine's "
        "(results are then not promised bit-identical)",
    )
    batch.add_argument(
        "--out",
        help="output folder (default out/batch/), or a URL: s3://bucket/path, gcs://, abfs://, file:// "
        "(grex[s3], grex[gcs], grex[azure])",
    )
    batch.set_defaults(handler=_cmd_batch)

    sens = sub.add_parser(
        "sensitivity",
        parents=[common],
        help="tornado of the drivers and their shares of the Monte Carlo variance",
    )
    sens.add_argument("scenario", help="scenario file (TOML)")
    sens.add_argument("--draws", type=int, help="draws of each Monte Carlo run (default montecarlo.draws)")
    sens.add_argument("--seed", type=int, help="seed of the random numbers (default montecarlo.seed)")
    sens.add_argument("--lang", choices=("nl", "en"), default="nl", help="language of the labels (default nl)")
    sens.add_argument("--out", help="output folder (default out/<scenario name>/sensitivity/)")
    sens.set_defaults(handler=_cmd_sensitivity)

    init = sub.add_parser("init", help="write a template workbook and scenario to start from (runs as it is)")
    init.add_argument("folder", help="folder to write portefeuille.xlsx and scenario.toml into (created if missing)")
    init.add_argument("--lang", choices=("nl", "en"), default="nl", help="sheet and column names (default nl)")
    init.add_argument("--year", type=int, help="valuation year (default this calendar year)")
    init.set_defaults(handler=_cmd_init)
    return parser


def _epilog() -> str:
    import textwrap

    lines = ["exit statuses:"]
    for code, text in EXIT_STATUSES.items():
        lines += textwrap.wrap(text, 96, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
    return "\n".join(lines)


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that temporary folders are removed on the way out."""


@contextlib.contextmanager
def _on_terminate() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _os_reason(error: OSError) -> str:
    """An OSError as ``path: reason`` (the system's words), with a hint for the common ones."""
    path = error.filename
    reason = error.strerror or str(error) or type(error).__name__
    hints = {
        errno.ENOSPC: "free some space or write elsewhere with --out",
        errno.EROFS: "write elsewhere with --out",
        errno.EACCES: "write elsewhere with --out",
        errno.EPERM: "write elsewhere with --out",
        errno.ENAMETOOLONG: "choose a shorter --out",
        errno.EXDEV: "the output folder and its temporary folder are on different file systems; "
        "name a folder on one file system with --out",
        errno.ENOMEM: "run fewer --draws",
    }
    text = f"{path}: {reason}" if path else reason
    if error.filename2:
        text = f"{path} -> {error.filename2}: {reason}"
    if error.errno in hints:
        text += f" ({hints[error.errno]})"
    return text


def _quiet_stdout() -> None:
    """After a broken pipe: send what is left for stdout to /dev/null, so exiting prints nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _fail(message: str, verbose: int) -> None:
    """The one line on stderr (a message of several lines joined), after the traceback with ``-v``."""
    if verbose:
        traceback.print_exc(file=sys.stderr)
    with contextlib.suppress(OSError, ValueError):
        print("grex: error: " + " ".join(line.strip() for line in message.splitlines()), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``grex`` command; returns the exit status (:data:`EXIT_STATUSES`)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    verbose = getattr(args, "verbose", 0) or 0
    partial = "scenarios completed so far are kept; a rerun resumes" if args.command == "batch" else "nothing written"
    # the command line of this process (the grex script, python -m grex.cli), not a call from Python code
    own_process = argv is None
    if own_process:
        _one_blas_thread()
    if own_process and args.command in _READERS:
        _pause_collector()
    try:
        status = _run(args, verbose, partial)
    finally:
        if own_process:
            # the process ends next: freezing its objects spares the collector's passes over all of them as the
            # interpreter shuts down (0.1 s of CPU after grex run, 0.3-0.4 s after grex simulate)
            gc.freeze()
    if own_process and args.command in _READERS and _only_daemon_threads():
        _end_process(status)
    return status


def _only_daemon_threads() -> bool:
    """Whether every thread but this one is a daemon (nothing the interpreter's end would wait for)."""
    current = threading.current_thread()
    return all(thread.daemon or thread is current for thread in threading.enumerate())


def _one_blas_thread() -> None:
    """The ``grex`` command's process: OpenBLAS on one thread (``OPENBLAS_NUM_THREADS=1``) unless set otherwise.

    numpy and scipy each load an OpenBLAS that starts a thread per further
    CPU, and those threads spin for a while after they start, waiting for
    work (issue 17: on two cores, CPU taken from the imports and from the
    start of the draws). grex's only linear algebra is the factorisation of
    the drivers' small correlation matrices, which OpenBLAS never shares out
    among threads: the results are the same. Set before numpy is imported
    (``main()`` of the command runs first); a value already in the
    environment is kept.
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _end_process(status: int) -> None:
    """End the command line's own process with ``status`` without the interpreter's teardown (issue 17).

    Everything the process wrote is in place by now (the output folder is
    complete, its files closed). What the interpreter would still do is
    flush stdout and stderr, run the functions registered with
    :mod:`atexit` (logging's flush, the removal of the mirror of remote
    inputs), and then tear down every module and object of pandas, pyarrow,
    scipy and numba one by one: about 0.1 s of a `grex simulate` process
    that the user waits for, and nothing anyone sees. This does the first
    two and ends the process (:func:`os._exit`). Only for the ``grex``
    command itself (``main()`` called without arguments), for the commands
    that read one scenario (``run``, ``simulate``, ``validate``, ``report``,
    ``sensitivity``; not ``batch``, whose worker pools and cluster clients
    end their own way), and only where no thread but daemons is left; a
    call from Python code returns its status as before.
    """
    import atexit  # noqa: PLC0415 - only at the end of the process

    atexit._run_exitfuncs()  # logging.shutdown among them: the handlers flushed and closed
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(status)


def _run(args: argparse.Namespace, verbose: int, partial: str) -> int:
    """The command of ``args``, its errors turned into one line and an exit status (:func:`main`)."""
    try:
        with _on_terminate():
            _engine_settings()  # a bad GREX_ENGINE or GREX_THREADS is refused before any work
            return args.handler(args)
    except InputError as error:
        _fail(str(error), verbose)
        return 2
    except RecursionError:
        _fail("the input is nested too deeply (a TOML table thousands of levels deep?)", verbose)
        return 2
    except OutputError as error:
        _fail(str(error), verbose)
        return 3
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except OSError as error:
        _fail(_os_reason(error), verbose)
        return 3
    except MemoryError:
        _fail("not enough memory for this run; run fewer --draws", verbose)
        return 3
    except KeyboardInterrupt:
        _fail(f"interrupted, {partial}", verbose)
        return 130
    except _Terminated:
        _fail(f"terminated, {partial}", verbose)
        return 143
    except Exception as error:  # a bug: one line, the traceback with -v
        _fail(
            f"internal error {type(error).__name__}: {error} (a bug in grex; run with -v for the traceback)"
            if verbose == 0
            else f"internal error {type(error).__name__}: {error}",
            verbose,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
