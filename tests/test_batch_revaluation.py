"""The yearly revaluation (issue 16) in batch datasets: ``provision_path``, ``reserve_years``, the reserve path
under the scenario's rule and the comparison's rows (grex.io.batch, grex.batch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from grex.batch import REVALUATION_FIGURES, first_year_below_zero_p50
from grex.cli import main
from grex.io import read_portfolio, read_scenario
from grex.io.batch import MARKER, REVALUATION_TABLES, TABLES, partition_dir, read_batch, read_marker, run_batch
from grex.io.results import write_csv
from grex.montecarlo import simulate

PERFECT = ROOT / "scenarios" / "batch-2024" / "kredietcrisis.toml"  # foresight "perfect" (the default)
ADAPTIVE = ROOT / "scenarios" / "kredietcrisis-2008-jaarlijks.toml"  # foresight "adaptive"
FILES = [str(PERFECT), str(ADAPTIVE)]
#: Two parts of 1024 draws: the revaluation's arrays are split and joined as the draws are.
DRAWS = 1500
CHUNK = 1024


def _scenario_rows(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[frame["scenario"] == name].drop(columns="scenario").reset_index(drop=True)


def _csv_bytes(frame: pd.DataFrame, tmp_path: Path) -> bytes:
    """``frame`` written as ``grex simulate`` writes its CSV files."""
    path = tmp_path / "written.csv"
    write_csv(frame, path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    return run_batch(FILES, out, draws=DRAWS, chunk_draws=CHUNK)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """``grex simulate`` of the adaptive scenario with the batch's draws and seed: its files and its result."""
    out = tmp_path_factory.mktemp("simulate")
    scenario = read_scenario(ADAPTIVE)
    seed = scenario.montecarlo.seed
    assert main(["simulate", str(ADAPTIVE), "--draws", str(DRAWS), "--seed", str(seed), "--out", str(out)]) == 0
    simulation = simulate(scenario, read_portfolio(scenario.portfolio), draws=DRAWS, seed=seed)
    return out, simulation


def test_adaptive_partitions_equal_what_grex_simulate_writes(batch, single, tmp_path):
    out, simulation = single
    name = "kredietcrisis-2008-jaarlijks"
    assert batch.ok and batch.ran == ("kredietcrisis", name)
    # draw-level yearly figures: reserve_years.parquet, value by value
    years = _scenario_rows(read_batch(batch.out_dir, "reserve_years"), name)
    expected = pd.read_parquet(out / "reserve_years.parquet")
    assert list(years.columns) == ["draw", "year", "reserve", "provision", "estimate"]
    assert len(years) == DRAWS * 10
    for column in expected.columns:
        assert np.array_equal(years[column].to_numpy(), expected[column].to_numpy()), column
    # per year: provision_path at full precision, and as provision_path.csv to the byte
    provision = _scenario_rows(read_batch(batch.out_dir, "provision_path"), name)
    pd.testing.assert_frame_equal(provision, simulation.provision_path(), check_exact=True)
    assert _csv_bytes(provision, tmp_path) == (out / "provision_path.csv").read_bytes()
    # the reserve path is the rule's (not the perfect-foresight reading kept beside it)
    path = _scenario_rows(read_batch(batch.out_dir, "reserve_path"), name)
    pd.testing.assert_frame_equal(path, simulation.reserve_path(), check_exact=True)
    assert _csv_bytes(path, tmp_path) == (out / "reserve_path.csv").read_bytes()
    assert np.array_equal(path["p50"].to_numpy(), np.percentile(simulation.reserve, 50, axis=0))
    assert not np.array_equal(path["p50"].to_numpy(), np.percentile(simulation.alternative_reserve, 50, axis=0))
    draws = _scenario_rows(read_batch(batch.out_dir, "draws"), name)
    assert np.array_equal(draws["present_value"].to_numpy(), pd.read_parquet(out / "draws.parquet")["present_value"])


def test_perfect_scenario_has_no_revaluation_partitions(batch):
    out = batch.out_dir
    for table in REVALUATION_TABLES:
        assert not partition_dir(out, table, "kredietcrisis").exists()
        assert partition_dir(out, table, "kredietcrisis-2008-jaarlijks").is_dir()
        assert read_batch(out, table)["scenario"].unique().tolist() == ["kredietcrisis-2008-jaarlijks"]
        # the dataset as pyarrow reads it too
        assert set(pd.read_parquet(out / "dataset" / table)["scenario"].astype(str)) == {"kredietcrisis-2008-jaarlijks"}
    assert read_marker(out, "kredietcrisis")["tables"] == list(TABLES)
    assert "yearly_revaluation" not in read_marker(out, "kredietcrisis")["key"]
    marker = read_marker(out, "kredietcrisis-2008-jaarlijks")
    assert marker["tables"] == [*TABLES, *REVALUATION_TABLES] and marker["key"]["yearly_revaluation"] is True


def test_comparison_rows_of_the_yearly_revaluation(batch, single):
    out, simulation = single
    frame = pd.read_csv(batch.out_dir / "comparison.csv", index_col="figure", dtype=str, keep_default_na=False)
    assert list(frame.index[-len(REVALUATION_FIGURES) :]) == list(REVALUATION_FIGURES)
    adaptive = frame["kredietcrisis-2008-jaarlijks"]
    summary = json.loads((out / "summary.json").read_text())
    assert adaptive["foresight"] == "adaptive" and frame.loc["foresight", "kredietcrisis"] == "perfect"
    assert float(adaptive["probability_reserve_below_zero"]) == summary["probability_reserve_below_zero"]
    # the median first year below zero, over the draws whose reserve gets there, from the draw-level file
    years = pd.read_parquet(out / "reserve_years.parquet")
    first = years[years["reserve"] < 0].groupby("draw")["year"].min().sort_values().to_numpy()
    assert len(first) == round(summary["probability_reserve_below_zero"] * DRAWS) > 0
    assert int(adaptive["first_year_reserve_below_zero_p50"]) == first[(len(first) + 1) // 2 - 1]
    # the same from summary.json's shares: the first year whose cumulative share reaches half of those below zero
    shares = summary["first_year_reserve_below_zero"]
    hit = 1 - shares["never"]
    cumulative = np.cumsum([shares[str(y)] for y in range(2024, 2034)])
    assert int(adaptive["first_year_reserve_below_zero_p50"]) == 2024 + int(np.argmax(cumulative >= hit / 2 - 1e-12))
    # the perfect reading recognises the losses earlier
    assert int(frame.loc["first_year_reserve_below_zero_p50", "kredietcrisis"]) < int(
        adaptive["first_year_reserve_below_zero_p50"]
    )


def test_first_year_below_zero_p50_by_hand():
    # reserves at 1-1 and at the end of 2024 ... 2027; first below zero: 2026, never, 2024, 2027, 2025, 2026
    reserve = np.array(
        [
            [10.0, 5.0, 1.0, -1.0, -2.0],
            [10.0, 9.0, 8.0, 7.0, 6.0],
            [10.0, -1.0, 2.0, -3.0, 4.0],
            [10.0, 0.0, 0.0, 0.0, -0.01],  # zero is not below zero
            [10.0, 1.0, -5.0, 1.0, 1.0],
            [10.0, 4.0, 3.0, -2.0, 5.0],
        ]
    )
    # five draws get there: 2024, 2025, 2026, 2026, 2027, the third is the median
    assert first_year_below_zero_p50(reserve, 2024) == 2026
    # four: 2024, 2025, 2026, 2027: the lower middle year
    assert first_year_below_zero_p50(reserve[[1, 2, 3, 4, 5]], 2024) == 2025
    assert first_year_below_zero_p50(reserve[[1]], 2024) is None


def test_interrupted_batch_resumes_with_the_revaluation_partitions(batch, tmp_path, monkeypatch):
    import grex.io.batch as io_batch

    replace = io_batch._replace_partition

    def interrupted(target, frame):
        # killed while writing the adaptive scenario's draws, after its revaluation tables were written
        if "jaarlijks" in str(target) and target.parent.name == "draws":
            raise KeyboardInterrupt
        replace(target, frame)

    monkeypatch.setattr(io_batch, "_replace_partition", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch(FILES, tmp_path, draws=DRAWS, chunk_draws=CHUNK)
    assert read_marker(tmp_path, "kredietcrisis") is not None
    assert read_marker(tmp_path, "kredietcrisis-2008-jaarlijks") is None
    assert partition_dir(tmp_path, "reserve_years", "kredietcrisis-2008-jaarlijks").is_dir()  # written, not complete
    assert read_batch(tmp_path, "reserve_years").empty  # incomplete scenarios are not read
    monkeypatch.setattr(io_batch, "_replace_partition", replace)
    resumed = run_batch(FILES, tmp_path, draws=DRAWS, chunk_draws=CHUNK)
    assert resumed.skipped == ("kredietcrisis",) and resumed.ran == ("kredietcrisis-2008-jaarlijks",)
    again = run_batch(FILES, tmp_path, draws=DRAWS, chunk_draws=CHUNK)
    assert again.ran == () and again.skipped == ("kredietcrisis", "kredietcrisis-2008-jaarlijks")
    for table in (*TABLES, *REVALUATION_TABLES):
        pd.testing.assert_frame_equal(read_batch(tmp_path, table), read_batch(batch.out_dir, table), check_exact=True)
    assert (tmp_path / "comparison.csv").read_bytes() == (batch.out_dir / "comparison.csv").read_bytes()
    assert (tmp_path / "comparison.xlsx").read_bytes() == (batch.out_dir / "comparison.xlsx").read_bytes()
    # a marker of a grex whose batches had no revaluation tables (its key without yearly_revaluation): run again
    marker_path = partition_dir(tmp_path, "draws", "kredietcrisis-2008-jaarlijks") / MARKER
    marker = json.loads(marker_path.read_text())
    del marker["key"]["yearly_revaluation"]
    marker["tables"] = list(TABLES)
    marker_path.write_text(json.dumps(marker))
    old = run_batch(FILES, tmp_path, draws=DRAWS, chunk_draws=CHUNK)
    assert old.ran == ("kredietcrisis-2008-jaarlijks",)
    assert read_marker(tmp_path, "kredietcrisis-2008-jaarlijks")["tables"] == [*TABLES, *REVALUATION_TABLES]


def test_scenario_rewritten_with_perfect_foresight_leaves_no_revaluation_partition(tmp_path):
    scenario = tmp_path / "wissel.toml"
    adaptive = f'extends = "{ADAPTIVE.as_posix()}"\nname = "wissel"\n'
    scenario.write_text(adaptive)
    assert run_batch([str(scenario)], tmp_path / "out", draws=300).ok
    assert partition_dir(tmp_path / "out", "provision_path", "wissel").is_dir()
    scenario.write_text(adaptive + '[montecarlo]\nforesight = "perfect"\n')
    assert run_batch([str(scenario)], tmp_path / "out", draws=300).ran == ("wissel",)
    for table in REVALUATION_TABLES:
        assert not partition_dir(tmp_path / "out", table, "wissel").exists()
        assert read_batch(tmp_path / "out", table).empty
    # a batch without a yearly revaluation: the comparison has no revaluation rows
    frame = pd.read_csv(tmp_path / "out" / "comparison.csv", index_col="figure")
    assert not set(REVALUATION_FIGURES) & set(frame.index)


def test_grid_over_foresight(tmp_path):
    grid = tmp_path / "vooruitzicht.toml"
    grid.write_text(
        f'extends = "{ADAPTIVE.as_posix()}"\nname = "vooruitzicht"\n'
        '[grid]\n"montecarlo.foresight" = ["perfect", "plan", "adaptive"]\n'
    )
    result = run_batch([str(grid)], tmp_path / "out", draws=300)
    names = [f"vooruitzicht[foresight={rule}]" for rule in ("perfect", "plan", "adaptive")]
    assert result.ok and result.ran == tuple(names)
    frame = pd.read_csv(tmp_path / "out" / "comparison.csv", index_col="figure", dtype=str, keep_default_na=False)
    assert frame.loc["foresight"].tolist() == ["perfect", "plan", "adaptive"]
    assert sorted(read_batch(tmp_path / "out", "provision_path")["scenario"].unique()) == sorted(names[1:])
    # the same draws read by each rule: the present values agree, the reserve paths do not
    draws = read_batch(tmp_path / "out", "draws")
    values = [_scenario_rows(draws, n)["present_value"].to_numpy() for n in names]
    assert np.array_equal(values[0], values[1]) and np.array_equal(values[0], values[2])
    paths = read_batch(tmp_path / "out", "reserve_path")
    p5 = [_scenario_rows(paths, n)["p5"].to_numpy() for n in names]
    assert not np.array_equal(p5[0], p5[1]) and not np.array_equal(p5[1], p5[2])


@pytest.mark.slow
def test_local_pool_writes_the_same_revaluation_tables(batch, tmp_path):
    pooled = run_batch(FILES, tmp_path, draws=DRAWS, chunk_draws=CHUNK, workers=2, auto=False)
    assert pooled.ok and pooled.rows == batch.rows
    for table in (*TABLES, *REVALUATION_TABLES):
        pd.testing.assert_frame_equal(read_batch(tmp_path, table), read_batch(batch.out_dir, table), check_exact=True)
