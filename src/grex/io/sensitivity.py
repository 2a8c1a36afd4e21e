"""Writing a sensitivity analysis: ``tornado.csv``, ``tornado.png``, ``variance_shares.csv``, ``summary.json``."""

from __future__ import annotations

from pathlib import Path

from grex.io.results import ILLUSTRATIVE_NOTICE, write_atomically, write_csv, write_json
from grex.sensitivity import Sensitivity

__all__ = ["write_sensitivity"]


def write_sensitivity(result: Sensitivity, out_dir: str | Path) -> Path:
    """Write the files of a sensitivity analysis into ``out_dir``, whole or not at all.

    ``tornado.csv``: :func:`grex.sensitivity.tornado` [EUR]; ``tornado.png``:
    its chart; ``variance_shares.csv``: :func:`grex.sensitivity.variance_shares`;
    ``summary.json``: :meth:`Sensitivity.summary`. Amounts with cents, shares
    with six decimals. The CSVs are plain tables; an illustrative scenario
    gets a ``notice`` in the summary.
    """
    from grex.plot.style import to_png
    from grex.plot.tornado import tornado_figure

    out_dir = Path(out_dir)
    illustrative = result.scenario.illustrative
    with write_atomically(out_dir) as staging:
        for name, frame, fmt in (
            ("tornado", result.tornado, "%.2f"),
            ("variance_shares", result.variance_shares, "%.6f"),
        ):
            write_csv(frame, staging / f"{name}.csv", float_format=fmt)
        (staging / "tornado.png").write_bytes(to_png(tornado_figure(result.tornado, lang=result.lang)))
        summary = result.summary()
        if illustrative:
            summary = {"notice": ILLUSTRATIVE_NOTICE, **summary}
        write_json(staging / "summary.json", summary)
    return out_dir
