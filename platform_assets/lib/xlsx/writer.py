"""A streaming XLSX writer: rows go straight into the zip as sheet XML, memory stays flat.

openpyxl's write-only mode builds an lxml element per cell and is the bottleneck of big exports;
this writer formats each row as a string of SpreadsheetML and deflates it into the open zip
entry, so peak memory does not depend on the number of rows and throughput is many times higher.

    columns = [XlsxColumn("journey_id", "str"), XlsxColumn("start", "datetime"), ...]
    with StreamingXlsxWriter("trips.xlsx", timezone=ZoneInfo("Europe/Paris")) as writer:
        writer.add_sheet("Trips", columns)      # past the row limit: "Trips (2)", "Trips (3)", ...
        writer.write_rows(rows)
        writer.add_help_sheet(columns, position=0)   # written last, shown first

Cell rules (every file reads back the same with openpyxl and python-calamine):
- ``int``/``float``/``decimal`` are numbers. NaN and infinities raise `XlsxValueError` (Excel has
  no such number and writing an empty cell would hide bad data). ``int`` columns take ints of at
  most 15 digits (Excel's precision; declare longer identifiers as ``str``); ``float`` and
  ``decimal`` columns take ints, floats and Decimals, written as the nearest double.
- ``date`` and ``datetime`` are Excel serial numbers styled ``yyyy-mm-dd`` and
  ``yyyy-mm-dd hh:mm:ss`` (1900 date system, 1900-01-01 to 9999-12-31). Datetimes are rounded to
  the millisecond (Excel's precision); timezone-aware ones are converted to the writer's
  ``timezone`` (default UTC) and written as that wall-clock time, naive ones as they are.
  A ``date`` column refuses datetimes (no silent loss of the time); a ``datetime`` column takes
  dates as midnight.
- ``str`` cells are inline strings. Characters XML 1.0 cannot carry (C0 controls except tab,
  newline and carriage return, lone surrogates, U+FFFE/U+FFFF) are removed. Text longer than
  Excel's 32,767 characters (UTF-16 units) raises, or is cut when ``long_text="truncate"``.
  Empty strings are written as blank cells (Excel has no empty text constant), so they read back
  as blanks, like None. Non-str values in a ``str`` column are written as ``str(value)``.
  Excel and calamine decode ``_xHHHH_`` sequences in a text run (openpyxl does not), so text
  holding one is written as rich-text runs split right after its ``_``: no run holds a whole
  sequence, and every reader shows the literal text.
- ``bool`` cells are booleans. None is a blank cell in every column type.
A refused value raises `XlsxValueError` naming sheet, row and column; that row is not written and
the writer can go on.

Package: ZIP_DEFLATED at level 1 by default (level 6 makes files ~20% smaller for ~25% more
time; `compresslevel` chooses). Sheet
entries carry ZIP64 local headers because a full sheet of wide rows can pass 2 GiB of XML and
the size is unknown when the entry starts. [Content_Types].xml, workbook.xml and its relations
list every sheet, so they are written at close, after the sheets; readers locate parts through
the zip's central directory, so entry order does not matter.
"""

from __future__ import annotations

import math
import os
import queue
import re
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import IO, Literal, Self

from platform_assets.lib.errors import PlatformError

ColumnType = Literal["str", "int", "float", "decimal", "date", "datetime", "bool"]
COLUMN_TYPES: tuple[ColumnType, ...] = ("str", "int", "float", "decimal", "date", "datetime", "bool")
LongTextPolicy = Literal["raise", "truncate"]

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_TEXT = 32_767
EXCEL_MAX_INT = 999_999_999_999_999  # 15 significant digits: what Excel keeps of a number
SHEET_TITLE_MAX = 31

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

# Style indexes into cellXfs of styles.xml (see _styles_xml).
_STYLE_DATE = 1
_STYLE_DATETIME = 2
_STYLE_HEADER = 3

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Excel's day 0 is 1899-12-30 for every date from 1900-03-01 on; earlier days are one less,
# because Excel counts a 1900-02-29 that never existed (serial 60).
_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()
_FIRST_SERIAL_AFTER_FAKE_LEAP_DAY = 61
_MS_PER_DAY = 86_400_000

# Characters XML 1.0 forbids (lone surrogates cannot even be encoded as UTF-8).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel and calamine decode _xHHHH_ inside one text run; splitting the run after "_" stops that.
_EXCEL_ESCAPE_SPLIT = re.compile("(?<=_)(?=x[0-9A-Fa-f]{4}_)")
_XML_SPACE = " \t\n\r"
# Rows are joined into chunks of about this many characters before each write to the zip entry.
_CHUNK_CHARS = 256 * 1024

_DEFAULT_WIDTHS: dict[str, float] = {
    "str": 16,
    "int": 12,
    "float": 14,
    "decimal": 14,
    "date": 12,
    "datetime": 20,
    "bool": 8,
}


class XlsxWriterError(PlatformError):
    """The workbook cannot be written as asked (bad sheet, bad column spec, misuse)."""


class XlsxValueError(XlsxWriterError):
    """A cell value cannot be written to XLSX; the message names the sheet, row and column."""


@dataclass(frozen=True)
class XlsxColumn:
    """One column of a sheet: header text, cell type, help text and width (in characters)."""

    name: str
    type: ColumnType = "str"
    description: str = ""
    width: float | None = None

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise XlsxWriterError(
                f"column {self.name!r}: unknown type {self.type!r} (expected one of {', '.join(COLUMN_TYPES)})"
            )
        if self.width is not None and not 0 < self.width <= 255:
            raise XlsxWriterError(f"column {self.name!r}: width {self.width} is not within 0-255")


HELP_SHEET_COLUMNS: tuple[XlsxColumn, ...] = (
    XlsxColumn("Column", "str", width=28),
    XlsxColumn("Type", "str", width=10),
    XlsxColumn("Description", "str", width=100),
)


def column_help_rows(columns: Sequence[XlsxColumn]) -> list[tuple[str, str, str]]:
    """Rows of a help sheet describing `columns`: name, type, description."""
    return [(column.name, column.type, column.description) for column in columns]


class _CellError(Exception):
    """Raised by cell formatters; the writer adds sheet, row and column to the message."""


def column_letter(index: int) -> str:
    """Spreadsheet column letters of a zero-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _escape_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _escape_text(text: str) -> str:
    """Escape for an XML text node; carriage returns become &#13; so parsers do not turn them into \\n."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate_utf16(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units, never splitting a character."""
    if len(text) <= limit // 2:
        return text
    units = 0
    for position, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > limit:
            return text[:position]
    return text


def _date_serial(day: date) -> int:
    serial = day.toordinal() - _EPOCH_ORDINAL
    if serial < _FIRST_SERIAL_AFTER_FAKE_LEAP_DAY:
        serial -= 1
        if serial < 1:
            raise _CellError(f"{day.isoformat()} is before 1900-01-01, the first day Excel can hold")
    return serial


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        raise _CellError(f"{value} is not a finite number; XLSX cells cannot hold NaN or infinities")
    return repr(value)


class StreamingXlsxWriter:
    """Write an XLSX workbook row by row with memory that does not grow with the row count.

    `target` is a file path (written to a temporary file beside it and renamed into place on a
    clean close; removed if the `with` block raises) or a binary stream (seekable or not; it is
    left open). One sheet is open at a time: `add_sheet` closes the previous one. When a sheet
    reaches `max_rows_per_sheet` rows (header included), rows continue on a new sheet titled
    "<title> (2)", "<title> (3)", ... with the same header, placed right after it.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[bytes],
        *,
        timezone: tzinfo = UTC,
        max_rows_per_sheet: int = EXCEL_MAX_ROWS,
        long_text: LongTextPolicy = "raise",
        compresslevel: int = 1,
    ) -> None:
        if not 2 <= max_rows_per_sheet <= EXCEL_MAX_ROWS:
            raise XlsxWriterError(f"max_rows_per_sheet {max_rows_per_sheet} is not within 2-{EXCEL_MAX_ROWS}")
        if long_text not in ("raise", "truncate"):
            raise XlsxWriterError(f"long_text {long_text!r} is not 'raise' or 'truncate'")
        self.timezone = timezone
        self.max_rows_per_sheet = max_rows_per_sheet
        self.long_text = long_text
        self._cells = _CellFormats(timezone, long_text)
        self._path: Path | None = None
        self._temporary_path: Path | None = None
        if isinstance(target, str | os.PathLike):
            self._path = Path(target)
            self._temporary_path = self._path.with_name(f".{self._path.name}.{uuid.uuid4().hex}.part")
            self._file: IO[bytes] = open(self._temporary_path, "wb")  # noqa: SIM115 - closed in close()
            self._owns_file = True
        else:
            self._file = target
            self._owns_file = False
        self._zip = zipfile.ZipFile(
            self._file, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        # Tab order of the workbook; entries are (title, worksheet part number).
        self._tabs: list[tuple[str, int]] = []
        self._part_count = 0
        self._closed = False
        self.rows_written = 0  # data rows (headers excluded), all sheets together
        # State of the sheet being written.
        self._sheet_stream: IO[bytes] | None = None
        self._sheet_title = ""
        self._sheet_base_title = ""
        self._sheet_part_index = 0  # 1 for "Trips", 2 for "Trips (2)", ...
        self._columns: tuple[XlsxColumn, ...] = ()
        self._formatters: list[Callable[[object], str]] = []
        self._letters: list[str] = []
        self._header = True
        self._freeze_header = True
        self._autofilter = False
        self._sheet_rows = 0  # rows in the current sheet, header included
        self._sheet_max_rows = max_rows_per_sheet
        self._buffer: list[str] = []
        self._buffered_chars = 0
        self._format_row: Callable[[Sequence[object], int], str] = _no_sheet
        self._deflater = _BackgroundWriter()

    # -- public API ---------------------------------------------------------------------------

    @property
    def sheet_titles(self) -> list[str]:
        """Titles of the sheets written so far, in tab order."""
        return [title for title, _ in self._tabs]

    def add_sheet(
        self,
        title: str,
        columns: Sequence[XlsxColumn],
        *,
        position: int | None = None,
        header: bool = True,
        freeze_header: bool = True,
        max_rows: int | None = None,
        autofilter: bool = False,
    ) -> None:
        """Start a sheet (closing the current one); `position` is its tab index (None: last).

        `max_rows` (header included) overrides the writer's `max_rows_per_sheet` for this sheet.
        `autofilter` puts filter buttons on the header (the range is known when the sheet ends).
        """
        self._ensure_open()
        columns = tuple(columns)
        if not columns:
            raise XlsxWriterError(f"sheet {title!r}: no columns")
        if len(columns) > EXCEL_MAX_COLUMNS:
            raise XlsxWriterError(
                f"sheet {title!r}: {len(columns)} columns, Excel allows {EXCEL_MAX_COLUMNS}"
            )
        for column in columns:
            if not isinstance(column, XlsxColumn):
                raise XlsxWriterError(f"sheet {title!r}: column {column!r} is not an XlsxColumn")
        self._validate_title(title)
        if max_rows is not None and not 2 <= max_rows <= EXCEL_MAX_ROWS:
            raise XlsxWriterError(f"sheet {title!r}: max_rows {max_rows} is not within 2-{EXCEL_MAX_ROWS}")
        self._finish_sheet()
        self._sheet_max_rows = self.max_rows_per_sheet if max_rows is None else max_rows
        self._columns = columns
        self._formatters = [self._cells.formatter(column) for column in columns]
        self._letters = [column_letter(index) for index in range(len(columns))]
        self._format_row = _compile_row_formatter(columns, self._formatters, self._letters)
        self._header = header
        self._freeze_header = freeze_header and header
        self._autofilter = autofilter and header
        self._sheet_base_title = title
        self._sheet_part_index = 1
        tab_index = len(self._tabs) if position is None else max(0, min(position, len(self._tabs)))
        self._start_part(title, tab_index)

    def write_row(self, row: Sequence[object]) -> None:
        """Append one row of values (one per column, None for a blank cell) to the current sheet."""
        if self._sheet_stream is None:
            self._ensure_open()
            raise XlsxWriterError("write_row called before add_sheet")
        if self._sheet_rows >= self._sheet_max_rows:
            self._continue_on_next_part()
        if len(row) != len(self._formatters):
            raise XlsxValueError(
                f"sheet {self._sheet_title!r} row {self._sheet_rows + 1}: "
                f"{len(row)} values for {len(self._formatters)} columns"
            )
        self._sheet_rows += 1
        try:
            line = self._format_row(row, self._sheet_rows)
        except _CellError as error:
            self._sheet_rows -= 1
            column = self._failing_column(row)
            raise XlsxValueError(
                f"sheet {self._sheet_title!r} row {self._sheet_rows + 1} column {column.name!r} "
                f"({column.type}): {error}"
            ) from None
        self._buffer.append(line)
        self._buffered_chars += len(line)
        self.rows_written += 1
        if self._buffered_chars >= _CHUNK_CHARS:
            self._flush_buffer()

    def write_rows(self, rows: Iterable[Sequence[object]]) -> int:
        """Append every row of `rows`; returns how many were written."""
        count = 0
        write_row = self.write_row
        for row in rows:
            write_row(row)
            count += 1
        return count

    def write_formatted_rows(self, xml: str | bytes, count: int) -> None:
        """Append `count` rows already formatted by `compile_row_formatter` (same columns and
        options) for the next row numbers of the current sheet; they must fit in it."""
        if self._sheet_stream is None:
            self._ensure_open()
            raise XlsxWriterError("write_formatted_rows called before add_sheet")
        if count > self._sheet_max_rows - self._sheet_rows:
            raise XlsxWriterError(
                f"sheet {self._sheet_title!r}: {count} formatted rows do not fit "
                f"({self._sheet_max_rows - self._sheet_rows} left)"
            )
        self._flush_buffer()
        self._deflater.write(self._sheet_stream, xml.encode() if isinstance(xml, str) else xml)
        self._sheet_rows += count
        self.rows_written += count

    @property
    def sheet_room(self) -> int:
        """How many more rows the current sheet takes."""
        return self._sheet_max_rows - self._sheet_rows

    def add_help_sheet(
        self,
        columns: Sequence[XlsxColumn],
        *,
        title: str = "Help",
        position: int | None = None,
    ) -> None:
        """A sheet listing `columns` (name, type, description); it is closed once written."""
        self.add_sheet(title, HELP_SHEET_COLUMNS, position=position, max_rows=EXCEL_MAX_ROWS)
        self.write_rows(column_help_rows(columns))
        self._finish_sheet()

    def close(self) -> None:
        """Finish the workbook: close the sheet, write workbook, styles and package parts."""
        if self._closed:
            return
        try:
            self._finish_sheet()
            if not self._tabs:
                raise XlsxWriterError("workbook has no sheet; call add_sheet before closing")
            self._write_package_parts()
            self._deflater.stop()
            self._zip.close()
            if self._owns_file:
                self._file.close()
                assert self._path is not None and self._temporary_path is not None
                os.replace(self._temporary_path, self._path)
        except BaseException:
            self.abort()
            raise
        finally:
            self._closed = True

    def abort(self) -> None:
        """Stop writing: a path target's partial file is removed; a stream target holds an incomplete
        workbook the caller must discard."""
        if self._closed:
            return
        self._closed = True
        self._deflater.stop()
        if self._sheet_stream is not None:
            try:
                self._sheet_stream.close()
            except Exception:  # noqa: BLE001 - best effort: the file is being discarded
                pass
            self._sheet_stream = None
        try:
            self._zip.close()
        except Exception:  # noqa: BLE001 - best effort: the output is being discarded
            pass
        if self._owns_file:
            self._file.close()
            assert self._temporary_path is not None
            self._temporary_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- sheets -------------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise XlsxWriterError("the workbook is already closed")

    def _validate_title(self, title: str) -> None:
        if not title or len(title) > SHEET_TITLE_MAX:
            raise XlsxWriterError(f"sheet title {title!r} must have 1 to {SHEET_TITLE_MAX} characters")
        bad = sorted(set(title) & set("[]:*?/\\"))
        if bad or title[0] == "'" or title[-1] == "'" or _XML_INVALID.search(title):
            raise XlsxWriterError(
                f"sheet title {title!r} holds characters Excel refuses ([]:*?/\\, control characters "
                "or a leading/trailing apostrophe)"
            )
        if title.casefold() in {existing.casefold() for existing, _ in self._tabs}:
            raise XlsxWriterError(f"sheet title {title!r} is already used in this workbook")

    def _start_part(self, title: str, tab_index: int) -> None:
        self._part_count += 1
        self._tabs.insert(tab_index, (title, self._part_count))
        self._sheet_title = title
        self._sheet_rows = 0
        # force_zip64: a full sheet of long rows can pass 2 GiB of XML, and the size is unknown here.
        self._sheet_stream = self._zip.open(
            f"xl/worksheets/sheet{self._part_count}.xml", "w", force_zip64=True
        )
        self._sheet_stream.write(self._sheet_prologue().encode())
        if self._header:
            self._sheet_rows = 1
            # Header text follows the same rules as any text cell (escaping, runs, length).
            try:
                cells = "".join(
                    f'<c r="{letter}1" s="{_STYLE_HEADER}"{cell}'
                    for letter, column in zip(self._letters, self._columns, strict=True)
                    if (cell := self._cells.format_text(column.name))
                )
            except _CellError as error:
                raise XlsxWriterError(f"sheet {title!r} header: {error}") from None
            self._buffer.append(f'<row r="1">{cells}</row>')

    def _continue_on_next_part(self) -> None:
        tab_index = self._tab_index_of_current() + 1
        self._finish_sheet()
        self._sheet_part_index += 1
        suffix = f" ({self._sheet_part_index})"
        title = self._sheet_base_title[: SHEET_TITLE_MAX - len(suffix)] + suffix
        if title.casefold() in {existing.casefold() for existing, _ in self._tabs}:
            raise XlsxWriterError(f"sheet {self._sheet_base_title!r} is full and {title!r} is already taken")
        self._start_part(title, tab_index)

    def _tab_index_of_current(self) -> int:
        return next(index for index, (_, part) in enumerate(self._tabs) if part == self._part_count)

    def _failing_column(self, row: Sequence[object]) -> XlsxColumn:
        """The first column whose value the formatters refuse (found again for the error message)."""
        return _first_refused(row, self._formatters, self._columns)

    def _sheet_prologue(self) -> str:
        view = '<sheetView workbookViewId="0"/>'
        if self._freeze_header:
            view = (
                '<sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>'
            )
        cols = "".join(
            f'<col min="{index}" max="{index}" width="{self._width(column):g}" customWidth="1"/>'
            for index, column in enumerate(self._columns, start=1)
        )
        return (
            f'{_XML_DECL}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            f'<sheetViews>{view}</sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{cols}</cols><sheetData>"
        )

    @staticmethod
    def _width(column: XlsxColumn) -> float:
        if column.width is not None:
            return column.width
        return min(60, max(_DEFAULT_WIDTHS[column.type], len(column.name) + 3))

    def _flush_buffer(self) -> None:
        if self._buffer and self._sheet_stream is not None:
            self._deflater.write(self._sheet_stream, "".join(self._buffer).encode())
        self._buffer.clear()
        self._buffered_chars = 0

    def _finish_sheet(self) -> None:
        if self._sheet_stream is None:
            return
        self._flush_buffer()
        self._deflater.drain()
        if self._autofilter:
            # Schema order: autoFilter follows sheetData and comes before pageMargins.
            last = f"{self._letters[-1]}{max(self._sheet_rows, 1)}"
            self._sheet_stream.write(f'</sheetData><autoFilter ref="A1:{last}"/>'.encode())
        else:
            self._sheet_stream.write(b"</sheetData>")
        self._sheet_stream.write(
            b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
        )
        self._sheet_stream.close()
        self._sheet_stream = None

    # -- package ------------------------------------------------------------------------------

    def _write_package_parts(self) -> None:
        # These parts list every sheet, so they can only be written once all sheets are done.
        write = self._zip.writestr
        parts = [number for _, number in self._tabs]
        write("[Content_Types].xml", _content_types_xml(parts))
        write("_rels/.rels", _ROOT_RELS)
        write("docProps/app.xml", _APP_XML)
        write("docProps/core.xml", _core_xml(datetime.now(UTC)))
        write("xl/workbook.xml", _workbook_xml(self._tabs))
        write("xl/_rels/workbook.xml.rels", _workbook_rels_xml(parts))
        write("xl/styles.xml", _STYLES_XML)


class _CellFormats:
    """The cell formatters that depend on the writer's options (time zone, long-text policy)."""

    def __init__(self, timezone: tzinfo, long_text: LongTextPolicy) -> None:
        self.timezone = timezone
        self.long_text = long_text

    # A formatter returns the end of a <c> element after its r attribute, or "" for a blank cell.

    def formatter(self, column: XlsxColumn) -> Callable[[object], str]:
        match column.type:
            case "str":
                return self.format_text
            case "int":
                return _format_int
            case "float" | "decimal":
                return _format_float
            case "date":
                return _format_date
            case "datetime":
                return self.format_datetime
            case "bool":
                return _format_bool
        raise AssertionError(column.type)  # XlsxColumn validated the type

    def format_text(self, value: object) -> str:
        text = value if value.__class__ is str else str(value)
        if not text:
            return ""
        # Fast path: printable text without escapes and of moderate length only needs &<> escaping.
        if text.isprintable() and len(text) <= EXCEL_MAX_TEXT // 2 and "_x" not in text:
            if "&" in text or "<" in text or ">" in text:
                text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if text[0] == " " or text[-1] == " ":
                return f' t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
            return f' t="inlineStr"><is><t>{text}</t></is></c>'
        return self._format_unusual_text(text)

    def _format_unusual_text(self, text: str) -> str:
        text = _XML_INVALID.sub("", text)
        if len(text) > EXCEL_MAX_TEXT // 2 and _utf16_length(text) > EXCEL_MAX_TEXT:
            if self.long_text == "raise":
                raise _CellError(
                    f"text of {_utf16_length(text)} characters is longer than Excel's {EXCEL_MAX_TEXT}"
                )
            text = _truncate_utf16(text, EXCEL_MAX_TEXT)
        if not text:
            return ""
        runs = _EXCEL_ESCAPE_SPLIT.split(text)
        if len(runs) > 1:
            rich = "".join(f'<r><t xml:space="preserve">{_escape_text(run)}</t></r>' for run in runs)
            return f' t="inlineStr"><is>{rich}</is></c>'
        space = ' xml:space="preserve"' if text[0] in _XML_SPACE or text[-1] in _XML_SPACE else ""
        return f' t="inlineStr"><is><t{space}>{_escape_text(text)}</t></is></c>'

    def format_datetime(self, value: object) -> str:
        if value.__class__ is not datetime:
            if isinstance(value, datetime):
                pass
            elif isinstance(value, date):
                return f' s="{_STYLE_DATETIME}"><v>{_date_serial(value)}</v></c>'
            else:
                raise _CellError(f"expected a datetime, got {type(value).__name__} {value!r:.60}")
        moment: datetime = value  # type: ignore[assignment]
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(self.timezone).replace(tzinfo=None)
            except OverflowError:
                raise _CellError(f"{value} is out of range once converted to {self.timezone}") from None
        milliseconds, remainder = divmod(moment.microsecond, 1000)
        if remainder >= 500:
            milliseconds += 1
            if milliseconds == 1000:
                try:
                    moment = moment.replace(microsecond=0) + timedelta(seconds=1)
                except OverflowError:
                    raise _CellError(f"{value} rounds past 9999-12-31, the last day Excel can hold") from None
                milliseconds = 0
        day_milliseconds = (moment.hour * 3600 + moment.minute * 60 + moment.second) * 1000 + milliseconds
        serial = _date_serial(moment)
        if day_milliseconds:
            return f' s="{_STYLE_DATETIME}"><v>{serial + day_milliseconds / _MS_PER_DAY!r}</v></c>'
        return f' s="{_STYLE_DATETIME}"><v>{serial}</v></c>'



def compile_row_formatter(
    columns: Sequence[XlsxColumn], *, timezone: tzinfo = UTC, long_text: LongTextPolicy = "raise"
) -> Callable[[Sequence[object], int], str]:
    """`(row, row number) -> the row's SpreadsheetML`, exactly as `StreamingXlsxWriter.write_row`
    formats it for a writer with these options, for `write_formatted_rows` (rows may then be
    formatted in another process). A refused value raises XlsxValueError naming row and column."""
    cells = _CellFormats(timezone, long_text)
    formatters = [cells.formatter(column) for column in columns]
    format_row = _compile_row_formatter(columns, formatters, [column_letter(index) for index in range(len(columns))])
    width = len(columns)

    def row_xml(row: Sequence[object], row_number: int) -> str:
        if len(row) != width:
            raise XlsxValueError(f"row {row_number}: {len(row)} values for {width} columns")
        try:
            return format_row(row, row_number)
        except _CellError as error:
            column = _first_refused(row, formatters, columns)
            raise XlsxValueError(f"row {row_number} column {column.name!r} ({column.type}): {error}") from None

    return row_xml


def text_cell_formatter(long_text: LongTextPolicy = "raise") -> Callable[[str], str]:
    """The text cell formatter `compile_row_formatter` uses: text -> the end of its `<c>` element
    after the `r` attribute ('' for a blank cell), for rows assembled from text elsewhere. A
    refused text raises XlsxValueError (without row or column: the caller names them)."""
    format_text = _CellFormats(UTC, long_text).format_text

    def text_cell(text: str) -> str:
        try:
            return format_text(text)
        except _CellError as error:
            raise XlsxValueError(str(error)) from None

    return text_cell


def _first_refused(
    row: Sequence[object], formatters: Sequence[Callable[[object], str]], columns: Sequence[XlsxColumn]
) -> XlsxColumn:
    for value, formatter, column in zip(row, formatters, columns, strict=True):
        if value is None:
            continue
        try:
            formatter(value)
        except _CellError:
            return column
    return columns[-1]


def _no_sheet(row: Sequence[object], row_number: int) -> str:
    raise XlsxWriterError("write_row called before add_sheet")


class _BackgroundWriter:
    """Writes (deflates) sheet chunks on a thread: zlib releases the GIL while it compresses, so
    the next rows are formatted while the previous chunk is deflated. At most `depth` chunks
    wait; `drain` waits for all of them (before anything else touches the zip); an error of the
    thread is raised on the next `write` or `drain`."""

    def __init__(self, depth: int = 2) -> None:
        self._queue: queue.Queue[tuple[IO[bytes], bytes] | None] = queue.Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    stream, data = item
                    stream.write(data)
            except BaseException as error:  # noqa: BLE001 - handed to the writer's thread
                self._error = error
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def write(self, stream: IO[bytes], data: bytes) -> None:
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xlsx-deflate", daemon=True)
            self._thread.start()
        self._queue.put((stream, data))

    def drain(self) -> None:
        if self._thread is not None:
            self._queue.join()
        self._raise()

    def stop(self) -> None:
        """Finish pending writes and end the thread (idempotent; errors stay for `drain`)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


# Cells of repeated values (towns, statuses, dates, rounded times, truncated coordinates) are
# remembered per column, up to this many distinct values (bounded memory whatever the rows).
_CELL_CACHE_SIZE = 2048
# The class whose values a column's cache holds: the exact class, so 1, 1.0 and True never share
# a cell (they hash and compare equal).
_CACHED_CLASS: dict[str, tuple[type, ...]] = {
    "str": (str, time), "float": (float,), "decimal": (float,), "date": (date,), "datetime": (datetime,),
    "bool": (bool,),
}


def _compile_row_formatter(
    columns: Sequence[XlsxColumn], formatters: Sequence[Callable[[object], str]], letters: Sequence[str]
) -> Callable[[Sequence[object], int], str]:
    """One function formatting a whole row of these columns, so the output is the same as
    formatting cell by cell with the column formatters, but faster: ints inline, and the cell of
    a value seen before in the column taken from a small per-column cache."""
    lines = ["def format_row(row, n):", "    n = str(n)", "    parts = ['<row r=\"', n, '\">']"]
    namespace: dict[str, object] = {}
    for index, column in enumerate(columns):
        value = f"v{index}"
        ref = f"'<c r=\"{letters[index]}', n, '\"'"
        namespace[f"f{index}"] = formatters[index]
        lines.append(f"    {value} = row[{index}]")
        lines.append(f"    if {value} is not None:")
        if column.type == "int":
            lines.append(f"        if {value}.__class__ is int and -{EXCEL_MAX_INT} <= {value} <= {EXCEL_MAX_INT}:")
            lines.append(f"            parts += ({ref}, '><v>', str({value}), '</v></c>')")
            lines.append("        else:")
            lines.append(f"            parts += ({ref}, f{index}({value}))")
            continue
        classes = _CACHED_CLASS[column.type]
        namespace[f"c{index}"] = {}
        for position, kind in enumerate(classes):
            namespace[f"k{index}_{position}"] = kind
        test = " or ".join(f"{value}.__class__ is k{index}_{position}" for position in range(len(classes)))
        lines += [
            f"        if {test}:",
            f"            cell = c{index}.get({value})",
            "            if cell is None:",
            f"                cell = f{index}({value})",
            f"                if len(c{index}) < {_CELL_CACHE_SIZE}:",
            f"                    c{index}[{value}] = cell",
            "        else:",
            f"            cell = f{index}({value})",
            "        if cell:",
            f"            parts += ({ref}, cell)",
        ]
    lines.append("    parts.append('</row>')")
    lines.append("    return ''.join(parts)")
    exec("\n".join(lines), namespace)  # noqa: S102 - code built above from column types only
    return namespace["format_row"]  # type: ignore[return-value]


def _format_int(value: object) -> str:
    if value.__class__ is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _CellError(f"expected an int, got {type(value).__name__} {value!r:.60}")
    if -EXCEL_MAX_INT <= value <= EXCEL_MAX_INT:  # type: ignore[operator]
        return f"><v>{value}</v></c>"
    raise _CellError(f"{value} has more than 15 digits, which Excel cannot hold exactly; use a str column")


def _format_float(value: object) -> str:
    kind = value.__class__
    # x - x is 0.0 for every finite float and NaN for NaN and infinities (a cheap finiteness test).
    if kind is float and value - value == 0.0:  # type: ignore[operator]
        return f"><v>{value!r}</v></c>"
    if kind is bool or not isinstance(value, int | float | Decimal):
        raise _CellError(f"expected a number, got {type(value).__name__} {value!r:.60}")
    return f"><v>{_float_text(float(value))}</v></c>"


def _format_date(value: object) -> str:
    if value.__class__ is not date:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise _CellError(f"expected a date, got {type(value).__name__} {value!r:.60}")
    return f' s="{_STYLE_DATE}"><v>{_date_serial(value)}</v></c>'  # type: ignore[arg-type]


def _format_bool(value: object) -> str:
    if value is True:
        return ' t="b"><v>1</v></c>'
    if value is False:
        return ' t="b"><v>0</v></c>'
    raise _CellError(f"expected a bool, got {type(value).__name__} {value!r:.60}")


_ROOT_RELS = (
    f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)

_APP_XML = (
    f'{_XML_DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>platform_assets</Application></Properties>"
)

_STYLES_XML = (
    f'{_XML_DECL}<styleSheet xmlns="{_MAIN_NS}">'
    f'<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATETIME_FORMAT}"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _core_xml(created: datetime) -> str:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{_XML_DECL}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:creator>platform_assets</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _content_types_xml(parts: list[int]) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for number in sorted(parts)
    )
    return (
        f'{_XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{sheets}"
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )


def _workbook_xml(tabs: list[tuple[str, int]]) -> str:
    sheets = "".join(
        f'<sheet name="{_escape_attribute(title)}" sheetId="{number}" r:id="rId{number}"/>'
        for title, number in tabs
    )
    return (
        f'{_XML_DECL}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><workbookPr/>'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>'
    )


def _workbook_rels_xml(parts: list[int]) -> str:
    # Worksheets take rId<part number>; styles comes after the last part.
    last = max(parts)
    relations = [
        f'<Relationship Id="rId{number}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{number}.xml"/>'
        for number in sorted(parts)
    ]
    relations.append(f'<Relationship Id="rId{last + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>')
    return f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">{"".join(relations)}</Relationships>'


__all__ = [
    "COLUMN_TYPES",
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "EXCEL_MAX_INT",
    "EXCEL_MAX_ROWS",
    "EXCEL_MAX_TEXT",
    "HELP_SHEET_COLUMNS",
    "StreamingXlsxWriter",
    "XlsxColumn",
    "XlsxValueError",
    "XlsxWriterError",
    "column_help_rows",
    "compile_row_formatter",
]
