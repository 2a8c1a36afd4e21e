"""Writing a Monte Carlo result: ``draws.parquet``, ``reserve_path.csv``, ``provision_path.csv``,
``reserve_years.parquet``, ``summary.json``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from grex.io.results import (
    ILLUSTRATIVE_NOTICE,
    provenance,
    reserve_summary,
    with_provenance,
    write_atomically,
    write_csv,
    write_json,
)
from grex.montecarlo import Simulation
from grex.reserves import reserve_figures

__all__ = ["write_draws", "write_reserve_years", "write_simulation"]

#: Draws per Parquet row group: memory while writing stays bounded whatever the number of draws.
ROW_GROUP_DRAWS = 50_000


def write_simulation(simulation: Simulation, out_dir: str | Path) -> Path:
    """Write the files of a simulation into ``out_dir``, whole or not at all.

    ``draws.parquet``: one row per draw and complex (``draw, project,
    end_year, end_value, present_value``) [EUR]; ``reserve_path.csv``: the
    general reserve per year (``year, deterministic, p5, p25, p50, p75,
    p95``) [EUR]; ``provision_path.csv``: :meth:`Simulation.provision_path`;
    ``reserve_years.parquet``: :meth:`Simulation.revaluation_frame`;
    ``summary.json``: :meth:`Simulation.summary`. The CSV
    is a plain table; an illustrative scenario's notice is in the summary
    and, with the provenance, in the metadata of ``draws.parquet``.
    """
    out_dir = Path(out_dir)
    illustrative = simulation.base.scenario.illustrative
    with write_atomically(out_dir) as staging:
        write_draws(simulation, staging / "draws.parquet")
        write_csv(simulation.reserve_path(), staging / "reserve_path.csv")
        if simulation.provision_held is not None:  # the yearly revaluation (issue 16)
            write_csv(simulation.provision_path(), staging / "provision_path.csv")
            write_reserve_years(simulation, staging / "reserve_years.parquet")
        reserves = simulation.base.scenario.reserves
        figures = reserve_figures(
            reserves.norm, simulation.available_capacity, simulation.iflo_norm, simulation.required_capacity
        )
        summary = reserve_summary(simulation.summary(), figures)
        if illustrative:
            summary = {"notice": ILLUSTRATIVE_NOTICE, **summary}
        write_json(staging / "summary.json", summary)
    return out_dir


def write_draws(simulation: Simulation, path: Path) -> None:
    """``draws.parquet``: the rows of :meth:`Simulation.to_frame`, written in row groups.

    The table is never built whole: a million draws of fifty complexes are
    written :data:`ROW_GROUP_DRAWS` draws at a time, the ``project`` column
    dictionary-encoded (it reads back as a categorical column). The file
    metadata holds the provenance (:func:`grex.io.results.read_provenance`).
    """
    D, C = simulation.present_value.shape
    projects = pa.array([str(p) for p in simulation.projects], type=pa.string())
    schema = pa.schema(
        [
            ("draw", pa.int64()),
            ("project", pa.dictionary(pa.int32(), pa.string())),
            ("end_year", pa.int16()),
            ("end_value", pa.float64()),
            ("present_value", pa.float64()),
        ]
    )
    base = simulation.base
    about = {**provenance(base.scenario, base.input_hash), "draws": simulation.draws, "seed": simulation.seed}
    schema = with_provenance(schema, about)
    codes = np.arange(C, dtype=np.int32)
    # Dictionary encoding only where values repeat: tried on the amounts (nearly all distinct)
    # it costs about half the writing time and saves nothing.
    with pq.ParquetWriter(path, schema, use_dictionary=["draw", "project", "end_year"]) as writer:
        for start in range(0, max(D, 1), ROW_GROUP_DRAWS):
            stop = min(D, start + ROW_GROUP_DRAWS)
            n = stop - start
            table = pa.table(
                {
                    "draw": np.repeat(np.arange(start, stop, dtype=np.int64), C),
                    "project": pa.DictionaryArray.from_arrays(np.tile(codes, n), projects),
                    "end_year": simulation.end_year[start:stop].ravel(),
                    "end_value": simulation.end_value[start:stop].ravel(),
                    "present_value": simulation.present_value[start:stop].ravel(),
                },
                schema=schema,
            )
            writer.write_table(table)


def write_reserve_years(simulation: Simulation, path: Path) -> None:
    """``reserve_years.parquet``: the draw-level yearly figures of :meth:`Simulation.revaluation_frame`.

    One row per draw and year V ... V + 9 (``draw, year, reserve, provision,
    estimate``) [EUR], written :data:`ROW_GROUP_DRAWS` draws at a time; the
    provenance in the file metadata.
    """
    base = simulation.base
    about = {**provenance(base.scenario, base.input_hash), "draws": simulation.draws, "seed": simulation.seed}
    schema = with_provenance(
        pa.schema(
            [
                ("draw", pa.int64()),
                ("year", pa.int16()),
                ("reserve", pa.float64()),
                ("provision", pa.float64()),
                ("estimate", pa.float64()),
            ]
        ),
        about,
    )
    assert simulation.provision_held is not None and simulation.estimate is not None
    D, years = simulation.provision_held.shape
    V = int(simulation.reserve_years[0]) + 1
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, max(D, 1), ROW_GROUP_DRAWS):
            stop = min(D, start + ROW_GROUP_DRAWS)
            n = stop - start
            table = pa.table(
                {
                    "draw": np.repeat(np.arange(start, stop, dtype=np.int64), years),
                    "year": np.tile(np.arange(V, V + years, dtype=np.int16), n),
                    "reserve": simulation.reserve[start:stop, 1:].ravel(),
                    "provision": simulation.provision_held[start:stop].ravel(),
                    "estimate": simulation.estimate[start:stop].ravel(),
                },
                schema=schema,
            )
            writer.write_table(table)
