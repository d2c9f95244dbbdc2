"""The tags the run queue limits count are set by the platform on the runs its sensors request."""

from pathlib import Path
from typing import Any

from dagster import AssetMaterialization, build_sensor_context, instance_for_test

from platform_assets.core.database import upgrade_database
from platform_assets.core.settings import configure
from platform_assets.core.tags import PUBLICATION_TAG, SYSTEM_TAG, TRIP_EXPORTS_SYSTEM
from platform_assets.definitions import build_definitions
from platform_assets.transit.resources import TransitSettings

defs = build_definitions()


def test_coverage_runs_requested_by_the_sensor_carry_their_coverage(
    platform_env: Path, resources: dict[str, Any]
) -> None:
    upgrade_database(resources["database"].url)
    catalog = configure(TransitSettings, resolve=True).load_catalog()  # the demo catalog (PLATFORM_CATALOG default)
    repository = defs.get_repository_def()
    sensor = repository.get_sensor_def("transit_coverages_after_contributors")
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("contributors", [c.id for c in catalog.contributors])
        instance.add_dynamic_partitions("coverages", [c.id for c in catalog.coverages])
        for contributor in catalog.contributors:
            instance.report_runless_asset_event(AssetMaterialization("contributor_export", partition=contributor.id))
        # From the instance's ref, as in the code server the daemon asks.
        with build_sensor_context(
            instance_ref=instance.get_ref(), resources=resources, repository_def=repository
        ) as context:
            result = sensor.evaluate_tick(context)
    assert {request.partition_key for request in result.run_requests} == {c.id for c in catalog.coverages}
    for request in result.run_requests:
        assert request.tags[PUBLICATION_TAG] == request.partition_key


def test_every_coverage_and_trip_export_job_carries_its_limit_tag() -> None:
    repository = defs.get_repository_def()
    for job_name in ("transit_coverage_export", "transit_coverage_publication"):
        job = repository.get_job(job_name)
        assert job.get_tags_for_partition_key("north", selected_asset_keys=None)[PUBLICATION_TAG] == "north"
    for job_name in ("trip_export_job", "opendata_trip_export_job"):
        assert repository.get_job(job_name).run_tags[SYSTEM_TAG] == TRIP_EXPORTS_SYSTEM
    # Runs that are neither publications nor trip exports are not limited by these tags.
    contributor_job = repository.get_job("transit_contributor_export")
    assert PUBLICATION_TAG not in contributor_job.get_tags_for_partition_key("caltrain", selected_asset_keys=None)
    assert SYSTEM_TAG not in contributor_job.run_tags
