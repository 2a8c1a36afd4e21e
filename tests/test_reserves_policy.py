"""The council's norm (``[reserves] norm``): one ratio and one grade as the policy defines it."""

from __future__ import annotations

import json

import pytest

from grex.cli import main
from grex.reserves import policy_required, reserve_figures


def test_policy_takes_the_higher_capacity_by_default():
    """IFLO norm 6, risk-based 10, available 9: by the IFLO norm 9/6 = 1.5 (B), risk-based 9/10 = 0.9 (D);
    the default policy "max" takes the higher capacity, 10: ratio 0.9, grade D."""
    figures = reserve_figures("max", 9.0, 6.0, 10.0)
    assert figures["ratio_iflo"] == pytest.approx(1.5) and figures["grade_iflo"] == "B"
    assert figures["ratio_risk"] == pytest.approx(0.9) and figures["grade_risk"] == "D"
    assert figures["required_capacity_policy"] == 10.0
    assert figures["ratio"] == pytest.approx(0.9) and figures["grade"] == "D"
    assert figures["grade_label"] == "matig"


def test_policy_iflo_and_risk():
    """The same figures under "iflo": 9/6 = 1.5, B; under "risk" 9/10 = 0.9, D; IFLO 12 > risk 10 under "max": 0.75, E."""
    assert reserve_figures("iflo", 9.0, 6.0, 10.0)["ratio"] == pytest.approx(1.5)
    assert reserve_figures("risk", 9.0, 6.0, 10.0)["grade"] == "D"
    high = reserve_figures("max", 9.0, 12.0, 10.0)
    assert high["required_capacity_policy"] == 12.0 and high["grade"] == "E"


def test_without_monte_carlo_only_an_iflo_policy_has_a_ratio():
    assert policy_required("risk", 6.0, None) is None
    assert policy_required("max", 6.0, None) is None
    assert "ratio" not in reserve_figures("max", 9.0, 6.0, None)
    assert reserve_figures("iflo", 9.0, 6.0, None)["ratio"] == pytest.approx(1.5)


def test_run_summary_names_each_ratio(case, tmp_path):
    """IFLO norm 370 (see test_handworked), available 555: ratio_iflo 1.5; with norm = "iflo" the policy ratio
    is the same figure; with the default "max" grex run (no Monte Carlo) writes no policy ratio."""
    projects = [{"project": "a", "book_value": 1000}, {"project": "s", "status": "strategisch", "book_value": 500}]
    flows = [{"project": "a", "year": 2024, "amount": 2000}]
    for norm, out in (("iflo", tmp_path / "iflo"), (None, tmp_path / "max")):
        reserves = {"resistance_reserve": 555} | ({} if norm is None else {"norm": norm})
        scenario = case(projects, flows, reserves=reserves)
        assert main(["run", str(scenario), "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["ratio_iflo"] == pytest.approx(1.5) and summary["grade_iflo"] == "B"
        assert summary["norm"] == (norm or "max")
        if norm == "iflo":
            assert summary["ratio"] == summary["ratio_iflo"] and summary["grade"] == "B"
        else:
            assert "ratio" not in summary and "grade" not in summary


def test_bad_norm_is_one_line(case, tmp_path, capsys):
    scenario = case([{"project": "a", "book_value": 1000}], [], reserves={"norm": "highest"})
    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "reserves.norm" in err and '"max", "iflo" or "risk"' in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
