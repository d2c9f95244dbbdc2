"""The local workbook backend, read back with openpyxl."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from platform_assets.core.errors import SheetsError
from platform_assets.dataset_tracker.sheets import LocalWorkbookSheets, tracker_sheets

HEADER = ["Accession", "State", "Title"]


def test_tabs_with_frozen_bold_header_and_widths(tmp_path: Path) -> None:
    path = tmp_path / "out" / "tracker.xlsx"
    sheets = LocalWorkbookSheets(workbook_path=str(path))
    where = sheets.replace_tabs({
        "Tracked": (HEADER, [["E-MTAB-1", "loading", "Mouse liver across the day, a long title " * 3],
                             ["E-MTAB-2", "incoming", "=HYPERLINK(\"x\")"], ["E-MTAB-3", "loading", "bad\x07char"]]),
        "External": (["Accession"], []),
    })
    assert where == path.as_uri()
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Tracked", "External"]
    tracked = workbook["Tracked"]
    assert [cell.value for cell in tracked[1]] == HEADER
    assert all(cell.font.bold for cell in tracked[1])
    assert tracked.freeze_panes == "A2"
    assert tracked.max_row == 4
    assert tracked["C4"].value == "badchar"  # control characters Excel refuses are dropped
    assert tracked.column_dimensions["A"].width == 11
    assert tracked.column_dimensions["C"].width == 60  # capped
    assert workbook["External"].max_row == 1 and workbook["External"].freeze_panes == "A2"
    assert [p.name for p in path.parent.iterdir()] == ["tracker.xlsx"]  # no temporary file left


def test_rewrite_replaces_rows_and_keeps_other_tabs(tmp_path: Path) -> None:
    path = tmp_path / "tracker.xlsx"
    sheets = LocalWorkbookSheets(workbook_path=str(path))
    sheets.replace_tabs({"Notes": (["Note"], [["kept"]]), "Tracked": (HEADER, [[f"E-MTAB-{n}", "x", ""] for n in range(5)])})
    sheets.replace_tabs({"Tracked": (HEADER, [["E-MTAB-9", "published", "Only one"]])})
    sheets.replace_tabs({"Tracked": (HEADER, [["E-MTAB-9", "published", "Only one"]])})
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Notes", "Tracked"]
    rows = list(workbook["Tracked"].iter_rows(values_only=True))
    assert rows == [tuple(HEADER), ("E-MTAB-9", "published", "Only one")]
    assert workbook["Notes"]["A2"].value == "kept"


def test_damaged_workbook_is_left_alone_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(SheetsError, match=r"PLATFORM_SHEETS_WORKBOOK=.*tracker.xlsx: cannot open the existing workbook"):
        LocalWorkbookSheets(workbook_path=str(path)).replace_tabs({"T": (HEADER, [])})
    assert path.read_bytes() == b"not a zip at all"


def test_unknown_backend() -> None:
    with pytest.raises(SheetsError, match="PLATFORM_SHEETS_BACKEND: 'excel' is not one of: local, gspread"):
        tracker_sheets("excel")
