"""What a person sees: number formats, console tables, -q/-v, progress, the notebook API."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest

import grex
from conftest import EXAMPLE, ROOT
from grex import display
from grex.cli import format_diff, format_valuation, main
from grex.display import keur, number, percent
from grex.io import read_portfolio, read_scenario
from grex.progress import Steps
from grex.valuation import value_portfolio

BEFORE = ROOT / "scenarios" / "assen-2023.toml"
#: A minus sign before a zero that stands alone: "-0", never "-0,5" or "-0.5" or "-10".
MINUS_ZERO = re.compile(r"(?<![\w.,])-0(?![\w.,])")


@pytest.fixture(scope="module")
def valuation():
    scenario = read_scenario(EXAMPLE)
    return value_portfolio(scenario, read_portfolio(scenario.portfolio))


@pytest.fixture(scope="module")
def difference():
    return grex.diff_scenarios(BEFORE, EXAMPLE)


# -- numbers ----------------------------------------------------------------------


def test_dutch_and_english_number_formats():
    # hand-written: 3,650,400 EUR is 3.650 k€ in Dutch, 3,650 in English
    assert keur(3_650_400, "nl") == "3.650" and keur(3_650_400, "en") == "3,650"
    assert number(1234567.891, "nl", 2) == "1.234.567,89"
    assert number(1234567.891, "en", 2) == "1,234,567.89"
    assert percent(0.0456, "nl") == "4,6%" and percent(0.0456, "en") == "4.6%"


@pytest.mark.parametrize("euros", [-0.4, -499.99, -0.0])
def test_no_minus_zero(euros):
    # amounts that round to 0 k€ have no sign; nor do numbers that round to 0
    assert keur(euros, "nl") == "0" and keur(euros, "en") == "0"
    assert number(euros / 1000, "en") == "0"
    assert number(-0.004, "nl", 2) == "0,00"
    assert keur(-500.01, "nl") == "-1"


# -- console tables ------------------------------------------------------------------


def test_run_table_in_dutch_format_under_dutch_headers(valuation):
    text = format_valuation(valuation, lang="nl")
    row = next(line for line in text.splitlines() if line.strip().startswith("Kloosterakker"))
    # Kloosterakker: book value 3,650,000 EUR, remaining costs 6,805 k€ (the example's figures)
    assert re.search(r"\b3\.650\b", row) and re.search(r"\b6\.805\b", row)
    assert "boek-" in text and "contante" in text and "totaal" in text and "ratio beschikbaar / IFLO-norm 1,05" in text
    english = format_valuation(valuation, lang="en")
    assert re.search(r"\b3,650\b", english) and "book" in english and "ratio available / IFLO norm 1.05" in english
    assert max(len(line) for line in text.splitlines()) <= 100


@pytest.mark.parametrize("width", [80, 100, 120])
def test_diff_table_fits_the_terminal_with_full_effect_names(difference, width):
    text = format_diff(difference, lang="nl", width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "Opbrengst betaalbare woningbouw" in text and "Verschuiving peildatum" in text
    assert not MINUS_ZERO.search(text)
    # every complex is shown: its name (first word) in a header
    for name in difference.names:
        assert name.split()[0] in text


def test_diff_table_values_in_keur(difference):
    text = format_diff(difference, lang="en", width=200)
    before, after = difference.total("present_value")
    assert keur(before, "en") in text and keur(after, "en") in text and "Interest rate" in text


# -- -q, -v, stdout and stderr --------------------------------------------------------


def test_quiet_and_verbose(tmp_path, capsys):
    assert main(["run", str(EXAMPLE), "--out", str(tmp_path / "a"), "-v"]) == 0
    captured = capsys.readouterr()
    assert "grex: run: valuing" in captured.err and "totaal" in captured.out
    assert "grex:" not in captured.out and "written to" in captured.err and "written to" not in captured.out
    grid = ROOT / "scenarios" / "batch-2024" / "grid-disconto-tempo.toml"
    assert main(["-q", "run", str(grid), "--out", str(tmp_path / "b")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "totaal" in captured.out
    assert main(["run", str(grid), "--out", str(tmp_path / "c")]) == 0
    assert "holds a grid" in capsys.readouterr().err


def test_steps_are_logged_with_their_seconds(caplog):
    with caplog.at_level(logging.DEBUG, logger="grex"):
        with Steps("demo", 2, show=False) as steps:
            with steps.step("first"):
                pass
            with steps.step("second"):
                pass
        with Steps("demo", 3, show=False) as other:
            other.next("a")
            other.next("b")
            other.next("c")
    messages = [r.getMessage() for r in caplog.records]
    assert steps.done == 2 and other.done == 2 and other.label == "c"
    assert any(re.fullmatch(r"demo: second: \d+\.\d\d s", m) for m in messages)


def test_simulate_says_when_the_kernel_compiles(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("grex.cli.kernel_cache_ready", lambda variant="value_draws": False)
    assert main(["simulate", str(EXAMPLE), "--draws", "300", "--out", str(tmp_path / "s")]) == 0
    captured = capsys.readouterr()
    assert "compiling the Monte Carlo kernel" in captured.err
    assert "compiling" not in captured.out and "trekkingen, seed" in captured.out
    monkeypatch.setattr("grex.cli.kernel_cache_ready", lambda variant="value_draws": True)
    assert main(["simulate", str(EXAMPLE), "--draws", "300", "--out", str(tmp_path / "t")]) == 0
    assert "compiling" not in capsys.readouterr().err


def test_kernel_cache_is_not_needed_with_the_numpy_engine(monkeypatch):
    from grex.progress import kernel_cache_ready

    monkeypatch.setenv("GREX_ENGINE", "numpy")
    assert kernel_cache_ready()


# -- batch: workers that pay off ----------------------------------------------------------


def test_pool_break_even_hand_worked():
    from grex.batch import PART_RATE, WORKER_START, pool_pays_off

    # 2 workers on 2 CPUs halve the work: they pay off when half of it exceeds the start-up
    break_even = 2 * WORKER_START * PART_RATE
    assert break_even == pytest.approx(380e6)
    assert not pool_pays_off(break_even, 2, cpus=2)[0]
    assert pool_pays_off(break_even * 1.01, 2, cpus=2)[0]
    pays, here, saved = pool_pays_off(4 * PART_RATE, 4, cpus=4)  # 4 s here, 3 s saved
    assert pays and here == pytest.approx(4.0) and saved == pytest.approx(3.0)
    assert not pool_pays_off(1e12, 8, cpus=1)[0]


def test_small_batch_runs_in_process_and_says_why(tmp_path, caplog, monkeypatch):
    import grex.batch

    def no_pool(*args, **kwargs):
        raise AssertionError("the pool was started")

    monkeypatch.setattr(grex.batch, "_on_pool", no_pool)
    files = [str(ROOT / "scenarios" / "batch-2024" / "base.toml")]
    with caplog.at_level(logging.INFO, logger="grex"):
        result = grex.run_batch(files, tmp_path, draws=300, workers=2)
    assert result.ok and result.ran == ("base",)
    assert any("running in this process" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_batch_workers_benchmark_reports_its_figures():
    script = ROOT / "benchmarks" / "batch_workers.py"
    out = subprocess.run([sys.executable, str(script), "--quick", "--json"], capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout)
    assert figures["worker_start_s"] > 0 and figures["part_rate"]["cells_per_s"] > 0
    assert [run["draws"] for run in figures["runs"]] == [500]


# -- notebook API -----------------------------------------------------------------------


def test_import_grex_is_light_and_lists_the_api():
    code = "import sys, grex; print('pandas' in sys.modules, 'numba' in sys.modules); print(dir(grex))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first, names = out.splitlines()
    assert first == "False False"
    for name in ("read_scenario", "value_portfolio", "simulate", "diff_scenarios", "Valuation", "DiffResult"):
        assert repr(name) in names
    assert grex.Valuation is __import__("grex.valuation").valuation.Valuation
    with pytest.raises(AttributeError):
        grex.nothing_here  # noqa: B018


def test_short_reprs(valuation, difference):
    text = repr(valuation)
    assert len(text) < 800 and "-16,885" in text and "assen-2024" in text
    html = valuation._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "-16,885" in html
    text = repr(difference)
    assert len(text) < 800 and "-9,889" in text and "-16,885" in text and "Nieuwe complexen" in text
    assert "<table>" in difference._repr_html_()


def test_simulation_repr(valuation):
    simulation = grex.simulate(valuation.scenario, valuation.portfolio, draws=300, seed=4)
    text = display.simulation_repr(simulation)
    assert len(text) < 800 and "300, 4" in text and "required capacity at 90%" in text
    assert "<table>" in display.simulation_html(simulation)


def test_dataframe_accessors(valuation, difference):
    totals = valuation.totals_frame()
    assert totals.loc["total", "present_value"] == pytest.approx(valuation.totals()["total"]["present_value"])
    assert totals.loc["vastgesteld", "complexes"] == 12
    frame = difference.portfolio_frame()
    assert list(frame.columns) == ["end_value", "present_value"]
    before, after = difference.total("present_value")
    assert frame["present_value"].sum() == pytest.approx(after - before, abs=0.01)
