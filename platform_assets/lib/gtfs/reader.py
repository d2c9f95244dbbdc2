"""Robust GTFS zip reading and writing.

Real feeds are messy: UTF-8 with or without BOM, UTF-16, Latin-1 (read with a warning), CRLF,
CR or mixed line ends, blank lines, rows with missing or extra trailing cells, times past 24:00
(kept as text). Anything that cannot be read raises a FeedError naming the file and the problem.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
