"""What writing the outputs of ``grex simulate`` costs (issue 17): ``python benchmarks/writing.py [--draws N] [--rounds R] [--json]``.

Simulates the example scenario once (``--draws``, default 1,000,000), then
measures in this one process, interleaved over ``--rounds`` rounds (median):

- ``draws.parquet`` written by :class:`grex.io.simulation.DrawsWriter` under
  each encoding of :data:`OPTIONS` (the CPU seconds of writing, the file's
  size, and whether ``pandas.read_parquet`` gives the same frame as the
  encoding in use, :data:`grex.io.simulation.DRAWS_ENCODING`);
- the percentiles of the reserve path (per year over the draws) by
  ``np.percentile`` and by :func:`grex.montecarlo.result.percentiles_along_draws`
  (equal to the bit, checked);
- the other files (``_write_rest``: ``reserve_path.csv``, ``summary.json``)
  and assembling the result (:func:`grex.montecarlo.result.assemble`).

CPU seconds are ``time.process_time`` of this process, so other work on the
machine counts little; the load average is printed beside them.
The figures are in ``benchmarks/README.md`` ("The encoding of draws.parquet").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "assen-2024.toml"


def _schema(nullable: bool, draw: pa.DataType) -> pa.Schema:
    return pa.schema(
        [
            pa.field("draw", draw, nullable),
            pa.field("project", pa.dictionary(pa.int32(), pa.string()), nullable),
            pa.field("end_year", pa.int16(), nullable),
            pa.field("end_value", pa.float64(), nullable),
            pa.field("present_value", pa.float64(), nullable),
        ]
    )


_DICTIONARIES = ["draw", "project", "end_year"]
_DELTA = {"draw": "DELTA_BINARY_PACKED", "end_year": "DELTA_BINARY_PACKED"}
_SNAPPY_BUT_AMOUNTS = {
    **dict.fromkeys(_DICTIONARIES, "snappy"),
    **dict.fromkeys(("end_value", "present_value"), "none"),
}
_CHOSEN = {
    "use_dictionary": ["project"],
    "column_encoding": _DELTA,
    "compression": _SNAPPY_BUT_AMOUNTS,
    "write_statistics": ["draw"],
}

#: name -> (nullable, draw type, ParquetWriter options). "before" is the encoding up to issue 17's writing work.
OPTIONS: dict[str, tuple[bool, pa.DataType, dict[str, Any]]] = {
    "before: dictionaries for draw, project, end_year; snappy; statistics; nullable": (
        True,
        pa.int64(),
        {"use_dictionary": _DICTIONARIES},
    ),
    "before, no compression": (True, pa.int64(), {"use_dictionary": _DICTIONARIES, "compression": "none"}),
    "before, lz4": (True, pa.int64(), {"use_dictionary": _DICTIONARIES, "compression": "lz4"}),
    "before, not nullable": (False, pa.int64(), {"use_dictionary": _DICTIONARIES}),
    "before, not nullable, statistics for draw only": (
        False,
        pa.int64(),
        {"use_dictionary": _DICTIONARIES, "write_statistics": ["draw"]},
    ),
    "CHOSEN: draw, end_year delta; project dictionary; snappy but the amounts; statistics for draw; not nullable": (
        False,
        pa.int64(),
        _CHOSEN,
    ),
    "chosen, statistics for every column": (False, pa.int64(), {**_CHOSEN, "write_statistics": True}),
    "chosen, no statistics": (False, pa.int64(), {**_CHOSEN, "write_statistics": False}),
    "chosen, no compression": (False, pa.int64(), {**_CHOSEN, "compression": "none"}),
    "chosen, amounts snappy-compressed too": (False, pa.int64(), {**_CHOSEN, "compression": "snappy"}),
    "chosen, lz4": (False, pa.int64(), {**_CHOSEN, "compression": "lz4"}),
    "chosen, zstd level 1": (False, pa.int64(), {**_CHOSEN, "compression": "zstd", "compression_level": 1}),
    "chosen, amounts byte-stream split, zstd level 1": (
        False,
        pa.int64(),
        {
            **_CHOSEN,
            "column_encoding": {**_DELTA, "end_value": "BYTE_STREAM_SPLIT", "present_value": "BYTE_STREAM_SPLIT"},
            "compression": "zstd",
            "compression_level": 1,
        },
    ),
    "chosen, draw a dictionary (not delta)": (
        False,
        pa.int64(),
        {**_CHOSEN, "use_dictionary": ["draw", "project"], "column_encoding": {"end_year": "DELTA_BINARY_PACKED"}},
    ),
    "chosen, end_year a dictionary (not delta)": (
        False,
        pa.int64(),
        {
            **_CHOSEN,
            "use_dictionary": ["project", "end_year"],
            "column_encoding": {"draw": "DELTA_BINARY_PACKED"},
        },
    ),
    "chosen, data pages of 8 MB": (False, pa.int64(), {**_CHOSEN, "data_page_size": 8 << 20}),
    "chosen, draw int32 (reads back as int32)": (False, pa.int32(), _CHOSEN),
}


def _cpu(function: Any) -> float:
    start = time.process_time()
    function()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", default="", help="only the encodings whose names contain this (and the chosen one)")
    args = parser.parse_args(argv)
    options = {name: o for name, o in OPTIONS.items() if args.only in name or name.startswith("CHOSEN")}

    from grex.io import read_portfolio, read_scenario
    from grex.io.results import provenance
    from grex.io.simulation import DrawsWriter, _write_rest
    from grex.montecarlo import simulate
    from grex.montecarlo.result import PATH_PERCENTILES, assemble, percentiles_along_draws

    scenario = read_scenario(EXAMPLE)
    portfolio = read_portfolio(scenario.portfolio)
    simulation = simulate(scenario, portfolio, draws=args.draws, seed=2024)
    arrays = {
        "end_year": simulation.end_year,
        "end_value": simulation.end_value,
        "present_value": simulation.present_value,
    }
    about = {**provenance(scenario, simulation.base.input_hash), "draws": args.draws, "seed": 2024}
    load = {"before": os.getloadavg()}
    cpu: dict[str, list[float]] = {name: [] for name in options}
    size: dict[str, int] = {}
    same: dict[str, bool] = {}
    steps: dict[str, list[float]] = {"np.percentile": [], "by sorting": [], "the other files": [], "assembling": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for round_ in range(args.rounds):
            names = list(options) if round_ % 2 == 0 else list(options)[::-1]
            for name in names:
                nullable, draw, encoding = options[name]
                path = folder / f"{list(options).index(name)}.parquet"
                path.unlink(missing_ok=True)

                def write(
                    path: Path = path, nullable: bool = nullable, draw: pa.DataType = draw, encoding: Any = encoding
                ) -> None:
                    with DrawsWriter(
                        path, simulation.projects, about, schema=_schema(nullable, draw), encoding=encoding
                    ) as writer:
                        writer.write(arrays, args.draws)

                cpu[name].append(_cpu(write))
                size[name] = path.stat().st_size
            steps["np.percentile"].append(_cpu(lambda: np.percentile(simulation.reserve, PATH_PERCENTILES, axis=0)))
            steps["by sorting"].append(_cpu(lambda: percentiles_along_draws(simulation.reserve, PATH_PERCENTILES)))
            rest = folder / f"rest-{round_}"
            rest.mkdir()
            steps["the other files"].append(_cpu(lambda rest=rest: _write_rest(simulation, rest)))
            steps["assembling"].append(
                _cpu(
                    lambda: assemble(
                        scenario,
                        portfolio,
                        seed=2024,
                        n_years=simulation.n_years,
                        arrays={**arrays, "reserve": simulation.reserve},
                    )
                )
            )
        chosen = pd.read_parquet(
            folder / f"{list(options).index(next(n for n in options if n.startswith('CHOSEN')))}.parquet"
        )
        for index, name in enumerate(options):
            frame = pd.read_parquet(folder / f"{index}.parquet")
            same[name] = bool(frame.dtypes.equals(chosen.dtypes) and frame.equals(chosen))
    equal = bool(
        np.array_equal(
            np.percentile(simulation.reserve, PATH_PERCENTILES, axis=0).view(np.int64),
            percentiles_along_draws(simulation.reserve, PATH_PERCENTILES).view(np.int64),
        )
    )
    load["after"] = os.getloadavg()
    result = {
        "draws": args.draws,
        "rows": int(simulation.present_value.size),
        "rounds": args.rounds,
        "load_average": load,
        "draws_parquet": {
            name: {"cpu_seconds": statistics.median(cpu[name]), "bytes": size[name], "same_frame": same[name]}
            for name in options
        },
        "cpu_seconds": {step: statistics.median(values) for step, values in steps.items()},
        "percentiles_equal_to_the_bit": equal,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{args.draws:,} draws, {result['rows']:,} rows of draws.parquet; median of {args.rounds} rounds, CPU seconds"
    )
    for name, figures in result["draws_parquet"].items():
        print(
            f"  {figures['cpu_seconds']:6.3f} s  {figures['bytes'] / 1e6:7.1f} MB  "
            f"{'same frame' if figures['same_frame'] else 'OTHER FRAME'}  {name}"
        )
    print(
        "  reserve path percentiles: np.percentile "
        f"{result['cpu_seconds']['np.percentile']:.3f} s, by sorting {result['cpu_seconds']['by sorting']:.3f} s "
        f"(equal to the bit: {equal}); the other files {result['cpu_seconds']['the other files']:.3f} s; "
        f"assembling {result['cpu_seconds']['assembling']:.3f} s"
    )
    print(f"  load average (1, 5, 15 min) before {load['before']}, after {load['after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
