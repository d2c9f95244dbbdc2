"""Reading OCDS data: release packages, record packages, bare (compiled) releases, JSON arrays of
them, concatenated JSON documents or JSON lines, `.gz` files, UTF-8 or Latin-1 text; or a
PostgreSQL table of compiled releases. Files are streamed (`reader.py`) into a disk spool and the
releases compiled per ocid with ocdsmerge, so memory stays bounded whatever the files' size.
A file that cannot be read is left out with a one-line error naming it; the others are checked.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from platform_assets.quality.ocds.compile import compile_releases
from platform_assets.quality.ocds.errors import OcdsSourceError
from platform_assets.quality.ocds.reader import MAX_DEPTH, FileItems

SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz")
logger = logging.getLogger(__name__)


class Collected:
    """Releases and given compiled releases (records, compiled files), spooled to a temporary
    SQLite file so memory holds one ocid's releases at a time, whatever the dataset's size."""

    FLUSH_EVERY = 2000

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="ocds-spool-")
        self._db = sqlite3.connect(Path(self._folder.name) / "spool.db")
        self._db.execute(
            "CREATE TABLE spool (seq INTEGER PRIMARY KEY, file INTEGER NOT NULL, ocid TEXT NOT NULL, compiled INTEGER NOT NULL, data TEXT NOT NULL)"
        )
        # The OCDS version of each file's packages (releases merge by their version's rules).
        self._db.execute("CREATE TABLE versions (file INTEGER PRIMARY KEY, version TEXT NOT NULL)")
        self._pending: list[tuple[int, str, int, str]] = []
        self._file = 0
        self.skipped = 0
        self.files: list[str] = []
        # One line per file left out, naming it (the dataset's other files are still checked).
        self.errors: list[str] = []

    def __enter__(self) -> Collected:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    def _put(self, ocid: str, compiled: bool, data: dict[str, Any]) -> None:
        self._pending.append((self._file, ocid, int(compiled), json.dumps(data, ensure_ascii=False)))
        if len(self._pending) >= self.FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO spool (file, ocid, compiled, data) VALUES (?, ?, ?, ?)", self._pending)
            self._pending.clear()

    def add_file(self, path: Path, max_depth: int = MAX_DEPTH) -> bool:
        """Spool every release of one file; on a bad file, its releases are dropped and the error kept."""
        self._file += 1
        try:
            items = FileItems(path, max_depth)
            if items.version is not None:
                self._db.execute("INSERT INTO versions (file, version) VALUES (?, ?)", (self._file, items.version))
            for kind, item in items:
                if kind == "release":
                    self.add_release(item)
                elif kind == "record":
                    self.add_record(item)
                else:
                    self.add_document(item)
        except (OcdsSourceError, RecursionError) as error:
            message = str(error) if isinstance(error, OcdsSourceError) else f"{path}: JSON nested too deeply: not OCDS data"
            self._pending = [row for row in self._pending if row[0] != self._file]
            self._db.execute("DELETE FROM spool WHERE file = ?", (self._file,))
            self._db.execute("DELETE FROM versions WHERE file = ?", (self._file,))
            self.errors.append(message)
            logger.warning("left out: %s", message)
            return False
        self.files.append(str(path))
        return True

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
        rows = self._db.execute(
            "SELECT ocid, compiled, data, version FROM spool LEFT JOIN versions USING (file) ORDER BY ocid, seq"
        )
        for _ocid, group in groupby(rows, key=lambda row: row[0]):
            entries = list(group)
            given = [data for _o, compiled, data, _v in entries if compiled]
            if given:
                yield json.loads(given[-1])
                continue
            try:
                # 1.0 rules only when every release came in a 1.0 package (bare releases: 1.1).
                version = "1.0" if all(v == "1.0" for *_rest, v in entries) else "1.1"
                compiled = compile_releases([json.loads(data) for _o, _c, data, _v in entries], version)
            except OcdsSourceError as error:
                self.errors.append(str(error))  # this ocid is left out; the others are checked
                continue
            yield compiled


def dataset_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise OcdsSourceError(f"{folder}: no such dataset folder")
    files = sorted(path for path in folder.rglob("*") if path.is_file() and path.name.endswith(SUFFIXES))
    if not files:
        raise OcdsSourceError(f"{folder}: no .json or .json.gz files in the dataset folder")
    return files


def collect_folder(folder: Path, max_depth: int = MAX_DEPTH) -> Collected:
    """Every file of the folder streamed and spooled (the caller closes the result). Bad files are
    left out with their error in `errors`; when no file could be read, that is an error."""
    collected = Collected()
    try:
        for path in dataset_files(folder):
            collected.add_file(path, max_depth)
        if not collected.files and collected.errors:
            more = f" (and {len(collected.errors) - 1} more files)" if len(collected.errors) > 1 else ""
            raise OcdsSourceError(f"{collected.errors[0]}{more}")
    except BaseException:
        collected.close()
        raise
    return collected


def load_folder(folder: Path, errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Compiled releases of every file in `folder` (releases compiled by ocid across files).
    Every file is read before the first release comes out; the lines naming files left out are
    appended to `errors` when given."""
    with collect_folder(folder) as collected:
        yield from collected.compiled_releases()
        if errors is not None:
            errors.extend(collected.errors)


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
