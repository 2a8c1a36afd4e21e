"""``draws.parquet`` written as the draws are valued (issue 17): the same files, whole or not at all."""

from __future__ import annotations

import pandas as pd
import pytest

import grex.io.simulation as simulation_io
from conftest import EXAMPLE
from grex.io import read_portfolio, read_scenario
from grex.io.simulation import DrawsWriter, simulate_to, write_simulation
from grex.montecarlo import simulate
from grex.valuation import value_portfolio

DRAWS = 2500  # with 1,000-draw row groups and 1,024-draw chunks: groups end inside chunks, a short last group


@pytest.fixture
def valuation():
    scenario = read_scenario(EXAMPLE)
    return value_portfolio(scenario, read_portfolio(scenario.portfolio))


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(simulation_io, "ROW_GROUP_DRAWS", 1000)


def test_files_are_the_same_byte_for_byte_as_when_written_after_the_simulation(valuation, small_groups, tmp_path):
    settings = {"draws": DRAWS, "seed": 7, "chunk_size": 1024, "threads": 2}
    beside = simulate_to(valuation, tmp_path / "beside", **settings)
    after = simulate(valuation.scenario, valuation.portfolio, **settings)
    write_simulation(after, tmp_path / "after")
    names = sorted(p.name for p in (tmp_path / "after").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "beside").iterdir())
    assert "draws.parquet" in names
    for name in names:
        assert (tmp_path / "beside" / name).read_bytes() == (tmp_path / "after" / name).read_bytes(), name
    frame = pd.read_parquet(tmp_path / "beside" / "draws.parquet")
    assert len(frame) == DRAWS * len(after.projects)
    assert (frame["present_value"].to_numpy() == after.present_value.ravel()).all()
    assert (beside.present_value == after.present_value).all()


def test_row_groups_are_written_while_later_draws_are_still_being_valued(
    valuation, small_groups, tmp_path, monkeypatch
):
    seen: list[tuple[int, int]] = []  # (draws valued, draws written) at each call
    write = DrawsWriter.write

    def spy(self, arrays, done):
        write(self, arrays, done)
        seen.append((done, self._written))

    monkeypatch.setattr(DrawsWriter, "write", spy)
    simulate_to(valuation, tmp_path / "out", draws=DRAWS, seed=7, chunk_size=1024, threads=1)
    assert seen == [(1024, 1000), (2048, 2000), (2500, 2000)]  # the last 500 draws when the file closes


def test_an_error_while_simulating_leaves_no_folder_and_no_staging(valuation, tmp_path, monkeypatch):
    def broken(self, arrays, done):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(DrawsWriter, "write", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        simulate_to(valuation, tmp_path / "out", draws=DRAWS, seed=7, chunk_size=1024)
    assert list(tmp_path.iterdir()) == []


def test_draws_per_row_group_bounded_by_rows_hand_worked():
    # at most 1,000,000 rows (draws x complexes) a group, at most 50,000 draws, at least one
    assert simulation_io.row_group_draws(19) == 50_000  # 1,000,000 // 19 = 52,631: the draws' bound holds
    assert simulation_io.row_group_draws(50) == 20_000
    assert simulation_io.row_group_draws(1000) == 1000
    assert simulation_io.row_group_draws(3_000_000) == 1


def test_a_large_portfolio_has_fewer_draws_per_row_group(valuation, tmp_path, monkeypatch):
    """Row groups hold at most ROW_GROUP_ROWS rows, in whole draws: memory while writing is bounded
    whatever the number of complexes; the rows are those of the simulation, in order."""
    import numpy as np
    import pyarrow.parquet as pq

    monkeypatch.setattr(simulation_io, "ROW_GROUP_ROWS", 100)  # 19 complexes: 5 draws (95 rows) a group
    simulation = simulate_to(valuation, tmp_path / "out", draws=23, seed=7, chunk_size=1024, threads=1)
    file = pq.ParquetFile(tmp_path / "out" / "draws.parquet")
    assert [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)] == [95, 95, 95, 95, 57]
    frame = pd.read_parquet(tmp_path / "out" / "draws.parquet")
    assert (frame["draw"].to_numpy() == np.repeat(np.arange(23), 19)).all()
    assert (frame["present_value"].to_numpy() == simulation.present_value.ravel()).all()
    assert (frame["end_value"].to_numpy() == simulation.end_value.ravel()).all()


def test_draws_parquet_reads_back_as_the_simulations_frame_with_its_types(valuation, tmp_path):
    """The encoding (delta, no missing values declared, statistics for draw only) changes the file, not the frame
    pandas reads: draw int64, project categorical (the portfolio's order), end_year int16, the amounts float64."""
    import numpy as np

    simulation = simulate_to(valuation, tmp_path / "out", draws=130, seed=11, chunk_size=64, threads=1)
    frame = pd.read_parquet(tmp_path / "out" / "draws.parquet")
    assert frame.dtypes.astype(str).to_dict() == {
        "draw": "int64",
        "project": "category",
        "end_year": "int16",
        "end_value": "float64",
        "present_value": "float64",
    }
    assert frame["project"].cat.categories.tolist() == [str(p) for p in simulation.projects]
    expected = simulation.to_frame()
    assert frame["project"].astype(str).tolist() == expected["project"].tolist()
    for column in ("draw", "end_year", "end_value", "present_value"):
        assert frame[column].to_numpy().tobytes() == expected[column].to_numpy().astype(frame[column].dtype).tobytes()
    assert (frame["draw"].to_numpy() == np.repeat(np.arange(130), len(simulation.projects))).all()


def test_draws_parquet_is_encoded_as_measured(valuation, tmp_path):
    """benchmarks/README.md, "The encoding of draws.parquet": draw and end_year delta-encoded, project a
    dictionary, these snappy-compressed, the amounts plain and not compressed; min and max per row group for
    draw only (a reader can skip row groups by draw)."""
    import pyarrow.parquet as pq

    simulate_to(valuation, tmp_path / "out", draws=50, seed=11, chunk_size=64, threads=1)
    group = pq.ParquetFile(tmp_path / "out" / "draws.parquet").metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert "DELTA_BINARY_PACKED" in columns["draw"].encodings
    assert "DELTA_BINARY_PACKED" in columns["end_year"].encodings
    assert "RLE_DICTIONARY" in columns["project"].encodings
    for name in ("end_value", "present_value"):
        assert "RLE_DICTIONARY" not in columns[name].encodings and "PLAIN" in columns[name].encodings
    assert (columns["draw"].statistics.min, columns["draw"].statistics.max) == (0, 49)
    assert [name for name, column in columns.items() if column.is_stats_set] == ["draw"]
    assert [columns[name].compression for name in ("draw", "project", "end_year", "end_value", "present_value")] == [
        "SNAPPY",
        "SNAPPY",
        "SNAPPY",
        "UNCOMPRESSED",
        "UNCOMPRESSED",
    ]


def test_reserve_years_parquet_reads_back_as_the_revaluation_frame(tmp_path):
    """reserve_years.parquet in the encoding of draws.parquet: the same frame as before (draw int64, year int16,
    the amounts float64), the values of Simulation.revaluation_frame; statistics for draw only."""
    import pyarrow.parquet as pq

    from conftest import ROOT
    from grex.io.simulation import write_reserve_years

    scenario = read_scenario(ROOT / "scenarios" / "kredietcrisis-2008-jaarlijks.toml")
    simulation = simulate(scenario, read_portfolio(scenario.portfolio), draws=70, seed=5, threads=1)
    write_reserve_years(simulation, tmp_path / "reserve_years.parquet")
    frame = pd.read_parquet(tmp_path / "reserve_years.parquet")
    assert frame.dtypes.astype(str).to_dict() == {
        "draw": "int64",
        "year": "int16",
        "reserve": "float64",
        "provision": "float64",
        "estimate": "float64",
    }
    expected = simulation.revaluation_frame()
    for column in frame.columns:
        assert (frame[column].to_numpy() == expected[column].to_numpy()).all(), column
    group = pq.ParquetFile(tmp_path / "reserve_years.parquet").metadata.row_group(0)
    assert [group.column(i).path_in_schema for i in range(5) if group.column(i).is_stats_set] == ["draw"]


def _sorts_recorded(monkeypatch, pause: float = 0.0) -> list[str]:
    """The names of the threads that sort a reserve path in grex.io.simulation (pausing there ``pause`` s)."""
    import threading
    import time

    names: list[str] = []
    sort = simulation_io.percentiles_along_draws

    def spy(values, levels):
        names.append(threading.current_thread().name)
        time.sleep(pause)
        return sort(values, levels)

    monkeypatch.setattr(simulation_io, "percentiles_along_draws", spy)
    return names


def test_the_reserve_path_is_sorted_beside_the_rest_once_every_draw_is_valued(valuation, tmp_path, monkeypatch):
    """Issue 17: the reserve path's percentiles sorted in a thread of their own from the last on_draws call, while
    the last row groups are written and the result assembled; reserve_path.csv as sorted in this thread."""
    from grex.io.results import write_csv
    from grex.montecarlo.result import PATH_PERCENTILES, percentiles_along_draws

    names = _sorts_recorded(monkeypatch)
    simulation = simulate_to(valuation, tmp_path / "out", draws=DRAWS, seed=7, chunk_size=1024, threads=2)
    assert names == ["grex-reserve-path"]
    expected = simulation.reserve_path(percentiles_along_draws(simulation.reserve, PATH_PERCENTILES))
    write_csv(expected, tmp_path / "expected.csv")
    assert (tmp_path / "out" / "reserve_path.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()


def test_an_error_after_the_last_draws_waits_for_the_reserve_paths_sorts(valuation, tmp_path, monkeypatch):
    import threading

    import grex.montecarlo.execution as execution

    def broken(*args, **kwargs):
        raise RuntimeError("assembling failed")

    names = _sorts_recorded(monkeypatch, pause=0.3)
    monkeypatch.setattr(execution, "assemble", broken)
    with pytest.raises(RuntimeError, match="assembling failed"):
        simulate_to(valuation, tmp_path / "out", draws=DRAWS, seed=7, chunk_size=1024, threads=2)
    assert names == ["grex-reserve-path"]  # started: the draws were all valued
    assert not [t for t in threading.enumerate() if t.name == "grex-reserve-path"]  # and ended before the error
    assert list(tmp_path.iterdir()) == []
