"""The tracker's operations, shared by the assets and the CLI (pure: no Dagster)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from platform_assets.dataset_tracker.config import SourcesConfig
from platform_assets.dataset_tracker.crawler import CrawlResult, crawl, fetch_listing
from platform_assets.dataset_tracker.report import Tab, inventory_document, tracker_tabs

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from platform_assets.dataset_tracker.history import StateChange

INVENTORY_KEY = "dataset_tracker/inventory.json"


@dataclass
class CrawlOutcome:
    result: CrawlResult
    changes: list[StateChange]
    inventory: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {
            "accessions": len(self.result.datasets),
            "counts": self.result.counts_by_stage(),
            "duplicates": len(self.result.duplicates()),
            "warnings": len(self.result.warnings),
            "state_changes": len(self.changes),
        }


def crawl_and_record(
    config: SourcesConfig,
    engine: Engine,
    now: datetime | None = None,
    fetch_url: Callable[[str], bytes] = fetch_listing,
) -> CrawlOutcome:
    """Crawl every source, then record the state changes in `dataset_state`."""
    from platform_assets.dataset_tracker.history import record_states

    result = crawl(config, now=now, fetch_url=fetch_url)
    states = {accession: dataset.stage.name for accession, dataset in result.datasets.items()}
    sources = {accession: ", ".join(dataset.sources) for accession, dataset in result.datasets.items()}
    changes = record_states(engine, states, sources, now=result.crawled_at)
    root = str(config.path.parent) if config.path is not None else None
    return CrawlOutcome(result, changes, inventory_document(result, root))


def sheet_tabs(inventory: Mapping[str, Any], engine: Engine) -> dict[str, Tab]:
    """The tracker sheet's tabs for an inventory, with each dataset's state history."""
    from platform_assets.dataset_tracker.history import current_states

    return tracker_tabs(inventory, current_states(engine))


def inventory_bytes(inventory: Mapping[str, Any]) -> bytes:
    return json.dumps(inventory, ensure_ascii=False, indent=1).encode("utf-8")
