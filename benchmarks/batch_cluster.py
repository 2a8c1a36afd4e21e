"""How a batch on a Dask cluster grows with scenarios and draws: wall time and the client's peak memory.

Starts an S3-compatible server (moto, in a process of its own so that its store is not counted) and a local 2-worker Dask cluster on loopback, and runs
grid batches of the example portfolio whose workers write to ``s3://``; beside each, the same
batch in this process writing to a local folder. The client's peak memory is the peak of
Python's traced allocations (``tracemalloc``, numpy's arrays included) during the batch, so
the figures of the two ways compare. Needs ``pip install -e ".[test]"`` (moto, s3fs, dask).

    python benchmarks/batch_cluster.py            # about a minute on 2 cores
    python benchmarks/batch_cluster.py --json

``--resume`` is issue 19's run: a grid of ``--scenarios`` (default 500) on a synthetic portfolio
(:func:`grex.synthetic.synthetic_portfolio`, ``--complexes`` x ``--years``), its scenario file and
portfolio on the S3 server (remote inputs), run on the 2-worker cluster writing to ``s3://``; a
worker is killed (SIGKILL) when a quarter of the scenarios are done and the client interrupted at
half; the batch is then resumed by running it again. The comparison (CSV and workbook) must be
byte-identical to that of an uninterrupted run in this process; it prints the times, the client's
peak memory and CPU seconds, and exits 1 where anything differs.

    python benchmarks/batch_cluster.py --resume                          # 500 x 1,000 draws: minutes
    python benchmarks/batch_cluster.py --resume --scenarios 40 --draws 200
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def grid_file(folder: Path, scenarios: int) -> Path:
    """A grid of ``scenarios`` (a multiple of 10) discount rates x market paces on the example."""
    paces = scenarios // 10
    path = folder / f"grid-{scenarios}.toml"
    rates = ", ".join(f"{0.010 + 0.002 * i:.3f}" for i in range(10))
    modes = ", ".join(f"{0.80 + 0.3 * i / max(1, paces - 1):.4f}" for i in range(paces))
    base = (ROOT / "scenarios" / "batch-2024" / "base.toml").as_posix()
    path.write_text(
        f'extends = "{base}"\nname = "g{scenarios}"\nillustrative = true\n[grid]\n'
        f'"parameters.discount_rate" = [{rates}]\n"montecarlo.market_pace.mode" = [{modes}]\n'
    )
    return path


#: The synthetic scenario's tables beside its grid: the example's parameters and drivers (docs/montecarlo.md).
SYNTHETIC_SCENARIO = """name = "synthetisch"
description = "Synthetic portfolio (grex.synthetic): random but seeded figures, not data"
portfolio = "portfolio"
valuation_year = 2024
illustrative = true

[parameters]
interest_rate = 0.01
discount_rate = 0.02
uncertainty_margin = 0.10
cost_index = 0.02
revenue_index = 0.0

[reserves]
general_reserve = 250_000_000
resistance_reserve = 60_000_000

[montecarlo]
draws = 1000
seed = 2024
bounds = "p5_p95"
market_pace = { low = 0.6, mode = 1.0, high = 1.2 }
complex_pace = { low = 0.8, mode = 1.0, high = 1.2 }
delay = { low = 0.0, mode = 0.0, high = 2.0 }
cost_shock = { sd = 0.01, persistence = 0.5 }
price_shock = { sd = 0.03, persistence = 0.6 }
interest = { low = -0.005, mode = 0.0, high = 0.01 }
correlation = [[1.0, 0.2, 0.6], [0.2, 1.0, 0.3], [0.6, 0.3, 1.0]]
"""


def synthetic_grid(scenarios: int, complexes: int, years: int, seed: int = 1) -> dict[str, bytes]:
    """The files of a grid of ``scenarios`` (a multiple of 10) on a synthetic portfolio, by relative name.

    ``grid.toml`` (10 discount rates x ``scenarios / 10`` market paces, six risks on the synthetic
    complexes) and ``portfolio/projects.csv``, ``portfolio/flows.csv`` beside it.
    """
    import io

    from grex.synthetic import synthetic_portfolio

    if scenarios % 10 or scenarios < 10:
        raise SystemExit(f"--scenarios must be a multiple of 10, not {scenarios}")
    _, portfolio = synthetic_portfolio(complexes, years, seed=seed)
    files = {}
    for name, frame in (("projects", portfolio.projects), ("flows", portfolio.flows)):
        buffer = io.StringIO()
        frame.drop(columns=["row"]).to_csv(buffer, index=False, lineterminator="\n")
        files[f"portfolio/{name}.csv"] = buffer.getvalue().encode()
    paces = scenarios // 10
    rates = ", ".join(f"{0.010 + 0.002 * i:.3f}" for i in range(10))
    modes = ", ".join(f"{0.80 + 0.3 * i / max(1, paces - 1):.6f}" for i in range(paces))
    projects = list(portfolio.projects["project"])
    risks = "".join(
        f'\n[[risks]]\nproject = "{projects[(7 * i) % complexes]}"\nname = "risico {i}"\n'
        f"probability = {0.15 + 0.1 * i:.2f}\nimpact = {{ low = 150_000, mode = 300_000, high = 700_000 }}\n"
        f'year = {2025 + (2 * i) % (years - 1)}\ntype = "{"cost" if i % 2 == 0 else "revenue"}"\n'
        for i in range(6)
    )
    grid = f'\n[grid]\n"parameters.discount_rate" = [{rates}]\n"montecarlo.market_pace.mode" = [{modes}]\n'
    files["grid.toml"] = (SYNTHETIC_SCENARIO + risks + grid).encode()
    return files


class Interrupted(Exception):
    """The client stopped midway (as a Ctrl-C or a lost login node would)."""


def killed_and_resumed(client, grid: str, out: str, reference: Path, draws: int, scenarios: int) -> dict:
    """Run ``grid`` on ``client`` into ``out``, a worker killed at a quarter and the client interrupted at half of
    the scenarios, then resume it; return the figures and whether the comparison equals ``reference``'s."""
    import signal

    from grex.io.batch import run_batch
    from grex.io.storage import location

    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    done: list[str] = []

    def after(name: str, status: str) -> None:
        done.append(name)
        if len(done) == scenarios // 4:
            os.kill(pids[victim], signal.SIGKILL)  # its nanny starts a new worker; Dask runs its tasks again
        if len(done) == scenarios // 2:
            raise Interrupted

    start = time.perf_counter()
    try:
        run_batch([grid], out, draws=draws, scheduler=client, on_scenario=after)
    except Interrupted:
        pass
    first = time.perf_counter() - start
    client.wait_for_workers(len(pids))
    resume_s, resume_mb, resume_cpu, resumed = measured(run_batch, [grid], out, draws=draws, scheduler=client)
    place = location(out)
    same = {
        name: place.read_bytes(name) == (reference / name).read_bytes()
        for name in ("comparison.csv", "comparison.xlsx")
    }
    return {
        "interrupted_after_seconds": round(first, 1),
        "killed_worker": victim,
        "resumed_seconds": round(resume_s, 1),
        "resumed_client_peak_mib": round(resume_mb, 1),
        "resumed_client_cpu_seconds": round(resume_cpu, 1),
        "skipped_on_resume": len(resumed.skipped),
        "ran_on_resume": len(resumed.ran),
        "failures": [str(f) for f in resumed.failures],
        "identical": all(same.values()) and resumed.ok and len(resumed.skipped) + len(resumed.ran) == scenarios,
        **{f"{name}_identical": value for name, value in same.items()},
    }


def measure(run, *args, **kwargs) -> tuple[float, float]:
    seconds, peak, _, _ = measured(run, *args, **kwargs)
    return seconds, peak


def measured(run, *args, **kwargs) -> tuple[float, float, float, object]:
    """Wall seconds, the client's peak traced memory [MiB], its CPU seconds (all its threads) and ``run``'s result."""
    tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    value = run(*args, **kwargs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20, cpu, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--resume", action="store_true", help="issue 19's run: many scenarios, a worker killed, resumed"
    )
    parser.add_argument("--scenarios", type=int, default=500, help="with --resume: a multiple of 10")
    parser.add_argument("--draws", type=int, default=1000, help="with --resume")
    parser.add_argument("--complexes", type=int, default=20, help="with --resume")
    parser.add_argument("--years", type=int, default=30, help="with --resume")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if args.resume:
            figures = resume_case(port, args.scenarios, args.draws, args.complexes, args.years)
            print(json.dumps(figures, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))
            if not figures["identical"]:
                sys.exit(1)
        else:
            run_cases(port, args.json)
    finally:
        server.terminate()
        server.wait()


def connect_s3(port: int) -> None:
    """Wait for the S3 server on ``port`` and point this process and the workers it starts at it."""
    for _ in range(100):  # the server's port open
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )


def upload_grid(fs, prefix: str, scenarios: int, complexes: int, years: int) -> str:
    """Write :func:`synthetic_grid`'s files under ``prefix`` (``bucket/path``); the grid's URL."""
    for name, data in synthetic_grid(scenarios, complexes, years).items():
        fs.pipe_file(f"{prefix}/{name}", data)
    return f"s3://{prefix}/grid.toml"


def resume_case(port: int, scenarios: int, draws: int, complexes: int, years: int) -> dict:
    """Issue 19's run (``--resume``): the reference in this process, then the cluster run killed, interrupted, resumed."""
    from distributed import Client, LocalCluster

    connect_s3(port)
    import s3fs

    from grex.io.batch import run_batch

    fs = s3fs.S3FileSystem()
    fs.mkdir("inputs")
    fs.mkdir("bench")
    grid = upload_grid(fs, f"inputs/synthetic-{scenarios}", scenarios, complexes, years)
    figures: dict = {"scenarios": scenarios, "draws": draws, "complexes": complexes, "years": years}
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference"
        seconds, peak, cpu, result = measured(run_batch, [grid], reference, draws=draws)
        assert result.ok and len(result.ran) == scenarios, result.failures[:3]
        figures.update(here_seconds=round(seconds, 1), here_peak_mib=round(peak, 1), here_cpu_seconds=round(cpu, 1))
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            run_batch([grid], "s3://bench/warm", draws=100, scheduler=client)  # every worker's kernel loaded
            url = f"s3://bench/resumed-{scenarios}-{draws}"
            seconds, peak, cpu, result = measured(run_batch, [grid], url + "-whole", draws=draws, scheduler=client)
            figures.update(
                cluster_seconds=round(seconds, 1),
                cluster_client_peak_mib=round(peak, 1),
                cluster_client_cpu_seconds=round(cpu, 1),
            )
            figures.update(killed_and_resumed(client, grid, url, reference, draws, scenarios))
    return figures


def run_cases(port: int, as_json: bool) -> None:
    from distributed import Client, LocalCluster

    connect_s3(port)
    import s3fs

    from grex.io.batch import run_batch

    s3fs.S3FileSystem().mkdir("bench")
    cases = [(10, 1000), (20, 1000), (40, 1000), (10, 4000), (10, 16000)]
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        run_batch([str(grid_file(Path(tmp), 10))], "s3://bench/warm", draws=100, scheduler=client)  # compile
        for scenarios, draws in cases:
            grid = grid_file(Path(tmp), scenarios)
            url = f"s3://bench/{scenarios}-{draws}"
            here = Path(tmp) / f"{scenarios}-{draws}"
            cluster_s, cluster_mb, cluster_cpu, _ = measured(run_batch, [str(grid)], url, draws=draws, scheduler=client)
            local_s, local_mb = measure(run_batch, [str(grid)], here, draws=draws)
            row = {
                "scenarios": scenarios,
                "draws": draws,
                "cluster_seconds": round(cluster_s, 2),
                "cluster_client_peak_mib": round(cluster_mb, 1),
                "cluster_client_cpu_seconds": round(cluster_cpu, 2),
                "here_seconds": round(local_s, 2),
                "here_peak_mib": round(local_mb, 1),
            }
            rows.append(row)
            if not as_json:
                print(row, flush=True)
    if as_json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
