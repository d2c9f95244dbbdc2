"""Where transit files live in the object store, the small JSON state beside them, and retention.

Layout (keys):
  transit/data_sets/<contributor>/<source>/<stamp>/<file name>
  transit/contributor_exports/<contributor>/<stamp>/<contributor>.zip
  transit/coverage_exports/<coverage>/<stamp>/<coverage>.zip  (+ <coverage>_ods.zip)
  transit/state/{data_sources,contributor_exports,coverage_exports}/<id>.json
The state of a thing is written only after its files are complete, so a failure never leaves a
half-written export in use: the last good one stays.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

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
