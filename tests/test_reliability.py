"""Reliability: nothing a user types crashes grex, escapes its folder or half-writes a result.

The adversarial cases of the attack on ``grex validate``, ``run`` and
``simulate`` (oversized, nested, extreme and malformed inputs, hostile names,
unwritable outputs, interruptions, killed parents), each asserting: the exit
status, one line on stderr naming the thing, no traceback, nothing written or
the previous output intact, no stray temporary folder, no write outside the
output folder. Every case is small: the suite runs in seconds (the
subprocess cases in a few more).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import grex.io.paths
import grex.limits
from grex.cli import EXIT_STATUSES, main
from grex.io.paths import MAX_NAME_BYTES, OUTPUT_MARKER, TEMP_PREFIX, safe_name
from grex.reserves import nar_grade

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

PROJECTS = (
    "project,name,status,book_value,realised_costs,realised_revenues,profit_taken\n"
    "a,Alpha,vastgesteld,1000,0,0,0\n"
    "b,Beta,voorbereiding,500,0,0,0\n"
)
FLOWS = (
    "project,year,type,category,amount,sales_linked\n"
    "a,2024,cost,bouwrijp,100000,false\n"
    "a,2025,revenue,wonen_vrij,300000,false\n"
    "a,2026,cost,woonrijp,20000,true\n"
    "b,2025,cost,verwerving,50000,false\n"
    "b,2027,revenue,bedrijven,80000,false\n"
)


def scenario_text(name: str = "case", extra: str = "") -> str:
    return (
        f'name = "{name}"\nportfolio = "portfolio"\nvaluation_year = 2024\n'
        "[reserves]\ngeneral_reserve = 100000\nresistance_reserve = 20000\n"
        "[montecarlo]\ndraws = 200\n" + extra
    )


def make_case(
    folder: Path, *, scenario: str | None = None, projects: str = PROJECTS, flows: str = FLOWS, name: str = "case"
) -> Path:
    """A small portfolio and its scenario in ``folder``; returns the scenario file."""
    portfolio = folder / "portfolio"
    portfolio.mkdir(parents=True, exist_ok=True)
    (portfolio / "projects.csv").write_text(projects, encoding="utf-8")
    (portfolio / "flows.csv").write_text(flows, encoding="utf-8")
    path = folder / "scenario.toml"
    path.write_text(scenario if scenario is not None else scenario_text(name), encoding="utf-8")
    return path


def one_line(err: str, *fragments: str) -> None:
    """stderr is one line starting ``grex: error:``, naming every fragment, without a traceback."""
    assert "Traceback" not in err, err
    assert err.startswith("grex: error: "), err
    assert err.count("\n") == 1, f"one line expected: {err!r}"
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


def stray(folder: Path) -> list[Path]:
    """grex temporary folders anywhere under ``folder``."""
    return [p for p in folder.rglob(f"{TEMP_PREFIX}*")] + [p for p in folder.rglob(".*.tmp")]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def _numpy_engine(monkeypatch):
    # small simulations: the numpy twin gives the same numbers without compiling anything
    monkeypatch.setenv("GREX_ENGINE", "numpy")
    monkeypatch.delenv("GREX_THREADS", raising=False)


# -- bad input: exit 2, one line, nothing written ---------------------------------------------

BAD_SCENARIOS = {
    "market_pace_0.001": ("[montecarlo]\nmarket_pace = 0.001\n", "montecarlo.market_pace"),
    "market_pace_1e-9": ("[montecarlo]\nmarket_pace = { low = 1e-9, mode = 1.0, high = 1.2 }\n", "market_pace"),
    "complex_pace_tiny": ("[montecarlo]\ncomplex_pace = 0.0001\n", "montecarlo.complex_pace"),
    "override_pace_tiny": ("[montecarlo.complex.a]\npace = 0.0005\n", "montecarlo.complex.a.pace"),
    "delay_40000": ("[montecarlo]\ndelay = 40000\n", "montecarlo.delay"),
    "delay_1e9": ("[montecarlo]\ndelay = { low = 0, mode = 0, high = 1e9 }\n", "montecarlo.delay"),
    "risk_unknown_complex": (
        '[[risks]]\nproject = "zz"\nname = "r"\nprobability = 0.5\nimpact = 100\nyear = 2025\ntype = "cost"\n',
        "risks[0].project",
    ),
    "risk_before_V": (
        '[[risks]]\nproject = "a"\nname = "r"\nprobability = 0.5\nimpact = 100\nyear = 2020\ntype = "cost"\n',
        "risks[0].year",
    ),
    "risk_impact_1e300": (
        '[[risks]]\nproject = "a"\nname = "r"\nprobability = 0.5\nimpact = 1e300\nyear = 2025\ntype = "cost"\n',
        "risks[0].impact",
    ),
    "override_unknown_complex": ("[montecarlo.complex.zz]\npace = 0.9\n", "montecarlo.complex.zz"),
    "grid_unknown_key": ("[grid]\n'parameters.no_such_rate' = [0.01]\n", "grid.parameters.no_such_rate"),
    "grid_bad_value": ("[grid]\n'parameters.discount_rate' = [0.01, 5]\n", "grid.parameters.discount_rate"),
    "grid_too_many": (
        "[grid]\n"
        + "".join(
            f"'parameters.{k}' = [{', '.join(str(i / 1000) for i in range(30))}]\n"
            for k in ("discount_rate", "interest_rate", "uncertainty_margin")
        ),
        "27,000",
    ),
    "grid_empty": ("[grid]\n", "key grid"),
    "grid_not_a_list": ("[grid]\n'parameters.discount_rate' = 0.01\n", "grid.parameters.discount_rate"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
@pytest.mark.parametrize("command", ["validate", "run", "simulate"])
def test_bad_scenario_refused_by_every_command(tmp_path, capsys, case, command):
    extra, fragment = BAD_SCENARIOS[case]
    text = scenario_text()
    if extra.startswith("[montecarlo]\n"):  # into the scenario's own [montecarlo] table
        text = text.replace("[montecarlo]\n", extra)
    else:
        text += extra
    path = make_case(tmp_path, scenario=text)
    out = tmp_path / "out"
    argv = [command, str(path)] + ([] if command == "validate" else ["--out", str(out)])
    started = time.perf_counter()
    assert main(argv) == 2
    err = capsys.readouterr().err
    one_line(err, fragment, str(path))
    assert not out.exists()
    assert not stray(tmp_path)
    assert time.perf_counter() - started < 60  # refused before any simulation (a generous bound, not a timing)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("flows", "amount", "1e300"),
        ("flows", "amount", "2000000000000"),
        ("projects", "book_value", "-1e308"),
        ("projects", "profit_taken", "1e300"),
        ("projects", "realised_costs", "1e13"),
    ],
)
def test_implausible_amount_refused(tmp_path, capsys, table, column, value):
    projects, flows = PROJECTS, FLOWS
    if table == "flows":
        flows = FLOWS.replace("a,2025,revenue,wonen_vrij,300000", f"a,2025,revenue,wonen_vrij,{value}")
    else:
        header = PROJECTS.splitlines()[0].split(",")
        row = PROJECTS.splitlines()[1].split(",")
        row[header.index(column)] = value
        projects = "\n".join([PROJECTS.splitlines()[0], ",".join(row), PROJECTS.splitlines()[2]]) + "\n"
    path = make_case(tmp_path, projects=projects, flows=flows)
    for command in ("validate", "run"):
        argv = [command, str(path)] + (["--out", str(tmp_path / "out")] if command == "run" else [])
        assert main(argv) == 2
        one_line(capsys.readouterr().err, f"{table}.csv", "line 3" if table == "flows" else "line 2", column, "unit")
    assert not (tmp_path / "out").exists()


def test_reserve_of_1e300_refused(tmp_path, capsys):
    path = make_case(tmp_path, scenario=scenario_text().replace("general_reserve = 100000", "general_reserve = 1e300"))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    one_line(capsys.readouterr().err, "reserves.general_reserve")


def test_csv_field_over_the_csv_limit(tmp_path, capsys):
    projects = PROJECTS.replace("a,Alpha,vastgesteld,1000", "a,Alpha,vastgesteld," + "x" * 140_000)
    path = make_case(tmp_path, projects=projects)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    one_line(capsys.readouterr().err, "projects.csv")
    assert not (tmp_path / "out").exists()


def test_nul_byte_in_scenario_path(tmp_path, capsys):
    assert main(["run", str(tmp_path / "a\x00b.toml"), "--out", str(tmp_path / "out")]) == 2
    one_line(capsys.readouterr().err)


def test_nul_byte_in_portfolio_path(tmp_path, capsys):
    path = make_case(tmp_path, scenario=scenario_text().replace('"portfolio"', '"port\\u0000folio"'))
    assert main(["validate", str(path)]) == 2
    one_line(capsys.readouterr().err, "key portfolio")


def test_nul_byte_in_scenario_name(tmp_path, capsys):
    path = make_case(tmp_path, scenario=scenario_text(name="a\\u0000b"))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    one_line(capsys.readouterr().err, "key name")


def test_toml_nested_3000_deep(tmp_path, capsys):
    path = make_case(tmp_path, scenario=scenario_text() + "x = " + "[" * 3000 + "]" * 3000 + "\n")
    assert main(["validate", str(path)]) == 2
    one_line(capsys.readouterr().err, str(path))


@pytest.mark.slow
def test_extends_chain_of_1500_files(tmp_path, capsys):
    make_case(tmp_path)
    (tmp_path / "s0.toml").write_text(scenario_text())
    for i in range(1, 1500):
        (tmp_path / f"s{i}.toml").write_text(f'extends = "s{i - 1}.toml"\n')
    assert main(["validate", str(tmp_path / "s1499.toml")]) == 2
    one_line(capsys.readouterr().err, "key extends", "extends chain is longer than")


@pytest.mark.parametrize("draws", ["1", "99", "0", "1000000000000"])
def test_draws_out_of_bounds_refused_up_front(tmp_path, capsys, draws):
    path = make_case(tmp_path)
    assert main(["simulate", str(path), "--draws", draws, "--out", str(tmp_path / "out")]) == 2
    one_line(capsys.readouterr().err, "--draws")
    assert not (tmp_path / "out").exists()


def test_grex_threads_not_a_number(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GREX_THREADS", "abc")
    path = make_case(tmp_path)
    assert main(["simulate", str(path), "--out", str(tmp_path / "out")]) == 2
    one_line(capsys.readouterr().err, "GREX_THREADS", "'abc'")


def test_nar_grade_of_nan_is_none():
    assert nar_grade(float("nan")) is None
    assert nar_grade(1.4) == ("B", "ruim voldoende")


# -- names are data, never paths -------------------------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "x" * 300, "a:b*c?", "50%"])
def test_hostile_names_stay_inside_out(tmp_path, capsys, monkeypatch, name):
    work = tmp_path / "work"
    work.mkdir()
    path = make_case(work, name=name.replace("\\", "\\\\"))
    (work / "summary.json").write_text("mine")
    monkeypatch.chdir(work)
    before = {p for p in work.iterdir()}
    assert main(["run", str(path)]) == 0
    capsys.readouterr()
    assert {p for p in work.iterdir()} == before | {work / "out"}
    assert (work / "summary.json").read_text() == "mine"
    (folder,) = (work / "out").iterdir()
    assert folder.name == safe_name(name)
    assert folder.name not in (".", "..") and len(folder.name.encode()) <= MAX_NAME_BYTES
    assert (folder / "summary.json").is_file()
    assert json.loads((folder / "summary.json").read_text())["scenario"] == name


@given(st.text(min_size=1, max_size=400))
@settings(max_examples=200, deadline=None)
def test_safe_name_is_one_safe_file_name(name):
    out = safe_name(name)
    assert out not in ("", ".", "..") and not out.startswith(".")
    assert "/" not in out and "\\" not in out and "\x00" not in out and out.isprintable()
    assert len(out.encode("utf-8")) <= MAX_NAME_BYTES


@given(st.text(min_size=1, max_size=60).filter(lambda n: n.isprintable()))
@settings(max_examples=100, deadline=None)
def test_safe_name_decodes_back_where_short(name):
    from urllib.parse import unquote

    assert unquote(safe_name(name)) == name  # pyarrow's Hive partitioning decodes it so


def test_long_names_differ_after_cutting():
    assert safe_name("x" * 300 + "a") != safe_name("x" * 300 + "b")
    assert len(safe_name("é" * 300, reserve=9).encode()) <= MAX_NAME_BYTES - 9


def test_batch_partitions_readable_and_long_names(tmp_path, capsys):
    from grex.io.batch import read_batch

    long_name = "p" * 300
    path = make_case(tmp_path, name=long_name)
    grid = make_case(tmp_path / "g", name="grid")
    grid.write_text(scenario_text("grid") + "[grid]\n'parameters.discount_rate' = [0.01, 0.03]\n")
    out = tmp_path / "batch"
    assert main(["batch", str(path), str(grid), "--draws", "200", "--out", str(out)]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in (out / "dataset" / "draws").iterdir())
    assert "scenario=grid[discount_rate=0.01]" in names and "scenario=grid[discount_rate=0.03]" in names
    assert all(len(n.encode()) <= MAX_NAME_BYTES for n in names)
    draws = read_batch(out)
    assert set(draws["scenario"]) == {long_name, "grid[discount_rate=0.01]", "grid[discount_rate=0.03]"}
    readable = pd.read_parquet(out / "dataset" / "complexes")
    assert "grid[discount_rate=0.01]" in set(readable["scenario"].astype(str))
    assert not stray(out)


# -- outputs: swapped whole, never over what grex did not write ---------------------------------


def test_existing_file_as_out(tmp_path, capsys):
    path = make_case(tmp_path)
    target = tmp_path / "taken"
    target.write_text("a file of the user")
    assert main(["run", str(path), "--out", str(target)]) == 3
    one_line(capsys.readouterr().err, str(target), "not a folder")
    assert target.read_text() == "a file of the user"
    assert not stray(tmp_path)


def test_folder_grex_did_not_write_is_not_replaced(tmp_path, capsys):
    path = make_case(tmp_path)
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.docx").write_text("years of work")
    assert main(["simulate", str(path), "--out", str(target)]) == 3
    one_line(capsys.readouterr().err, str(target), OUTPUT_MARKER)
    assert snapshot(target) == {"thesis.docx": b"years of work"}


def test_rerun_replaces_whole_and_keeps_what_is_not_grex(tmp_path, capsys):
    path = make_case(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    assert main(["simulate", str(path), "--out", str(out / "simulation")]) == 0
    (out / "notes.txt").write_text("the user's")
    (out / "complexes.csv").write_text("stale")
    assert main(["run", str(path), "--out", str(out)]) == 0
    capsys.readouterr()
    assert (out / "notes.txt").read_text() == "the user's"
    assert (out / "simulation" / "draws.parquet").is_file()
    assert (out / "complexes.csv").read_text() != "stale"
    assert (out / OUTPUT_MARKER).is_file()
    assert not stray(tmp_path)


def test_user_folder_in_the_way_of_an_output_file(tmp_path, capsys):
    path = make_case(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    (out / "years.parquet").unlink()
    (out / "years.parquet").mkdir()
    (out / "years.parquet" / "own.txt").write_text("keep")
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out)]) == 3
    one_line(capsys.readouterr().err, "years.parquet")
    assert (out / "years.parquet" / "own.txt").read_text() == "keep"
    assert not stray(tmp_path)


def previous_output(tmp_path: Path, capsys) -> tuple[Path, Path, dict[str, bytes]]:
    path = make_case(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    capsys.readouterr()
    # a changed input, so that a new output would differ
    (tmp_path / "portfolio" / "flows.csv").write_text(FLOWS.replace("300000", "310000"))
    return path, out, snapshot(out)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "No space left on device"),
        (errno.EROFS, "Read-only file system"),
        (errno.EACCES, "Permission denied"),
    ],
)
def test_write_failure_leaves_previous_output_whole(tmp_path, capsys, monkeypatch, code, words):
    path, out, before = previous_output(tmp_path, capsys)
    import grex.io.results

    def fail(target, data):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(grex.io.results, "write_json", fail)
    assert main(["run", str(path), "--out", str(out)]) == 3
    one_line(capsys.readouterr().err, words, "summary.json")
    assert snapshot(out) == before
    assert not stray(tmp_path)


def test_cross_device_rename(tmp_path, capsys, monkeypatch):
    path, out, before = previous_output(tmp_path, capsys)
    monkeypatch.setattr(grex.io.paths, "exchange", lambda a, b: False)  # the two-step swap

    def rename(source, target):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source), None, str(target))

    real = os.rename
    calls = []

    def second_fails(source, target):
        calls.append(source)
        if len(calls) == 2:  # target aside done; staging into place fails
            rename(source, target)
        real(source, target)

    monkeypatch.setattr(grex.io.paths.os, "rename", second_fails)
    assert main(["run", str(path), "--out", str(out)]) == 3
    one_line(capsys.readouterr().err, "Invalid cross-device link", "different file systems")
    assert snapshot(out) == before
    assert not stray(tmp_path)


def test_out_a_link_to_another_file_system(tmp_path, capsys):
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second writable file system here")
    path = make_case(tmp_path)
    real = shm / f"grex-test-{os.getpid()}-{tmp_path.name}"
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    real.mkdir()
    try:
        assert main(["run", str(path), "--out", str(link)]) == 0  # written where the link points
        assert main(["run", str(path), "--out", str(link)]) == 0
        capsys.readouterr()
        assert link.is_symlink() and (real / "summary.json").is_file() and (real / OUTPUT_MARKER).is_file()
        assert not stray(tmp_path) and not list(shm.glob(f"{TEMP_PREFIX}*"))
    finally:
        import shutil

        shutil.rmtree(real, ignore_errors=True)


def test_exchange_swaps_in_one_rename(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("new")
    (b / "x").write_text("old")
    if not grex.io.paths.exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) not available here")
    assert (b / "x").read_text() == "new" and (a / "x").read_text() == "old"


def test_name_too_long_for_out(tmp_path, capsys):
    path = make_case(tmp_path)
    assert main(["run", str(path), "--out", str(tmp_path / ("n" * 300))]) == 3
    one_line(capsys.readouterr().err, "File name too long")
    assert not stray(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(tmp_path, capsys):
    path = make_case(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["run", str(path), "--out", str(locked / "out")]) == 3
        one_line(capsys.readouterr().err, "Permission denied", str(locked))
    finally:
        locked.chmod(0o755)


def test_read_only_file_system_simulated(tmp_path, capsys, monkeypatch):
    path = make_case(tmp_path)

    def read_only(parent):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(parent))

    monkeypatch.setattr(grex.io.results, "make_staging", read_only)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 3
    one_line(capsys.readouterr().err, "Read-only file system", str(tmp_path))


def test_stale_temporary_folders_are_removed(tmp_path, capsys):
    path = make_case(tmp_path)
    dead = tmp_path / f"{TEMP_PREFIX}999999999-abc123"  # no such process
    (dead / "draws.parquet").parent.mkdir()
    (dead / "draws.parquet").write_bytes(b"x" * 1000)
    alive = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-abc123"  # a running process's: kept
    alive.mkdir()
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert not dead.exists()
    assert alive.exists()


def test_temporary_folders_of_earlier_versions_are_removed(tmp_path, capsys):
    path = make_case(tmp_path)
    legacy = tmp_path / ".out.k2j_x9ab.tmp"  # grex before this version: .<name>.<8 characters>.tmp
    legacy.mkdir()
    (legacy / "draws.parquet").write_bytes(b"x" * 1000)
    other = tmp_path / ".other.k2j_x9ab.tmp"  # another folder's: not this run's business
    other.mkdir()
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert not legacy.exists()
    assert other.exists()


def test_run_that_does_not_fit_in_memory(tmp_path, capsys, monkeypatch):
    path = make_case(tmp_path)
    available = 600 << 20  # 300,000 draws of 2 complexes need about 0.61 GiB
    monkeypatch.setattr(grex.limits, "available_memory", lambda: available)
    assert main(["simulate", str(path), "--draws", "300000", "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    one_line(err, "--draws 300,000", "GiB", "draws fit")
    fit = int(err.split("at most about ")[1].split(" draws")[0].replace(",", ""))
    assert grex.limits.memory_needed(fit, 2) <= available < grex.limits.memory_needed(fit + 1000, 2)
    assert not (tmp_path / "out").exists()


def test_report_and_sensitivity_are_refused_for_the_seven_simulations_they_hold(tmp_path, capsys, monkeypatch):
    path = make_case(tmp_path)
    # 300,000 draws of 2 complexes: one simulation about 0.61 GiB, seven (all drivers, each alone) about 1.24 GiB
    monkeypatch.setattr(grex.limits, "available_memory", lambda: 1000 << 20)
    grex.limits.check_memory(300_000, 2, "simulate")  # grex simulate fits
    for command in ("sensitivity", "report"):
        out = tmp_path / command
        assert main([command, str(path), "--draws", "300000", "--out", str(out)]) == 3
        one_line(capsys.readouterr().err, "--draws 300,000", "GiB", "draws fit")
        assert not out.exists()


def test_memory_estimate_hand_worked():
    # 1,000 draws of 10 complexes: 1,000 × (10 × 24 + 11 × 8 × 3 + 64) bytes + 512 MiB
    assert grex.limits.memory_needed(1000, 10) == 1000 * (240 + 264 + 64) + (512 << 20)
    # the scale benchmark's portfolio: 100,000 draws of 1,000 complexes, about 3.0 GB (2.3 GB measured)
    assert grex.limits.memory_needed(100_000, 1000) == 100_000 * (24_000 + 328) + (512 << 20)
    # grex report and grex sensitivity hold seven simulations
    assert grex.limits.memory_needed(1000, 10, "report") == 7 * 1000 * (240 + 328) + (512 << 20)


def test_help_lists_the_exit_statuses(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for code in EXIT_STATUSES:
        assert f"  {code}  " in text


# -- processes: signals, pipes, orphans (subprocesses) -----------------------------------------


def grex_process(args: list[str], cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC), "GREX_ENGINE": "numpy", "GREX_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from grex.cli import main; sys.exit(main())", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("sig", "status", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
@pytest.mark.slow
def test_interrupt_during_simulate(tmp_path, sig, status, word):
    path = make_case(tmp_path)
    out = tmp_path / "out"
    process = grex_process(["simulate", str(path), "--draws", "3000000", "--out", str(out)], tmp_path)
    assert b"simulating" in process.stderr.readline()  # the simulation has started
    time.sleep(1.0)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == status
    one_line(err.decode(), word, "nothing written")
    assert not out.exists()
    assert not stray(tmp_path)


def test_closed_pipe_is_quiet(tmp_path):
    path = make_case(tmp_path)
    process = grex_process(["run", str(path), "--out", str(tmp_path / "out")], tmp_path)
    process.stdout.close()  # the reader went away (grex ... | head)
    err = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert err == b""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # a zombie waiting for init to reap it is dead


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.slow
def test_pool_workers_die_with_their_parent(tmp_path):
    path = make_case(tmp_path)
    script = textwrap.dedent(
        f"""
        import multiprocessing, sys, threading, time
        import grex.io.batch
        from grex.io.batch import run_batch

        grex.io.batch.check_memory = lambda *args, **kwargs: None  # killed long before the results pile up

        def tell():
            while len(multiprocessing.active_children()) < 2:
                time.sleep(0.05)
            time.sleep(1.0)  # the workers have started their parts
            print(" ".join(str(c.pid) for c in multiprocessing.active_children()), flush=True)

        threading.Thread(target=tell, daemon=True).start()
        run_batch([{str(path)!r}], {str(tmp_path / "batch")!r}, draws=400_000, workers=2, chunk_draws=1024 * 100, auto=False)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "GREX_ENGINE": "numpy", "GREX_THREADS": "1"}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = parent.stdout.readline().decode()
        children = [int(p) for p in line.split()]
        assert len(children) >= 2, (line, parent.stderr.read() if parent.poll() is not None else "")
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(_gone(pid) for pid in children):
            time.sleep(0.1)
        left = [pid for pid in children if not _gone(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"pool workers {left} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()


# -- property-based: whatever a cell or key holds, one line or success -------------------------


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


@given(
    key=st.sampled_from(
        [
            "parameters.discount_rate",
            "parameters.interest_rate",
            "montecarlo.market_pace",
            "montecarlo.delay",
            "reserves.general_reserve",
            "montecarlo.draws",
        ]
    ),
    value=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.text(max_size=20),
        st.booleans(),
        st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3),
    ),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_scenario_value_gives_success_or_one_line(tmp_path_factory, key, value):
    folder = tmp_path_factory.mktemp("h")
    table, name = key.split(".")
    text = f'name = "case"\nportfolio = "portfolio"\nvaluation_year = 2024\n[{table}]\n{name} = {toml_value(value)}\n'
    path = make_case(folder, scenario=text)
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["validate", str(path)])
    assert status in (0, 2), err.getvalue()
    if status == 2:
        one_line(err.getvalue())


@given(cell=st.text(max_size=40), column=st.sampled_from(["book_value", "name", "status", "profit_taken"]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_projects_cell_gives_success_or_one_line(tmp_path_factory, cell, column):
    import contextlib
    import csv
    import io

    folder = tmp_path_factory.mktemp("c")
    rows = list(csv.reader(io.StringIO(PROJECTS)))
    rows[1][rows[0].index(column)] = cell
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path = make_case(folder, projects=buffer.getvalue())
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["validate", str(path)])
    assert status in (0, 2), err.getvalue()
    if status == 2:
        one_line(err.getvalue())


@pytest.mark.parametrize("moment", ["while writing", "after the swap"])
def test_sigkill_leaves_a_whole_folder_and_the_next_run_cleans_up(tmp_path, capsys, moment):
    path, out, before = previous_output(tmp_path, capsys)
    # the run killed at a chosen moment: while its files are written, or between swap and cleanup
    patch = (
        "grex.io.results.write_json = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)"
        if moment == "while writing"
        else "grex.io.paths.shutil.rmtree = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)"
    )
    script = (
        "import os, signal, sys\nimport grex.io.paths, grex.io.results\n"
        f"{patch}\nfrom grex.cli import main\nsys.exit(main(['run', {str(path)!r}, '--out', {str(out)!r}]))\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL
    if moment == "while writing":
        assert snapshot(out) == before  # the previous output, whole
    else:
        after = snapshot(out)
        assert after != before and set(after) == set(before)  # the new output, whole
    assert stray(tmp_path)  # the killed run's temporary folder ...
    assert main(["run", str(path), "--out", str(out)]) == 0
    capsys.readouterr()
    assert not stray(tmp_path)  # ... is removed by the next run


def test_too_many_workers_refused(tmp_path, capsys):
    path = make_case(tmp_path)
    assert main(["batch", str(path), "--workers", "100000", "--out", str(tmp_path / "b")]) == 2
    one_line(capsys.readouterr().err, "--workers")
    assert not (tmp_path / "b").exists()


def test_diff_refuses_a_file_as_out_before_any_work(tmp_path, capsys, monkeypatch):
    path = make_case(tmp_path)
    (tmp_path / "taken").write_text("mine")
    import grex.api

    monkeypatch.setattr(grex.api, "diff_scenarios", lambda *a, **k: pytest.fail("diff ran before --out was checked"))
    assert main(["diff", str(path), str(path), "--out", str(tmp_path / "taken")]) == 3
    one_line(capsys.readouterr().err, "taken", "not a folder")


def test_internal_error_is_one_line_without_traceback(tmp_path, capsys, monkeypatch):
    import grex.cli

    def broken(args):
        raise RuntimeError("something\nunexpected")

    monkeypatch.setattr(grex.cli, "_cmd_run", broken)
    assert main(["run", str(make_case(tmp_path))]) == 1
    one_line(capsys.readouterr().err, "internal error RuntimeError: something unexpected", "-v")


def test_a_long_plan_is_not_refused_by_the_year_limit(tmp_path, capsys):
    # a plan of 300 years (V 1900, its sales in 2198-2199): the limit counts from its own horizon
    projects = PROJECTS
    flows = (
        "project,year,type,category,amount,sales_linked\n"
        "a,1900,cost,bouwrijp,100000,false\n"
        "a,2198,revenue,wonen_vrij,300000,false\n"
        "a,2199,cost,woonrijp,20000,true\n"
        "b,1901,cost,verwerving,50000,false\n"
        "b,1903,revenue,bedrijven,80000,false\n"
    )
    text = scenario_text().replace("valuation_year = 2024", "valuation_year = 1900")
    path = make_case(tmp_path, scenario=text, projects=projects, flows=flows)
    assert main(["simulate", str(path), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    capsys.readouterr()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ratio"] is not None and summary["grade"] is not None


@pytest.mark.parametrize("rate", ["-0.99", "-0.5"])
def test_a_fall_of_half_a_year_is_refused(tmp_path, capsys, rate):
    path = make_case(tmp_path, scenario=scenario_text() + f"[parameters]\ndiscount_rate = {rate}\n")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    one_line(capsys.readouterr().err, "parameters.discount_rate", "fall of half")


# -- a real small file system (a tmpfs in a private mount namespace, where the machine allows) ----

FAULT_SCRIPT = """
import json, os, subprocess, sys
from pathlib import Path

folder, scenario, fault = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
import contextlib, io
from grex.cli import main

out = folder / "out"
first = main(["run", scenario, "--out", str(out)])
before = {p.name: p.read_bytes() for p in out.iterdir()}
if fault == "full":
    handle = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):
        while True:
            os.write(handle, b"x" * 4096)
    os.close(handle)
else:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
Path(scenario).with_name("portfolio").joinpath("flows.csv").write_text(
    Path(scenario).with_name("portfolio").joinpath("flows.csv").read_text().replace("300000", "310000")
)
err = io.StringIO()
with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
    second = main(["run", scenario, "--out", str(out)])
after = {p.name: p.read_bytes() for p in out.iterdir()}
print(json.dumps({
    "first": first, "second": second, "err": err.getvalue(), "intact": before == after,
    "left": sorted(p.name for p in folder.iterdir()),
}))
"""


def _private_mounts() -> bool:
    try:
        probe = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _private_mounts(), reason="no private mounts here")
@pytest.mark.parametrize(
    ("fault", "words"), [("full", "No space left on device"), ("read-only", "Read-only file system")]
)
@pytest.mark.slow
def test_full_or_read_only_file_system(tmp_path, fault, words):
    path = make_case(tmp_path)
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            sys.executable,
            "-c",
            FAULT_SCRIPT,
            str(mount),
            str(path),
            fault,
        ],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["first"] == 0
    assert report["second"] == 3
    one_line(report["err"], words)
    assert report["intact"], "the previous output must be left whole"
    assert not [name for name in report["left"] if name.startswith(TEMP_PREFIX)], report["left"]


def test_files_grex_wrote_are_replaced_by_the_marker_list(tmp_path, capsys):
    path = make_case(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    marker = json.loads((out / OUTPUT_MARKER).read_text())
    assert "summary.json" in marker["files"] and OUTPUT_MARKER not in marker["files"]
    # a file an earlier grex wrote under a name this one no longer writes: listed, so not kept
    (out / "old-name.csv").write_text("grex's")
    (out / "mine.csv").write_text("the user's")
    (out / OUTPUT_MARKER).write_text(json.dumps({**marker, "files": [*marker["files"], "old-name.csv"]}))
    assert main(["run", str(path), "--out", str(out)]) == 0
    capsys.readouterr()
    assert not (out / "old-name.csv").exists()
    assert (out / "mine.csv").read_text() == "the user's"
