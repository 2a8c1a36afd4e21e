"""Writing the MPG report files (``report.html``, ``report.pdf``, ``report.xlsx``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grex.io.results import write_atomically
from grex.report import FORMATS, Report

__all__ = ["write_report"]


def write_report(report: Report, out_dir: str | Path, formats: Sequence[str] = tuple(FORMATS)) -> list[Path]:
    """Render the report in each format and write ``report.<format>`` into ``out_dir``.

    All files are rendered first, then the folder is written atomically
    (:func:`grex.io.write_atomically`): a failure leaves nothing behind.
    Returns the paths written.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}; expected one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    rendered = {fmt: FORMATS[fmt](report) for fmt in dict.fromkeys(formats)}
    with write_atomically(out_dir) as staging:
        for fmt, content in rendered.items():
            target = staging / f"report.{fmt}"
            if isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                target.write_bytes(content)
    return [out_dir / f"report.{fmt}" for fmt in rendered]
