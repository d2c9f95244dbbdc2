"""Transit sensors: catalog -> dynamic partitions, sources watched by frequency, coverages after
contributors. Every tick skips while its process is on hold."""

from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.core.tags import TRANSIT_TRIGGER_TAG
from platform_assets.transit.errors import TransitError
from platform_assets.transit.frequency import is_due
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB
from platform_assets.transit.resources import TransitSettings

MAX_EVENTS_PER_TICK = 200


@sensor(
    name="transit_catalog_partitions",
    description="Keeps the `contributors` and `coverages` dynamic partitions in step with the catalog.",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
)
def transit_catalog_partitions(context: SensorEvaluationContext, transit: TransitSettings) -> SensorResult | SkipReason:
    try:
        catalog = transit.load_catalog()
    except TransitError as error:
        return SkipReason(f"catalog not usable: {error}")
    requests = []
    for name, wanted in (
        ("contributors", [c.id for c in catalog.contributors]),
        ("coverages", [c.id for c in catalog.coverages]),
    ):
        existing = set(context.instance.get_dynamic_partitions(name))
        definition = DynamicPartitionsDefinition(name=name)
        added = [key for key in wanted if key not in existing]
        removed = sorted(existing - set(wanted))
        if added:
            requests.append(definition.build_add_request(added))
        if removed:
            requests.append(definition.build_delete_request(removed))
    if not requests:
        return SkipReason("partitions already match the catalog")
    return SensorResult(dynamic_partitions_requests=requests)


@sensor(
    name="transit_source_frequency",
    job_name=CONTRIBUTOR_EXPORT_JOB,
    description="Requests a contributor export when one of its data sources is due by its frequency.",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
)
@skip_when_held(CONTRIBUTOR_EXPORT_JOB)
def transit_source_frequency(
    context: SensorEvaluationContext, database: PlatformDatabase, transit: TransitSettings
) -> SensorResult | SkipReason:
    try:
        catalog = transit.load_catalog()
    except TransitError as error:
        return SkipReason(f"catalog not usable: {error}")
    # Cursor: the time of the last tick - a source is due when its due moment falls after it.
    last_tick = datetime.fromisoformat(context.cursor) if context.cursor else None
    now = datetime.now(UTC)
    known = set(context.instance.get_dynamic_partitions("contributors"))
    requests: dict[str, RunRequest] = {}
    for contributor in catalog.contributors:
        for source in contributor.data_sources:
            if source.input.type != "url" or source.input.frequency is None:
                continue
            due = is_due(source.input.frequency, now, last_tick)
            if due is not None and contributor.id in known and contributor.id not in requests:
                requests[contributor.id] = RunRequest(
                    run_key=f"{contributor.id}:{due.isoformat()}", partition_key=contributor.id,
                    tags={TRANSIT_TRIGGER_TAG: f"frequency of {contributor.id}/{source.id}"},
                )
    return SensorResult(run_requests=list(requests.values()), cursor=now.isoformat())


@sensor(
    name="transit_coverages_after_contributors",
    job_name=COVERAGE_EXPORT_JOB,
    description="Exports (then publishes) every coverage holding a contributor that produced a new export.",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
)
@skip_when_held(COVERAGE_EXPORT_JOB)
def transit_coverages_after_contributors(
    context: SensorEvaluationContext, database: PlatformDatabase, transit: TransitSettings
) -> SensorResult | SkipReason:
    after = int(context.cursor) if context.cursor else None
    result = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("contributor_export"), after_storage_id=after),
        limit=MAX_EVENTS_PER_TICK,
        ascending=True,
    )
    if not result.records:
        return SkipReason("no new contributor export")
    try:
        catalog = transit.load_catalog()
    except TransitError as error:
        return SkipReason(f"catalog not usable: {error}")
    known = set(context.instance.get_dynamic_partitions("coverages"))
    requests: dict[str, RunRequest] = {}
    for record in result.records:
        contributor_id = record.partition_key or ""
        for coverage in catalog.coverages_of(contributor_id):
            if coverage.id in known and coverage.id not in requests:
                requests[coverage.id] = RunRequest(
                    run_key=f"{coverage.id}:{record.storage_id}", partition_key=coverage.id,
                    tags={TRANSIT_TRIGGER_TAG: f"new export of {contributor_id}"},
                )
    cursor = str(max(record.storage_id for record in result.records))
    return SensorResult(run_requests=list(requests.values()), cursor=cursor)


def transit_sensors() -> list[SensorDefinition]:
    return [transit_catalog_partitions, transit_source_frequency, transit_coverages_after_contributors]
