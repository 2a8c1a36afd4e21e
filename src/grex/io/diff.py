"""Writing a difference analysis: ``diff.csv``, ``summary.json`` and the waterfall charts."""

from __future__ import annotations

import re
from pathlib import Path

from grex import __version__
from grex.diff import DiffResult
from grex.io.results import ILLUSTRATIVE_NOTICE, write_atomically, write_csv, write_json

__all__ = ["write_diff"]


def write_diff(result: DiffResult, out_dir: str | Path, *, largest: int = 5) -> Path:
    """Write the difference analysis to ``out_dir``, atomically.

    Files
    -----
    ``diff.csv``
        :meth:`DiffResult.table`: one row per complex and measure (``end_value``,
        ``present_value``), the portfolio total rows (project ``(total)``) last
        per measure; columns ``project, name, change, measure, before``, one
        per effect in the order applied, ``after, total_change``. [EUR, cents;
        positive = profit or improvement] A plain table (no comment lines).
    ``summary.json``
        The provenance: both scenarios with their valuation years and input
        hashes, the grex version, the effects in the order applied, and the
        ``notice`` where either scenario is illustrative.
    ``provisions.csv``
        :meth:`DiffResult.provisions`: per complex the provision BEFORE
        required, AFTER's balance (``provision_balance``), the provision AFTER
        requires and the dotation (positive: added, negative: released,
        vrijval); a total row last. [EUR, cents] A plain table.
    ``waterfall.png``
        The portfolio waterfall of the present value.
    ``waterfall-<project>.png``
        One per complex, for the ``largest`` matched complexes whose present
        value changed most.
    """
    from grex.plot.style import to_png
    from grex.plot.waterfall import plot_waterfall

    out_dir = Path(out_dir)
    with write_atomically(out_dir) as staging:
        write_csv(result.table(), staging / "diff.csv")
        write_csv(result.provisions(), staging / "provisions.csv")
        write_json(staging / "summary.json", _summary(result))
        (staging / "waterfall.png").write_bytes(to_png(plot_waterfall(result)))
        for project in result.largest(largest):
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", project)
            (staging / f"waterfall-{safe}.png").write_bytes(to_png(plot_waterfall(result, project)))
    return out_dir


def _summary(result: DiffResult) -> dict:
    about: dict = {"notice": ILLUSTRATIVE_NOTICE} if result.illustrative else {}
    for side, valuation in (("before", result.before), ("after", result.after)):
        about[side] = {
            "scenario": valuation.scenario.name,
            "valuation_year": valuation.scenario.valuation_year,
            "illustrative": valuation.scenario.illustrative,
            "input_hash": valuation.input_hash,
        }
    about["grex_version"] = __version__
    about["order"] = list(result.order)
    return about
