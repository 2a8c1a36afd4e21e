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
