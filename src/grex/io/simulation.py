"""Writing a Monte Carlo result: ``draws.parquet``, ``reserve_path.csv``, ``summary.json``."""

from __future__ import annotations

from pathlib import Path

from grex.io.results import ILLUSTRATIVE_NOTICE, _write_csv, write_atomically, write_json
from grex.montecarlo import Simulation

__all__ = ["write_simulation"]


def write_simulation(simulation: Simulation, out_dir: str | Path) -> Path:
    """Write the files of a simulation into ``out_dir``, whole or not at all.

    ``draws.parquet``: one row per draw and complex (``draw, project,
    end_year, end_value, present_value``) [EUR]; ``reserve_path.csv``: the
    general reserve per year (``year, deterministic, p5, p25, p50, p75,
    p95``) [EUR]; ``summary.json``: :meth:`Simulation.summary`. An
    illustrative scenario gets a first comment line in the CSV and a
    ``notice`` in the summary.
    """
    out_dir = Path(out_dir)
    illustrative = simulation.base.scenario.illustrative
    with write_atomically(out_dir) as staging:
        simulation.to_frame().to_parquet(staging / "draws.parquet", index=False)
        _write_csv(simulation.reserve_path(), staging / "reserve_path.csv", illustrative)
        summary = simulation.summary()
        if illustrative:
            summary = {"notice": ILLUSTRATIVE_NOTICE, **summary}
        write_json(staging / "summary.json", summary)
    return out_dir
