"""The console's compile note (issue 17): said for the kernel variant a scenario runs, only when that one is not cached.

Each kind of scenario (a market, a cost index per kostensoort, a rekenrente per year, the present
value of the flows, a yearly revaluation) runs its own variant of the kernel, compiled on its first
use and cached in its own files. The console asks the kernel which variant a scenario runs; these
tests check that it finds the one the kernel chooses, and that the note follows that variant's cache.
"""

from __future__ import annotations

import os
import time

import pytest

from conftest import EXAMPLE, ROOT
from grex import cli, progress
from grex.cli import main
from grex.io import read_portfolio, read_scenario
from grex.scenario import Scenario
from grex.valuation import value_portfolio

MARKET = ROOT / "scenarios" / "assen-2024-markt.toml"

#: Keys of [parameters] that each put one stage of the kernel in the variant (the municipal practice of issue 14).
PRACTICE = {
    "categories": {"cost_index_by_category": {"verwerving": 0.0, "bouwrijp": 0.03}},
    "rate_by_year": {"interest_rate": {"2024": 0.01, "default": 0.02}},
    "pv_of_flows": {"present_value_method": "cash_flows"},
}


def _valuation(path, **parameters):
    scenario = read_scenario(path)
    if parameters:
        data = dict(scenario.data)
        data["parameters"] = {**data.get("parameters", {}), **parameters}
        scenario = Scenario.from_dict(data, source=scenario.source)
    return value_portfolio(scenario, read_portfolio(scenario.portfolio))


CASES = {
    "assen-2024": (EXAMPLE, {}),
    "kredietcrisis-2008": (ROOT / "scenarios" / "kredietcrisis-2008.toml", {}),
    "assen-2024-markt": (MARKET, {}),
    "kredietcrisis-2008-jaarlijks": (ROOT / "scenarios" / "kredietcrisis-2008-jaarlijks.toml", {}),
    **{f"assen-2024 + {stage}": (EXAMPLE, keys) for stage, keys in PRACTICE.items()},
    "assen-2024-markt + every practice": (MARKET, {k: v for keys in PRACTICE.values() for k, v in keys.items()}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_console_finds_the_variant_the_kernel_runs(case):
    from grex import kernel
    from grex.montecarlo import make_plan
    from grex.montecarlo.execution import kernel_plan

    path, parameters = CASES[case]
    valuation = _valuation(path, **parameters)
    plan = make_plan(valuation.scenario, valuation.portfolio, None)
    expected = kernel.variant_name(kernel.variant(kernel_plan(plan, 30)))
    assert cli._kernel_variant(valuation) == expected
    if parameters or "markt" in case or "jaarlijks" in case:
        assert expected != progress.PLAIN  # each case but the plain examples runs a variant with a stage


def test_the_note_names_the_stages_of_the_kernel():
    from grex import kernel

    assert tuple(progress.VARIANT_WORDS) == kernel.VARIANT_STAGES
    assert progress.compile_note("value_draws") == (
        "compiling the Monte Carlo kernel (once per install, about 15 s; cached afterwards)"
    )
    assert progress.compile_note("value_draws_market_rate_by_year_yearly") == (
        "compiling the Monte Carlo kernel for a scenario with a market, a rekenrente per year and a yearly "
        "revaluation (once per install, about 25 s; cached afterwards)"
    )


def test_each_variant_has_its_own_cache(tmp_path, monkeypatch):
    """The plain variant cached says nothing of another: each is looked up by its own index file."""
    monkeypatch.delenv("GREX_ENGINE", raising=False)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    never = "value_draws_not_a_stage"  # no such variant anywhere
    assert not progress.kernel_cache_ready(never)
    # numba keeps its cache only under NUMBA_CACHE_DIR where that is set: the package's __pycache__ (filled by
    # the tests before this one) does not count
    assert not progress.kernel_cache_ready()
    (tmp_path / "kernel.value_draws-3f.py311.nbi").write_bytes(b"")
    assert not progress.kernel_cache_ready(never)
    assert progress.kernel_cache_ready()
    index = tmp_path / f"kernel.{never}-3f.py311.nbi"
    index.write_bytes(b"")
    assert progress.kernel_cache_ready(never)
    old = time.time() - 10 * 365 * 86400  # written before the kernel's source changed: compiled again
    os.utime(index, (old, old))
    assert not progress.kernel_cache_ready(never)


def test_the_note_follows_the_scenarios_variant(tmp_path, capsys, monkeypatch):
    """Only the plain variant cached: a market scenario says that it compiles its own, the example says nothing."""
    monkeypatch.delenv("GREX_ENGINE", raising=False)
    asked = []

    def cached(variant=progress.PLAIN):
        asked.append(variant)
        return variant == progress.PLAIN

    monkeypatch.setattr("grex.cli.kernel_cache_ready", cached)
    assert main(["simulate", str(MARKET), "--draws", "300", "--out", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err
    assert "compiling the Monte Carlo kernel for a scenario with a market (once per install" in err
    assert err.count("compiling the Monte Carlo kernel") == 1
    assert main(["simulate", str(EXAMPLE), "--draws", "300", "--out", str(tmp_path / "e")]) == 0
    assert "compiling" not in capsys.readouterr().err
    assert asked == ["value_draws_market", "value_draws"]


def test_batch_says_that_it_compiles_when_its_work_starts(tmp_path, capsys, monkeypatch):
    """The note comes once the scenarios are read (an unreadable input stays one line: tests/test_cluster.py)."""
    monkeypatch.delenv("GREX_ENGINE", raising=False)
    monkeypatch.setattr("grex.cli.kernel_cache_ready", lambda variant=progress.PLAIN: False)
    first = sorted((ROOT / "scenarios" / "batch-2024").glob("*.toml"))[0]
    assert main(["batch", str(first), "--draws", "200", "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().err.count("compiling the Monte Carlo kernel") == 1
