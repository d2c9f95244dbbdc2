"""The workbook boundary: write rows of typed cells to an XLSX stream, a help sheet beside them.

The export pipeline only talks to `write_trips_workbook` with `Column` specs; behind it the
streaming writer (`lib/xlsx/writer.StreamingXlsxWriter`) formats each row as sheet XML and deflates
it straight into `out`, which may be a non-seekable stream such as an entry of the zip that is
uploaded, so memory stays flat whatever the row count. Rows must hold Python values matching
each column's type: `text` -> str, `integer` -> int (at most 15 digits), `number` -> float, int or
Decimal (finite), `datetime` -> naive datetime (written as is), `date` -> date, `time` -> time,
`boolean` -> bool; None is an empty cell.

The writer has no time-of-day cell type, so `time` columns are written as text `HH:MM:SS`
(`str(time)`; both readers give that string back) and the help sheet says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, BinaryIO

from platform_assets.lib.xlsx.writer import (
    StreamingXlsxWriter,
    XlsxColumn,
    XlsxValueError,
    compile_row_formatter,
)

EXCEL_MAX_ROWS = 1_048_576
COLUMN_TYPES = ("text", "integer", "number", "datetime", "date", "time", "boolean")
HELP_SHEET_TITLE = "Help"

# Column type of the export -> cell type of the streaming writer.
_XLSX_TYPES = {
    "text": "str",
    "integer": "int",
    "number": "float",
    "datetime": "datetime",
    "date": "date",
    "time": "str",  # no time-of-day cell in the writer: text HH:MM:SS
    "boolean": "bool",
}
_HELP_TYPES = {"time": "time (text HH:MM:SS)"}
_HELP_COLUMNS = (
    XlsxColumn("column", "str", width=28),
    XlsxColumn("type", "str", width=14),
    XlsxColumn("description", "str", width=100),
)


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, the type of its cells and what it means."""

    name: str
    type: str
    help: str

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name!r}: type {self.type!r} is not one of {COLUMN_TYPES}")

    def xlsx_column(self) -> XlsxColumn:
        return XlsxColumn(self.name, _XLSX_TYPES[self.type], self.help)  # type: ignore[arg-type]


@dataclass(frozen=True)
class WorkbookStats:
    rows: int
    sheets: tuple[str, ...]


def sheet_titles(rows: int, max_rows_per_sheet: int, title: str = "Trips") -> tuple[str, ...]:
    """The data sheets `rows` rows need (each sheet holds a header plus max_rows_per_sheet - 1 rows)."""
    per_sheet = max_rows_per_sheet - 1
    count = max(1, -(-rows // per_sheet))
    return tuple(title if index == 0 else f"{title} {index + 1}" for index in range(count))


def write_trips_workbook(
    rows: Iterable[Sequence],
    columns: Sequence[Column],
    out: BinaryIO,
    help_rows: Sequence[Sequence[str]] = (),
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    title: str = "Trips",
    compresslevel: int = 1,
) -> WorkbookStats:
    """Stream `rows` into a "Trips" sheet (continued on "Trips 2", ... past `max_rows_per_sheet`
    rows, header included) and write a help sheet: `help_rows` (free lines about the export) then
    one line per column (name, type, help). Memory stays bounded: rows are never all held.

    A value the writer refuses raises `XlsxValueError` (a PlatformError naming sheet, row and
    column); `out` then holds an incomplete workbook the caller must discard."""
    if not 2 <= max_rows_per_sheet <= EXCEL_MAX_ROWS:
        raise ValueError(f"max_rows_per_sheet {max_rows_per_sheet} must be within 2-{EXCEL_MAX_ROWS}")
    xlsx_columns = [column.xlsx_column() for column in columns]
    per_sheet = max_rows_per_sheet - 1
    titles: list[str] = [title]
    total = 0
    remaining = iter(rows)
    with StreamingXlsxWriter(out, max_rows_per_sheet=max_rows_per_sheet, compresslevel=compresslevel) as writer:
        writer.add_sheet(title, xlsx_columns, autofilter=True)
        while True:
            # Sheets are switched here (not by the writer) to keep the "Trips 2" naming.
            written = writer.write_rows(islice(remaining, per_sheet))
            total += written
            if written < per_sheet:
                break
            following = next(remaining, None)
            if following is None:
                break
            titles.append(f"{title} {len(titles) + 1}")
            writer.add_sheet(titles[-1], xlsx_columns, autofilter=True)
            remaining = chain((following,), remaining)
        _write_help(writer, columns, help_rows)
    return WorkbookStats(rows=total, sheets=tuple(titles))


def _write_help(writer: StreamingXlsxWriter, columns: Sequence[Column], help_rows: Sequence[Sequence[str]]) -> None:
    writer.add_sheet(HELP_SHEET_TITLE, _HELP_COLUMNS, header=False, max_rows=EXCEL_MAX_ROWS)
    lines = [(*line, None, None, None)[:3] for line in help_rows]
    if lines:
        lines.append((None, None, None))
    lines.append(("column", "type", "description"))
    lines += [(column.name, _HELP_TYPES.get(column.type, column.type), column.help) for column in columns]
    writer.write_rows(lines)


def row_formatter(columns: Sequence[Column]) -> Callable[[Sequence[object], int], str]:
    """The row formatter `write_trips_workbook`'s writer uses for these columns (for rows
    formatted elsewhere, e.g. in a reader process, then handed to `write_formatted_trips_workbook`)."""
    return compile_row_formatter([column.xlsx_column() for column in columns])


def formatted_chunks(
    rows: Iterable[Sequence], columns: Sequence[Column], max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    chunk_rows: int = 1_000, title: str = "Trips",
) -> Iterator[tuple[bytes, int]]:
    """`rows` as (UTF-8 SpreadsheetML, row count) chunks numbered as `write_trips_workbook` would
    place them (see `chunks_of_rows`)."""
    return chunks_of_rows(rows, row_formatter(columns), max_rows_per_sheet, chunk_rows, title)


def chunks_of_rows(
    rows: Iterable[Any], format_row: Callable[[Any, int], str], max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    chunk_rows: int = 1_000, title: str = "Trips",
) -> Iterator[tuple[bytes, int]]:
    """Rows formatted by `format_row(row, row number)` as (UTF-8 SpreadsheetML, row count) chunks:
    data rows from 2 in each sheet of `max_rows_per_sheet - 1` rows; a chunk never spans two
    sheets. A refused value raises XlsxValueError naming sheet, row and column."""
    per_sheet = max_rows_per_sheet - 1
    parts: list[str] = []
    index = 0
    for row in rows:
        sheet, position = divmod(index, per_sheet)
        try:
            parts.append(format_row(row, position + 2))
        except XlsxValueError as error:
            sheet_title = title if sheet == 0 else f"{title} {sheet + 1}"
            raise XlsxValueError(f"sheet {sheet_title!r} {error}") from None
        index += 1
        if len(parts) >= chunk_rows or position + 1 == per_sheet:
            yield "".join(parts).encode(), len(parts)
            parts = []
    if parts:
        yield "".join(parts).encode(), len(parts)


def write_formatted_trips_workbook(
    chunks: Iterable[tuple[bytes, int]],
    columns: Sequence[Column],
    out: BinaryIO,
    help_rows: Sequence[Sequence[str]] = (),
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    title: str = "Trips",
    compresslevel: int = 1,
) -> WorkbookStats:
    """The same workbook as `write_trips_workbook`, from rows already formatted by
    `formatted_chunks` with the same columns and `max_rows_per_sheet`."""
    if not 2 <= max_rows_per_sheet <= EXCEL_MAX_ROWS:
        raise ValueError(f"max_rows_per_sheet {max_rows_per_sheet} must be within 2-{EXCEL_MAX_ROWS}")
    xlsx_columns = [column.xlsx_column() for column in columns]
    titles: list[str] = [title]
    total = 0
    with StreamingXlsxWriter(out, max_rows_per_sheet=max_rows_per_sheet, compresslevel=compresslevel) as writer:
        writer.add_sheet(title, xlsx_columns)
        for xml, count in chunks:
            if writer.sheet_room == 0:
                titles.append(f"{title} {len(titles) + 1}")
                writer.add_sheet(titles[-1], xlsx_columns)
            writer.write_formatted_rows(xml, count)
            total += count
        _write_help(writer, columns, help_rows)
    return WorkbookStats(rows=total, sheets=tuple(titles))
