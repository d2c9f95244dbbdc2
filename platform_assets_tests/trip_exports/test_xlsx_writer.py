"""The streaming XLSX writer: every file reads back the same with openpyxl and python-calamine."""

from __future__ import annotations

import io
import math
import re
import tracemalloc
import uuid
import warnings
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import python_calamine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_assets.core.errors import PlatformError
from platform_assets.lib.xlsx.writer import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    EXCEL_MAX_INT,
    EXCEL_MAX_ROWS,
    EXCEL_MAX_TEXT,
    HELP_SHEET_COLUMNS,
    StreamingXlsxWriter,
    XlsxColumn,
    XlsxValueError,
    XlsxWriterError,
    column_help_rows,
)

ALL_TYPES = [
    XlsxColumn("text", "str", "free text"),
    XlsxColumn("count", "int", "an integer"),
    XlsxColumn("ratio", "float", "a float"),
    XlsxColumn("amount", "decimal", "an amount in euros"),
    XlsxColumn("day", "date", "a day"),
    XlsxColumn("moment", "datetime", "a moment"),
    XlsxColumn("flag", "bool", "yes or no"),
]
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Sheets = dict[str, list[list[Any]]]


# -- reading back ---------------------------------------------------------------------------------


def _source(target: Path | io.BytesIO) -> Path | io.BytesIO:
    if isinstance(target, io.BytesIO):
        return io.BytesIO(target.getvalue())
    return target


def _trimmed(rows: list[list[Any]], width: int) -> list[list[Any]]:
    """Rows padded to `width`, without trailing blank rows (readers drop those)."""
    padded = [list(row) + [None] * (width - len(row)) for row in rows]
    while padded and all(value is None for value in padded[-1]):
        padded.pop()
    return padded


def read_openpyxl(target: Path | io.BytesIO, width: int) -> Sheets:
    workbook = openpyxl.load_workbook(_source(target), read_only=True)
    try:
        return {
            sheet.title: _trimmed([list(row) for row in sheet.iter_rows(values_only=True)], width)
            for sheet in workbook.worksheets
        }
    finally:
        workbook.close()


def read_calamine(target: Path | io.BytesIO, width: int) -> Sheets:
    source = _source(target)
    if isinstance(source, Path):
        workbook = python_calamine.CalamineWorkbook.from_path(str(source))
    else:
        workbook = python_calamine.CalamineWorkbook.from_filelike(source)
    sheets = {}
    for name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        # calamine gives "" for a blank cell.
        sheets[name] = _trimmed([[None if value == "" else value for value in row] for row in rows], width)
    return sheets


def as_column_value(value: Any, kind: str) -> Any:
    """A reader's cell value in the writer's terms, asserting its type (numbers as numbers, ...)."""
    if value is None:
        return None
    match kind:
        case "str":
            assert isinstance(value, str), value
            return value
        case "int":
            assert isinstance(value, int | float) and not isinstance(value, bool), value
            assert float(value).is_integer()
            return int(value)
        case "float" | "decimal":
            assert isinstance(value, int | float) and not isinstance(value, bool), value
            return float(value)
        case "date":
            assert isinstance(value, date), value  # datetime is a date too (openpyxl)
            if isinstance(value, datetime):
                assert value.time() == time(0), value
                return value.date()
            return value
        case "datetime":
            assert isinstance(value, date), value
            return value if isinstance(value, datetime) else datetime.combine(value, time(0))
        case "bool":
            assert isinstance(value, bool), value
            return value
    raise AssertionError(kind)


def typed(sheets: Sheets, columns: Sequence[XlsxColumn], header: bool = True) -> Sheets:
    """Sheets of typed values; the header row (strings) is kept as is."""
    result = {}
    for title, rows in sheets.items():
        body = rows[1:] if header else rows
        typed_rows = [[as_column_value(v, c.type) for v, c in zip(row, columns, strict=True)] for row in body]
        result[title] = ([rows[0]] if header and rows else []) + typed_rows
    return result


def read_both(target: Path | io.BytesIO, columns: Sequence[XlsxColumn]) -> Sheets:
    """Read with both readers, assert they agree, return the typed sheets."""
    by_openpyxl = typed(read_openpyxl(target, len(columns)), columns)
    by_calamine = typed(read_calamine(target, len(columns)), columns)
    assert list(by_openpyxl) == list(by_calamine)
    for title, rows in by_openpyxl.items():
        assert len(rows) == len(by_calamine[title]), title
        for number, (row, other) in enumerate(zip(rows, by_calamine[title], strict=True), start=1):
            assert row == other, f"sheet {title!r} row {number}: openpyxl {row} != calamine {other}"
    return by_openpyxl


# -- what the writer promises ----------------------------------------------------------------------


def _round_to_millisecond(moment: datetime) -> datetime:
    milliseconds, remainder = divmod(moment.microsecond, 1000)
    moment = moment.replace(microsecond=milliseconds * 1000)
    return moment + timedelta(milliseconds=1) if remainder >= 500 else moment


def expected_value(value: Any, kind: str, zone: Any = UTC) -> Any:
    if value is None:
        return None
    match kind:
        case "str":
            text = XML_INVALID.sub("", value if isinstance(value, str) else str(value))
            return text or None
        case "int":
            return value
        case "float" | "decimal":
            return float(value)
        case "datetime":
            if not isinstance(value, datetime):
                return datetime.combine(value, time(0))
            if value.tzinfo is not None:
                value = value.astimezone(zone).replace(tzinfo=None)
            return _round_to_millisecond(value)
    return value


def expected_sheets(
    title: str,
    columns: Sequence[XlsxColumn],
    rows: Sequence[Sequence[Any]],
    max_rows: int,
    zone: Any = UTC,
) -> Sheets:
    """The sheets `rows` should fill: max_rows - 1 data rows each under a repeated header."""
    header = [column.name for column in columns]
    converted = [[expected_value(v, c.type, zone) for v, c in zip(row, columns, strict=True)] for row in rows]
    per_sheet = max_rows - 1
    chunks = [converted[start : start + per_sheet] for start in range(0, len(converted), per_sheet)] or [[]]
    return {
        (title if number == 1 else f"{title} ({number})"): _trimmed([header, *chunk], len(columns))
        for number, chunk in enumerate(chunks, start=1)
    }


def write(
    target: Path | io.BytesIO, columns: Sequence[XlsxColumn], rows: Sequence[Sequence[Any]], **options: Any
) -> list[str]:
    with StreamingXlsxWriter(target, **options) as writer:
        writer.add_sheet("Trips", columns)
        writer.write_rows(rows)
    return writer.sheet_titles


SAMPLE_ROWS: list[list[Any]] = [
    ["plain", 1, 1.5, Decimal("12.34"), date(2024, 2, 29), datetime(2024, 3, 31, 1, 59, 59), True],
    [
        "émoji 🚗 中文 <&> \"quoted\" 'single'",
        -42,
        -0.1,
        Decimal("-0.01"),
        date(1900, 3, 1),
        datetime(2024, 1, 1),
        False,
    ],
    [" leading and trailing ", 0, 0.0, Decimal("0"), date(1900, 2, 28), datetime(1900, 1, 1, 12, 30), None],
    [
        "line\nbreak\r\nand\ttab",
        EXCEL_MAX_INT,
        1e-300,
        Decimal("1E+20"),
        date(1900, 1, 1),
        datetime(9999, 12, 31, 23, 59, 59, 999000),
        True,
    ],
    ["", -EXCEL_MAX_INT, 1.7976931348623157e308, 7, date(9999, 12, 31), date(2020, 5, 17), False],
    [None, None, None, None, None, None, None],
    [
        "ctrl\x00\x01\x08\x0b\x0c\x1f\ufffe\uffff chars",
        3,
        2,
        Decimal("2.5"),
        date(2000, 1, 1),
        datetime(2000, 1, 1, 0, 0, 0, 1500),
        True,
    ],
    [
        "_x0041_ and _X00e9_ and x005F_ stay literal",
        4,
        3.25,
        None,
        None,
        datetime(2001, 2, 3, 4, 5, 6, 499),
        None,
    ],
    [uuid.UUID(int=7), 5, None, Decimal("3.14159265358979"), date(2030, 12, 31), None, False],
]


# -- round trips ------------------------------------------------------------------------------------


def test_every_type_reads_back_the_same_with_openpyxl_and_calamine(tmp_path: Path) -> None:
    path = tmp_path / "trips.xlsx"
    assert write(path, ALL_TYPES, SAMPLE_ROWS) == ["Trips"]
    sheets = read_both(path, ALL_TYPES)
    assert sheets == expected_sheets("Trips", ALL_TYPES, SAMPLE_ROWS, 1_048_576)
    rows = sheets["Trips"]
    assert rows[0] == ["text", "count", "ratio", "amount", "day", "moment", "flag"]
    assert rows[2][0] == "émoji 🚗 中文 <&> \"quoted\" 'single'"
    assert rows[3][0] == " leading and trailing "
    assert rows[4][0] == "line\nbreak\r\nand\ttab"
    assert rows[5][0] is None  # the empty string is a blank cell
    assert rows[7][0] == "ctrl chars"
    assert rows[8][0] == "_x0041_ and _X00e9_ and x005F_ stay literal"
    assert rows[4][5] == datetime(9999, 12, 31, 23, 59, 59, 999000)
    assert rows[7][5] == datetime(2000, 1, 1, 0, 0, 0, 2000)  # 1.5 ms rounds up
    assert rows[8][5] == datetime(2001, 2, 3, 4, 5, 6)  # 0.499 ms rounds down


def test_dates_are_real_dates_and_numbers_real_numbers_in_openpyxl_normal_mode(tmp_path: Path) -> None:
    path = tmp_path / "trips.xlsx"
    write(path, ALL_TYPES, SAMPLE_ROWS[:2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any openpyxl complaint fails the test
        workbook = openpyxl.load_workbook(path)
    sheet = workbook["Trips"]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    text, count, ratio, amount, day, moment, flag = sheet[2]
    assert (text.data_type, text.value) == ("s", "plain")
    assert (count.data_type, count.value) == ("n", 1)
    assert (ratio.data_type, ratio.value) == ("n", 1.5)
    assert (amount.data_type, amount.value) == ("n", 12.34)
    assert day.is_date and day.number_format == DATE_FORMAT and day.value == datetime(2024, 2, 29)
    assert moment.is_date and moment.number_format == DATETIME_FORMAT
    assert moment.value == datetime(2024, 3, 31, 1, 59, 59)
    assert (flag.data_type, flag.value) == ("b", True)
    assert not text.font.b
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFG"}
    assert widths["F"] == 20 and widths["E"] == 12 and all(width >= 8 for width in widths.values())


def test_calamine_sees_dates_as_dates(tmp_path: Path) -> None:
    path = tmp_path / "trips.xlsx"
    write(path, ALL_TYPES, SAMPLE_ROWS[:1])
    row = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Trips").to_python()[1]
    assert row[4] == date(2024, 2, 29) and row[5] == datetime(2024, 3, 31, 1, 59, 59)
    assert row[1] == 1 and isinstance(row[2], float) and row[6] is True


optional = st.none()
text_values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Zs", "Lo", "So"]), max_size=20),
    st.sampled_from(
        ["_x0041_", "a_x00E9_b_x005F_", " x ", "\r", "\r\n", "\ud800lone", "\x00", "&amp;", "<t>"]
    ),
)
ZONES = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)))
value_strategies = {
    "str": text_values,
    "int": st.integers(min_value=-EXCEL_MAX_INT, max_value=EXCEL_MAX_INT),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "decimal": st.decimals(
        min_value=-(10**15), max_value=10**15, allow_nan=False, allow_infinity=False, places=4
    ),
    "date": st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)),
    "datetime": st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none() | ZONES
    ),
    "bool": st.booleans(),
}
random_rows = st.lists(
    st.tuples(*(optional | value_strategies[column.type] for column in ALL_TYPES)).map(list), max_size=12
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=random_rows, max_rows=st.integers(min_value=2, max_value=6))
def test_random_rows_read_back_identically_with_both_readers(rows: list[list[Any]], max_rows: int) -> None:
    target = io.BytesIO()
    titles = write(target, ALL_TYPES, rows, max_rows_per_sheet=max_rows)
    expected = expected_sheets("Trips", ALL_TYPES, rows, max_rows)
    assert titles == list(expected)
    assert read_both(target, ALL_TYPES) == expected


@settings(max_examples=40, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 499000))
)
def test_datetimes_keep_their_millisecond(moment: datetime) -> None:
    target = io.BytesIO()
    columns = [XlsxColumn("moment", "datetime")]
    write(target, columns, [[moment]])
    assert read_both(target, columns)["Trips"][1] == [_round_to_millisecond(moment)]


# -- time zones -------------------------------------------------------------------------------------


def test_aware_datetimes_are_written_as_wall_clock_time_of_the_writer_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    columns = [XlsxColumn("moment", "datetime")]
    rows = [
        [datetime(2024, 7, 1, 10, 0, tzinfo=UTC)],  # summer: UTC+2
        [datetime(2024, 1, 15, 10, 0, tzinfo=UTC)],  # winter: UTC+1
        [datetime(2024, 3, 31, 1, 30, tzinfo=UTC)],  # just after the switch to summer time
        [datetime(2024, 7, 1, 12, 0, tzinfo=paris)],  # already in the zone
        [datetime(2024, 7, 1, 12, 0)],  # naive: written as is
    ]
    target = io.BytesIO()
    write(target, columns, rows, timezone=paris)
    assert [row[0] for row in read_both(target, columns)["Trips"][1:]] == [
        datetime(2024, 7, 1, 12, 0),
        datetime(2024, 1, 15, 11, 0),
        datetime(2024, 3, 31, 3, 30),
        datetime(2024, 7, 1, 12, 0),
        datetime(2024, 7, 1, 12, 0),
    ]


def test_the_default_zone_is_utc() -> None:
    columns = [XlsxColumn("moment", "datetime")]
    target = io.BytesIO()
    write(target, columns, [[datetime(2024, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))]])
    assert read_both(target, columns)["Trips"][1] == [datetime(2024, 7, 1, 10, 0)]


# -- values that cannot be written ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (XlsxColumn("ratio", "float"), math.nan, "not a finite number"),
        (XlsxColumn("ratio", "float"), math.inf, "not a finite number"),
        (XlsxColumn("amount", "decimal"), Decimal("NaN"), "not a finite number"),
        (XlsxColumn("amount", "decimal"), Decimal("-Infinity"), "not a finite number"),
        (XlsxColumn("amount", "decimal"), Decimal("1E+400"), "not a finite number"),
        (XlsxColumn("count", "int"), EXCEL_MAX_INT + 1, "more than 15 digits"),
        (XlsxColumn("count", "int"), True, "expected an int"),
        (XlsxColumn("count", "int"), 1.0, "expected an int"),
        (XlsxColumn("ratio", "float"), "1.5", "expected a number"),
        (XlsxColumn("ratio", "float"), False, "expected a number"),
        (XlsxColumn("day", "date"), datetime(2024, 1, 1), "expected a date"),
        (XlsxColumn("day", "date"), "2024-01-01", "expected a date"),
        (XlsxColumn("day", "date"), date(1899, 12, 31), "before 1900-01-01"),
        (XlsxColumn("moment", "datetime"), datetime(1899, 12, 31, 23), "before 1900-01-01"),
        (XlsxColumn("moment", "datetime"), datetime(9999, 12, 31, 23, 59, 59, 999600), "past 9999-12-31"),
        (XlsxColumn("moment", "datetime"), 1_700_000_000, "expected a datetime"),
        (XlsxColumn("flag", "bool"), 1, "expected a bool"),
        (XlsxColumn("text", "str"), "x" * (EXCEL_MAX_TEXT + 1), "longer than Excel's 32767"),
    ],
)
def test_unwritable_values_raise_one_clear_line(column: XlsxColumn, value: Any, message: str) -> None:
    target = io.BytesIO()
    columns = [XlsxColumn("id", "int"), column]
    with StreamingXlsxWriter(target, max_rows_per_sheet=3) as writer:
        writer.add_sheet("Trips", columns)
        writer.write_rows([[1, None], [2, None], [3, None]])
        with pytest.raises(XlsxValueError) as raised:
            writer.write_row([4, value])
        # The refused row is not written; the writer goes on.
        writer.write_row([5, None])
    text = str(raised.value)
    assert "\n" not in text and message in text
    assert text.startswith(f"sheet 'Trips (2)' row 3 column {column.name!r} ({column.type}): ")
    assert isinstance(raised.value, PlatformError)
    sheets = read_both(target, columns)
    assert sheets["Trips (2)"] == [["id", column.name], [3, None], [5, None]]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with StreamingXlsxWriter(io.BytesIO()) as writer:
        writer.add_sheet("Trips", ALL_TYPES)
        with pytest.raises(XlsxValueError, match=r"sheet 'Trips' row 2: 2 values for 7 columns"):
            writer.write_row(["a", 1])


def test_text_at_the_limit_is_kept_and_longer_text_can_be_truncated() -> None:
    columns = [XlsxColumn("text", "str")]
    at_limit = "é" * EXCEL_MAX_TEXT
    too_long = "a" * 40_000
    # An astral character counts as two UTF-16 units for Excel, and is never split.
    astral = "a" + "🚗" * 20_000
    target = io.BytesIO()
    write(target, columns, [[at_limit], [too_long], [astral]], long_text="truncate")
    rows = read_both(target, columns)["Trips"]
    assert rows[1] == [at_limit]
    assert rows[2] == ["a" * EXCEL_MAX_TEXT]
    assert rows[3] == ["a" + "🚗" * 16_383]
    with pytest.raises(XlsxValueError, match="text of 40001 characters"):
        write(io.BytesIO(), columns, [["🚗" * 20_000 + "a"]])


def test_a_failing_export_leaves_no_file_and_the_last_good_one_stays(tmp_path: Path) -> None:
    path = tmp_path / "trips.xlsx"
    write(path, ALL_TYPES, SAMPLE_ROWS)
    good = path.read_bytes()
    with pytest.raises(RuntimeError, match="database went away"):
        with StreamingXlsxWriter(path) as writer:
            writer.add_sheet("Trips", ALL_TYPES)
            writer.write_rows(SAMPLE_ROWS)
            raise RuntimeError("database went away")
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trips.xlsx"]


def test_misuse_is_reported() -> None:
    with pytest.raises(XlsxWriterError, match="before add_sheet"):
        StreamingXlsxWriter(io.BytesIO()).write_row([1])
    with pytest.raises(XlsxWriterError, match="no sheet"):
        StreamingXlsxWriter(io.BytesIO()).close()
    with pytest.raises(XlsxWriterError, match="unknown type 'money'"):
        XlsxColumn("amount", "money")  # type: ignore[arg-type]
    with pytest.raises(XlsxWriterError, match="max_rows_per_sheet 1 "):
        StreamingXlsxWriter(io.BytesIO(), max_rows_per_sheet=1)
    writer = StreamingXlsxWriter(io.BytesIO())
    writer.add_sheet("Trips", ALL_TYPES)
    for bad_title, problem in [
        ("", "1 to 31"),
        ("x" * 32, "1 to 31"),
        ("a/b", "characters Excel refuses"),
        ("'quoted'", "characters Excel refuses"),
        ("TRIPS", "already used"),
    ]:
        with pytest.raises(XlsxWriterError, match=problem):
            writer.add_sheet(bad_title, ALL_TYPES)
    writer.close()
    with pytest.raises(XlsxWriterError, match="already closed"):
        writer.add_sheet("More", ALL_TYPES)


# -- several sheets ---------------------------------------------------------------------------------


def test_full_sheets_continue_on_numbered_sheets_with_the_header_repeated() -> None:
    columns = [XlsxColumn("n", "int"), XlsxColumn("label", "str")]
    rows = [[n, f"row {n}"] for n in range(1, 11)]
    target = io.BytesIO()
    assert write(target, columns, rows, max_rows_per_sheet=4) == [
        "Trips",
        "Trips (2)",
        "Trips (3)",
        "Trips (4)",
    ]
    sheets = read_both(target, columns)
    assert sheets == {
        "Trips": [["n", "label"], [1, "row 1"], [2, "row 2"], [3, "row 3"]],
        "Trips (2)": [["n", "label"], [4, "row 4"], [5, "row 5"], [6, "row 6"]],
        "Trips (3)": [["n", "label"], [7, "row 7"], [8, "row 8"], [9, "row 9"]],
        "Trips (4)": [["n", "label"], [10, "row 10"]],
    }
    # A sheet filled exactly does not open an empty continuation.
    assert write(io.BytesIO(), columns, rows[:6], max_rows_per_sheet=4) == ["Trips", "Trips (2)"]
    # No rows: a sheet with its header only.
    empty = io.BytesIO()
    assert write(empty, columns, []) == ["Trips"]
    assert read_both(empty, columns) == {"Trips": [["n", "label"]]}


def test_continuation_titles_stay_within_31_characters() -> None:
    long_title = "T" * 31
    with StreamingXlsxWriter(io.BytesIO(), max_rows_per_sheet=2) as writer:
        writer.add_sheet(long_title, [XlsxColumn("n", "int")])
        writer.write_rows([[1], [2], [3]])
    assert writer.sheet_titles == [long_title, "T" * 27 + " (2)", "T" * 27 + " (3)"]


def test_help_and_extra_sheets_sit_where_asked_whatever_the_writing_order(tmp_path: Path) -> None:
    columns = [XlsxColumn("n", "int", "trip number"), XlsxColumn("town", "str", "start town (INSEE name)")]
    notes = [XlsxColumn("note", "str")]
    path = tmp_path / "trips.xlsx"
    with StreamingXlsxWriter(path, max_rows_per_sheet=3) as writer:
        writer.add_sheet("Notes", notes)
        writer.write_row(["exported for the Occitanie region"])
        writer.add_sheet("Trips", columns)
        writer.write_rows([[n, "Toulouse"] for n in range(5)])
        writer.add_help_sheet(columns, title="Help", position=0)  # written last, shown first
    expected_order = ["Help", "Notes", "Trips", "Trips (2)", "Trips (3)"]
    assert writer.sheet_titles == expected_order
    assert openpyxl.load_workbook(path, read_only=True).sheetnames == expected_order
    assert python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names == expected_order
    help_sheet = {"Help": read_openpyxl(path, 3)["Help"]}
    assert typed(help_sheet, HELP_SHEET_COLUMNS)["Help"] == [
        ["Column", "Type", "Description"],
        ["n", "int", "trip number"],
        ["town", "str", "start town (INSEE name)"],
    ]
    assert typed({"Help": read_calamine(path, 3)["Help"]}, HELP_SHEET_COLUMNS) == typed(
        help_sheet, HELP_SHEET_COLUMNS
    )
    assert column_help_rows(columns) == [
        ("n", "int", "trip number"),
        ("town", "str", "start town (INSEE name)"),
    ]
    # Continuations of Trips stay next to it even though Help was inserted before everything.
    trips = {title: rows for title, rows in read_calamine(path, 2).items() if title.startswith("Trips")}
    assert typed(trips, columns) == {
        "Trips": [["n", "town"], [0, "Toulouse"], [1, "Toulouse"]],
        "Trips (2)": [["n", "town"], [2, "Toulouse"], [3, "Toulouse"]],
        "Trips (3)": [["n", "town"], [4, "Toulouse"]],
    }
    assert read_calamine(path, 1)["Notes"] == [["note"], ["exported for the Occitanie region"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == expected_order
    assert [workbook[title].freeze_panes for title in expected_order] == ["A2"] * 5
    assert workbook["Help"].column_dimensions["C"].width == 100


# -- the package itself -----------------------------------------------------------------------------


def test_the_package_is_a_deflated_zip_listing_every_part() -> None:
    target = io.BytesIO()
    with StreamingXlsxWriter(target, max_rows_per_sheet=2) as writer:
        writer.add_sheet("Trips & co", [XlsxColumn("text", "str")])
        writer.write_rows([["a"], ["_x0041_"]])
        writer.add_help_sheet([XlsxColumn("text", "str")])
    with zipfile.ZipFile(io.BytesIO(target.getvalue())) as package:
        assert package.testzip() is None
        names = package.namelist()
        assert {info.compress_type for info in package.infolist()} == {zipfile.ZIP_DEFLATED}
        content_types = package.read("[Content_Types].xml").decode()
        workbook = package.read("xl/workbook.xml").decode()
    assert sorted(n for n in names if n.startswith("xl/worksheets/")) == [
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml",
        "xl/worksheets/sheet3.xml",
    ]
    assert "xl/sharedStrings.xml" not in names  # every string is inline
    for part in ["/xl/worksheets/sheet1.xml", "/xl/worksheets/sheet3.xml", "/xl/styles.xml"]:
        assert f'PartName="{part}"' in content_types
    assert re.findall(r'<sheet name="([^"]+)"', workbook) == ["Trips &amp; co", "Trips &amp; co (2)", "Help"]


def test_text_looking_like_excel_escapes_is_split_into_runs_no_reader_decodes() -> None:
    columns = [XlsxColumn("text", "str")]
    texts = ["_x0041_", "a_x0041__x0042_b", "_x0041_x0042_", "x005F_x0041_", "_x005F_", " _xABCD_ "]
    target = io.BytesIO()
    write(target, columns, [[text] for text in texts])
    assert [row[0] for row in read_both(target, columns)["Trips"][1:]] == texts
    with zipfile.ZipFile(io.BytesIO(target.getvalue())) as package:
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
    assert '<r><t xml:space="preserve">_</t></r><r><t xml:space="preserve">x0041_</t></r>' in sheet
    # No run holds a whole _xHHHH_ sequence.
    for run in re.findall(r"<t[^>]*>([^<]*)</t>", sheet):
        assert not re.search("_x[0-9A-Fa-f]{4}_", run), run


class NonSeekableStream(io.RawIOBase):
    """A write-only stream without seek or tell, like a socket or an upload pipe."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.received = bytearray()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.keep:
            self.received += bytes(data)
        self.size += len(data)
        return len(data)


def test_writes_to_a_stream_that_cannot_seek() -> None:
    stream = NonSeekableStream()
    write(stream, ALL_TYPES, SAMPLE_ROWS, max_rows_per_sheet=4)  # type: ignore[arg-type]
    target = io.BytesIO(bytes(stream.received))
    assert read_both(target, ALL_TYPES) == expected_sheets("Trips", ALL_TYPES, SAMPLE_ROWS, 4)


def test_memory_does_not_grow_with_the_row_count() -> None:
    columns = [
        XlsxColumn(f"c{n}", kind) for n, kind in enumerate(["str", "int", "float", "datetime", "date"] * 5)
    ]
    row = [
        "some text of moderate length",
        123456,
        3.14159,
        datetime(2024, 5, 6, 7, 8, 9),
        date(2024, 5, 6),
    ] * 5

    def peak_bytes(count: int) -> int:
        tracemalloc.start()
        try:
            sink = NonSeekableStream(keep=False)  # the output itself is not the writer's memory
            with StreamingXlsxWriter(sink) as writer:  # type: ignore[arg-type]
                writer.add_sheet("Trips", columns)
                for _ in range(count):
                    writer.write_row(row)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak_bytes(1_000), peak_bytes(10_000)
    assert large < 4 * 1024 * 1024
    assert large - small < 512 * 1024


def test_headers_are_escaped_like_any_text() -> None:
    columns = [XlsxColumn("a < b & c", "int"), XlsxColumn(" spaced _x0041_ ", "str"), XlsxColumn("", "str")]
    target = io.BytesIO()
    write(target, columns, [[1, "x", "y"]])
    assert read_both(target, columns)["Trips"] == [["a < b & c", " spaced _x0041_ ", None], [1, "x", "y"]]


def test_the_real_excel_row_limit_moves_the_next_row_to_a_second_sheet(tmp_path: Path) -> None:
    path = tmp_path / "full.xlsx"
    columns = [XlsxColumn("n", "int")]
    data_rows = EXCEL_MAX_ROWS  # one more than fits under the header
    with StreamingXlsxWriter(path) as writer:
        writer.add_sheet("Trips", columns)
        writer.write_rows([n] for n in range(1, data_rows + 1))
    assert writer.sheet_titles == ["Trips", "Trips (2)"]
    assert writer.rows_written == data_rows
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    first = workbook.get_sheet_by_name("Trips")
    rows = first.iter_rows()
    assert [next(rows), next(rows)] == [["n"], [1.0]]
    count, last = 2, None
    for last in rows:  # noqa: B007 - the loop keeps the last row
        count += 1
    assert count == EXCEL_MAX_ROWS and last == [float(EXCEL_MAX_ROWS - 1)]
    assert workbook.get_sheet_by_name("Trips (2)").to_python() == [["n"], [float(data_rows)]]


def test_the_workbook_can_stream_straight_into_an_entry_of_an_outer_zip(tmp_path: Path) -> None:
    # The export ships the XLSX inside a zip: no intermediate file is needed.
    outer_path = tmp_path / "export.zip"
    with zipfile.ZipFile(outer_path, "w", compression=zipfile.ZIP_STORED) as outer:
        with outer.open("trips.xlsx", "w", force_zip64=True) as entry:
            write(entry, ALL_TYPES, SAMPLE_ROWS)  # type: ignore[arg-type]
    with zipfile.ZipFile(outer_path) as outer:
        inner = io.BytesIO(outer.read("trips.xlsx"))
    assert read_both(inner, ALL_TYPES) == expected_sheets("Trips", ALL_TYPES, SAMPLE_ROWS, EXCEL_MAX_ROWS)


def test_repeated_values_keep_their_own_type_and_every_distinct_value_is_written() -> None:
    """Cells of repeated values are remembered per column: 1.0, 1 and True compare equal in
    Python, yet the bool is still refused in a float column; 5,000 distinct texts (past the
    remembered ones) all come back."""
    column = [XlsxColumn("ratio", "float")]
    with StreamingXlsxWriter(io.BytesIO()) as writer:
        writer.add_sheet("Trips", column)
        writer.write_rows([[1.0], [1], [1.0]])
        with pytest.raises(XlsxValueError, match="expected a number, got bool"):
            writer.write_row([True])
    columns = [XlsxColumn("text", "str"), XlsxColumn("at", "str"), XlsxColumn("day", "date")]
    rows = [[f"value {n % 7}" if n % 2 else f"unique {n}", time(8, 10 * (n % 6)), date(2025, 3, 1 + n % 28)]
            for n in range(5_000)]
    target = io.BytesIO()
    write(target, columns, rows)
    expected = [[text, str(moment), day] for text, moment, day in rows]
    assert read_both(target, columns)["Trips"][1:] == expected


class FailingStream(io.RawIOBase):
    """Accepts the first bytes, then fails like a full disk."""

    def __init__(self) -> None:
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.written += len(data)
        if self.written > 64 * 1024:
            raise OSError(28, "No space left on device")
        return len(data)


def test_a_write_error_of_the_background_deflate_reaches_the_caller() -> None:
    columns = [XlsxColumn("text", "str")]
    with pytest.raises(OSError, match="No space left on device"):  # noqa: PT012 - raised on a later row or at close
        with StreamingXlsxWriter(FailingStream()) as writer:  # type: ignore[arg-type]
            writer.add_sheet("Trips", columns)
            for n in range(200_000):
                writer.write_row([f"row {n} {uuid.UUID(int=n)}"])
