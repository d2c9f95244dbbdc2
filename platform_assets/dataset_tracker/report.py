"""What the tracker sheet shows, built from a crawl and the state history (pure; no Dagster).

Two tabs: the datasets being ingested (every stage past `external`) and the external datasets
discovered but not yet taken in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from platform_assets.dataset_tracker.config import Stage
from platform_assets.dataset_tracker.crawler import CrawlResult
from platform_assets.dataset_tracker.history import REMOVED, CurrentState

TRACKED_TAB = "Tracked datasets"
EXTERNAL_TAB = "Discovered external"

TRACKED_HEADER: tuple[str, ...] = (
    "Accession", "State", "Since", "Previous state", "Sources", "Technology", "Resource", "Title",
    "Experiment type", "Organism", "Curator", "Secondary accessions", "Protocols", "Software",
    "Samples", "Duplicate", "Warnings", "IDF", "SDRF",
)
EXTERNAL_HEADER: tuple[str, ...] = (
    "Accession", "Since", "Sources", "Technology", "Resource", "Title", "Duplicate", "Warnings",
)

Tab = tuple[Sequence[str], list[list[Any]]]


def _join(values: Sequence[str]) -> str:
    return "; ".join(values)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def tracked_row(record: Mapping[str, Any], state: CurrentState | None) -> list[Any]:
    return [
        record["accession"],
        record["stage"],
        _when(state.since if state else None),
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
        record["idf"],
        record["sdrf"],
    ]


def external_row(record: Mapping[str, Any], state: CurrentState | None) -> list[Any]:
    return [
        record["accession"],
        _when(state.since if state else None),
        _join(record["sources"]),
        _join(record["technologies"]),
        _join(record["resources"]),
        record["title"],
        _join(record["duplicate_reasons"]),
        _join(record["warnings"]),
    ]


def _removed_row(state: CurrentState) -> list[Any]:
    row: list[Any] = [""] * len(TRACKED_HEADER)
    row[:4] = [state.accession, state.state, _when(state.since), state.previous_state or ""]
    return row


def tracker_tabs(inventory: Mapping[str, Any], states: Mapping[str, CurrentState]) -> dict[str, Tab]:
    """The sheet's two tabs (header, rows) from an inventory document, rows sorted by accession."""
    records = sorted(inventory["datasets"], key=lambda record: record["accession"])
    tracked = [
        tracked_row(record, states.get(record["accession"]))
        for record in records
        if record["stage"] != Stage.external.name
    ]
    external = [
        external_row(record, states.get(record["accession"]))
        for record in records
        if record["stage"] == Stage.external.name
    ]
    # Datasets that were being ingested and are no longer found anywhere stay visible as `removed`.
    seen = {record["accession"] for record in records}
    gone = [
        _removed_row(state) for accession, state in sorted(states.items())
        if accession not in seen and state.state == REMOVED and state.previous_state != Stage.external.name
    ]
    tracked = sorted([*tracked, *gone], key=lambda row: row[0])
    return {TRACKED_TAB: (TRACKED_HEADER, tracked), EXTERNAL_TAB: (EXTERNAL_HEADER, external)}


def inventory_document(result: CrawlResult) -> dict[str, Any]:
    """The crawl as JSON-ready data (what `dataset_inventory` stores for `tracker_sheet` to read)."""
    return {
        "crawled_at": result.crawled_at.isoformat(),
        "counts": result.counts_by_stage(),
        "metadata_files_read": result.metadata_files_read,
        "warnings": [warning.line() for warning in result.warnings],
        "datasets": [
            {
                "accession": dataset.accession,
                "stage": dataset.stage.name,
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
