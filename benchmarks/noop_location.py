"""The platform's code location plus one no-op asset, to measure what a run costs by itself."""

from dagster import Definitions, asset, define_asset_job

from platform_assets.definitions import build_definitions


@asset(group_name="benchmark")
def noop() -> None:
    """Does nothing: its run time is the platform's per-run overhead."""


noop_job = define_asset_job("noop_job", selection=[noop])

defs = Definitions.merge(build_definitions(), Definitions(assets=[noop], jobs=[noop_job]))
