"""Writing the MPG report files (``report-<scenario>.html``, ``.pdf``, ``.xlsx``)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grex.io.results import write_atomically
from grex.report import FORMATS, Report

__all__ = ["report_name", "write_report"]


def report_name(scenario: str | None) -> str:
    """The file name of a report without its extension: ``report-<scenario>``, safe on every file system.

    >>> report_name("assen-2024"), report_name("disconto-tempo[discount_rate=0.01]"), report_name(None)
    ('report-assen-2024', 'report-disconto-tempo-discount_rate=0.01', 'report')
    """
    safe = re.sub(r"[^\w.=+-]+", "-", scenario or "").strip("-.")
    return f"report-{safe}" if safe else "report"


def write_report(
    report: Report,
    out_dir: str | Path,
    formats: Sequence[str] = tuple(FORMATS),
    *,
    step: Callable[[str], Any] | None = None,
) -> list[Path]:
    """Render the report in each format and write ``report-<scenario>.<format>`` into ``out_dir``.

    All files are rendered first, then the folder is written atomically
    (:func:`grex.io.write_atomically`): a failure leaves nothing behind.
    ``step``, where given, is a context manager factory wrapped around the
    rendering of each format and the writing (for a progress display,
    :class:`grex.progress.Steps`). Returns the paths written.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}; expected one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    name = report_name(report.provenance.get("scenario"))

    def stage(label: str) -> Any:
        return step(label) if step is not None else contextlib.nullcontext()

    rendered = {}
    for fmt in dict.fromkeys(formats):
        with stage(f"rendering {fmt.upper()}"):
            rendered[fmt] = FORMATS[fmt](report)
    with stage("writing"), write_atomically(out_dir) as staging:
        for fmt, content in rendered.items():
            target = staging / f"{name}.{fmt}"
            if isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                target.write_bytes(content)
    return [out_dir / f"{name}.{fmt}" for fmt in rendered]
