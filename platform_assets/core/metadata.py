"""Materialization metadata conventions every system follows, so tracking can read the event log.

An asset that writes, reads or deletes files returns `file_metadata(...)` in its
`MaterializeResult`: the main file as `uri` / `size` / `sha256`, and every file event under
`platform/files`: a table (Dagster's TableMetadataValue, drawn as a table in the UI) of rows
{"action": written | read | deleted, "uri", "size", "sha256"}; events written before it was a table
hold a JSON list of the same dicts, and `files_from_metadata` reads both.

Definition metadata follows Dagster's standard keys: `dagster/column_schema` (a TableSchema made
by `column_schema` from a system's own column specs) and, per materialization, `dagster/row_count`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
)

if TYPE_CHECKING:
    from platform_assets.core.objectstore import StoredObject


FILES_KEY = "platform/files"
# Dagster's standard key for the rows of a table-like output (shown in the UI's asset overview).
ROW_COUNT = "dagster/row_count"
# Dagster's standard key for a table-like asset's columns (the UI's "Columns" section).
COLUMN_SCHEMA = "dagster/column_schema"
FILES_SCHEMA = TableSchema(columns=[
    TableColumn("action", "string", description="written, read or deleted"),
    TableColumn("uri", "string"),
    TableColumn("size", "int", description="bytes (written files)"),
    TableColumn("sha256", "string", description="written files"),
])


class ColumnSpec(Protocol):
    """What a system's column specs have in common (trip export columns: name, type, help)."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...


def column_schema(columns: Iterable[ColumnSpec | str]) -> TableSchema:
    """A TableSchema from column specs (name, type and a `help` or `description` text) or bare
    header names (strings, typed as text)."""
    schema = []
    for column in columns:
        if isinstance(column, str):
            schema.append(TableColumn(column, "string"))
        else:
            text = getattr(column, "help", None) or getattr(column, "description", None)
            schema.append(TableColumn(column.name, str(column.type), description=text or None))
    return TableSchema(columns=schema)


def with_standard_metadata(
    assets_def: AssetsDefinition,
    *,
    deps: Sequence[AssetKey | AssetSpec] = (),
    columns: TableSchema | None = None,
) -> AssetsDefinition:
    """`assets_def` drawn after the external assets it reads (`deps`: lineage to the real sources
    declared as AssetSpecs) and with its column schema as definition metadata; the body is unchanged."""

    def extend(spec: AssetSpec) -> AssetSpec:
        extra: dict[str, Any] = {}
        if deps:
            extra["deps"] = [dep.key if isinstance(dep, AssetSpec) else dep for dep in deps]
        if columns is not None:
            extra["metadata"] = {COLUMN_SCHEMA: columns}
        return spec.merge_attributes(**extra)

    return assets_def.map_asset_specs(extend)


def file_metadata(
    main: StoredObject | None = None,
    written: Iterable[StoredObject] = (),
    read: Iterable[str] = (),
    deleted: Iterable[str] = (),
) -> dict[str, Any]:
    """Metadata describing the files a materialization wrote (main first), read and deleted."""
    written = [*([main] if main else []), *[obj for obj in written if obj is not main]]
    files: list[dict[str, Any]] = [
        {"action": "written", "uri": obj.uri, "size": obj.size, "sha256": obj.sha256} for obj in written
    ]
    files += [{"action": "read", "uri": uri, "size": None, "sha256": None} for uri in read]
    files += [{"action": "deleted", "uri": uri, "size": None, "sha256": None} for uri in deleted]
    metadata: dict[str, Any] = {}
    if main is not None:
        metadata.update({"uri": MetadataValue.url(main.uri), "size": main.size, "sha256": main.sha256})
    metadata[FILES_KEY] = MetadataValue.table([TableRecord(row) for row in files], schema=FILES_SCHEMA)
    return metadata


def files_last(metadata: dict[str, Any]) -> dict[str, Any]:
    """The same metadata with the file table last: the UI lists entries in order, and the headline
    figures (rows, counts, validity) should come before a long list of files."""
    if FILES_KEY not in metadata:
        return metadata
    ordered = {key: value for key, value in metadata.items() if key != FILES_KEY}
    ordered[FILES_KEY] = metadata[FILES_KEY]
    return ordered


def files_from_metadata(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The file events recorded by `file_metadata` in a materialization's metadata."""
    value = metadata.get(FILES_KEY)
    records = getattr(value, "records", None)
    if records is not None:  # the table form
        return [{key: item for key, item in record.data.items() if item is not None} for record in records]
    data = getattr(value, "data", value)  # the JSON form of older events
    return list(data or [])
