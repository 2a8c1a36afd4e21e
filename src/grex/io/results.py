"""Writing results: every output folder appears whole or not at all."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from grex import __version__
from grex.io.paths import check_output, make_staging, remove_legacy, swap_in, write_marker
from grex.reserves import reserve_figures
from grex.valuation import Valuation

__all__ = [
    "PROVENANCE_KEY",
    "provenance",
    "read_provenance",
    "reserve_summary",
    "write_atomically",
    "write_json",
    "write_valuation",
]

#: Key of grex's provenance in the file metadata of every Parquet output (a JSON object).
PROVENANCE_KEY = b"grex"

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


def provenance(scenario: Any, input_hash: str | None) -> dict[str, Any]:
    """What the Parquet outputs carry under :data:`PROVENANCE_KEY`: notice, scenario, grex version, input hash.

    ``notice`` is present only for an illustrative scenario.
    """
    out: dict[str, Any] = {"notice": ILLUSTRATIVE_NOTICE} if scenario.illustrative else {}
    out.update(
        {
            "scenario": scenario.name,
            "valuation_year": scenario.valuation_year,
            "illustrative": scenario.illustrative,
            "grex_version": __version__,
            "input_hash": input_hash,
        }
    )
    return out


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance a grex Parquet output carries in its file metadata (None where there is none)."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(PROVENANCE_KEY)
    return None if raw is None else json.loads(raw)


def with_provenance(schema_or_table: Any, about: dict[str, Any]) -> Any:
    """A pyarrow schema or table with ``about`` added to its metadata under :data:`PROVENANCE_KEY`."""
    schema = schema_or_table.schema if isinstance(schema_or_table, pa.Table) else schema_or_table
    metadata = {**(schema.metadata or {}), PROVENANCE_KEY: json.dumps(_clean(about), ensure_ascii=False).encode()}
    if isinstance(schema_or_table, pa.Table):
        return schema_or_table.replace_schema_metadata(metadata)
    return schema.with_metadata(metadata)


def write_parquet(frame: Any, path: Path, about: dict[str, Any]) -> None:
    """A DataFrame as Parquet (as ``frame.to_parquet(path, index=False)``), ``about`` in its file metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(with_provenance(table, about), path)


def programme_check(scenario: Any, portfolio: Any) -> Any:
    from grex.market import programme_check as check  # noqa: PLC0415

    return check(scenario, portfolio)


def write_valuation(valuation: Valuation, out_dir: str | Path, *, extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``complexes.csv/.parquet``, ``years.csv/.parquet`` and ``summary.json``.

    Amounts are euros with cents, rates (``irr``) decimals with six places. The CSVs are plain tables (a header row,
    no comment lines); an illustrative scenario's notice and the provenance
    (scenario, grex version, input hash) are in ``summary.json`` and in the
    Parquet files' metadata (:func:`read_provenance`).
    """
    out_dir = Path(out_dir)
    about = provenance(valuation.scenario, valuation.input_hash)
    with write_atomically(out_dir) as staging:
        complexes = valuation.complexes()
        years = valuation.years()
        for name, frame in (("complexes", complexes), ("years", years)):
            write_csv(frame, staging / f"{name}.csv")
            write_parquet(frame, staging / f"{name}.parquet", about)
        reserves = valuation.scenario.reserves
        figures = reserve_figures(reserves.norm, reserves.resistance_reserve, valuation.iflo_norm(), None)
        summary = reserve_summary(valuation.summary(), figures)
        if valuation.scenario.illustrative:
            summary = {"notice": ILLUSTRATIVE_NOTICE, **summary}
        check = programme_check(valuation.scenario, valuation.portfolio)
        if check is not None:  # the programme against the market (issue 15)
            write_csv(check, staging / "programme.csv", float_format="%.6g")
            summary["programme"] = check.to_dict(orient="records")
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


#: Columns that are rates or shares, not amounts: written with six decimals, not cents.
RATE_COLUMNS = ("irr", "probability_reserve_below_zero")


def write_csv(frame: Any, path: Path, float_format: str = "%.2f") -> None:
    """A plain CSV table: UTF-8, comma-separated, header row, ``\\n`` line ends, no comment lines.

    Every tool reads it with its defaults (``pandas.read_csv``, DuckDB, R's ``read.csv``).
    """
    rates = [c for c in RATE_COLUMNS if c in frame.columns]
    if rates:
        frame = frame.assign(**{c: frame[c].map(lambda v: "" if v != v else f"{v:.6f}") for c in rates})
    with path.open("w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False, float_format=float_format, lineterminator="\n")
