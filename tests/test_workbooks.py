"""The comparison workbook of a batch (``comparison.xlsx``): Dutch labels, typed cells, number formats."""

from __future__ import annotations

from openpyxl import load_workbook

from grex.batch import COMPARISON_FIGURES, FIGURE_LABELS, REVALUATION_FIGURES, comparison_frame
from grex.io.batch import write_comparison


def _row(name: str, present_value: float) -> dict:
    row: dict = {figure: None for figure in COMPARISON_FIGURES}
    row.update(
        scenario=name,
        illustrative=True,
        valuation_year=2024,
        input_hash="ab" * 32,
        draws=10_000,
        seed=2024,
        present_value=present_value,
        confidence=0.9,
        probability_of_loss=0.583,
        required_capacity=15_094_349.123,
        norm="max",
        ratio=0.5631,
        grade="F",
    )
    return row


def test_comparison_workbook_is_typed_and_dutch(tmp_path):
    crisis = {**_row("crisis", -30_000_000.5), "foresight": "adaptive", "first_year_reserve_below_zero_p50": 2027}
    frame = comparison_frame([_row("basis", -16_884_702.456), crisis])
    write_comparison(tmp_path, frame)
    first = (tmp_path / "comparison.xlsx").read_bytes()
    sheet = load_workbook(tmp_path / "comparison.xlsx")["vergelijking"]
    assert [c.value for c in sheet[1]] == ["figuur", "omschrijving", "basis", "crisis"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert set(rows) == set(COMPARISON_FIGURES + REVALUATION_FIGURES)  # a scenario has a yearly revaluation
    assert rows["first_year_reserve_below_zero_p50"][3].value == 2027
    assert rows["first_year_reserve_below_zero_p50"][3].number_format == "0"
    assert rows["first_year_reserve_below_zero_p50"][2].value is None and rows["foresight"][3].value == "adaptive"
    for key, (label, _kind) in FIGURE_LABELS.items():
        assert rows[key][1].value == label
    pv = rows["present_value"][2]
    assert pv.value == -16_884_702.456  # full precision in the cell
    assert pv.number_format == '"€" #,##0;"€" -#,##0'  # shown in whole euros
    assert rows["probability_of_loss"][2].number_format == "0.0%" and rows["probability_of_loss"][2].value == 0.583
    assert rows["ratio"][3].number_format == "0.00"
    assert rows["draws"][2].value == 10_000 and rows["draws"][2].number_format == "#,##0"
    assert rows["illustrative"][2].value == "ja" and rows["grade"][2].value == "F"
    assert sheet.column_dimensions["B"].width >= max(len(label) for label, _ in FIGURE_LABELS.values())
    assert sheet.column_dimensions["C"].width >= len("€ -16,884,702")
    # the same table gives the same bytes
    write_comparison(tmp_path / "again", frame)
    assert (tmp_path / "again" / "comparison.xlsx").read_bytes() == first
