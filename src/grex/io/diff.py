"""Writing a difference analysis: ``diff.csv`` and the waterfall charts."""

from __future__ import annotations

import re
from pathlib import Path

from grex.diff import DiffResult
from grex.io.results import ILLUSTRATIVE_NOTICE, write_atomically

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
        positive = profit or improvement] An illustrative scenario gets a first
        comment line.
    ``provisions.csv``
        :meth:`DiffResult.provisions`: per complex the provision BEFORE
        required, AFTER's balance (``provision_balance``), the provision AFTER
        requires and the dotation (positive: added, negative: released,
        vrijval); a total row last. [EUR, cents]
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
        with (staging / "diff.csv").open("w", encoding="utf-8", newline="") as handle:
            if result.illustrative:
                handle.write(f"# {ILLUSTRATIVE_NOTICE}\n")
            result.table().to_csv(handle, index=False, float_format="%.2f", lineterminator="\n")
        with (staging / "provisions.csv").open("w", encoding="utf-8", newline="") as handle:
            if result.illustrative:
                handle.write(f"# {ILLUSTRATIVE_NOTICE}\n")
            result.provisions().to_csv(handle, index=False, float_format="%.2f", lineterminator="\n")
        (staging / "waterfall.png").write_bytes(to_png(plot_waterfall(result)))
        for project in result.largest(largest):
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", project)
            (staging / f"waterfall-{safe}.png").write_bytes(to_png(plot_waterfall(result, project)))
    return out_dir
