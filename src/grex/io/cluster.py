"""Dask clusters that grex starts itself, and the check that every worker runs what the client runs.

``grex batch --cluster NAME`` starts a cluster from Dask's own configuration
(:mod:`dask.config`: ``~/.config/dask/*.yaml``, ``DASK_CONFIG``, ``DASK_*``
environment variables) under the key ``grex.clusters``::

    grex:
      clusters:
        laptop:   {kind: local, n_workers: 4}
        snellius: {kind: slurm, workers: 20, cores: 1, memory: 4GiB, queue: thin, walltime: "01:00:00"}
        cloud:    {kind: kubernetes, workers: 10, image: "ghcr.io/dask/dask:latest"}

``kind`` is one of :data:`KINDS` (a name that is itself a kind needs no
entry: ``--cluster local``); ``workers`` is the number of workers to ask
for (``cluster.scale``); every other key is passed to the cluster's class
as it is (``distributed.LocalCluster``, ``dask_jobqueue.SLURMCluster`` /
``PBSCluster``, ``dask_kubernetes.operator.KubeCluster``). Each kind needs
its optional extra of grex (``grex[dask]``, ``grex[jobqueue]``,
``grex[kubernetes]``); docs/cluster.md has an example of each.

Before any work, :func:`check_environment` compares grex, numpy, numba,
Python and the C library of every worker with the client's: the bit-identity
of a batch wherever it runs rests on them.
"""

from __future__ import annotations

import importlib
import logging
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grex.errors import InputError

__all__ = [
    "ENVIRONMENT",
    "KINDS",
    "announce_dashboard",
    "check_cluster",
    "check_environment",
    "check_shared_folder",
    "cluster_settings",
    "environment",
    "make_cluster",
]

log = logging.getLogger(__name__)

#: Kinds of cluster: (module, class, the extra of grex that installs the module).
KINDS: dict[str, tuple[str, str, str]] = {
    "local": ("distributed", "LocalCluster", "dask"),
    "slurm": ("dask_jobqueue", "SLURMCluster", "jobqueue"),
    "pbs": ("dask_jobqueue", "PBSCluster", "jobqueue"),
    "kubernetes": ("dask_kubernetes.operator", "KubeCluster", "kubernetes"),
}
#: Settings of a local cluster that the configuration does not give: one thread per worker process
#: (the parts are single-threaded), on loopback, the dashboard on a free port.
LOCAL_DEFAULTS: dict[str, Any] = {"threads_per_worker": 1, "processes": True, "host": "127.0.0.1"}
#: What every worker must share with the client for bit-identical results, in the order checked.
ENVIRONMENT = ("grex", "python", "numpy", "numba", "libc")


def _config() -> Mapping[str, Any]:
    try:
        import dask.config
    except ImportError:
        raise InputError(None, "--cluster", "starting a Dask cluster needs dask: pip install 'grex[dask]'") from None
    clusters = dask.config.get("grex.clusters", default=None) or {}
    if not isinstance(clusters, Mapping):
        raise InputError(None, "--cluster", "the Dask configuration's grex.clusters must be a mapping of names")
    return clusters


def cluster_settings(name: str) -> tuple[str, dict[str, Any], int | None]:
    """The kind, the keyword arguments of its class and the number of workers of a named cluster.

    Raises
    ------
    InputError
        An unknown name (the message lists the known ones), a configuration
        entry that is not a mapping, an unknown ``kind`` or a bad ``workers``.
    """
    clusters = _config()
    if name in clusters:
        entry = clusters[name]
        if not isinstance(entry, Mapping):
            raise InputError(None, "--cluster", f"grex.clusters.{name} in the Dask configuration must be a mapping")
        settings = dict(entry)
        kind = str(settings.pop("kind", name))
    elif name in KINDS:
        settings, kind = {}, name
    else:
        known = sorted({*clusters, *KINDS})
        raise InputError(
            None,
            "--cluster",
            f"unknown cluster {name!r}: name one of {', '.join(known)}, or add it under grex.clusters "
            "in the Dask configuration (~/.config/dask/grex.yaml)",
        )
    if kind not in KINDS:
        raise InputError(
            None, "--cluster", f"grex.clusters.{name}.kind must be one of {', '.join(KINDS)}, not {kind!r}"
        )
    workers = settings.pop("workers", None)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(None, "--cluster", f"grex.clusters.{name}.workers must be a whole number ≥ 1, not {workers!r}")
    return kind, settings, workers


def _module(name: str, kind: str) -> Any:
    module_name, _, extra = KINDS[kind]
    try:
        return importlib.import_module(module_name)
    except ImportError:
        raise InputError(
            None, "--cluster", f"cluster {name!r} ({kind}) needs {module_name}: pip install 'grex[{extra}]'"
        ) from None


def check_cluster(name: str) -> None:
    """Check a cluster name before any work: known, well configured, its package installed (starts nothing)."""
    kind, _, _ = cluster_settings(name)
    _module(name, kind)


def make_cluster(name: str) -> Any:
    """Start the cluster ``name`` (:func:`cluster_settings`); the caller closes it.

    Raises
    ------
    InputError
        As :func:`cluster_settings`; the kind's package is missing (the message
        names the extra of grex to install); the class refuses the settings.
    """
    kind, settings, workers = cluster_settings(name)
    cls = getattr(_module(name, kind), KINDS[kind][1])
    if kind == "local":
        settings = {**LOCAL_DEFAULTS, "dashboard_address": ":0", **settings}
        if workers is not None:
            settings.setdefault("n_workers", workers)
    try:
        cluster = cls(**settings)
    except TypeError as error:  # an unknown keyword in the configuration
        raise InputError(
            None, "--cluster", f"grex.clusters.{name}: {KINDS[kind][1]} refuses the settings ({error})"
        ) from None
    if workers is not None and kind != "local":
        cluster.scale(workers)
    return cluster


def environment() -> dict[str, str]:
    """What this process runs: grex, Python, numpy, numba and the C library (:data:`ENVIRONMENT`)."""
    import numpy

    import grex

    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "none"
    libc, version = platform.libc_ver()
    return {
        "grex": grex.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba_version,
        "libc": f"{libc} {version}".strip() or "unknown",
    }


def check_environment(client: Any, *, allow_mismatch: bool = False) -> dict[str, dict[str, str]]:
    """Compare every worker's :func:`environment` with this process's, before any work.

    Returns the workers' environments by address. A mismatch raises
    :class:`InputError` naming the worker and the package; with
    ``allow_mismatch`` it is logged as a warning instead (the batch's results
    are then not promised bit-identical to a run here).
    """
    here = environment()
    there = client.run(environment)
    problems = []
    for worker, env in sorted(there.items()):
        for package in ENVIRONMENT:
            if env.get(package) != here[package]:
                problems.append(
                    f"worker {worker} runs {package} {env.get(package)}, this machine {package} {here[package]}"
                )
    if not there:
        raise InputError(None, "--cluster", "the cluster has no workers: none joined within the time allowed")
    if problems:
        if not allow_mismatch:
            raise InputError(
                None,
                None,
                f"{problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                + ": install the same versions everywhere, or pass --allow-mismatch "
                "(results are then not promised bit-identical)",
            )
        for problem in problems:
            log.warning("%s: results are not promised bit-identical (--allow-mismatch)", problem)
    return there


def announce_dashboard(client: Any) -> str | None:
    """Log the link to the cluster's dashboard (stderr under ``grex``), where the scheduler serves one."""
    try:
        services = client.scheduler_info().get("services", {})
        link = client.dashboard_link if "dashboard" in services else None
    except Exception:  # a scheduler that does not say: no link rather than no batch
        link = None
    if link:
        log.info("Dask dashboard (progress of every worker): %s", link)
    return link


def _sees(path: str) -> bool:
    import os

    return os.path.exists(path)


def check_shared_folder(client: Any, folder: Path) -> None:
    """Check that every worker sees the local output folder, where it will write the scenarios.

    A hidden probe file is written into ``folder`` (created if missing) and
    removed again, with the folder where this made it. A worker that does not
    see the probe (a folder on the client's disk, not a shared one) is an
    :class:`InputError` naming the worker: give a shared folder or a URL.
    """
    import uuid

    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".grex-probe-{uuid.uuid4().hex}"
    try:
        probe.touch()
        seen = client.run(_sees, str(probe.resolve()))
    finally:
        probe.unlink(missing_ok=True)
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
    blind = sorted(worker for worker, yes in seen.items() if not yes)
    if blind:
        raise InputError(
            None,
            "--out",
            f"worker {blind[0]} does not see the output folder {folder}"
            + (f" (nor do {len(blind) - 1} more)" if len(blind) > 1 else "")
            + ": the workers write the scenarios there; give a folder every worker shares, or a URL (s3://...)",
        )
