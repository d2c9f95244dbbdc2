"""What the tracker sheet shows, built from a crawl and the state history (pure; no Dagster).

Two tabs: the datasets being ingested (every stage past `external`) and the external datasets
discovered but not yet taken in (a dataset whose source covers a range starting at `external`
stays there, as the ingest-tracker splits by the least advanced stage). Rows with warnings are
highlighted red and possible duplicates orange (the anchor colours its WARNING rows red);
"Since" is a date and "Days in state" counts from it; Owner, Priority and Notes are the
curators' columns, kept across rewrites by the sheet backends; IDF/SDRF paths are relative to the
sources config's folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from platform_assets.dataset_tracker.sheets.base import DUPLICATE_FILL, WARNING_FILL, SheetTab
from platform_assets.dataset_tracker.stages import Stage

if TYPE_CHECKING:
    from platform_assets.dataset_tracker.crawler import CrawlResult
    from platform_assets.dataset_tracker.history import CurrentState


TRACKED_TAB = "Tracked datasets"
EXTERNAL_TAB = "Discovered external"
KEY_COLUMN = "Accession"
CURATOR_COLUMNS: tuple[str, ...] = ("Owner", "Priority", "Notes")

TRACKED_HEADER: tuple[str, ...] = (
    "Accession", "State", "Since", "Days in state", "Previous state", "Sources", "Technology", "Resource",
    "Title", "Experiment type", "Organism", "Curator", "Secondary accessions", "Protocols", "Software",
    "Samples", "Duplicate", "Warnings", "IDF", "SDRF", *CURATOR_COLUMNS,
)
EXTERNAL_HEADER: tuple[str, ...] = (
    "Accession", "Since", "Days in state", "Sources", "Technology", "Resource", "Title", "Duplicate", "Warnings",
    *CURATOR_COLUMNS,
)

Tab = SheetTab


def _join(values: Sequence[str]) -> str:
    return "; ".join(values)


def _since(state: CurrentState | None) -> datetime | str:
    # A naive UTC datetime: spreadsheets have no time zones (the header says nothing else).
    return state.since.astimezone(UTC).replace(tzinfo=None) if state else ""


def _days(state: CurrentState | None, now: datetime) -> int | str:
    return max((now - state.since).days, 0) if state else ""


def relative_path(path: str, root: str | None) -> str:
    """`path` relative to `root` when it lies under it (readable, and the same on every machine
    that mounts the tree), else as it is."""
    if not path or not root:
        return path
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive
        return path
    return path if relative.startswith("..") else relative


def tracked_row(record: Mapping[str, Any], state: CurrentState | None, now: datetime,
                root: str | None = None) -> list[Any]:
    return [
        record["accession"],
        record.get("stage_label") or record["stage"],
        _since(state),
        _days(state, now),
        (state.previous_state or "") if state else "",
        _join(record["sources"]),
        _join(record["technologies"]),
        _join(record["resources"]),
        record["title"],
        _join(record["experiment_type"]),
        _join(record["organisms"]),
        _join(record["curator"]),
        _join(record["secondary_accessions"]),
        _join(record["protocols"]),
        _join(record["software"]),
        record["samples"] if record["samples"] is not None else "",
        _join(record["duplicate_reasons"]),
        _join(record["warnings"]),
        relative_path(record["idf"], root),
        relative_path(record["sdrf"], root),
        *[""] * len(CURATOR_COLUMNS),
    ]


def external_row(record: Mapping[str, Any], state: CurrentState | None, now: datetime) -> list[Any]:
    return [
        record["accession"],
        _since(state),
        _days(state, now),
        _join(record["sources"]),
        _join(record["technologies"]),
        _join(record["resources"]),
        record["title"],
        _join(record["duplicate_reasons"]),
        _join(record["warnings"]),
        *[""] * len(CURATOR_COLUMNS),
    ]


def _removed_row(state: CurrentState, now: datetime) -> list[Any]:
    row: list[Any] = [""] * len(TRACKED_HEADER)
    row[:5] = [state.accession, state.state, _since(state), _days(state, now), state.previous_state or ""]
    return row


def _fills(rows: list[list[Any]], header: Sequence[str]) -> dict[int, str]:
    """Warnings red, else duplicates orange (row index -> colour)."""
    warnings_at, duplicate_at = header.index("Warnings"), header.index("Duplicate")
    fills = {}
    for index, row in enumerate(rows):
        if row[warnings_at]:
            fills[index] = WARNING_FILL
        elif row[duplicate_at]:
            fills[index] = DUPLICATE_FILL
    return fills


def _is_external(record: Mapping[str, Any]) -> bool:
    return (record.get("min_stage") or record["stage"]) == Stage.external.name


def tracker_tabs(
    inventory: Mapping[str, Any], states: Mapping[str, CurrentState], now: datetime | None = None
) -> dict[str, SheetTab]:
    """The sheet's two tabs from an inventory document, rows sorted by accession. Days in state
    count to `now` (default: the crawl's time, so re-running on one inventory writes the same sheet)."""
    from platform_assets.dataset_tracker.history import REMOVED

    now = now or datetime.fromisoformat(inventory["crawled_at"])
    root = inventory.get("root")
    records = sorted(inventory["datasets"], key=lambda record: record["accession"])
    tracked = [tracked_row(r, states.get(r["accession"]), now, root) for r in records if not _is_external(r)]
    external = [external_row(r, states.get(r["accession"]), now) for r in records if _is_external(r)]
    # Datasets that were being ingested and are no longer found anywhere stay visible as `removed`.
    seen = {record["accession"] for record in records}
    gone = [
        _removed_row(state, now) for accession, state in sorted(states.items())
        if accession not in seen and state.state == REMOVED and state.previous_state != Stage.external.name
    ]
    tracked = sorted([*tracked, *gone], key=lambda row: row[0])
    return {
        TRACKED_TAB: SheetTab(TRACKED_HEADER, tracked, _fills(tracked, TRACKED_HEADER), KEY_COLUMN, CURATOR_COLUMNS),
        EXTERNAL_TAB: SheetTab(EXTERNAL_HEADER, external, _fills(external, EXTERNAL_HEADER), KEY_COLUMN,
                               CURATOR_COLUMNS),
    }


def inventory_document(result: CrawlResult, root: str | None = None) -> dict[str, Any]:
    """The crawl as JSON-ready data (what `dataset_inventory` stores for `tracker_sheet` to read);
    `root` is the sources config's folder (metadata paths are shown relative to it)."""
    return {
        "crawled_at": result.crawled_at.isoformat(),
        "root": root,
        "counts": result.counts_by_stage(),
        "metadata_files_read": result.metadata_files_read,
        "warnings": [warning.line() for warning in result.warnings],
        "datasets": [
            {
                "accession": dataset.accession,
                "stage": dataset.stage.name,
                "min_stage": (dataset.stage if dataset.min_stage is None else dataset.min_stage).name,
                "stage_label": dataset.stage_label or dataset.stage.name,
                "sources": list(dataset.sources),
                "technologies": list(dataset.technologies),
                "resources": list(dataset.resources),
                "title": dataset.title,
                "experiment_type": list(dataset.metadata.experiment_type),
                "organisms": list(dataset.metadata.organisms),
                "curator": list(dataset.metadata.curator),
                "secondary_accessions": list(dataset.metadata.secondary_accessions),
                "protocols": list(dataset.metadata.protocols),
                "software": list(dataset.metadata.software),
                "samples": dataset.metadata.samples,
                "idf": dataset.idf_path,
                "sdrf": dataset.sdrf_path,
                "duplicate_reasons": dataset.duplicate_reasons,
                "warnings": dataset.warnings,
            }
            for dataset in result.datasets.values()
        ],
    }
