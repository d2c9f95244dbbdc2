"""Where transit files live in the object store, the small JSON state beside them, and retention.

Layout (keys):
  transit/data_sets/<contributor>/<source>/<stamp>/<file name>
  transit/contributor_exports/<contributor>/<stamp>/<contributor>.zip
  transit/coverage_exports/<coverage>/<stamp>/<coverage>.zip  (+ <coverage>_ods.zip)
  transit/state/{data_sources,contributor_exports,coverage_exports}/<id>.json
The state of a thing is written only after its files are complete, so a failure never leaves a
half-written export in use: the last good one stays. Two runs of one contributor (or coverage,
or data source) at once must not lose a version: the read-modify-write of a state JSON happens
under a lock per state key (`update_state`), re-reading the state inside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

RETENTION = 3
ROOT = "transit"


class Store(Protocol):
    """The part of core's ObjectStore the transit domain uses (pure code imports no resource)."""

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> Any: ...
    def put_file(self, key: str, path: Any, content_type: str | None = None) -> Any: ...
    def read_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def download(self, key: str, destination: Any) -> Any: ...
    def uri(self, key: str) -> str: ...
    def list(self, prefix: str = "") -> list[Any]: ...


def stamp(now: datetime | None = None) -> str:
    """A sortable, unique-enough folder name for one saved version."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def data_set_key(contributor: str, source: str, version: str, file_name: str) -> str:
    return f"{ROOT}/data_sets/{contributor}/{source}/{version}/{file_name}"


def contributor_export_key(contributor: str, version: str) -> str:
    return f"{ROOT}/contributor_exports/{contributor}/{version}/{contributor}.zip"


def coverage_export_key(coverage: str, version: str, suffix: str = "") -> str:
    return f"{ROOT}/coverage_exports/{coverage}/{version}/{coverage}{suffix}.zip"


def state_key(kind: str, *ids: str) -> str:
    return f"{ROOT}/state/{kind}/{'/'.join(ids)}.json"


def read_state(store: Store, key: str) -> dict[str, Any]:
    if not store.exists(key):
        return {}
    return json.loads(store.read_bytes(key).decode("utf-8"))


def write_state(store: Store, key: str, state: dict[str, Any]) -> None:
    store.put_bytes(key, json.dumps(state, indent=1, sort_keys=True).encode("utf-8"), "application/json")


def apply_retention(store: Store, versions: list[dict[str, Any]], keep: int = RETENTION) -> tuple[list[dict[str, Any]], list[str]]:
    """Keep the newest `keep` versions (newest last); delete the others' objects; return (kept, deleted uris)."""
    kept, dropped = versions[-keep:], versions[:-keep] if len(versions) > keep else []
    deleted: list[str] = []
    for version in dropped:
        for key in version.get("keys", []):
            deleted.append(store.uri(key))
            store.delete(key)
    return kept, deleted


# -- serialised state updates ----------------------------------------------------------------------
StateLock = Callable[[str], AbstractContextManager[object]]
Result = TypeVar("Result")
DEFAULT_LOCK_DIR = Path(tempfile.gettempdir()) / "platform_assets-state-locks"


def file_state_lock(folder: Path = DEFAULT_LOCK_DIR) -> StateLock:
    """A lock per state key held with flock on a file in `folder`: serialises runs on one machine
    (threads and processes: the multiprocess executor, several CLI runs). Runs spread over machines
    need `advisory_state_lock` on the shared PostgreSQL platform database."""

    @contextmanager
    def lock(key: str) -> Iterator[None]:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"
        with open(path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    return lock


def advisory_state_lock(engine: Any, fallback: StateLock | None = None) -> StateLock:
    """A lock per state key as a PostgreSQL session advisory lock (held on one connection for the
    update): serialises runs on every machine sharing the database. Other databases (the embedded
    SQLite default) use `fallback`, a file lock by default."""
    local = fallback or file_state_lock()

    @contextmanager
    def lock(key: str) -> Iterator[None]:
        if engine.dialect.name != "postgresql":
            with local(key):
                yield
            return
        from sqlalchemy import text

        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:n)"), {"n": number})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:n)"), {"n": number})
                connection.commit()

    return lock


def update_state(store: Store, key: str, change: Callable[[dict[str, Any]], Result], lock: StateLock | None = None) -> Result:
    """Read the state at `key`, let `change` modify it in place, write it back: all under the
    key's lock, so a concurrent update is never overwritten with a stale copy."""
    with (lock or file_state_lock())(key):
        state = read_state(store, key)
        result = change(state)
        write_state(store, key, state)
        return result
