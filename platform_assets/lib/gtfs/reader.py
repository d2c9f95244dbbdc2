"""Robust GTFS zip reading and writing.

Real feeds are messy: UTF-8 with or without BOM, UTF-16, Latin-1 (read with a warning), CRLF,
CR or mixed line ends, blank lines, rows with missing or extra trailing cells, times past 24:00
(kept as text). Anything that cannot be read raises a FeedError naming the file and the problem.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from platform_assets.lib.gtfs.errors import FeedError

csv.field_size_limit(16 * 1024 * 1024)


@dataclass
class Table:
    """One GTFS file: its header and rows (every row has exactly len(header) cells)."""

    name: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def column(self, name: str) -> int:
        """Index of a column; FeedError when absent."""
        try:
            return self.header.index(name)
        except ValueError:
            raise FeedError(f"{self.name}: missing column {name!r}") from None

    def has(self, name: str) -> bool:
        return name in self.header

    def ensure_column(self, name: str, default: str = "") -> int:
        """Index of `name`, appending the column (filled with `default`) when absent."""
        if name not in self.header:
            self.header.append(name)
            for row in self.rows:
                row.append(default)
        return self.header.index(name)

    def records(self) -> Iterator[dict[str, str]]:
        for row in self.rows:
            yield dict(zip(self.header, row, strict=True))

    def values(self, name: str) -> list[str]:
        index = self.column(name)
        return [row[index] for row in self.rows]


@dataclass
class Feed:
    """A GTFS feed held in memory: tables by file name, plus non-GTFS files kept as bytes."""

    name: str
    tables: dict[str, Table] = field(default_factory=dict)
    other_files: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    def require(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise FeedError(f"{self.name}: {name} is missing")
        return table

    def count(self, name: str) -> int:
        table = self.tables.get(name)
        return len(table.rows) if table else 0


def decode_text(data: bytes, where: str, warnings: list[str]) -> str:
    """Decode one file: BOMs first, then UTF-8, then Latin-1 with a warning."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise FeedError(f"{where}: invalid UTF-16 text ({error.reason} at byte {error.start})") from None
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise FeedError(f"{where}: contains a NUL byte at offset {offset} (binary or corrupt file)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        warnings.append(f"{where}: not UTF-8 (byte {error.start}), read as Latin-1")
        return data.decode("latin-1")


def parse_table(name: str, text: str, where: str, warnings: list[str]) -> Table:
    """Parse CSV text into a Table; blank lines are skipped, short rows padded, extra empty cells dropped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    extra_rows = 0
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lstrip("\ufeff") for cell in row]
                while header and header[-1] == "":
                    header.pop()
                if len(set(header)) != len(header):
                    raise FeedError(f"{where}: duplicate column names in header {header}")
                continue
            width = len(header)
            if len(row) < width:
                row = row + [""] * (width - len(row))
            elif len(row) > width:
                if any(cell.strip() for cell in row[width:]):
                    extra_rows += 1
                row = row[:width]
            rows.append(row)
    except csv.Error as error:
        raise FeedError(f"{where}: unreadable CSV near line {reader.line_num}: {error}") from None
    if extra_rows:
        warnings.append(f"{where}: {extra_rows} row(s) with more cells than the header; extra cells dropped")
    if header is None:
        warnings.append(f"{where}: empty file (no header)")
        header = []
    return Table(name, header, rows)


def read_feed(path: str | Path, name: str | None = None) -> Feed:
    """Read a GTFS zip; FeedError (one line naming the file) when it cannot be read."""
    path = Path(path)
    label = name or path.name
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise FeedError(f"{label}: no such file") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise FeedError(f"{label}: not a zip archive ({error})") from None
    feed = Feed(label)
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = info.filename
            base = member.rsplit("/", 1)[-1]
            where = f"{label}/{member}"
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError) as error:
                # zlib.error: a damaged deflate stream (BadZipFile only covers the CRC and headers).
                raise FeedError(f"{where}: cannot be extracted ({error})") from None
            if not base.lower().endswith(".txt"):
                feed.other_files[member] = data
                continue
            if base in feed.tables:
                raise FeedError(f"{where}: {base} appears twice in the archive")
            text = decode_text(data, where, feed.warnings)
            feed.tables[base] = parse_table(base, text, where, feed.warnings)
    return feed


def table_bytes(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return buffer.getvalue().encode("utf-8")


def write_feed(feed: Feed, path: str | Path) -> Path:
    """Write the feed as a zip (UTF-8, CRLF), tables sorted by name; written to a temp file then moved."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(feed.tables):
            archive.writestr(name, table_bytes(feed.tables[name]))
        for name, data in sorted(feed.other_files.items()):
            archive.writestr(name, data)
    tmp.replace(path)
    return path


def read_member(path: str | Path, member: str) -> bytes:
    """The raw bytes of one file in a zip (FeedError naming it when absent)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(member)
    except KeyError:
        raise FeedError(f"{Path(path).name}: has no file {member!r}") from None
    except (zipfile.BadZipFile, zlib.error, OSError) as error:
        raise FeedError(f"{Path(path).name}: not a zip archive ({error})") from None


def feed_counts(feed: Feed) -> dict[str, int]:
    return {kind: feed.count(f"{kind}.txt") for kind in ("agency", "routes", "stops", "trips")}


# -- columnar reading for the quality checks ----------------------------------------------------
DEFAULT_CHUNK_ROWS = 25_000  # measured: 25k-row chunks were the fastest and smallest of 25k/50k/100k
# Read in chunks: the tables that grow with the timetable (the largest by far in real feeds).
STREAMED_TABLES = frozenset({"stop_times.txt", "shapes.txt"})
_SCAN_BLOCK = 1 << 20


@dataclass
class TableChunk:
    """Consecutive rows of one table as text (empty cells are NaN); `offset` counts the rows before."""

    frame: pd.DataFrame
    widths: np.ndarray  # cells per row as written (before padding / cutting to the header)
    offset: int
    header_width: int


@dataclass
class GtfsFrames:
    """A feed zip: its small tables as text DataFrames, its large ones (STREAMED_TABLES) as chunk
    iterators, plus what reading found."""

    name: str
    path: Path | None = None
    chunk_rows: int | None = DEFAULT_CHUNK_ROWS
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    widths: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)  # file -> (header cells, cells per row)
    headers: dict[str, list[str]] = field(default_factory=dict)  # every readable file's columns
    streamed: dict[str, tuple[str, str]] = field(default_factory=dict)  # file -> (zip member, encoding)
    streamed_rows: dict[str, int] = field(default_factory=dict)  # counted as the chunks are read
    unreadable: dict[str, str] = field(default_factory=dict)  # file -> error
    not_utf8: dict[str, str] = field(default_factory=dict)  # file -> where decoding as UTF-8 failed (read as Latin-1)
    error: str = ""  # the whole zip cannot be read
    cut_rows: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # streamed file -> (line, cells) of rows of another width

    def has(self, name: str) -> bool:
        """The file is in the feed, readable, with a header."""
        return bool(self.headers.get(name))

    def frame(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)

    def column(self, table: str, column: str) -> pd.Series:
        frame = self.frames.get(table)
        if frame is None or column not in frame.columns:
            return pd.Series([], dtype=object)
        return frame[column]

    def chunks(self, name: str, usecols: tuple[str, ...] | None = None) -> Iterator[TableChunk]:
        """A streamed table's rows, `chunk_rows` at a time (all at once when chunk_rows is None)."""
        member, encoding = self.streamed[name]
        rows = 0
        with zipfile.ZipFile(self.path) as archive, archive.open(member) as raw:  # type: ignore[arg-type]
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            for chunk in _table_chunks(text, self.chunk_rows, usecols):
                rows += len(chunk.frame)
                yield chunk
        self.streamed_rows[name] = rows

    def batches(self, name: str, columns: tuple[str, ...]) -> Iterator[tuple[int, pa.RecordBatch]]:
        """A streamed table's `columns` (those in its header) as Arrow string batches of bounded
        size (about `chunk_rows` rows; one batch when None), cells stripped of surrounding spaces,
        each with the number of rows before it. Rows whose width differs from the header's are
        skipped and recorded in `cut_rows` (line, cells); blank lines are skipped."""
        member, encoding = self.streamed[name]
        header = self.headers[name]
        wanted = [column for column in header if column in columns]
        cut: list[tuple[int, int]] = []
        self.cut_rows[name] = cut

        def cut_row(row: pacsv.InvalidRow) -> str:
            cut.append((int(row.number or 0), int(row.actual_columns)))
            return "skip"

        # ~40 bytes per stop_times row: the block (and so each batch) holds about chunk_rows rows.
        block = 1 << 30 if self.chunk_rows is None else max(1 << 16, self.chunk_rows * 40)
        options = (
            pacsv.ReadOptions(block_size=block, skip_rows=1, column_names=header,
                              encoding="utf8" if encoding.startswith("utf-8") else encoding, use_threads=False),
            pacsv.ParseOptions(invalid_row_handler=cut_row, newlines_in_values=True),
            pacsv.ConvertOptions(column_types={column: pa.string() for column in header}, include_columns=wanted,
                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        rows = 0
        with zipfile.ZipFile(self.path) as archive, archive.open(member) as raw:  # type: ignore[arg-type]
            source = _without_bom(raw) if encoding.startswith("utf-8") else raw
            try:
                reader = pacsv.open_csv(source, read_options=options[0], parse_options=options[1], convert_options=options[2])
            except pa.ArrowInvalid as error:
                if "Could not skip initial" in str(error):  # a header and no row
                    self.streamed_rows[name] = 0
                    return
                raise FeedError(f"{self.name}/{member}: cannot be read ({error})") from None
            for batch in _batches_or_error(reader, f"{self.name}/{member}"):
                stripped = pa.RecordBatch.from_arrays(
                    [pc.utf8_trim_whitespace(batch.column(i)) for i in range(batch.num_columns)], names=batch.schema.names)
                yield rows, stripped
                rows += batch.num_rows
        self.streamed_rows[name] = rows

    def rows(self) -> int:
        return sum(len(frame) for frame in self.frames.values()) + sum(self.streamed_rows.values())

    def as_feed(self) -> Feed:
        """A transit Feed of the same (small) tables, for the validity period rules."""
        feed = Feed(self.name)
        for name, frame in self.frames.items():
            rows = frame.fillna("").astype(str).values.tolist()
            feed.tables[name] = Table(name, list(frame.columns), rows)
        return feed


def _batches_or_error(reader: Any, where: str) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    except (pa.ArrowInvalid, OSError, zlib.error, zipfile.BadZipFile) as error:
        raise FeedError(f"{where}: cannot be read ({error})") from None


class _without_bom(io.RawIOBase):
    """A zip member read without its leading UTF-8 byte-order mark (Arrow would read it into the
    first header name)."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self.raw = raw
        self.first = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        if self.first:
            self.first = False
            if data.startswith(codecs.BOM_UTF8):
                data = data[3:] + self.raw.read(3)
        buffer[: len(data)] = data
        return len(data)


def _header_of(row: list[str]) -> list[str]:
    header = [cell.strip().lstrip("\ufeff") for cell in row]
    # Duplicate header names would make pandas columns ambiguous: keep the first, mark the others.
    seen: set[str] = set()
    for position, name in enumerate(header):
        if name in seen:
            header[position] = f"{name}#{position}"
        seen.add(name)
    return header


def _frame_of_rows(header: list[str], rows: list[list[str]], usecols: tuple[str, ...] | None) -> pd.DataFrame:
    if not header:
        return pd.DataFrame()
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    if usecols is not None:
        frame = frame[[column for column in header if column in usecols]]
    if len(frame.columns):
        frame = frame.apply(_cells)
    return frame


def _cells(column: pd.Series) -> pd.Series:
    """Cells without surrounding spaces; empty ones are NaN."""
    stripped = column.str.strip()
    return stripped.mask(stripped == "", np.nan)


def _table_chunks(text: io.TextIOBase, chunk_rows: int | None, usecols: tuple[str, ...] | None = None) -> Iterator[TableChunk]:
    """CSV text as TableChunks (at least one, so the header is always seen); blank lines are skipped,
    rows are padded or cut to the header's width (row_widths reports the cut ones)."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    widths: list[int] = []
    offset = 0
    for row in csv.reader(text):
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = _header_of(row)
            continue
        widths.append(len(row))
        width = len(header)
        rows.append((row + [""] * width)[:width] if len(row) != width else row)
        if chunk_rows is not None and len(rows) >= chunk_rows:
            yield TableChunk(_frame_of_rows(header, rows, usecols), np.asarray(widths, dtype=np.int32), offset, width)
            offset += len(rows)
            rows, widths = [], []
    if rows or offset == 0:
        header = header or []
        yield TableChunk(_frame_of_rows(header, rows, usecols), np.asarray(widths, dtype=np.int32), offset, len(header))


def _stream_encoding(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> tuple[str, list[str]]:
    """The encoding a large member is streamed with (decode_text's rules, read block by block so the
    file is never whole in memory) and its header; a corrupt member raises here, before any check."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8"
    position = 0
    with archive.open(info) as raw:
        block = raw.read(_SCAN_BLOCK)
        if block.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        elif block.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        while block:
            if encoding != "utf-16" and b"\x00" in block:
                offset = position + block.index(b"\x00")
                raise FeedError(f"{where}: contains a NUL byte at offset {offset} (binary or corrupt file)")
            if encoding.startswith("utf-8"):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    encoding = "latin-1"  # as decode_text: not UTF-8, read as Latin-1
            position += len(block)
            block = raw.read(_SCAN_BLOCK)
        if encoding.startswith("utf-8"):
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "latin-1"
    with archive.open(info) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding=encoding, newline=""))
        first = next((row for row in reader if row and any(cell.strip() for cell in row)), [])
    return encoding, _header_of(first)


def read_gtfs_frames(path: str | Path, name: str | None = None, chunk_rows: int | None = DEFAULT_CHUNK_ROWS) -> GtfsFrames:
    """Open a GTFS zip: small `.txt` files are read whole as text, STREAMED_TABLES are checked
    (encoding, corruption, header) and left to `chunks`; unreadable files and zips are recorded,
    not raised."""
    path = Path(path)
    feed = GtfsFrames(name or path.name, path=path, chunk_rows=chunk_rows)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        feed.error = f"{feed.name}: not a readable zip archive ({error})"
        return feed
    with archive:
        for info in archive.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or not base.lower().endswith(".txt"):
                continue
            where = f"{feed.name}/{info.filename}"
            try:
                if base in STREAMED_TABLES:
                    encoding, header = _stream_encoding(archive, info, where)
                    if encoding == "latin-1":
                        feed.not_utf8[base] = where
                    feed.streamed[base] = (info.filename, encoding)
                    feed.headers[base] = header
                    continue
                warnings: list[str] = []
                text = decode_text(archive.read(info), where, warnings)
                if any("not UTF-8" in warning for warning in warnings):
                    feed.not_utf8[base] = warnings[0]
                (chunk,) = _table_chunks(io.StringIO(text, newline=""), None)
            except (FeedError, csv.Error, zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, UnicodeDecodeError) as error:
                feed.unreadable[base] = str(error) if isinstance(error, FeedError) else f"{where}: cannot be read ({error})"
                continue
            feed.frames[base] = chunk.frame
            feed.widths[base] = (chunk.header_width, chunk.widths)
            feed.headers[base] = list(chunk.frame.columns)
    return feed


