"""The code location: every system's definitions merged with the shared core.

Only `defs` may be a Definitions object at module scope (Dagster loads the single one it finds),
so the systems' definitions are reached through their modules.
"""

from dagster import Definitions

from platform_assets.core.defs import core_definitions
from platform_assets.core.settings import Settings, load_settings
from platform_assets.dataset_tracker import defs as dataset_tracker
from platform_assets.dataset_tracker.resources import build_sheets
from platform_assets.quality import defs as quality
from platform_assets.tracking import defs as tracking
from platform_assets.transit import defs as transit
from platform_assets.trip_exports import defs as trip_exports


def build_definitions(settings: Settings | None = None) -> Definitions:
    """The whole platform, its resources configured from `settings` (default: the environment)."""
    settings = settings or load_settings()
    return Definitions.merge(
        core_definitions(settings),
        Definitions(resources={"sheets": build_sheets(settings)}),
        transit.defs,
        trip_exports.defs,
        tracking.defs,
        dataset_tracker.defs,
        quality.defs,
    )


defs = build_definitions()
