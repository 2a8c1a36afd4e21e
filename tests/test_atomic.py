"""Outputs appear whole or not at all: a writer killed midway, after its first file.

Every command that writes a folder (``run``, ``simulate``, ``report``, ``batch``)
is run once to leave an output, then again on changed inputs with a fault
injected into the writing: the second file opened for writing under the output
area raises, as if the process had been killed there. The earlier output must
be as it was, byte for byte, with no temporary folder or file left beside or
inside it; the same command without the fault then leaves the whole new
output, file for file the same as a fresh run into an empty folder.

The fault is injected where files are opened for writing (Python's and
pathlib's ``open``, and pandas' Parquet writer, which opens its files in
Arrow), so the tests hold for any way of staging and swapping the folder, not
one implementation.
"""

from __future__ import annotations

import builtins
import io
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from grex.cli import main
from grex.io.batch import read_batch, read_marker

PROJECTS = (
    "project,name,status,book_value,realised_costs,realised_revenues,profit_taken\n"
    "a,Alpha,vastgesteld,1000,0,0,0\n"
    "b,Beta,vastgesteld,500,0,0,0\n"
)
FLOWS = (
    "project,year,type,category,amount\n"
    "a,2024,cost,bouwrijp,400\n"
    "a,2025,revenue,wonen_vrij,900\n"
    "b,2024,cost,bouwrijp,300\n"
    "b,2026,revenue,wonen_vrij,700\n"
)
SCENARIO = """name = "{name}"
portfolio = "portfolio"
valuation_year = 2024
[parameters]
discount_rate = {discount_rate}
[reserves]
general_reserve = 5000
resistance_reserve = 800
"""


class InjectedFault(Exception):
    """The writer was 'killed' here."""


def inject_fault(monkeypatch: pytest.MonkeyPatch, root: Path, *, files_before: int = 1) -> list[Path]:
    """Make the file opened for writing under ``root`` after ``files_before`` others raise :class:`InjectedFault`.

    Returns the list of paths opened for writing under ``root`` (the last one failed).
    """
    real_open, real_to_parquet = builtins.open, pd.DataFrame.to_parquet
    root = root.resolve()
    opened: list[Path] = []

    def writing(file) -> None:
        if isinstance(file, (str, bytes, os.PathLike)):
            path = Path(os.fsdecode(file)).resolve()
            if path.is_relative_to(root):
                opened.append(path)
                if len(opened) > files_before:
                    raise InjectedFault(f"killed while writing {path}")

    def faulty_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            writing(file)
        return real_open(file, mode, *args, **kwargs)

    def faulty_to_parquet(self, path=None, *args, **kwargs):
        writing(path)
        return real_to_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", faulty_open)
    monkeypatch.setattr(io, "open", faulty_open)  # pathlib's Path.open
    monkeypatch.setattr(pd.DataFrame, "to_parquet", faulty_to_parquet)
    return opened


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def content(files: dict[str, bytes], folder: Path) -> dict[str, object]:
    """What the files hold: their bytes, but a workbook's cell values (its zip entries carry the time)."""
    out: dict[str, object] = {}
    for name, data in files.items():
        if name.endswith(".xlsx"):
            book = load_workbook(folder / name, read_only=True)
            out[name] = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book}
            book.close()
        else:
            out[name] = data
    return out


def hidden(folder: Path) -> list[str]:
    """Entries under ``folder`` (itself included) whose names start with a dot: temporary files and folders
    (grex's own marker of an output folder, ``.grex-output``, is no temporary file)."""
    return [
        p.relative_to(folder.parent).as_posix()
        for p in [folder, *folder.rglob("*")]
        if p.name.startswith(".") and p.name != ".grex-output"
    ]


def write_inputs(folder: Path, *, amount: int = 900, discount_rate: float = 0.02, name: str = "atomic") -> Path:
    (folder / "portfolio").mkdir(parents=True, exist_ok=True)
    (folder / "portfolio" / "projects.csv").write_text(PROJECTS)
    (folder / "portfolio" / "flows.csv").write_text(FLOWS.replace(",900\n", f",{amount}\n"))
    path = folder / f"{name}.toml"
    path.write_text(SCENARIO.format(name=name, discount_rate=discount_rate))
    return path


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "run": lambda scenario, out: ["run", str(scenario), "--out", str(out)],
    "simulate": lambda scenario, out: ["simulate", str(scenario), "--draws", "100", "--seed", "3", "--out", str(out)],
    "report": lambda scenario, out: [
        *("report", str(scenario), "--draws", "100", "--seed", "3", "--format", "html,xlsx", "--out", str(out))
    ],
}


@pytest.mark.parametrize(
    "command", [pytest.param(c, marks=pytest.mark.slow) if c == "report" else c for c in COMMANDS]
)  # the report: seven simulations and two renderings, three times over (about 10 s)
def test_writer_killed_after_its_first_file_leaves_the_earlier_output_intact(tmp_path, monkeypatch, command):
    inputs, area = tmp_path / "inputs", tmp_path / "results"
    scenario = write_inputs(inputs)
    out = area / "out"
    assert main(COMMANDS[command](scenario, out)) == 0
    before = snapshot(out)
    assert before

    write_inputs(inputs, amount=950)  # new inputs: every output file of the next run differs
    with monkeypatch.context() as patch:
        opened = inject_fault(patch, area)
        # the command ends in one line and status 1 (an unexpected fault), not a traceback
        assert main(COMMANDS[command](scenario, out)) == 1
    assert len(opened) == 2, f"the fault must come after a first file was written: {opened}"
    assert snapshot(out) == before, "the earlier output must be left as it was"
    assert sorted(p.name for p in area.iterdir()) == ["out"], "nothing may be left beside the output"
    assert hidden(out) == [], "no temporary file or folder may be left"

    # the same command without the fault: the whole new output, as a fresh run writes it
    assert main(COMMANDS[command](scenario, out)) == 0
    fresh = tmp_path / "fresh" / "out"
    assert main(COMMANDS[command](scenario, fresh)) == 0
    after = snapshot(out)
    assert set(after) == set(before)
    assert content(after, out) == content(snapshot(fresh), fresh)
    assert all(after[name] != before[name] for name in after if name != ".grex-output"), "every file is of the new run"
    assert sorted(p.name for p in area.iterdir()) == ["out"] and hidden(out) == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_writer_killed_on_a_first_run_leaves_no_folder(tmp_path, monkeypatch, command):
    scenario = write_inputs(tmp_path / "inputs")
    area = tmp_path / "results"
    with monkeypatch.context() as patch:
        inject_fault(patch, area)
        assert main(COMMANDS[command](scenario, area / "out")) == 1
    assert not area.exists() or list(area.iterdir()) == []


def test_batch_killed_while_writing_a_scenario_keeps_the_others_and_does_not_take_it_for_complete(
    tmp_path, monkeypatch
):
    """A batch of two scenarios ran; the second is changed and the batch rerun, killed after the first
    table of its partition. The first scenario (skipped: same inputs), its partitions and the comparison
    are as they were; the second is not taken for complete (no marker, not in the dataset) and the next
    batch runs it, leaving the dataset a fresh batch writes."""
    inputs, area = tmp_path / "inputs", tmp_path / "results"
    first = write_inputs(inputs, name="first")
    second = write_inputs(inputs, name="second")
    out = area / "batch"

    def batch(target: Path) -> list[str]:
        return ["batch", str(first), str(second), "--draws", "100", "--seed", "2", "--out", str(target)]

    assert main(batch(out)) == 0
    before = snapshot(out)
    assert read_marker(out, "second") is not None

    second.write_text(SCENARIO.format(name="second", discount_rate=0.03))
    with monkeypatch.context() as patch:
        opened = inject_fault(patch, area)
        assert main(batch(out)) == 1
    # the first scenario is skipped (same inputs): what was written was of the second (its staging folders)
    assert len(opened) == 2 and not any("scenario=first" in p.as_posix() for p in opened), opened
    assert hidden(out) == [], "no temporary file or folder may be left"
    assert sorted(p.name for p in area.iterdir()) == ["batch"]
    now = snapshot(out)
    kept = [name for name in before if "scenario=second" not in name]
    assert {name: now.get(name) for name in kept} == {name: before[name] for name in kept}
    assert read_marker(out, "second") is None
    assert set(read_batch(out, "draws")["scenario"]) == {"first"}

    assert main(batch(out)) == 0
    fresh = tmp_path / "fresh" / "batch"
    assert main(batch(fresh)) == 0
    after, expected = snapshot(out), snapshot(fresh)
    assert set(after) == set(expected)
    for name in after:
        if name.endswith(".parquet") or name.endswith(".csv"):
            assert after[name] == expected[name], name
    assert read_marker(out, "second")["key"] == read_marker(fresh, "second")["key"]
    assert hidden(out) == []
