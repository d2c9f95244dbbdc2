"""OCDS datasets in the object store: compiled releases as gzipped JSON lines, streamed.

Per dataset: `<prefix>/<dataset>/compiled_releases.jsonl.gz` (current), `previous.jsonl.gz` (the
version before it, for time-based checks) and `manifest.json`. A new version whose bytes equal the
current one changes nothing; otherwise the current version becomes the previous one first.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import IO, Any, Protocol

from platform_assets.quality.ocds.errors import OcdsSourceError
from platform_assets.quality.ocds.prefixes import DATASET_PREFIX


class Store(Protocol):
    """The part of core's ObjectStore this module uses (kept Dagster-free)."""

    def put_stream(self, key: str, stream: IO[bytes], content_type: str | None = None) -> Any: ...
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> Any: ...
    def open(self, key: str) -> AbstractContextManager[IO[bytes]]: ...
    def exists(self, key: str) -> bool: ...
    def read_bytes(self, key: str) -> bytes: ...
    def uri(self, key: str) -> str: ...


@dataclass(frozen=True)
class Manifest:
    dataset: str
    key: str
    sha256: str
    items: int
    previous_key: str = ""
    previous_sha256: str = ""
    ancestor: str = ""
    source: str = ""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()


def dataset_key(dataset: str, prefix: str = DATASET_PREFIX) -> str:
    return f"{prefix}/{dataset}/compiled_releases.jsonl.gz"


def previous_key(dataset: str, prefix: str = DATASET_PREFIX) -> str:
    return f"{prefix}/{dataset}/previous.jsonl.gz"


def manifest_key(dataset: str, prefix: str = DATASET_PREFIX) -> str:
    return f"{prefix}/{dataset}/manifest.json"


def read_manifest(store: Store, dataset: str, prefix: str = DATASET_PREFIX) -> Manifest | None:
    key = manifest_key(dataset, prefix)
    if not store.exists(key):
        return None
    return Manifest(**json.loads(store.read_bytes(key)))


def _sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class WriteOutcome:
    manifest: Manifest
    stored: Any  # StoredObject of the current version
    changed: bool
    written: list[Any]


def write_dataset(
    store: Store,
    dataset: str,
    items: Iterable[dict[str, Any]],
    prefix: str = DATASET_PREFIX,
    ancestor: str = "",
    source: str = "",
) -> WriteOutcome:
    """Stream `items` to a temporary gzip file, then publish it as the current version."""
    fd, tmp_name = tempfile.mkstemp(suffix=".jsonl.gz")
    os.close(fd)
    count = 0
    try:
        # No file name and mtime=0 keep the bytes (and sha256) identical for identical content.
        with open(tmp_name, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as out:
            for item in items:
                out.write(json.dumps(item, ensure_ascii=False, sort_keys=True).encode() + b"\n")
                count += 1
        sha256 = _sha256_of(tmp_name)
        current = read_manifest(store, dataset, prefix)
        written: list[Any] = []
        key = dataset_key(dataset, prefix)
        if current is not None and current.sha256 == sha256 and store.exists(key):
            manifest = Manifest(dataset, key, sha256, count, current.previous_key, current.previous_sha256, ancestor, source)
            written.append(store.put_bytes(manifest_key(dataset, prefix), manifest.to_json(), "application/json"))
            stored = _Stored(key, store.uri(key), os.path.getsize(tmp_name), sha256)
            return WriteOutcome(manifest, stored, False, written)
        old_key, old_sha = "", ""
        if current is not None and store.exists(key):
            with store.open(key) as old:
                written.append(store.put_stream(previous_key(dataset, prefix), old, "application/gzip"))
            old_key, old_sha = previous_key(dataset, prefix), current.sha256
        with open(tmp_name, "rb") as stream:
            stored = store.put_stream(key, stream, "application/gzip")
        manifest = Manifest(dataset, key, stored.sha256, count, old_key, old_sha, ancestor, source)
        written.append(store.put_bytes(manifest_key(dataset, prefix), manifest.to_json(), "application/json"))
        return WriteOutcome(manifest, stored, True, [stored, *written])
    finally:
        os.unlink(tmp_name)


@dataclass(frozen=True)
class _Stored:
    key: str
    uri: str
    size: int
    sha256: str


def read_items(store: Store, key: str) -> Iterator[dict[str, Any]]:
    """Stream compiled releases back (one JSON line at a time)."""
    with store.open(key) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
        for line_number, line in enumerate(io.TextIOWrapper(unzipped, encoding="utf-8"), start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise OcdsSourceError(f"{key} line {line_number}: not JSON: {error.msg}") from error
