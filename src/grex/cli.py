"""The ``grex`` command: a thin layer over the library.

``main(argv)`` parses the arguments, calls the library and returns the exit
status: 0 on success, 2 for bad input (with one message on stderr naming the
file, the row or key and what is wrong), 1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from grex import __version__
from grex.errors import InputError

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _load(scenario_path: str):  # -> Valuation
    from grex.io import read_portfolio, read_scenario
    from grex.valuation import value_portfolio

    scenario = read_scenario(scenario_path)
    portfolio = read_portfolio(scenario.portfolio)
    return value_portfolio(scenario, portfolio)


def _default_out(name: str) -> Path:
    return Path("out") / name


def _cmd_run(args: argparse.Namespace) -> int:
    from grex.io import write_valuation

    valuation = _load(args.scenario)
    out_dir = Path(args.out) if args.out else _default_out(valuation.scenario.name)
    write_valuation(valuation, out_dir)
    print(format_valuation(valuation))
    print(f"\nwritten to {out_dir}/")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    valuation = _load(args.scenario)
    scenario = valuation.scenario
    print(
        f"{args.scenario}: valid. Scenario {scenario.name!r}, valuation 1-1-{scenario.valuation_year}, "
        f"{valuation.inputs.n_complexes} complexes, {len(valuation.portfolio.flows)} flows "
        f"({valuation.portfolio.projects_source}, {valuation.portfolio.flows_source})."
    )
    return 0


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
        reserve += f"; available EUR {scenario.reserves.resistance_reserve:,.0f}; ratio {ratio:.2f}, grade {letter} ({label})"
    lines.append(reserve)
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grex", description="Dutch municipal land development (grondexploitatie) under the BBV.")
    parser.add_argument("--version", action="version", version=f"grex {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="value a portfolio deterministically and write the MPG tables")
    run.add_argument("scenario", help="scenario file (TOML)")
    run.add_argument("--out", help="output folder (default out/<scenario name>/)")
    run.set_defaults(handler=_cmd_run)

    validate = sub.add_parser("validate", help="check a scenario and its portfolio without running")
    validate.add_argument("scenario", help="scenario file (TOML)")
    validate.set_defaults(handler=_cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``grex`` command; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return args.handler(args)
    except InputError as error:
        print(f"grex: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
