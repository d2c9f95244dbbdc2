"""Streaming one OCDS file: releases and records come out one at a time, whatever the file's size.

Two passes over the (possibly gzipped) bytes, each in fixed-size chunks:
1. a scan that finds the encoding (UTF-8, else Latin-1) and refuses nesting deeper than
   MAX_DEPTH (a 100k-level file would otherwise exhaust the C parser's memory or Python's
   recursion), then a short look at the start of the file for its shape;
2. `ijson` builds only the items under the shape's prefix (`releases.item`, `records.item`,
   `item`, ...), so a release package of any size never sits whole in memory.
Shapes: release or record packages (one, several concatenated, or a JSON array of them), bare
releases or compiled releases (one, concatenated, JSON lines or an array).
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from platform_assets.lib.deferred import ijson, np
from platform_assets.quality.ocds.errors import OcdsSourceError

CHUNK = 1024 * 1024
# OCDS releases nest about ten levels (package > releases > contracts > implementation >
# transactions > payer > identifier); extensions add a few. Far deeper is hostile input.
MAX_DEPTH = 128
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPEN_ARRAY, _OPEN_OBJECT, _CLOSE_ARRAY, _CLOSE_OBJECT = (ord(c) for c in "[{]}")


def open_bytes(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


class DepthScanner:
    """JSON nesting depth over a byte stream, chunk by chunk, with numpy (strings and escapes skipped)."""

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0
        self.in_string = False
        self.run = 0  # length of the backslash run the previous chunk ended with

    def feed(self, chunk: bytes) -> None:
        data = np.frombuffer(chunk, np.uint8)
        if not len(data):
            return
        # A character is escaped when the backslash run just before it has an odd length.
        quotes = data == _QUOTE
        positions = np.flatnonzero(data == _BACKSLASH)
        if len(positions) or self.run:
            run = np.zeros(len(data), np.int64)
            if len(positions):
                starts = np.r_[True, np.diff(positions) != 1]
                first = positions[starts][np.cumsum(starts) - 1]
                run[positions] = positions - first + 1
                if positions[0] == 0:
                    run[positions[first == 0]] += self.run
            before = np.r_[self.run, run[:-1]]
            self.run = int(run[-1])
            quotes &= before % 2 == 0
        # Inside a string between an opening and a closing quote (the state carries across chunks).
        toggles = np.cumsum(quotes, dtype=np.int32) + (1 if self.in_string else 0)
        outside = ((toggles & 1) == 0) | quotes
        self.in_string = bool(toggles[-1] & 1)
        opens = ((data == _OPEN_ARRAY) | (data == _OPEN_OBJECT)) & outside
        closes = ((data == _CLOSE_ARRAY) | (data == _CLOSE_OBJECT)) & outside
        depth = np.cumsum(opens.view(np.int8) - closes.view(np.int8), dtype=np.int32) + self.depth
        self.deepest = max(self.deepest, int(depth.max()))
        self.depth = int(depth[-1])


def scan(path: Path, max_depth: int = MAX_DEPTH) -> str:
    """The file's encoding ("utf-8" or "latin-1"), after checking its nesting depth."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    depth = DepthScanner()
    try:
        with open_bytes(path) as stream:
            while chunk := stream.read(CHUNK):
                if utf8:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
                depth.feed(chunk)
                if depth.deepest > max_depth:
                    raise OcdsSourceError(f"{path}: JSON nested deeper than {max_depth} levels: not OCDS data")
    except (OSError, EOFError, zlib.error) as error:
        raise OcdsSourceError(f"{path}: cannot read: {error}") from error
    return "utf-8" if utf8 else "latin-1"


class _Utf8Stream:
    """A byte stream as UTF-8 for ijson: the BOM dropped, Latin-1 transcoded chunk by chunk."""

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        self.raw = raw
        self.encoding = encoding
        self.started = False

    def read(self, size: int = CHUNK) -> bytes:
        chunk = self.raw.read(size)
        if not self.started:
            self.started = True
            if chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8):]
        if self.encoding == "latin-1":
            chunk = chunk.decode("latin-1").encode("utf-8")
        return chunk


# (prefix of the array holding the items, what the items are)
_CONTAINERS = {"releases": "release", "records": "record", "item.releases": "release", "item.records": "record"}


def _shape(stream: IO[bytes] | _Utf8Stream, name: str) -> tuple[str, str, str | None]:
    """(ijson prefix, "release" | "record" | "document", the package's `version` when it comes
    before the releases) from the first events of the file."""
    version: str | None = None
    try:
        for prefix, event, value in ijson.parse(stream, multiple_values=True):
            if prefix in ("version", "item.version") and event == "string":
                version = value
            if event == "start_array" and prefix in _CONTAINERS:
                return f"{prefix}.item", _CONTAINERS[prefix], version
            if event == "end_map" and prefix == "":
                return "", "document", None  # a bare release or compiled release
            if event == "end_map" and prefix == "item":
                return "item", "document", None  # an array of releases
            if event == "end_map" and prefix == "":
                return "", "document"  # a bare release or compiled release
            if event == "end_map" and prefix == "item":
                return "item", "document"  # an array of releases
            if prefix == "" and event not in ("start_map", "start_array", "map_key"):
                raise OcdsSourceError(f"{name}: not OCDS data: the file holds a JSON {event}, not objects")
            if prefix == "item" and event not in ("start_map", "start_array", "map_key", "end_array"):
                raise OcdsSourceError(f"{name}: not OCDS data: an array of {event} values, not objects")
    except ijson.JSONError as error:
        raise OcdsSourceError(f"{name}: not JSON: {_first_line(error)}") from error
    raise OcdsSourceError(f"{name}: the file holds no JSON document")


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def package_version(path: Path, encoding: str, prefix: str) -> str:
    """The OCDS version of a package file: its `version`, or "1.0" when it has none (the standard's
    default). One more C-speed pass, only when `version` comes after the releases."""
    package = prefix.rsplit(".", 1)[0].rpartition(".")[0]  # "releases.item" -> "", "item.releases.item" -> "item"
    with open_bytes(path) as raw:
        for version in ijson.items(_Utf8Stream(raw, encoding), f"{package}.version" if package else "version", multiple_values=True):
            if isinstance(version, str):
                return version
    return "1.0"


class FileItems:
    """The items of one file, streamed; `version` is the OCDS version of its packages (None for
    bare releases, which say nothing about it)."""

    def __init__(self, path: Path, max_depth: int = MAX_DEPTH) -> None:
        self.path = path
        self.encoding = scan(path, max_depth)
        try:
            with open_bytes(path) as raw:
                self.prefix, self.kind, version = _shape(_Utf8Stream(raw, self.encoding), str(path))
            if self.kind == "document":
                self.version: str | None = None
            else:
                self.version = version or package_version(path, self.encoding, self.prefix)
        except ijson.JSONError as error:
            raise OcdsSourceError(f"{path}: not JSON: {_first_line(error)}") from error
        except (OSError, EOFError, zlib.error) as error:
            raise OcdsSourceError(f"{path}: cannot read: {error}") from error

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return stream_items(self.path, self.encoding, self.prefix, self.kind)


def stream_items(path: Path, encoding: str, prefix: str, kind: str) -> Iterator[tuple[str, Any]]:
    """("release" | "record" | "document", item) for every item of the file, streamed."""
    name = str(path)
    try:
        with open_bytes(path) as raw:
            for item in ijson.items(_Utf8Stream(raw, encoding), prefix, multiple_values=True, use_float=True):
                yield kind, item
    except ijson.JSONError as error:
        raise OcdsSourceError(f"{name}: not JSON: {_first_line(error)}") from error
    except (OSError, EOFError, zlib.error) as error:
        raise OcdsSourceError(f"{name}: cannot read: {error}") from error
