"""Writing results: every output folder appears whole or not at all."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grex.reserves import reserve_figures
from grex.valuation import Valuation

__all__ = ["reserve_summary", "write_atomically", "write_json", "write_valuation"]

ILLUSTRATIVE_NOTICE = (
    "ILLUSTRATIVE: the figures of this scenario are made up (calibrated to published totals only); "
    "they are not real project data."
)


@contextmanager
def write_atomically(out_dir: str | Path) -> Iterator[Path]:
    """Write the files of one output folder into a temporary folder, then move it into place.

    Yields the temporary folder. On success the folder replaces ``out_dir``
    (files of an earlier run are replaced; other files in ``out_dir`` are kept);
    on any error nothing is written to ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        yield staging
        out_dir.mkdir(exist_ok=True)
        for item in sorted(staging.iterdir()):
            target = out_dir / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    """JSON with NaN and infinities written as null."""
    path.write_text(json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def write_valuation(valuation: Valuation, out_dir: str | Path, *, extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``complexes.csv/.parquet``, ``years.csv/.parquet`` and ``summary.json``.

    Amounts are euros with cents; an illustrative scenario gets a first
    comment line in each CSV and a ``notice`` in the summary.
    """
    out_dir = Path(out_dir)
    with write_atomically(out_dir) as staging:
        complexes = valuation.complexes()
        years = valuation.years()
        for name, frame in (("complexes", complexes), ("years", years)):
            _write_csv(frame, staging / f"{name}.csv", valuation.scenario.illustrative)
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        reserves = valuation.scenario.reserves
        figures = reserve_figures(reserves.norm, reserves.resistance_reserve, valuation.iflo_norm(), None)
        summary = reserve_summary(valuation.summary(), figures)
        if valuation.scenario.illustrative:
            summary = {"notice": ILLUSTRATIVE_NOTICE, **summary}
        write_json(staging / "summary.json", summary)
        if extra is not None:
            extra(staging)
    return out_dir


def reserve_summary(summary: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with its ``ratio``, ``grade`` and ``grade_label`` replaced by ``figures``.

    ``figures`` is :func:`grex.reserves.reserve_figures`: one name per meaning
    (``ratio_iflo``, ``ratio_risk`` and the policy's ``ratio``), put where the
    old keys stood, after ``available_resistance_reserve``.
    """
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in ("ratio", "grade", "grade_label"):
            continue
        out[key] = value
        if key == "available_resistance_reserve":
            out.update(figures)
    if not figures.keys() <= out.keys():
        out.update(figures)
    return out


def _write_csv(frame: Any, path: Path, illustrative: bool) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        if illustrative:
            handle.write(f"# {ILLUSTRATIVE_NOTICE}\n")
        frame.to_csv(handle, index=False, float_format="%.2f", lineterminator="\n")
