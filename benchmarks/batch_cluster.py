"""How a batch on a Dask cluster grows with scenarios and draws: wall time and the client's peak memory.

Starts an S3-compatible server (moto, in a process of its own so that its store is not counted) and a local 2-worker Dask cluster on loopback, and runs
grid batches of the example portfolio whose workers write to ``s3://``; beside each, the same
batch in this process writing to a local folder. The client's peak memory is the peak of
Python's traced allocations (``tracemalloc``, numpy's arrays included) during the batch, so
the figures of the two ways compare. Needs ``pip install -e ".[test]"`` (moto, s3fs, dask).

    python benchmarks/batch_cluster.py            # about a minute on 2 cores
    python benchmarks/batch_cluster.py --json
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


def measure(run, *args, **kwargs) -> tuple[float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    run(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run_cases(port, args.json)
    finally:
        server.terminate()
        server.wait()


def run_cases(port: int, as_json: bool) -> None:
    from distributed import Client, LocalCluster

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
            cluster_s, cluster_mb = measure(run_batch, [str(grid)], url, draws=draws, scheduler=client)
            local_s, local_mb = measure(run_batch, [str(grid)], here, draws=draws)
            row = {
                "scenarios": scenarios,
                "draws": draws,
                "cluster_seconds": round(cluster_s, 2),
                "cluster_client_peak_mib": round(cluster_mb, 1),
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
