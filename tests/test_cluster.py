"""Clusters grex starts from Dask's configuration, workers writing to a real S3 server on loopback, the
environment check (grex.io.cluster, grex.io.storage)."""

from __future__ import annotations

import io
import logging
import socket
import sys
import types

import pandas as pd
import pytest

from conftest import ROOT
from grex.cli import main
from grex.errors import InputError
from grex.io.batch import MARKER, read_batch, read_marker, run_batch
from grex.io.cluster import cluster_settings, environment, make_cluster
from grex.io.storage import location

distributed = pytest.importorskip("distributed")
dask_config = pytest.importorskip("dask.config")

BATCH = ROOT / "scenarios" / "batch-2024"
FILES = [str(BATCH / n) for n in ("base.toml", "kredietcrisis.toml", "rente-omhoog.toml")]
DRAWS = 1500
CHUNK = 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A real S3-compatible server (moto's server mode) on loopback; the workers find it through the environment."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir("grex-batches")
    yield fs
    patch.undo()
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


@pytest.fixture(scope="module")
def cluster(s3):
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as running:
        yield running


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return run_batch(FILES, tmp_path_factory.mktemp("local"), draws=DRAWS, chunk_draws=CHUNK)


# -- clusters from the configuration ------------------------------------------------


def test_cluster_settings_from_the_dask_configuration(tmp_path):
    (tmp_path / "grex.yaml").write_text(
        "grex:\n  clusters:\n    hpc:\n      kind: slurm\n      workers: 20\n      cores: 1\n      queue: thin\n"
    )
    with dask_config.set(dask_config.collect(paths=[str(tmp_path)], env={})):
        assert cluster_settings("hpc") == ("slurm", {"cores": 1, "queue": "thin"}, 20)
        assert cluster_settings("local") == ("local", {}, None)  # a kind needs no entry
        with pytest.raises(InputError, match="unknown cluster 'nowhere': name one of hpc, kubernetes, local, pbs"):
            cluster_settings("nowhere")
    with dask_config.set({"grex.clusters": {"odd": {"kind": "yarn"}}}), pytest.raises(InputError, match="yarn"):
        cluster_settings("odd")
    with (
        dask_config.set({"grex.clusters": {"z": {"kind": "local", "workers": 0}}}),
        pytest.raises(InputError, match="workers"),
    ):
        cluster_settings("z")


def _fake(monkeypatch, module: str, name: str) -> list:
    calls: list = []

    class Fake:
        def __init__(self, **kwargs):
            calls.append(("init", kwargs))

        def scale(self, n):
            calls.append(("scale", n))

    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        monkeypatch.setitem(sys.modules, ".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    setattr(sys.modules[module], name, Fake)
    return calls


@pytest.mark.parametrize(
    ("kind", "module", "name"),
    [
        ("slurm", "dask_jobqueue", "SLURMCluster"),
        ("pbs", "dask_jobqueue", "PBSCluster"),
        ("kubernetes", "dask_kubernetes.operator", "KubeCluster"),
    ],
)
def test_configuration_becomes_the_constructor_call(monkeypatch, kind, module, name):
    calls = _fake(monkeypatch, module, name)
    entry = {"kind": kind, "workers": 12, "cores": 2, "memory": "4GiB"}
    with dask_config.set({"grex.clusters": {"big": entry}}):
        make_cluster("big")
    assert calls == [("init", {"cores": 2, "memory": "4GiB"}), ("scale", 12)]


def test_missing_extra_and_unknown_name_are_one_line_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # not installed
    out = tmp_path / "out"
    assert main(["batch", FILES[0], "--cluster", "slurm", "--draws", "100", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "grex: error: --cluster: cluster 'slurm' (slurm) needs dask_jobqueue: pip install 'grex[jobqueue]'"
    assert main(["batch", FILES[0], "--cluster", "nowhere", "--draws", "100", "--out", str(out)]) == 2
    assert "unknown cluster 'nowhere'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_named_local_cluster_runs_the_batch_identically(local, tmp_path, caplog):
    with dask_config.set({"grex.clusters": {"pair": {"kind": "local", "workers": 2, "dashboard_address": None}}}):
        with caplog.at_level(logging.INFO, logger="grex"):
            result = run_batch(FILES, tmp_path, draws=DRAWS, chunk_draws=CHUNK, cluster="pair")
    assert result.ok and result.rows == local.rows
    for name in ("comparison.csv", "comparison.xlsx"):
        assert (tmp_path / name).read_bytes() == (local.out_dir / name).read_bytes()
    lines = [r.getMessage() for r in caplog.records if "done on worker tcp://127.0.0.1:" in r.getMessage()]
    # one line per scenario naming its worker, in the order the scenarios finished (any order on a cluster)
    done = sorted(line.split(":", 1)[0].removeprefix("scenario ") for line in lines)
    assert len(lines) == 3 and done == sorted(result.ran), lines


# -- workers writing to S3 -------------------------------------------------------------


@pytest.mark.slow
def test_workers_write_to_s3_and_resume_by_marker(local, cluster, s3, tmp_path):
    url = "s3://grex-batches/run-1"
    result = run_batch(FILES, url, draws=DRAWS, chunk_draws=CHUNK, scheduler=cluster.scheduler_address)
    assert result.ok and result.rows == local.rows
    assert s3.cat_file("grex-batches/run-1/comparison.csv") == (local.out_dir / "comparison.csv").read_bytes()
    assert s3.cat_file("grex-batches/run-1/comparison.xlsx") == (local.out_dir / "comparison.xlsx").read_bytes()
    place = location(url)
    for table in ("draws", "complexes", "reserve_path"):
        pd.testing.assert_frame_equal(read_batch(place, table), read_batch(local.out_dir, table))
    assert read_marker(place, "base") == read_marker(local.out_dir, "base")
    assert not [k for k in s3.find("grex-batches/run-1") if ".grex-tmp-" in k]  # no temporary key left
    # a scenario without its marker is run again; the others are skipped
    s3.rm(f"grex-batches/run-1/dataset/draws/scenario=kredietcrisis/{MARKER}")
    again = run_batch(FILES, url, draws=DRAWS, chunk_draws=CHUNK, scheduler=cluster.scheduler_address)
    assert again.ran == ("kredietcrisis",) and again.skipped == ("base", "rente-omhoog")
    assert s3.cat_file("grex-batches/run-1/comparison.csv") == (local.out_dir / "comparison.csv").read_bytes()


def test_unreachable_bucket_is_exit_2_and_nothing_written(s3, tmp_path, capsys):
    status = main(["batch", FILES[0], "--draws", "100", "--out", "s3://no-such-bucket/x"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("grex: error")]
    assert status == 2 and len(err) == 1 and "no-such-bucket" in err[0]
    assert "no-such-bucket" not in s3.ls("")


# -- the environment check ---------------------------------------------------------------


def _other_grex() -> None:
    import grex

    grex.__version__ = "0.0-other"


@pytest.mark.slow
def test_worker_with_another_grex_is_refused(tmp_path, caplog):
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as running,
        distributed.Client(running) as client,
    ):
        client.run(_other_grex)  # on the worker only: this process keeps its grex
        worker = next(iter(client.scheduler_info()["workers"]))
        with pytest.raises(InputError, match=f"worker {worker} runs grex 0.0-other, this machine grex"):
            run_batch(FILES[:1], tmp_path / "refused", draws=100, scheduler=client)
        assert not (tmp_path / "refused").exists()
        with caplog.at_level(logging.WARNING, logger="grex"):
            result = run_batch(FILES[:1], tmp_path / "allowed", draws=100, scheduler=client, allow_mismatch=True)
        assert result.ok
        assert any("not promised bit-identical" in r.getMessage() for r in caplog.records)


def test_environment_names_every_package():
    env = environment()
    assert set(env) == {"grex", "python", "numpy", "numba", "libc"} and all(env.values())


def test_dashboard_link_is_logged_where_there_is_one(caplog):
    class Client:
        dashboard_link = "http://127.0.0.1:8787/status"

        def __init__(self, services):
            self.services = services

        def scheduler_info(self):
            return {"services": self.services}

    with caplog.at_level(logging.INFO, logger="grex"):
        from grex.io.cluster import announce_dashboard

        assert announce_dashboard(Client({"dashboard": 8787})) == "http://127.0.0.1:8787/status"
        assert announce_dashboard(Client({})) is None
    assert [r.getMessage() for r in caplog.records] == [
        "Dask dashboard (progress of every worker): http://127.0.0.1:8787/status"
    ]


# -- retries ----------------------------------------------------------------------------


def _flaky(name: str) -> None:
    """On a worker: the first part of scenario ``name`` this worker runs fails, later ones run."""
    import grex.batch

    original = getattr(grex.batch, "_grex_original_simulate_range", grex.batch.simulate_range)
    grex.batch._grex_original_simulate_range = original
    state = {"failed": False}

    def flaky(scenario, *args, **kwargs):
        if scenario.name == name and not state["failed"]:
            state["failed"] = True
            raise RuntimeError("worker lost its disk")
        return original(scenario, *args, **kwargs)

    grex.batch.simulate_range = flaky


def _steady() -> None:
    import grex.batch

    grex.batch.simulate_range = getattr(grex.batch, "_grex_original_simulate_range", grex.batch.simulate_range)


@pytest.mark.slow
def test_failed_tasks_are_retried_and_a_scenario_that_still_fails_is_reported(local, cluster, tmp_path):
    with distributed.Client(cluster) as client:
        try:
            client.run(_flaky, "kredietcrisis")
            result = run_batch(FILES, tmp_path / "retried", draws=DRAWS, chunk_draws=CHUNK, scheduler=client)
            assert result.ok and result.rows == local.rows  # the retried parts drew the same numbers
            client.run(_flaky, "kredietcrisis")
            failed = run_batch(FILES, tmp_path / "failed", draws=DRAWS, chunk_draws=CHUNK, scheduler=client, retries=0)
        finally:
            client.run(_steady)
    assert [f.scenario for f in failed.failures] == ["kredietcrisis"]
    assert "worker lost its disk" in failed.failures[0].reason
    assert failed.ran == ("base", "rente-omhoog")
    assert read_marker(tmp_path / "failed", "kredietcrisis") is None


# -- scale: many scenarios, a killed worker, an interrupted client ---------------------


class _Interrupted(Exception):
    pass


@pytest.mark.slow
def test_many_scenarios_on_s3_survive_a_killed_worker_and_resume(cluster, s3, tmp_path):
    """120 grid scenarios on 2 workers writing to S3: a worker killed midway (Dask runs its tasks again), the
    client interrupted later (a rerun resumes by marker); the comparison is that of an uninterrupted run here."""
    import os
    import signal

    grid = tmp_path / "grid.toml"
    rates = ", ".join(f"{0.010 + 0.002 * i:.3f}" for i in range(10))
    paces = ", ".join(f"{0.80 + 0.02 * i:.2f}" for i in range(12))
    grid.write_text(
        f'extends = "{(BATCH / "base.toml").as_posix()}"\nname = "schaal"\nillustrative = true\n[grid]\n'
        f'"parameters.discount_rate" = [{rates}]\n"montecarlo.market_pace.mode" = [{paces}]\n'
    )
    url = "s3://grex-batches/scale"
    reference = run_batch([str(grid)], tmp_path / "here", draws=200)
    assert reference.ok and len(reference.ran) == 120
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        done = []

        def after(name, status):
            done.append(name)
            if len(done) == 20:
                os.kill(pids[victim], signal.SIGKILL)  # the nanny starts a new worker
            if len(done) == 80:
                raise _Interrupted

        with pytest.raises(_Interrupted):
            run_batch([str(grid)], url, draws=200, scheduler=client, on_scenario=after)
        client.wait_for_workers(2)
        resumed = run_batch([str(grid)], url, draws=200, scheduler=client)
    assert resumed.ok
    assert len(resumed.skipped) >= 80 and len(resumed.skipped) + len(resumed.ran) == 120
    assert resumed.rows == reference.rows
    for name in ("comparison.csv", "comparison.xlsx"):
        assert s3.cat_file(f"grex-batches/scale/{name}") == (tmp_path / "here" / name).read_bytes()


def test_file_url_is_written_as_a_local_folder_is(tmp_path):
    url = (tmp_path / "url").as_uri()
    assert url.startswith("file:///")
    by_url = run_batch(FILES[:1], url, draws=200)
    plain = run_batch(FILES[:1], tmp_path / "plain", draws=200)
    assert by_url.rows == plain.rows and str(by_url.out_dir) == url
    for name in ("comparison.csv", "comparison.xlsx"):
        assert (tmp_path / "url" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    assert read_marker(location(url), "base") == read_marker(tmp_path / "plain", "base")
    pd.testing.assert_frame_equal(read_batch(location(url), "complexes"), read_batch(tmp_path / "plain", "complexes"))
    assert not list((tmp_path / "url").rglob(".grex-tmp-*"))
    again = run_batch(FILES[:1], url, draws=200)  # resumed by its marker
    assert again.skipped == ("base",) and again.ran == ()


@pytest.mark.slow
def test_a_folder_the_workers_do_not_see_is_refused(cluster, tmp_path, monkeypatch):
    from grex.io import cluster as cluster_module

    with distributed.Client(cluster) as client:
        cluster_module.check_shared_folder(client, tmp_path / "shared")  # the same machine: seen
        assert not (tmp_path / "shared").exists()  # the probe and the folder it made are gone
        client.run(_blind)
        try:
            with pytest.raises(InputError, match=r"worker tcp://127\.0\.0\.1:\d+ does not see the output folder"):
                run_batch(FILES[:1], tmp_path / "out", draws=100, scheduler=client)
        finally:
            client.run(_sighted)
    assert not (tmp_path / "out").exists()


def _blind() -> None:
    """On a worker: see no file (a worker on another machine, without the client's disk)."""
    import grex.io.cluster

    grex.io.cluster._grex_sees = grex.io.cluster._sees
    grex.io.cluster._sees = lambda path: False


def _sighted() -> None:
    import grex.io.cluster

    grex.io.cluster._sees = getattr(grex.io.cluster, "_grex_sees", grex.io.cluster._sees)


@pytest.mark.slow
def test_cli_starts_a_local_cluster_and_writes_to_s3(s3, local, capsys):
    status = main(["batch", *FILES[:2], "--cluster", "local", "--draws", str(DRAWS), "--out", "s3://grex-batches/cli"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "base: done" in captured.out and "written to s3://grex-batches/cli/" in captured.out
    assert "grex: scenario kredietcrisis: done on worker tcp://127.0.0.1:" in captured.err
    written = pd.read_csv(io.BytesIO(s3.cat_file("grex-batches/cli/comparison.csv")), index_col="figure", dtype=str)
    expected = pd.read_csv(local.out_dir / "comparison.csv", index_col="figure", dtype=str)
    pd.testing.assert_frame_equal(written, expected[["base", "kredietcrisis"]])


# -- the yearly revaluation's tables, written by the workers ---------------------------------


@pytest.mark.slow
def test_workers_write_the_yearly_revaluation_to_s3(cluster, s3, tmp_path):
    """A perfect and an adaptive scenario on the cluster, to S3: the five tables as a run here writes them, the
    revaluation tables for the adaptive scenario only; resumed by marker; removed when the rule becomes perfect."""
    from grex.io.batch import REVALUATION_TABLES, TABLES

    adaptive = tmp_path / "jaarlijks.toml"
    text = f'extends = "{(ROOT / "scenarios" / "kredietcrisis-2008-jaarlijks.toml").as_posix()}"\nname = "jaarlijks"\n'
    adaptive.write_text(text)
    files = [FILES[1], str(adaptive)]
    here = run_batch(files, tmp_path / "here", draws=DRAWS, chunk_draws=CHUNK)
    url = "s3://grex-batches/reval"
    result = run_batch(files, url, draws=DRAWS, chunk_draws=CHUNK, scheduler=cluster.scheduler_address)
    assert result.ok and result.rows == here.rows
    for name in ("comparison.csv", "comparison.xlsx"):
        assert s3.cat_file(f"grex-batches/reval/{name}") == (tmp_path / "here" / name).read_bytes()
    place = location(url)
    for table in (*TABLES, *REVALUATION_TABLES):
        pd.testing.assert_frame_equal(read_batch(place, table), read_batch(tmp_path / "here", table), check_exact=True)
    for table in REVALUATION_TABLES:
        assert read_batch(place, table)["scenario"].unique().tolist() == ["jaarlijks"]
        assert not s3.exists(f"grex-batches/reval/dataset/{table}/scenario=kredietcrisis")
    assert read_marker(place, "jaarlijks") == read_marker(tmp_path / "here", "jaarlijks")
    # resumed by marker
    s3.rm(f"grex-batches/reval/dataset/draws/scenario=jaarlijks/{MARKER}")
    again = run_batch(files, url, draws=DRAWS, chunk_draws=CHUNK, scheduler=cluster.scheduler_address)
    assert again.ran == ("jaarlijks",) and again.skipped == ("kredietcrisis",)
    pd.testing.assert_frame_equal(read_batch(place, "reserve_years"), read_batch(tmp_path / "here", "reserve_years"))
    # the same scenario with perfect foresight: its revaluation partitions go
    adaptive.write_text(text + '[montecarlo]\nforesight = "perfect"\n')
    perfect = run_batch(files, url, draws=DRAWS, chunk_draws=CHUNK, scheduler=cluster.scheduler_address)
    assert perfect.ran == ("jaarlijks",)
    for table in REVALUATION_TABLES:
        assert not s3.exists(f"grex-batches/reval/dataset/{table}/scenario=jaarlijks/part-0.parquet")
        assert read_batch(place, table).empty
    assert read_marker(place, "jaarlijks")["tables"] == list(TABLES)


# -- remote inputs: scenario files and portfolios at URLs --------------------------------------


@pytest.fixture(scope="module")
def inputs(s3):
    """The example scenarios (an extends chain across folders) and their portfolio, uploaded to the S3 server."""
    scenarios = ROOT / "scenarios"
    s3.mkdir("grex-inputs")
    for name in ("assen-2024.toml", "kredietcrisis-2008.toml", "assen-2024/projects.csv", "assen-2024/flows.csv"):
        s3.put(str(scenarios / name), f"grex-inputs/sc/{name}")
    for name in ("base.toml", "kredietcrisis.toml", "rente-omhoog.toml"):
        s3.put(str(BATCH / name), f"grex-inputs/sc/batch-2024/{name}")
    return "s3://grex-inputs/sc"


def test_scenarios_and_portfolio_read_from_s3_give_the_local_figures(inputs, local, tmp_path, capsys):
    urls = [f"{inputs}/batch-2024/{n}" for n in ("base.toml", "kredietcrisis.toml", "rente-omhoog.toml")]
    remote = run_batch(urls, tmp_path / "remote", draws=DRAWS, chunk_draws=CHUNK)
    assert remote.ok and remote.rows == local.rows
    for name in ("comparison.csv", "comparison.xlsx"):
        assert (tmp_path / "remote" / name).read_bytes() == (local.out_dir / name).read_bytes()
    # grex run on a remote file; a local scenario whose portfolio is a URL
    assert main(["run", f"{inputs}/assen-2024.toml", "--out", str(tmp_path / "run-remote")]) == 0
    assert main(["run", str(ROOT / "scenarios" / "assen-2024.toml"), "--out", str(tmp_path / "run-local")]) == 0
    pointing = tmp_path / "pointing.toml"
    pointing.write_text(
        f'extends = "{(ROOT / "scenarios" / "assen-2024.toml").as_posix()}"\nportfolio = "{inputs}/assen-2024"\n'
    )
    assert main(["run", str(pointing), "--out", str(tmp_path / "run-pointing")]) == 0
    capsys.readouterr()
    expected = (tmp_path / "run-local" / "complexes.csv").read_bytes()
    assert (tmp_path / "run-remote" / "complexes.csv").read_bytes() == expected
    assert (tmp_path / "run-pointing" / "complexes.csv").read_bytes() == expected
    # a pattern at a URL (no shell expands it) stands for the files it matches
    globbed = run_batch([f"{inputs}/batch-2024/*.toml"], tmp_path / "globbed", draws=DRAWS, chunk_draws=CHUNK)
    assert globbed.rows == local.rows
    # a file missing in a reachable bucket is a scenario that fails, named by its URL; the others run
    missing = run_batch([*urls[:1], f"{inputs}/batch-2024/nowhere.toml"], tmp_path / "missing", draws=200)
    assert [str(f) for f in missing.failures] == [f"{inputs}/batch-2024/nowhere.toml: scenario file not found"]
    assert missing.ran == ("base",)


def test_unreachable_or_denied_inputs_are_one_line_exit_2_nothing_written(s3, tmp_path, capsys, monkeypatch):
    # also where the kernel is not compiled yet: the batch's note comes only once its inputs are read
    monkeypatch.setattr("grex.cli.kernel_cache_ready", lambda variant="value_draws": False)
    out = tmp_path / "out"
    for command in ("batch", "run", "simulate"):
        status = main([command, "s3://no-such-bucket/s.toml", "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert status == 2 and err == [
            "grex: error: s3://no-such-bucket/s.toml: the bucket or container 'no-such-bucket' does not exist "
            "or is not yours"
        ], command
    # denied credentials: the server checks them (moto's authentication on) and knows none
    import moto.settings

    s3.mkdir("grex-denied")
    s3.put(str(BATCH / "base.toml"), "grex-denied/base.toml")
    url = "s3://grex-denied/base.toml"
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    status = main(["batch", str(BATCH / "rente-omhoog.toml"), url, "--draws", "200", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith(f"grex: error: {url}: cannot read the scenario file:")
    assert "access denied, check the credentials" in err[0], err[0]
    # a local scenario file whose portfolio is at the URL: the whole batch stops too, not only that scenario
    pointing = tmp_path / "pointing.toml"
    pointing.write_text(f'extends = "{(BATCH / "base.toml").as_posix()}"\nportfolio = "s3://grex-denied/portfolio"\n')
    status = main(["batch", str(BATCH / "rente-omhoog.toml"), str(pointing), "--draws", "200", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith("grex: error: s3://grex-denied/portfolio: cannot read the portfolio: access denied"), err
    assert not out.exists()


# -- the valuation and the horizon pass on the workers ----------------------------------------


def _refused(*args, **kwargs):
    raise AssertionError("valued on the client")


@pytest.mark.slow
def test_the_workers_value_each_scenario_and_find_its_horizon(local, cluster, tmp_path, monkeypatch):
    """On a cluster the client neither values a scenario nor runs its horizon pass; the results are a local run's,
    and a scenario the workers cannot simulate is reported as a run here reports it, the others finishing."""
    import grex.io.batch as batch_module

    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'extends = "{(BATCH / "base.toml").as_posix()}"\nname = "onbekend"\n'
        '[[risks]]\nproject = "nowhere"\nname = "r"\nprobability = 0.5\nimpact = 1000\nyear = 2026\ntype = "cost"\n'
    )
    here = run_batch([*FILES, str(bad)], tmp_path / "here", draws=DRAWS, chunk_draws=CHUNK)
    assert [f.scenario for f in here.failures] == ["onbekend"]
    monkeypatch.setattr(batch_module, "value_portfolio", _refused)
    monkeypatch.setattr(batch_module, "simulation_horizon", _refused)
    there = run_batch(
        [*FILES, str(bad)], tmp_path / "there", draws=DRAWS, chunk_draws=CHUNK, scheduler=cluster.scheduler_address
    )
    assert there.rows == local.rows and there.failures == here.failures
    for name in ("comparison.csv", "comparison.xlsx"):
        assert (tmp_path / "there" / name).read_bytes() == (local.out_dir / name).read_bytes()
    for table in ("draws", "complexes", "reserve_path"):
        pd.testing.assert_frame_equal(read_batch(tmp_path / "there", table), read_batch(local.out_dir, table))


# -- issue 19's run, small: a synthetic grid from S3, a worker killed, the client interrupted, resumed ---------


def _benchmark():
    import importlib.util

    spec = importlib.util.spec_from_file_location("batch_cluster", ROOT / "benchmarks" / "batch_cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # a minute or more: starts a cluster, kills and restarts a worker
def test_synthetic_grid_from_s3_resumed_after_a_killed_worker_matches_a_run_here(cluster, s3, tmp_path):
    """``benchmarks/batch_cluster.py --resume`` in small: 10 scenarios of a synthetic portfolio whose files lie on
    S3, a worker killed at a quarter, the client interrupted at half, resumed: the comparison is byte for byte that
    of an uninterrupted run in this process (the big run: 500 scenarios, benchmarks/README.md)."""
    bench = _benchmark()
    s3.mkdir("grex-synthetic")
    grid = bench.upload_grid(s3, "grex-synthetic/in", 10, 6, 12)
    reference = run_batch([grid], tmp_path / "here", draws=100)
    assert reference.ok and len(reference.ran) == 10
    with distributed.Client(cluster) as client:
        figures = bench.killed_and_resumed(client, grid, "s3://grex-synthetic/out", tmp_path / "here", 100, 10)
        client.wait_for_workers(2)
    assert figures["failures"] == [] and figures["identical"], figures
    assert figures["skipped_on_resume"] >= 5 and figures["skipped_on_resume"] + figures["ran_on_resume"] == 10
    assert read_batch(location("s3://grex-synthetic/out"), "complexes").equals(
        read_batch(tmp_path / "here", "complexes")
    )
