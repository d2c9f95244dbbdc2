"""OCDS dataset operations shared by the assets, checks, CLI and demo (no Dagster here)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platform_assets.lib.quality.batch import batched
from platform_assets.lib.quality.check import Check
from platform_assets.lib.quality.result import CheckResult
from platform_assets.lib.quality.runner import run_checks
from platform_assets.quality.ocds.dataset_store import (
    DATASET_PREFIX,
    Manifest,
    Store,
    dataset_key,
    read_items,
    read_manifest,
)
from platform_assets.quality.ocds.errors import OcdsSourceError
from platform_assets.quality.ocds.loader import load_folder, load_table
from platform_assets.quality.ocds.registry import ocds_checks

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from platform_assets.lib.quality.storage import StoredRun


BATCH_SIZE = 2000


def source_items(
    root: Path, dataset: str, engine: Engine | None = None, table: str = "", column: str = "data", errors: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Compiled releases of `dataset`: from the folder `root/dataset`, or from a database table.
    Lines naming the files (or ocids) left out are appended to `errors` once the items are read."""
    if table:
        if engine is None:
            raise OcdsSourceError(f"table {table!r}: no database to read it from")
        return load_table(engine, table, column)
    if "/" in dataset or dataset.startswith("."):
        raise OcdsSourceError(f"dataset name {dataset!r} must be a plain folder name under {root}")
    return load_folder(root / dataset, errors)


def comparison_key(store: Store, manifest: Manifest) -> str | None:
    """What time-based checks compare with: the ancestor dataset if one is named, else the previous version."""
    if manifest.ancestor:
        ancestor = read_manifest(store, manifest.ancestor, DATASET_PREFIX)
        if ancestor is None:
            raise OcdsSourceError(f"ancestor dataset {manifest.ancestor!r} has not been loaded yet")
        return dataset_key(manifest.ancestor, DATASET_PREFIX)
    return manifest.previous_key or None


def run_dataset_checks(
    store: Store,
    manifest: Manifest,
    checks: Sequence[Check] | None = None,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> list[CheckResult]:
    checks = list(checks) if checks is not None else ocds_checks(now)
    previous = comparison_key(store, manifest)
    return run_checks(
        checks,
        batched(read_items(store, manifest.key), batch_size),
        batched(read_items(store, previous), batch_size) if previous else None,
        seed=seed,
    )


def ensure_check_run(
    engine: Engine,
    store: Store,
    asset_key: str,
    dataset: str,
    prefix: str = DATASET_PREFIX,
    run_id: str | None = None,
    checks: Sequence[Check] | None = None,
    seed: int = 0,
) -> StoredRun:
    """The stored check run of the dataset's current version, computed and stored when missing
    (the asset checks and the report both call this; whichever comes first does the work)."""
    from platform_assets.lib.quality.storage import load_check_run, store_check_run

    manifest = read_manifest(store, dataset, prefix)
    if manifest is None:
        raise OcdsSourceError(f"dataset {dataset!r} has no stored version under {prefix}: materialize it first")
    # The results depend on this version and on what time-based checks compare it with.
    compared = manifest.previous_sha256
    if manifest.ancestor:
        ancestor = read_manifest(store, manifest.ancestor, DATASET_PREFIX)
        compared = f"{manifest.ancestor}@{ancestor.sha256 if ancestor else 'missing'}"
    # ...and on the set of checks (a new release of the checks recomputes instead of reusing).
    checks = list(checks) if checks is not None else ocds_checks()
    suite = hashlib.sha256("\n".join(check.name for check in checks).encode()).hexdigest()[:12]
    data_version = f"{manifest.sha256}:{hashlib.sha256(compared.encode()).hexdigest()[:20] if compared else ''}:{suite}"
    stored = load_check_run(engine, asset_key, dataset, data_version)
    if stored is not None and stored.results:
        return stored
    results = run_dataset_checks(store, manifest, checks, seed)
    store_check_run(engine, asset_key, dataset, data_version, results, items=manifest.items, run_id=run_id)
    stored = load_check_run(engine, asset_key, dataset, data_version)
    assert stored is not None
    return stored
