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
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from grex import __version__
from grex.errors import InputError, OutputError

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


def _load(scenario_path: str):  # -> Valuation
    from grex.io import read_portfolio, read_scenario
    from grex.valuation import value_portfolio

    scenario = read_scenario(scenario_path)
    portfolio = read_portfolio(scenario.portfolio)
    return value_portfolio(scenario, portfolio)


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
    from grex.batch import check_grid
    from grex.limits import check_horizon
    from grex.montecarlo import check_references

    scenario = valuation.scenario
    check_grid(scenario.data, scenario.source or path)
    check_references(scenario, valuation.portfolio)
    check_horizon(scenario, inputs=valuation.inputs)


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


def _cmd_run(args: argparse.Namespace) -> int:
    from grex.io import write_valuation

    valuation = _load(args.scenario)
    _check_all(valuation, args.scenario)
    _grid_note(valuation.scenario, args.scenario)
    out_dir = _out_dir(args, lambda: _default_out(valuation.scenario.name))
    write_valuation(valuation, out_dir)
    print(format_valuation(valuation))
    print(f"\nwritten to {out_dir}/")
    return 0


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


def _cmd_report(args: argparse.Namespace) -> int:
    from grex.io.report import write_report
    from grex.montecarlo import simulate
    from grex.report import DRIVERS, FORMATS, build_report

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InputError(
            None, "--format", f"must be a comma-separated list of {', '.join(FORMATS)}, not {args.format!r}"
        )
    valuation = _load(args.scenario)
    scenario, portfolio = valuation.scenario, valuation.portfolio
    _check_all(valuation, args.scenario)
    _, seed = _draws(args, scenario, valuation)
    out_dir = _out_dir(args, lambda: _default_out(scenario.name) / "report")
    simulation = simulate(scenario, portfolio, draws=args.draws, seed=seed)
    # each driver alone, same draws and seed: its contribution to the spread
    drivers = {d: simulate(scenario, portfolio, draws=args.draws, seed=seed, drivers={d}) for d in DRIVERS}
    builders = []
    if args.previous:
        from grex.diff import diff_scenarios
        from grex.report.diff import diff_section

        difference = diff_scenarios(args.previous, args.scenario)
        builders.append(lambda labels: diff_section(difference, labels))
    if args.sensitivity:
        from grex.report.sensitivity import sensitivity_section
        from grex.sensitivity import sensitivity

        # the same draws and seed as the report's own runs: reuse them rather than simulate again
        runs = {"all": simulation, **drivers}
        result = sensitivity(scenario, portfolio, draws=args.draws, seed=seed, lang=args.lang, runs=runs)
        builders.append(lambda labels: sensitivity_section(result, labels))

    def extra(labels):
        return [build(labels) for build in builders]

    report = build_report(valuation, simulation, drivers=drivers, lang=args.lang, extra_sections=extra)
    written = write_report(report, out_dir, formats)
    print("\n".join(str(path) for path in written))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from grex.io.simulation import write_simulation
    from grex.montecarlo import simulate

    valuation = _load(args.scenario)
    scenario = valuation.scenario
    _check_all(valuation, args.scenario)
    _grid_note(scenario, args.scenario)
    if args.chunk_size is not None and args.chunk_size <= 0:
        raise InputError(None, "--chunk-size", f"must be a whole number > 0, not {args.chunk_size}")
    draws, seed = _draws(args, scenario, valuation)
    out_dir = _out_dir(args, lambda: _default_out(scenario.name) / "simulation")
    print(f"simulating {draws:,} draws, seed {seed}", file=sys.stderr)
    simulation = simulate(
        scenario,
        valuation.portfolio,
        draws=draws,
        seed=seed,
        chunk_size=args.chunk_size,
        progress=sys.stderr.isatty(),
    )
    write_simulation(simulation, out_dir)
    print(format_simulation(simulation))
    print(f"\nwritten to {out_dir}/")
    return 0


def format_simulation(simulation) -> str:
    """The headline figures of a simulation, in thousands of euros."""
    scenario = simulation.base.scenario
    lines = []
    if scenario.illustrative:
        lines.append("ILLUSTRATIVE: made-up figures, not real project data.")
    lines.append(f"Scenario {scenario.name!r}: {simulation.draws:,} draws, seed {simulation.seed}; amounts x EUR 1,000")
    percentiles = "  ".join(f"{k.upper()} {v / 1000:,.0f}" for k, v in simulation.percentiles().items())
    lines.append(
        f"present value of the portfolio: deterministic {simulation.base.result.present_value.sum() / 1000:,.0f}"
    )
    lines.append(f"  {percentiles}")
    se = simulation.required_capacity_standard_error
    lines.append(
        f"required capacity at {simulation.confidence:.0%}: {simulation.required_capacity / 1000:,.0f}"
        f" (standard error {se / 1000:,.0f}); expected shortfall {simulation.expected_shortfall / 1000:,.0f};"
        f" probability of a loss {simulation.probability_of_loss:.1%}"
    )
    reserve = f"IFLO norm {simulation.iflo_norm / 1000:,.0f}"
    if simulation.ratio is not None:
        reserve += f"; available {simulation.available_capacity / 1000:,.0f}; ratio {simulation.ratio:.2f}, grade {simulation.grade}"
    lines.append(reserve)
    lines.append(
        f"probability that the general reserve falls below zero within ten years: "
        f"{simulation.probability_reserve_below_zero:.1%}"
    )
    return "\n".join(lines)


def format_valuation(valuation) -> str:
    """The per-complex table with totals per status, in thousands of euros."""
    frame = valuation.complexes()
    scenario = valuation.scenario
    columns = {
        "book_value": "boekwaarde",
        "remaining_costs_price_level": "NTMK (pp)",
        "remaining_revenues_price_level": "NTRO (pp)",
        "end_value": "eindwaarde",
        "present_value": "contante w.",
        "provision": "voorziening",
        "poc_profit": "winstneming",
    }
    table = pd.DataFrame(
        {
            "complex": frame["name"],
            "status": frame["status"],
            "eind": frame["end_year"].astype(str) + frame["exceeds_max_duration"].map({True: "*", False: " "}),
            **{label: frame[col] / 1000 for col, label in columns.items()},
        }
    )
    rows = []
    for status in ("vastgesteld", "voorbereiding", "strategisch"):
        part = table[table["status"] == status]
        if part.empty:
            continue
        rows.append(part)
        subtotal = {"complex": f"subtotaal {status}", "status": "", "eind": ""}
        subtotal.update({label: part[label].sum() for label in columns.values()})
        rows.append(pd.DataFrame([subtotal]))
    total = {"complex": "totaal", "status": "", "eind": ""}
    total.update({label: table[label].sum() for label in columns.values()})
    rows.append(pd.DataFrame([total]))
    shown = pd.concat(rows, ignore_index=True)
    text = shown.to_string(index=False, float_format=lambda v: f"{v:,.0f}")
    lines = []
    if scenario.illustrative:
        lines.append("ILLUSTRATIVE: made-up figures, not real project data.")
    lines.append(
        f"Scenario {scenario.name!r}, valuation 1-1-{scenario.valuation_year}; amounts x EUR 1,000; "
        "pp = price level; * = longer than the maximum duration"
    )
    lines.append(text)
    iflo = valuation.iflo_norm()
    reserve = f"IFLO norm (weerstandsreserve benodigd): EUR {iflo:,.0f}"
    ratio = valuation.ratio()
    if ratio is not None:
        from grex.reserves import nar_grade

        letter, label = nar_grade(ratio)
        reserve += (
            f"; available EUR {scenario.reserves.resistance_reserve:,.0f}; ratio {ratio:.2f}, grade {letter} ({label})"
        )
    lines.append(reserve)
    return "\n".join(lines)


def _cmd_diff(args: argparse.Namespace) -> int:
    from grex.diff import diff_scenarios
    from grex.io.diff import write_diff

    if args.out:
        _out_dir(args, lambda: Path(args.out))  # refused before the work, not after
    result = diff_scenarios(args.before, args.after, order=args.order)
    before, after = result.before.scenario.name, result.after.scenario.name
    out_dir = _out_dir(args, lambda: _default_out(f"diff-{before}-{after}"))
    write_diff(result, out_dir)
    print(format_diff(result))
    print(f"\nwritten to {out_dir}/")
    return 0


def format_diff(result) -> str:
    """The difference analysis as text: the portfolio effects, then per complex, x EUR 1,000."""
    from grex.diff import EFFECT_LABELS

    lines = []
    if result.illustrative:
        lines.append("ILLUSTRATIVE: made-up figures, not real project data.")
    b, a = result.before.scenario, result.after.scenario
    lines.append(
        f"Verschillenanalyse {b.name!r} (1-1-{b.valuation_year}) -> {a.name!r} (1-1-{a.valuation_year}); "
        "amounts x EUR 1,000; positive = better result"
    )
    portfolio = pd.DataFrame({m: result.portfolio(m) for m in ("end_value", "present_value")})
    shown = [e for e in result.order if (portfolio.loc[e].abs() >= 0.5).any() or e in ("valuation_date", "realisation")]
    rows = [("stand vorige MPG", *result.total("end_value")[:1], *result.total("present_value")[:1])]
    rows += [(EFFECT_LABELS[e], portfolio.at[e, "end_value"], portfolio.at[e, "present_value"]) for e in shown]
    rows.append(("stand huidige MPG", result.total("end_value")[1], result.total("present_value")[1]))
    table = pd.DataFrame(rows, columns=["effect", "eindwaarde", "contante w."])
    table[["eindwaarde", "contante w."]] /= 1000
    lines.append(table.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    wide = result.table()
    wide = wide[wide["measure"] == "present_value"]
    effects = [e for e in result.order if (wide[e].abs() >= 0.5).any()]
    per_complex = pd.DataFrame({"complex": wide["name"].str.slice(0, 28), "vorige": wide["before"] / 1000})
    for e in effects:
        per_complex[EFFECT_LABELS[e][:14]] = wide[e] / 1000
    per_complex["huidige"] = wide["after"] / 1000
    lines.append("\nContante waarde per complex:")
    lines.append(per_complex.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    return "\n".join(lines)


def _grid_note(scenario, path: str) -> None:
    """A scenario file with a [grid] runs as its base; say so."""
    if "grid" in scenario.data:
        from grex.batch import grid_size

        print(
            f"note: {path} holds a grid of {grid_size(scenario.data)} scenarios; this runs its base without the grid. "
            "Run them all with: grex batch " + path,
            file=sys.stderr,
        )


def _cmd_batch(args: argparse.Namespace) -> int:
    from grex.batch import run_batch
    from grex.limits import check_draws

    if args.draws is not None:
        check_draws(args.draws)

    out_dir = _out_dir(args, lambda: Path("out") / "batch")

    def said(name: str, status: str) -> None:
        print(f"{name}: {'already complete for the same inputs, skipped' if status == 'skipped' else 'done'}")

    result = run_batch(
        args.scenarios,
        out_dir,
        draws=args.draws,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=sys.stderr.isatty(),
        on_scenario=said,
    )
    for failure in result.failures:
        print(f"grex: error: {failure}", file=sys.stderr)
    print(
        f"\n{len(result.rows)} scenarios complete ({len(result.ran)} run, {len(result.skipped)} skipped), "
        f"{len(result.failures)} failed; written to {out_dir}/"
    )
    return 0 if result.ok else 1


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from grex.io.sensitivity import write_sensitivity
    from grex.sensitivity import sensitivity

    valuation = _load(args.scenario)
    scenario = valuation.scenario
    _check_all(valuation, args.scenario)
    draws, seed = _draws(args, scenario, valuation)
    out_dir = _out_dir(args, lambda: _default_out(scenario.name) / "sensitivity")
    result = sensitivity(scenario, valuation.portfolio, draws=draws, seed=seed, lang=args.lang)
    write_sensitivity(result, out_dir)
    table = result.tornado[["label", "present_value_low", "present_value_high", "range"]].copy()
    table[["present_value_low", "present_value_high", "range"]] /= 1000
    if scenario.illustrative:
        print("ILLUSTRATIVE: made-up figures, not real project data.")
    print(
        f"Scenario {scenario.name!r}: portfolio present value {result.tornado['base'].iloc[0] / 1000:,.0f}; "
        "amounts x EUR 1,000"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    shares = result.variance_shares[["label", "share"]]
    print(f"\nshare of the variance ({draws:,} draws, seed {seed}):")
    print(shares.to_string(index=False, formatters={"share": lambda v: f"{v:.1%}"}))
    print(f"\nwritten to {out_dir}/")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grex",
        description="Dutch municipal land development (grondexploitatie) under the BBV.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"grex {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="value a portfolio deterministically and write the MPG tables")
    run.add_argument("scenario", help="scenario file (TOML)")
    run.add_argument("--out", help="output folder (default out/<scenario name>/)")
    run.set_defaults(handler=_cmd_run)

    validate = sub.add_parser("validate", help="check a scenario and its portfolio without running")
    validate.add_argument("scenario", help="scenario file (TOML)")
    validate.set_defaults(handler=_cmd_validate)

    simulate = sub.add_parser("simulate", help="Monte Carlo over sale pace, indexation and risks; reserves")
    simulate.add_argument("scenario", help="scenario file (TOML)")
    simulate.add_argument("--draws", type=int, help="number of draws (default montecarlo.draws, 10,000)")
    simulate.add_argument("--seed", type=int, help="seed of the random numbers (default montecarlo.seed, 2024)")
    simulate.add_argument("--chunk-size", type=int, help="draws valued at once (the result does not depend on it)")
    simulate.add_argument("--out", help="output folder (default out/<scenario name>/simulation/)")
    simulate.set_defaults(handler=_cmd_simulate)

    report = sub.add_parser("report", help="the MPG report for the council: HTML, PDF and Excel")
    report.add_argument("scenario", help="scenario file (TOML)")
    report.add_argument("--draws", type=int, default=2000, help="Monte Carlo draws (default 2,000)")
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
    report.add_argument("--out", help="output folder (default out/<scenario name>/report/)")
    report.set_defaults(handler=_cmd_report)

    diff = sub.add_parser(
        "diff", help="difference analysis (verschillenanalyse) between two MPGs, per complex and effect"
    )
    diff.add_argument("before", help="scenario file of the previous MPG (TOML)")
    diff.add_argument("after", help="scenario file of the present MPG (TOML)")
    diff.add_argument("--out", help="output folder (default out/diff-<before name>-<after name>/)")
    diff.add_argument(
        "--order",
        help="comma-separated effect names in the order applied; effects not named follow in the default order "
        "(see grex.diff.DEFAULT_ORDER; 'amounts', 'costs', 'revenues' name groups)",
    )
    diff.set_defaults(handler=_cmd_diff)
    batch = sub.add_parser(
        "batch", help="run many scenarios (grids expanded), locally or on a Dask cluster, and compare them"
    )
    batch.add_argument(
        "scenarios", nargs="+", help="scenario files (TOML); a file with a [grid] stands for its combinations"
    )
    batch.add_argument("--draws", type=int, help="draws of every scenario (default each scenario's montecarlo.draws)")
    batch.add_argument("--seed", type=int, help="seed of every scenario (default each scenario's montecarlo.seed)")
    batch.add_argument("--workers", type=int, default=1, help="local processes (default 1: in this process)")
    batch.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786); needs grex[dask]")
    batch.add_argument("--out", help="output folder (default out/batch/)")
    batch.set_defaults(handler=_cmd_batch)

    sens = sub.add_parser("sensitivity", help="tornado of the drivers and their shares of the Monte Carlo variance")
    sens.add_argument("scenario", help="scenario file (TOML)")
    sens.add_argument("--draws", type=int, help="draws of each Monte Carlo run (default montecarlo.draws)")
    sens.add_argument("--seed", type=int, help="seed of the random numbers (default montecarlo.seed)")
    sens.add_argument("--lang", choices=("nl", "en"), default="nl", help="language of the labels (default nl)")
    sens.add_argument("--out", help="output folder (default out/<scenario name>/sensitivity/)")
    sens.set_defaults(handler=_cmd_sensitivity)
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
    try:
        with _on_terminate():
            from grex.limits import check_environment

            check_environment()
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
