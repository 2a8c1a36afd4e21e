"""Writing results: every output folder appears whole or not at all."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grex.io.paths import check_output, make_staging, remove_legacy, swap_in, write_marker
from grex.valuation import Valuation

__all__ = ["write_atomically", "write_json", "write_valuation"]

ILLUSTRATIVE_NOTICE = (
    "ILLUSTRATIVE: the figures of this scenario are made up (calibrated to published totals only); "
    "they are not real project data."
)


@contextmanager
def write_atomically(out_dir: str | Path) -> Iterator[Path]:
    """Write the files of one output folder into a temporary folder, then swap it in whole.

    Yields the temporary folder, a hidden sibling of ``out_dir``
    (``.grex-tmp-<pid>-<random>``). On success it takes the place of
    ``out_dir`` in one rename (:func:`grex.io.paths.swap_in`): the folder
    appears complete or not at all, and the previous one is removed only
    after the swap (files of the user's and outputs of other commands nested
    in it, such as ``simulation/``, are kept). On any error or interruption
    nothing is written to ``out_dir``; temporary folders of runs that were
    killed are removed by the next run.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, or a non-empty folder that grex did not write
        (:func:`grex.io.paths.check_output`).
    """
    target = check_output(out_dir)
    staging = make_staging(target.parent)
    remove_legacy(target)
    try:
        yield staging
        write_marker(staging)
        target = check_output(out_dir)
        swap_in(staging, target)
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
        summary = valuation.summary()
        if valuation.scenario.illustrative:
            summary = {"notice": ILLUSTRATIVE_NOTICE, **summary}
        write_json(staging / "summary.json", summary)
        if extra is not None:
            extra(staging)
    return out_dir


def _write_csv(frame: Any, path: Path, illustrative: bool) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        if illustrative:
            handle.write(f"# {ILLUSTRATIVE_NOTICE}\n")
        frame.to_csv(handle, index=False, float_format="%.2f", lineterminator="\n")
