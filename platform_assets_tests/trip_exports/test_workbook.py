"""The workbook boundary: typed cells, the help sheet, sheets continued past the row limit."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from platform_assets.lib.xlsx.writer import XlsxValueError
from platform_assets.trip_exports.workbook import EXCEL_MAX_ROWS, Column, sheet_titles, write_trips_workbook

COLUMNS = [
    Column("id", "integer", "an id"),
    Column("name", "text", "a name"),
    Column("at", "datetime", "a moment"),
    Column("day", "date", "a day"),
    Column("amount", "number", "euros"),
    Column("ok", "boolean", "a flag"),
]


def rows(count: int) -> list[tuple]:
    return [(i, f"n{i}", datetime(2025, 3, 1, 8, i % 60), date(2025, 3, 1 + i % 28), i / 4, i % 2 == 0)
            for i in range(count)]


def test_rows_continue_on_new_sheets_and_read_back_identically() -> None:
    out = io.BytesIO()
    stats = write_trips_workbook(rows(7), COLUMNS, out, help_rows=[("export", "abc")], max_rows_per_sheet=4)
    assert stats.rows == 7 and stats.sheets == ("Trips", "Trips 2", "Trips 3")
    assert sheet_titles(7, 4) == stats.sheets
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert workbook.sheetnames == ["Trips", "Trips 2", "Trips 3", "Help"]
    read = []
    for title in stats.sheets:
        values = list(workbook[title].values)
        assert list(values[0]) == [column.name for column in COLUMNS] and len(values) <= 4
        read += values[1:]
    expected = [(i, name, at, datetime.combine(day, time()), amount, ok) for i, name, at, day, amount, ok in rows(7)]
    assert read == expected  # openpyxl reads dates back as datetimes at midnight
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue()))
    cal_rows = [row for title in stats.sheets for row in calamine.get_sheet_by_name(title).to_python()[1:]]
    assert [(int(r[0]), r[1], r[2], r[4], r[5]) for r in cal_rows] == [(e[0], e[1], e[2], e[4], e[5]) for e in expected]
    help_rows = list(workbook["Help"].values)
    assert help_rows[0][:2] == ("export", "abc") and ("amount", "number", "euros") in help_rows


def test_empty_export_still_has_a_header_and_help() -> None:
    out = io.BytesIO()
    assert write_trips_workbook([], COLUMNS, out).sheets == ("Trips",)
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert list(workbook["Trips"].values) == [tuple(column.name for column in COLUMNS)]


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="type 'money'"):
        Column("x", "money", "?")
    with pytest.raises(ValueError, match="max_rows_per_sheet"):
        write_trips_workbook([], COLUMNS, io.BytesIO(), max_rows_per_sheet=1)


def test_time_columns_are_text_and_the_help_sheet_says_so() -> None:
    columns = [Column("id", "integer", "an id"), Column("at", "time", "start time")]
    out = io.BytesIO()
    write_trips_workbook([(1, time(7, 10)), (2, None)], columns, out)
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert list(workbook["Trips"].values) == [("id", "at"), (1, "07:10:00"), (2, None)]
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue()))
    assert calamine.get_sheet_by_name("Trips").to_python() == [["id", "at"], [1.0, "07:10:00"], [2.0, ""]]
    assert ("at", "time (text HH:MM:SS)", "start time") in list(workbook["Help"].values)


def test_written_into_a_zip_entry_of_an_outer_zip() -> None:
    """The run writes the workbook straight into the entry of the zip it uploads (not seekable)."""
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", compression=zipfile.ZIP_STORED) as archive, \
            archive.open("trips.xlsx", "w", force_zip64=True) as entry:
        assert not entry.seekable()
        stats = write_trips_workbook(rows(5), COLUMNS, entry)
    assert stats.rows == 5
    with zipfile.ZipFile(io.BytesIO(outer.getvalue())) as archive:
        xlsx = archive.read("trips.xlsx")
    assert len(list(openpyxl.load_workbook(io.BytesIO(xlsx))["Trips"].values)) == 6


def test_a_refused_value_names_its_row_and_column() -> None:
    with pytest.raises(XlsxValueError, match="row 3 column 'amount'"):
        write_trips_workbook([rows(3)[0], rows(3)[1][:4] + ("NaN?", True)], COLUMNS, io.BytesIO())
    with pytest.raises(ValueError, match="max_rows_per_sheet"):
        write_trips_workbook([], COLUMNS, io.BytesIO(), max_rows_per_sheet=EXCEL_MAX_ROWS + 1)


def test_every_trips_sheet_has_an_autofilter_over_its_rows_and_help_has_none() -> None:
    out = io.BytesIO()
    write_trips_workbook(rows(7), COLUMNS, out, max_rows_per_sheet=4)
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    # 6 columns -> A..F; sheets of 3 + 3 + 1 data rows under their header.
    assert [workbook[title].auto_filter.ref for title in ("Trips", "Trips 2", "Trips 3")] == ["A1:F4", "A1:F4", "A1:F2"]
    assert workbook["Help"].auto_filter.ref is None
    empty = io.BytesIO()
    write_trips_workbook([], COLUMNS, empty)
    assert openpyxl.load_workbook(io.BytesIO(empty.getvalue()))["Trips"].auto_filter.ref == "A1:F1"
