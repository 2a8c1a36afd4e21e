"""Batches, grids, resuming, and the same batch on a Dask cluster on loopback (grex.batch)."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from grex.batch import expand_grid
from grex.cli import main
from grex.errors import InputError
from grex.io import read_portfolio, read_scenario
from grex.io.batch import MARKER, partition_dir, read_batch, read_marker, run_batch
from grex.montecarlo import simulate
from grex.valuation import value_portfolio

BATCH = ROOT / "scenarios" / "batch-2024"
FILES = sorted(str(p) for p in BATCH.glob("*.toml"))
#: Draws per scenario: two parts of 1024 draws each, so parts are split and joined.
DRAWS = 1500
CHUNK = 1024
GRID_NAMES = [
    f"disconto-tempo[discount_rate={r},market_pace.mode={m}]" for r in ("0.01", "0.02", "0.03") for m in ("0.8", "1.0")
]


def comparison(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "comparison.csv", comment="#", index_col="figure", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    return run_batch(FILES, out, draws=DRAWS, chunk_draws=CHUNK)


@pytest.mark.slow
def test_example_batch_runs_every_scenario(local):
    assert local.ok and not local.skipped
    names = list(local.comparison().columns[1:])
    assert names == [
        "base",
        *GRID_NAMES,
        "hoge-inflatie",
        "kredietcrisis",
        "rente-omhoog",
        "versnelde-uitgifte-assen-zuid",
    ]
    frame = comparison(local.out_dir)
    assert list(frame.columns) == names
    assert frame.loc["draws"].eq(str(DRAWS)).all() and frame.loc["illustrative"].eq("True").all()
    # the scenarios differ where they should
    pv = frame.loc["present_value"].astype(float)
    assert pv["rente-omhoog"] < pv["base"]
    assert pv["hoge-inflatie"] < pv["base"]
    assert pv["versnelde-uitgifte-assen-zuid"] == pv["base"]  # only the Monte Carlo changes
    assert frame.loc["present_value_p50", "versnelde-uitgifte-assen-zuid"] != frame.loc["present_value_p50", "base"]
    assert (
        frame.loc["required_capacity"].astype(float)["kredietcrisis"]
        > frame.loc["required_capacity"].astype(float)["base"]
    )
    assert (local.out_dir / "comparison.xlsx").is_file()
    draws = read_batch(local.out_dir, "draws")
    assert sorted(draws["scenario"].unique()) == sorted(names)
    assert len(draws) == len(names) * DRAWS * 19
    hive = pd.read_parquet(local.out_dir / "dataset" / "draws")  # the dataset as pyarrow reads it
    assert sorted(hive["scenario"].astype(str).unique()) == sorted(names)


@pytest.mark.slow
def test_comparison_matches_single_runs(local):
    frame = comparison(local.out_dir)
    for path, name in ((BATCH / "base.toml", "base"), (BATCH / "kredietcrisis.toml", "kredietcrisis")):
        scenario = read_scenario(path)
        portfolio = read_portfolio(scenario.portfolio)
        valuation = value_portfolio(scenario, portfolio)
        simulation = simulate(scenario, portfolio, draws=DRAWS, seed=scenario.montecarlo.seed)
        column = frame[name]
        totals = valuation.totals()["total"]
        assert float(column["present_value"]) == totals["present_value"]
        assert float(column["provision"]) == totals["provision"]
        assert float(column["poc_profit"]) == totals["poc_profit"]
        assert float(column["iflo_norm"]) == valuation.iflo_norm()
        for key, value in simulation.percentiles().items():
            assert float(column[f"present_value_{key}"]) == value
        assert float(column["required_capacity"]) == simulation.required_capacity
        assert float(column["ratio_risk"]) == simulation.ratio
        assert column["grade_risk"] == simulation.grade
        # the default policy (norm = max): the higher of the IFLO norm and the risk-based capacity
        assert column["norm"] == "max"
        required = max(valuation.iflo_norm(), simulation.required_capacity)
        assert float(column["required_capacity_policy"]) == required
        assert float(column["ratio"]) == scenario.reserves.resistance_reserve / required
        assert float(column["lowest_general_reserve"]) == simulation.reserve_path()["deterministic"].iloc[1:].min()
        draws = read_batch(local.out_dir, "draws")
        draws = draws[draws["scenario"] == name].drop(columns="scenario").reset_index(drop=True)
        expected = simulation.to_frame()
        assert np.array_equal(draws["present_value"].to_numpy(), expected["present_value"].to_numpy())


@pytest.mark.slow
def test_same_batch_twice_gives_identical_files(local, tmp_path):
    again = run_batch(FILES[:2], tmp_path, draws=DRAWS, chunk_draws=CHUNK)
    assert again.ok
    first = run_batch(FILES[:2], tmp_path / "other", draws=DRAWS, chunk_draws=CHUNK)
    for name in ("comparison.csv", "comparison.xlsx"):
        assert (tmp_path / name).read_bytes() == (tmp_path / "other" / name).read_bytes()
    assert first.rows == again.rows
    # a rerun skips everything and writes the same comparison
    rerun = run_batch(FILES[:2], tmp_path, draws=DRAWS, chunk_draws=CHUNK)
    assert rerun.ran == () and len(rerun.skipped) == 7
    assert (tmp_path / "comparison.csv").read_bytes() == (tmp_path / "other" / "comparison.csv").read_bytes()
    assert (tmp_path / "comparison.xlsx").read_bytes() == (tmp_path / "other" / "comparison.xlsx").read_bytes()


def test_interrupted_batch_resumes(tmp_path, monkeypatch):
    import grex.io.batch as io_batch

    files = [str(BATCH / "base.toml"), str(BATCH / "rente-omhoog.toml"), str(BATCH / "hoge-inflatie.toml")]
    replace = io_batch._replace_partition

    def interrupted(target, frame):
        # killed while writing the second scenario: after its first table, in the middle of its draws
        if "rente-omhoog" in str(target) and target.parent.name == "draws":
            (target.parent / f".{target.name}.partial.tmp").mkdir()
            raise KeyboardInterrupt
        replace(target, frame)

    monkeypatch.setattr(io_batch, "_replace_partition", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch(files, tmp_path, draws=300)
    assert read_marker(tmp_path, "base") is not None
    assert read_marker(tmp_path, "rente-omhoog") is None
    assert not partition_dir(tmp_path, "draws", "rente-omhoog").exists()
    assert sorted(read_batch(tmp_path, "draws")["scenario"].unique()) == ["base"]
    # the dataset as pyarrow reads it holds no half-written partition
    assert set(pd.read_parquet(tmp_path / "dataset" / "draws")["scenario"].astype(str)) == {"base"}

    monkeypatch.setattr(io_batch, "_replace_partition", replace)
    done = []
    result = run_batch(files, tmp_path, draws=300, on_scenario=lambda name, status: done.append((name, status)))
    assert result.ok
    assert result.skipped == ("base",) and result.ran == ("rente-omhoog", "hoge-inflatie")
    assert done[0] == ("base", "skipped")
    reference = run_batch(files, tmp_path / "fresh", draws=300)
    assert (tmp_path / "comparison.csv").read_bytes() == (tmp_path / "fresh" / "comparison.csv").read_bytes()
    assert reference.rows == result.rows
    # other inputs: run again, not skipped
    changed = run_batch(files[:1], tmp_path, draws=300, seed=7)
    assert changed.ran == ("base",)
    marker = json.loads((partition_dir(tmp_path, "draws", "base") / MARKER).read_text())
    assert marker["key"]["seed"] == 7 and marker["key"]["draws"] == 300


def test_failing_scenario_is_reported_and_the_others_run(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{(BATCH / "base.toml").as_posix()}"\nname = "bad"\n[parameters]\ndiscount_rate = 2\n')
    unknown = tmp_path / "unknown-complex.toml"
    unknown.write_text(
        f'extends = "{(BATCH / "base.toml").as_posix()}"\nname = "unknown"\n'
        "[[risks]]\nproject = 'nowhere'\nname = 'x'\nprobability = 0.5\nimpact = 1000\nyear = 2025\ntype = 'cost'\n"
    )
    files = [str(bad), str(BATCH / "base.toml"), str(unknown)]
    result = run_batch(files, tmp_path / "out", draws=200)
    assert result.ran == ("base",)
    assert [f.source for f in result.failures] == [str(bad), str(unknown)]
    assert "discount_rate" in result.failures[0].reason and "percentage" in result.failures[0].reason
    assert "nowhere" in result.failures[1].reason
    assert list(comparison(tmp_path / "out").columns) == ["base"]
    status = main(["batch", *files, "--draws", "200", "--out", str(tmp_path / "cli")])
    captured = capsys.readouterr()
    assert status == 1
    assert f"{bad}" in captured.err and "discount_rate" in captured.err
    assert "base: done" in captured.out


def test_grid_expansion_and_names():
    data = {
        "name": "g",
        "portfolio": "p",
        "valuation_year": 2024,
        "montecarlo": {"market_pace": {"low": 0.6, "mode": 1.0, "high": 1.2}},
        "grid": {"parameters.discount_rate": [0.01, 0.03], "montecarlo": {"market_pace": {"mode": [0.8, 1.0]}}},
    }
    tables = expand_grid(data)
    assert [t["name"] for t in tables] == [
        "g[discount_rate=0.01,market_pace.mode=0.8]",
        "g[discount_rate=0.01,market_pace.mode=1.0]",
        "g[discount_rate=0.03,market_pace.mode=0.8]",
        "g[discount_rate=0.03,market_pace.mode=1.0]",
    ]
    assert tables[2]["parameters"]["discount_rate"] == 0.03
    assert tables[2]["montecarlo"]["market_pace"] == {"low": 0.6, "mode": 0.8, "high": 1.2}
    assert all("grid" not in t for t in tables)
    assert data["montecarlo"]["market_pace"]["mode"] == 1.0  # the base is left alone
    # a driver table the file does not write starts from its defaults
    tables = expand_grid({**data, "montecarlo": {}, "grid": {"montecarlo.delay.high": [3.0]}})
    assert tables[0]["montecarlo"]["delay"] == {"low": 0.0, "mode": 0.0, "high": 3.0}
    assert expand_grid({"name": "x"}) == [{"name": "x"}]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"parameters.discount_rat": [0.01]}, "key grid.parameters.discount_rat"),
        ({"parameters.discount_rate": [2]}, "percentage"),
        ({"name": ["a"]}, "must name a value in one of the tables"),
        ({"parameters.discount_rate": 0.01}, "non-empty list"),
        ({"montecarlo.market_pace.mode": [5.0]}, "key grid.montecarlo.market_pace.mode"),
    ],
)
def test_grid_errors_name_the_key(grid, message):
    data = {"name": "g", "portfolio": "p", "valuation_year": 2024, "grid": grid}
    with pytest.raises(InputError, match=message.replace(".", r"\.")) as error:
        expand_grid(data, "g.toml")
    assert error.value.source == "g.toml"
    assert error.value.location.startswith("key grid")


def test_run_on_a_grid_file_runs_the_base_and_says_so(tmp_path, capsys):
    assert main(["run", str(BATCH / "grid-disconto-tempo.toml"), "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "holds a grid of 6 scenarios" in err and "grex batch" in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["scenario"] == "disconto-tempo"


@pytest.mark.slow
def test_local_pool_gives_identical_results(local, tmp_path):
    files = [str(BATCH / "base.toml"), str(BATCH / "kredietcrisis.toml")]
    pooled = run_batch(files, tmp_path, draws=DRAWS, chunk_draws=CHUNK, workers=2, auto=False)
    assert pooled.ok
    by_name = {row["scenario"]: row for row in local.rows}
    for row in pooled.rows:
        assert row == by_name[row["scenario"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_unreachable_scheduler_is_a_quick_clear_error(tmp_path):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(InputError, match="cannot reach the Dask scheduler") as error:
        run_batch(FILES[:1], tmp_path, draws=100, scheduler=address, scheduler_timeout=2)
    assert address in str(error.value)
    assert not (tmp_path / "comparison.csv").exists()


@pytest.mark.slow
def test_batch_on_a_dask_cluster_is_identical(local, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        result = run_batch(FILES, tmp_path, draws=DRAWS, chunk_draws=CHUNK, scheduler=cluster.scheduler_address)
    assert result.ok and len(result.ran) == 11
    assert result.rows == local.rows
    for name in ("comparison.csv", "comparison.xlsx"):
        assert (tmp_path / name).read_bytes() == (local.out_dir / name).read_bytes()
    for table in ("draws", "complexes", "reserve_path"):
        pd.testing.assert_frame_equal(read_batch(tmp_path, table), read_batch(local.out_dir, table))
    assert not any(math.isnan(v) for row in result.rows for v in row.values() if isinstance(v, float))
