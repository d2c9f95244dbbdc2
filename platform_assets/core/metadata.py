"""Materialization metadata conventions every system follows, so tracking can read the event log.

An asset that writes, reads or deletes files returns `file_metadata(...)` in its
`MaterializeResult`: the main file as `uri` / `size` / `sha256`, and every file event under
`platform/files` (a JSON list of {"uri", "size", "sha256", "action": written | read | deleted}).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dagster import MetadataValue

from platform_assets.core.objectstore import StoredObject

FILES_KEY = "platform/files"
# Dagster's standard key for the rows of a table-like output (shown in the UI's asset overview).
ROW_COUNT = "dagster/row_count"


def file_metadata(
    main: StoredObject | None = None,
    written: Iterable[StoredObject] = (),
    read: Iterable[str] = (),
    deleted: Iterable[str] = (),
) -> dict[str, Any]:
    """Metadata describing the files a materialization wrote (main first), read and deleted."""
    written = [*([main] if main else []), *[obj for obj in written if obj is not main]]
    files: list[dict[str, Any]] = [
        {"uri": obj.uri, "size": obj.size, "sha256": obj.sha256, "action": "written"} for obj in written
    ]
    files += [{"uri": uri, "action": "read"} for uri in read]
    files += [{"uri": uri, "action": "deleted"} for uri in deleted]
    metadata: dict[str, Any] = {FILES_KEY: MetadataValue.json(files)}
    if main is not None:
        metadata.update({"uri": MetadataValue.url(main.uri), "size": main.size, "sha256": main.sha256})
    return metadata


def files_from_metadata(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The file events recorded by `file_metadata` in a materialization's metadata."""
    value = metadata.get(FILES_KEY)
    data = getattr(value, "data", value)
    return list(data or [])
