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
