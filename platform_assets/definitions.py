"""The code location: every system's definitions merged with the shared core.

`defs` is Dagster's lazy entry point (`@definitions`): importing this module reads no setting
and builds nothing; the webserver, the daemon and each run call it, so resources follow the
environment of the process that loads them. `build_definitions()` is the same for code (tests,
the demo, the CLI).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from typing import Any

from dagster import Definitions, definitions

_startup_frozen = threading.Event()


def _freeze_startup_objects() -> None:
    """Move the objects alive before the first load (Dagster's and the libraries' modules,
    classes and functions, which live as long as the process) out of the cyclic collector's
    sight, once per process: otherwise each full collection triggered while the platform loads
    walks them all again, ~0.1 s of every run worker's start (benchmarks/run_overhead.py).
    Collection of everything created later is unchanged."""
    if not _startup_frozen.is_set():
        _startup_frozen.set()
        gc.freeze()


def build_definitions(env: Mapping[str, str] | None = None) -> Definitions:
    """The whole platform; `env` (default: the process environment) configures its resources."""
    _freeze_startup_objects()
    from platform_assets.core.defs import core_definitions
    from platform_assets.core.hold_guards import record_definitions
    from platform_assets.dataset_tracker.defs import dataset_tracker_definitions
    from platform_assets.quality.defs import quality_definitions
    from platform_assets.tracking.defs import tracking_definitions
    from platform_assets.transit.defs import transit_definitions
    from platform_assets.trip_exports.defs import trip_exports_definitions

    defs = Definitions.merge(
        core_definitions(env),
        transit_definitions(env),
        trip_exports_definitions(env),
        tracking_definitions(env),
        dataset_tracker_definitions(env),
        quality_definitions(env),
    )
    # Holds follow a process's assets into any run, including in-process runs with no repository.
    record_definitions(defs)
    return defs


@definitions
def defs() -> Definitions:
    return build_definitions()


def all_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, Any]:
    """Every resource of the code location by key (for `materialize` in tests and scripts)."""
    from platform_assets.core.resources import core_resources
    from platform_assets.core.settings import configure
    from platform_assets.dataset_tracker.defs import dataset_tracker_resources
    from platform_assets.quality.defs import quality_resources
    from platform_assets.tracking.resources import TrackingPolicy
    from platform_assets.transit.defs import transit_resources
    from platform_assets.trip_exports.defs import trip_exports_resources

    return {
        **core_resources(env, resolve=resolve),
        **transit_resources(env, resolve=resolve),
        **trip_exports_resources(env, resolve=resolve),
        "tracking": configure(TrackingPolicy, env, resolve=resolve),
        **dataset_tracker_resources(env, resolve=resolve),
        **quality_resources(env, resolve=resolve),
    }
