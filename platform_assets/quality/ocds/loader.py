"""Reading OCDS data: release packages, record packages, bare (compiled) releases, JSON arrays of
them, concatenated JSON documents, `.gz` files, UTF-8 or Latin-1 text; or a PostgreSQL table of
compiled releases. Releases are compiled per ocid.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from platform_assets.quality.ocds.compile import compile_releases
from platform_assets.quality.ocds.errors import OcdsSourceError

SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz")


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM); Latin-1 when the bytes are not UTF-8 (old exports)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def documents(text: str, name: str) -> Iterator[Any]:
    """Every JSON document in `text`: one, or several concatenated (one per line or back to back)."""
    decoder = json.JSONDecoder()
    position, length = 0, len(text)
    found = False
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            break
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise OcdsSourceError(f"{name}: not JSON at line {error.lineno} column {error.colno}: {error.msg}") from error
        found = True
        yield document
    if not found:
        raise OcdsSourceError(f"{name}: the file holds no JSON document")


def read_file(path: Path) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError) as error:
        raise OcdsSourceError(f"{path}: cannot read: {error}") from error


class Collected:
    """Releases and given compiled releases (records, compiled files), spooled to a temporary
    SQLite file so memory holds one ocid's releases at a time, whatever the dataset's size."""

    FLUSH_EVERY = 2000

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="ocds-spool-")
        self._db = sqlite3.connect(Path(self._folder.name) / "spool.db")
        self._db.execute("CREATE TABLE spool (seq INTEGER PRIMARY KEY, ocid TEXT NOT NULL, compiled INTEGER NOT NULL, data TEXT NOT NULL)")
        self._pending: list[tuple[str, int, str]] = []
        self.skipped = 0
        self.files: list[str] = []

    def __enter__(self) -> Collected:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    def _put(self, ocid: str, compiled: bool, data: dict[str, Any]) -> None:
        self._pending.append((ocid, int(compiled), json.dumps(data, ensure_ascii=False)))
        if len(self._pending) >= self.FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO spool (ocid, compiled, data) VALUES (?, ?, ?)", self._pending)
            self._pending.clear()

    def add_document(self, document: Any) -> None:
        if isinstance(document, list):
            for element in document:
                self.add_document(element)
            return
        if not isinstance(document, dict):
            self.skipped += 1
            return
        if isinstance(document.get("records"), list):
            for record in document["records"]:
                self.add_record(record)
        elif isinstance(document.get("releases"), list):
            for release in document["releases"]:
                self.add_release(release)
        elif "ocid" in document:
            self.add_release(document)
        else:
            self.skipped += 1

    def add_record(self, record: Any) -> None:
        if not isinstance(record, dict):
            self.skipped += 1
            return
        if isinstance(record.get("compiledRelease"), dict):
            compiled = record["compiledRelease"]
            self._put(str(compiled.get("ocid", record.get("ocid", ""))), True, compiled)
            return
        for release in record.get("releases") or []:
            # Linked releases (only a url) cannot be compiled here.
            if isinstance(release, dict) and "ocid" in release:
                self.add_release(release)
            else:
                self.skipped += 1

    def add_release(self, release: Any) -> None:
        if not isinstance(release, dict) or not release.get("ocid"):
            self.skipped += 1
            return
        tags = release.get("tag") if isinstance(release.get("tag"), list) else []
        self._put(str(release["ocid"]), "compiled" in tags, release)

    def compiled_releases(self) -> Iterator[dict[str, Any]]:
        """Compiled releases sorted by ocid; a given compiled release (the last one) wins over compiling."""
        self._flush()
        self._db.execute("CREATE INDEX IF NOT EXISTS spool_ocid ON spool (ocid, seq)")
        rows = self._db.execute("SELECT ocid, compiled, data FROM spool ORDER BY ocid, seq")
        for _ocid, group in groupby(rows, key=lambda row: row[0]):
            entries = list(group)
            given = [data for _o, compiled, data in entries if compiled]
            if given:
                yield json.loads(given[-1])
            else:
                yield compile_releases(json.loads(data) for _o, _c, data in entries)


def dataset_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise OcdsSourceError(f"{folder}: no such dataset folder")
    files = sorted(path for path in folder.rglob("*") if path.is_file() and path.name.endswith(SUFFIXES))
    if not files:
        raise OcdsSourceError(f"{folder}: no .json or .json.gz files in the dataset folder")
    return files


def collect_folder(folder: Path) -> Collected:
    """Every file of the folder read and spooled (the caller closes the result)."""
    collected = Collected()
    try:
        for path in dataset_files(folder):
            text = decode(read_file(path), str(path))
            for document in documents(text, str(path)):
                collected.add_document(document)
            collected.files.append(str(path))
    except BaseException:
        collected.close()
        raise
    return collected


def load_folder(folder: Path) -> Iterator[dict[str, Any]]:
    """Compiled releases of every file in `folder` (releases compiled by ocid across files).
    Every file is read before the first release comes out, so a bad file fails before any write."""
    with collect_folder(folder) as collected:
        yield from collected.compiled_releases()


def list_datasets(root: Path) -> list[str]:
    """Dataset names: the folders directly under `root` that hold data files."""
    if not root.is_dir():
        return []
    return sorted(
        path.name for path in root.iterdir() if path.is_dir() and any(p.name.endswith(SUFFIXES) for p in path.rglob("*"))
    )


def load_table(engine: Any, table: str, column: str = "data", batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Compiled releases from a database table (one JSON document per row), streamed in batches."""
    from sqlalchemy import column as sql_column
    from sqlalchemy import select
    from sqlalchemy import table as sql_table
    from sqlalchemy.exc import SQLAlchemyError

    query = select(sql_column(column)).select_from(sql_table(table))
    try:
        with engine.connect() as connection:
            rows = connection.execution_options(stream_results=True, yield_per=batch_size).execute(query)
            for (value,) in rows:
                document = json.loads(value) if isinstance(value, str | bytes) else value
                if isinstance(document, dict) and document.get("ocid"):
                    yield document
    except SQLAlchemyError as error:
        first = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise OcdsSourceError(f"table {table!r} column {column!r}: cannot read compiled releases: {first}") from error
