"""Robust GTFS zip reading and writing.

Real feeds are messy: UTF-8 with or without BOM, UTF-16 (with a BOM), Windows-1252 / Latin-1 (read
with a warning), CRLF, CR or mixed line ends, blank lines, rows with missing or extra trailing
cells, times past 24:00 (kept as text). Anything that cannot be read raises a FeedError naming the
file and the problem.

Hostile archives are refused before anything is inflated: member names that could escape a folder
on extraction (absolute, `..`, backslash, drive letter) and symbolic links ("zip slip"), encrypted
members, and declared sizes past the limits. Members are then streamed (never read whole) through a
guard that counts the inflated bytes and stops at the per-member, per-feed and compression-ratio
limits of `ZipLimits`, whatever the headers claim.
"""

from __future__ import annotations

import codecs
import csv
import io
import marshal
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from platform_assets.lib.deferred import np, pa, pacsv, pc, pd
from platform_assets.lib.errors import clip
from platform_assets.lib.gtfs.errors import FeedError
from platform_assets.lib.gtfs.limits import DEFAULT_LIMITS, GIB, MIB, ZipLimits

# One CSV line (so one field) at most: a file with no line end cannot grow a line without bound.
MAX_LINE_CHARS = 16 * MIB
csv.field_size_limit(MAX_LINE_CHARS)


# A table read from a feed keeps this many rows as Python lists; past it, its rows are spilled to
# an anonymous temporary file (`SpilledRows`), so an accepted feed's memory does not grow with its
# size (about 13 MiB of RSS per MB of stop_times when every row was a list).
SPILL_ROWS = 50_000


class SpilledRows:
    """The rows of a large table, in batches written to an anonymous temporary file (gone with the
    process, even killed) and read back one batch at a time (marshal: the file is this process's
    own, and marshal loads lists of strings about twice as fast as pickle). Supports what the
    platform does with rows: append, extend, len and iteration (several iterations may run at
    once); a row changed while iterating is not written back: use `Table.edited_rows()` for that."""

    BATCH = 10_000

    def __init__(self, rows: Iterable[list[str]] = ()) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="gtfs-rows-")
        self._pending: list[list[str]] = []
        self._count = 0
        self.extend(rows)

    def append(self, row: list[str]) -> None:
        self._pending.append(row)
        self._count += 1
        if len(self._pending) >= self.BATCH:
            self._flush()

    def extend(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            self.append(row)

    def _flush(self) -> None:
        if self._pending:
            self._file.seek(0, io.SEEK_END)
            data = marshal.dumps(self._pending)
            self._file.write(len(data).to_bytes(8, "little"))
            self._file.write(data)
            self._pending = []

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[list[str]]:
        self._flush()
        end = self._file.seek(0, io.SEEK_END)
        position = 0
        while position < end:
            # Each iterator keeps its own position: appends and other iterations move the file's.
            self._file.seek(position)
            size = int.from_bytes(self._file.read(8), "little")
            batch = marshal.loads(self._file.read(size))
            position += 8 + size
            yield from batch

    def close(self) -> None:
        self._file.close()


Rows = list[list[str]] | SpilledRows


@dataclass
class Table:
    """One GTFS file: its header and rows (every row has exactly len(header) cells). Rows are a
    list, or `SpilledRows` for a large table read from a feed."""

    name: str
    header: list[str]
    rows: Rows = field(default_factory=list)

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
            for row in self.edited_rows():
                row.append(default)
        return self.header.index(name)

    def edited_rows(self) -> Iterator[list[str]]:
        """Every row, to be changed in place; spilled rows are written back as the iteration goes
        (so the loop must run to its end)."""
        if isinstance(self.rows, list):
            yield from self.rows
            return
        edited = SpilledRows()
        for row in self.rows:
            yield row
            edited.append(row)
        self.rows.close()
        self.rows = edited

    def keep(self, predicate: Callable[[list[str]], bool]) -> None:
        """Keep only the rows for which `predicate` is true (spilled rows stay spilled)."""
        if isinstance(self.rows, list):
            self.rows = [row for row in self.rows if predicate(row)]
            return
        kept = SpilledRows(row for row in self.rows if predicate(row))
        self.rows.close()
        self.rows = kept

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


# -- archive safety ------------------------------------------------------------------------------
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_FILE_TYPE_BITS, _SYMLINK_TYPE = 0o170000, 0o120000
_ENCRYPTED_FLAG = 0x1


def shown_name(name: str) -> str:
    """A member name as shown in messages: as is when short and printable, else quoted and cut."""
    return name if len(name) <= 120 and name.isprintable() else clip(name)


def unsafe_member_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member could escape the folder it is extracted into ("zip slip"), or None when safe."""
    name = info.filename
    if (info.external_attr >> 16) & _FILE_TYPE_BITS == _SYMLINK_TYPE:
        return "a symbolic link"
    if "\\" in name:
        return "a backslash in the name"
    if name.startswith("/"):
        return "an absolute path"
    if _DRIVE_LETTER.match(name):
        return "a drive letter"
    if ".." in name.split("/"):
        return "a '..' path part"
    return None


def _size(count: int) -> str:
    return f"{count / GIB:g} GiB" if count >= GIB else f"{count / MIB:g} MiB" if count >= MIB else f"{count} bytes"


def _check_member(info: zipfile.ZipInfo, where: str, limits: ZipLimits) -> None:
    """Refuse a member on its header alone: unsafe name, encryption, declared size or ratio."""
    reason = unsafe_member_reason(info)
    if reason:
        raise FeedError(f"{where}: unsafe member name ({reason}); refused")
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise FeedError(f"{where}: encrypted archives are not supported")
    if info.file_size > limits.max_member_bytes:
        raise FeedError(f"{where}: {_size(info.file_size)} uncompressed, over the {_size(limits.max_member_bytes)} limit per file")
    if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise FeedError(
            f"{where}: compressed {info.file_size // max(info.compress_size, 1)}:1, over the {limits.max_ratio}:1 limit"
            " (a zip bomb?)"
        )


def check_archive(archive: zipfile.ZipFile, label: str, limits: ZipLimits = DEFAULT_LIMITS) -> None:
    """Refuse a hostile archive before inflating anything (FeedError naming the member)."""
    declared = 0
    for info in archive.infolist():
        _check_member(info, f"{label}/{shown_name(info.filename)}", limits)
        declared += info.file_size
    if declared > limits.max_feed_bytes:
        raise FeedError(f"{label}: {_size(declared)} uncompressed, over the {_size(limits.max_feed_bytes)} limit per feed")


def _content_hint(path: Path) -> str:
    with open(path, "rb") as stream:
        head = stream.read(512)
    text = head.lstrip().lower()
    if not head:
        return "the file is empty"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<body" in text:
        return "it looks like an HTML page"
    if text[:1] in (b"{", b"["):
        return "it looks like JSON"
    if text.startswith(b"<?xml") or text[:1] == b"<":
        return "it looks like XML"
    return f"it starts with {clip(head[:32])}"


def check_zip_file(path: str | Path, label: str, limits: ZipLimits = DEFAULT_LIMITS) -> None:
    """A downloaded feed is a readable zip with safe members within the limits, else FeedError
    saying what it looks like (an HTML maintenance page, a JSON error...)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(archive, label, limits)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FeedError(f"{label}: not a zip archive ({_content_hint(path)})") from None


class _Budget:
    """Bytes inflated so far over a whole feed."""

    def __init__(self, label: str, limits: ZipLimits) -> None:
        self.label = label
        self.limits = limits
        self.total = 0

    def charge(self, count: int) -> None:
        self.total += count
        if self.total > self.limits.max_feed_bytes:
            raise FeedError(
                f"{self.label}: inflates past the {_size(self.limits.max_feed_bytes)} limit per feed; refused"
            )


class _InflationGuard(io.RawIOBase):
    """A member's inflated bytes, counted as they stream: over a limit, FeedError at once."""

    def __init__(self, stream: IO[bytes], where: str, compressed: int, limits: ZipLimits, budget: _Budget) -> None:
        self._stream = stream
        self._where = where
        self._compressed = max(compressed, 1)
        self._limits = limits
        self._budget = budget
        self.inflated = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._stream.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
            # zlib.error: a damaged deflate stream (BadZipFile only covers the CRC and headers).
            raise FeedError(f"{self._where}: cannot be extracted ({error})") from None
        count = len(data)
        buffer[:count] = data
        self.inflated += count
        limits = self._limits
        if self.inflated > limits.max_member_bytes:
            raise FeedError(f"{self._where}: inflates past the {_size(limits.max_member_bytes)} limit per file; refused")
        if self.inflated > limits.ratio_floor_bytes and self.inflated > limits.max_ratio * self._compressed:
            raise FeedError(
                f"{self._where}: inflates more than {limits.max_ratio}:1 (a zip bomb?); refused"
            )
        self._budget.charge(count)
        return count

    def close(self) -> None:
        self._stream.close()
        super().close()


def _member_opener(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limits: ZipLimits, budget: _Budget
) -> Callable[[], io.BufferedReader]:
    """Opens the member as a guarded stream; opening it again (a second decoding pass) refunds the
    bytes the earlier pass charged to the feed's budget."""
    guards: list[_InflationGuard] = []

    def open_member() -> io.BufferedReader:
        if guards:
            budget.total -= guards[-1].inflated
        try:
            stream = archive.open(info)
        except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, RuntimeError) as error:
            raise FeedError(f"{where}: cannot be extracted ({error})") from None
        guard = _InflationGuard(stream, where, info.compress_size, limits, budget)
        guards.append(guard)
        return io.BufferedReader(guard, buffer_size=MIB)

    return open_member


# -- text ----------------------------------------------------------------------------------------
class _NotUtf8(Exception):
    """Internal: the UTF-8 pass failed; the member is read again as Windows-1252."""


class _NotLatin(Exception):
    """Internal: the Windows-1252 pass failed too (bytes that code page leaves undefined)."""


LEGACY_ENCODING = "cp1252"


def _bom_encoding(head: bytes, where: str) -> str:
    """The encoding a file's first bytes announce; UTF-32 is refused, not guessed as UTF-16."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise FeedError(f"{where}: UTF-32 text is not supported (GTFS files are UTF-8); convert it to UTF-8")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return "utf-8"


def _lines(binary: IO[bytes], encoding: str, where: str) -> Iterator[str]:
    """Decoded lines (line ends kept, as csv wants them), each at most MAX_LINE_CHARS long."""
    text = io.TextIOWrapper(binary, encoding=encoding, errors="strict", newline="")
    number = 0
    while True:
        try:
            line = text.readline(MAX_LINE_CHARS + 1)
        except UnicodeDecodeError as error:
            if encoding.startswith("utf-8"):
                raise _NotUtf8 from None
            if encoding == LEGACY_ENCODING:
                raise _NotLatin from None
            raise FeedError(f"{where}: invalid {encoding.upper()} text after line {number} ({error.reason})") from None
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise FeedError(f"{where}: line {number} is longer than {MAX_LINE_CHARS} characters")
        if "\x00" in line:
            raise FeedError(
                f"{where}: contains a NUL byte on line {number} (a binary file, or UTF-16/UTF-32 text without a byte-order mark)"
            )
        yield line


_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f\s]+")  # runs end at spaces (no-break space included)


class _LatinText:
    """Is text read as Windows-1252 really Latin text? In Latin-1/Windows-1252 text the non-ASCII
    letters stand mostly alone between ASCII letters or spaces ("Bodø", "Église"); read that way, multi-byte
    encodings (Shift-JIS, EUC, GBK, Big5) and non-Latin code pages (KOI8-R, Windows-1251) give
    runs of two and more non-ASCII characters. Most non-ASCII characters in such runs: not Latin."""

    def __init__(self) -> None:
        self.non_ascii = 0
        self.in_runs = 0

    def watch(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            if not line.isascii():
                for run in _NON_ASCII_RUN.findall(line):
                    self.non_ascii += len(run)
                    if len(run) >= 2:
                        self.in_runs += len(run)
            yield line

    @property
    def plausible(self) -> bool:
        return self.in_runs * 2 <= self.non_ascii


def _not_latin(where: str) -> FeedError:
    return FeedError(
        f"{where}: neither UTF-8 nor Latin-1/Windows-1252 text (a multi-byte or non-Latin encoding such as"
        " Shift-JIS?); convert it to UTF-8"
    )


def _legacy_warning(where: str) -> str:
    return f"{where}: not UTF-8, read as Windows-1252 (Latin-1)"


def decode_text(data: bytes, where: str, warnings: list[str]) -> str:
    """Decode one whole file by the reader's rules: BOMs first (UTF-32 refused), then UTF-8, then
    Windows-1252 (Latin-1) with a warning when it reads as Latin text, else FeedError."""
    encoding = _bom_encoding(data[:4], where)
    try:
        return "".join(_lines(io.BytesIO(data), encoding, where))
    except _NotUtf8:
        pass
    latin = _LatinText()
    try:
        text = "".join(latin.watch(_lines(io.BytesIO(data), LEGACY_ENCODING, where)))
    except _NotLatin:
        raise _not_latin(where) from None
    if not latin.plausible:
        raise _not_latin(where)
    warnings.append(_legacy_warning(where))
    return text


def _plain_utf8(binary: IO[bytes], encoding: str, block_size: int = 1 << 20) -> bool:
    """True when the whole member is valid UTF-8 with no NUL byte and no line longer than
    MAX_LINE_CHARS (counted in bytes, which bound the characters from above), checked block by
    block in C (the incremental decoder, numpy) instead of line by line; False: `_lines` decides."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    run = 0  # bytes since the last line end
    while block := binary.read(block_size):
        try:
            decoder.decode(block)
        except UnicodeDecodeError:
            return False
        if b"\x00" in block:
            return False
        data = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero((data == 10) | (data == 13))
        if not len(ends):
            run += len(block)
        else:
            longest = max(run + int(ends[0]), int(np.diff(ends).max(initial=0)) - 1)
            run = len(block) - int(ends[-1]) - 1
        if max(run, longest if len(ends) else 0) > MAX_LINE_CHARS:
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def streamed_encoding(open_binary: Callable[[], IO[bytes]], where: str) -> str:
    """The encoding a member is read with, by the reader's rules, found by streaming it (never held
    whole): "utf-16", "utf-8-sig", "utf-8" or LEGACY_ENCODING; FeedError for UTF-32, NUL bytes or
    text that is neither UTF-8 nor Latin."""
    with open_binary() as binary:
        encoding = _bom_encoding(binary.read(4), where)
    if encoding.startswith("utf-8"):
        with open_binary() as binary:
            if _plain_utf8(binary, encoding):
                return encoding
    with open_binary() as binary:  # not plain: line by line, for the exact verdict and message
        try:
            for _line in _lines(binary, encoding, where):
                pass
            return encoding
        except _NotUtf8:
            pass
    latin = _LatinText()
    with open_binary() as binary:
        try:
            for _line in latin.watch(_lines(binary, LEGACY_ENCODING, where)):
                pass
        except _NotLatin:
            raise _not_latin(where) from None
    if not latin.plausible:
        raise _not_latin(where)
    return LEGACY_ENCODING


def _parse_rows(
    lines: Iterable[str], name: str, where: str, warnings: list[str], spill_rows: int | None = None
) -> Table:
    """Parse CSV lines into a Table; blank lines are skipped, short rows padded, extra empty cells
    dropped. Past `spill_rows` rows, the rows go to `SpilledRows`."""
    reader = csv.reader(lines)
    header: list[str] | None = None
    rows: Rows = []
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
                    raise FeedError(f"{where}: duplicate column names in header {clip(header, 300)}")
                continue
            width = len(header)
            if len(row) < width:
                row = row + [""] * (width - len(row))
            elif len(row) > width:
                if any(cell.strip() for cell in row[width:]):
                    extra_rows += 1
                row = row[:width]
            rows.append(row)
            if spill_rows is not None and isinstance(rows, list) and len(rows) > spill_rows:
                rows = SpilledRows(rows)
    except csv.Error as error:
        raise FeedError(f"{where}: unreadable CSV near line {reader.line_num}: {error}") from None
    if extra_rows:
        warnings.append(f"{where}: {extra_rows} row(s) with more cells than the header; extra cells dropped")
    if header is None:
        warnings.append(f"{where}: empty file (no header)")
        header = []
    return Table(name, header, rows)


def parse_table(name: str, text: str, where: str, warnings: list[str]) -> Table:
    """Parse decoded CSV text into a Table (see `_parse_rows`)."""
    return _parse_rows(io.StringIO(text, newline=""), name, where, warnings)


def _read_table(
    open_member: Callable[[], io.BufferedReader], name: str, where: str, warnings: list[str], spill_rows: int | None
) -> Table:
    """Stream one member into a Table: decoded and parsed line by line, never held whole as bytes
    or text. Not UTF-8: read again as Windows-1252 when that gives Latin text, else FeedError."""
    with open_member() as binary:
        encoding = _bom_encoding(binary.peek(4)[:4], where)
        try:
            return _parse_rows(_lines(binary, encoding, where), name, where, warnings, spill_rows)
        except _NotUtf8:
            pass
    latin = _LatinText()
    with open_member() as binary:
        try:
            table = _parse_rows(latin.watch(_lines(binary, LEGACY_ENCODING, where)), name, where, warnings, spill_rows)
        except _NotLatin:
            raise _not_latin(where) from None
    if not latin.plausible:
        raise _not_latin(where)
    warnings.append(_legacy_warning(where))
    return table


def read_feed(
    path: str | Path, name: str | None = None, limits: ZipLimits = DEFAULT_LIMITS, spill_rows: int | None = SPILL_ROWS
) -> Feed:
    """Read a GTFS zip; FeedError (one line naming the file) when it cannot be read or is hostile.
    A table past `spill_rows` rows keeps them in a temporary file (None: all in memory)."""
    path = Path(path)
    label = name or path.name
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise FeedError(f"{label}: no such file") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise FeedError(f"{label}: not a zip archive ({error})") from None
    feed = Feed(label)
    with archive:
        check_archive(archive, label, limits)
        budget = _Budget(label, limits)
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = info.filename
            base = member.rsplit("/", 1)[-1]
            where = f"{label}/{shown_name(member)}"
            open_member = _member_opener(archive, info, where, limits, budget)
            if not base.lower().endswith(".txt"):
                with open_member() as binary:
                    feed.other_files[member] = binary.read()
                continue
            if base in feed.tables:
                raise FeedError(f"{where}: {base} appears twice in the archive")
            feed.tables[base] = _read_table(open_member, base, where, feed.warnings, spill_rows)
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
            table = feed.tables[name]
            if isinstance(table.rows, list):
                archive.writestr(name, table_bytes(table))
                continue
            # A spilled table is streamed into its member (ZIP64: it may pass 4 GiB), never held whole.
            with archive.open(name, "w", force_zip64=True) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
                writer = csv.writer(text, lineterminator="\r\n")
                writer.writerow(table.header)
                writer.writerows(table.rows)
        for name, data in sorted(feed.other_files.items()):
            archive.writestr(name, data)
    tmp.replace(path)
    return path


def read_member(path: str | Path, member: str, limits: ZipLimits = DEFAULT_LIMITS) -> bytes:
    """The raw bytes of one file in a zip (FeedError naming it when absent, unsafe or too large)."""
    label = Path(path).name
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(member)
            where = f"{label}/{shown_name(member)}"
            _check_member(info, where, limits)
            with _member_opener(archive, info, where, limits, _Budget(label, limits))() as binary:
                return binary.read()
    except KeyError:
        raise FeedError(f"{label}: has no file {clip(member)}") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise FeedError(f"{label}: not a zip archive ({error})") from None


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
    # Cells stripped of surrounding spaces, empty ones NaN, in one pass over Python lists (a
    # pandas apply per column costs more than the strip itself on small tables).
    positions = [i for i, column in enumerate(header) if usecols is None or column in usecols]
    nan = np.nan
    if len(positions) == len(header):
        cleaned = [[cell.strip() or nan for cell in row] for row in rows]
    else:
        cleaned = [[row[i].strip() or nan for i in positions] for row in rows]
    return pd.DataFrame(cleaned, columns=[header[i] for i in positions], dtype=object)


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
    """The encoding a large member is streamed with (`streamed_encoding`'s rules, read block by
    block so the file is never whole in memory: UTF-32 or non-Latin text is a FeedError) and its
    header; a corrupt member raises here, before any check."""
    encoding = streamed_encoding(lambda: archive.open(info), where)
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
                    if encoding == LEGACY_ENCODING:
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


