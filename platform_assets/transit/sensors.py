"""Transit sensors: catalog -> dynamic partitions, sources watched by frequency, coverages after
contributors. Every tick skips while its process is on hold."""

import hashlib
import json
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    RunRequest,
    RunsFilter,
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
PARTITION_TAG = "dagster/partition"  # Dagster's tag naming a run's partition


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


# Runs that may still produce a contributor or coverage export: a coverage waits for them.
IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
             DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def _latest_metadata(instance: DagsterInstance, asset: str, partition: str) -> dict[str, object] | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    materialization = records[0].asset_materialization if records else None
    return None if materialization is None else {key: value.value for key, value in materialization.metadata.items()}


def _current_inputs(instance: DagsterInstance, contributors: list[str]) -> dict[str, str]:
    """Each contributor's latest export, by the URI its materialization recorded."""
    inputs = {}
    for contributor_id in contributors:
        metadata = _latest_metadata(instance, "contributor_export", contributor_id)
        inputs[contributor_id] = str((metadata or {}).get("uri") or "")
    return inputs


def _merged_already(instance: DagsterInstance, coverage_id: str, inputs: dict[str, str]) -> bool:
    """Whether the coverage's latest export merged exactly these contributor exports (it records
    each input's object key as `input/<contributor>`): a run now would change nothing."""
    metadata = _latest_metadata(instance, "coverage_export", coverage_id)
    if metadata is None:
        return False
    merged = {key.removeprefix("input/"): str(value) for key, value in metadata.items() if key.startswith("input/")}
    current = {contributor_id: uri for contributor_id, uri in inputs.items() if uri}
    return bool(current) and set(current) == set(merged) and all(
        uri.endswith("/" + merged[contributor_id]) for contributor_id, uri in current.items()
    )


def _in_flight(instance: DagsterInstance, job_name: str, partitions: list[str]) -> bool:
    return bool(instance.get_run_records(
        RunsFilter(job_name=job_name, statuses=IN_FLIGHT, tags={PARTITION_TAG: partitions}), limit=1
    ))


def _coverage_cursor(cursor: str | None) -> tuple[int | None, list[str]]:
    """(last contributor_export storage id seen, coverages waiting); an older cursor was the id alone."""
    if not cursor:
        return None, []
    if cursor.isdigit():
        return int(cursor), []
    state = json.loads(cursor)
    return state.get("after"), list(state.get("pending", []))


@sensor(
    name="transit_coverages_after_contributors",
    job_name=COVERAGE_EXPORT_JOB,
    description="Exports (then publishes) every coverage holding a contributor that produced a new export, "
    "once its contributors' and its own runs in flight are over, unless its latest export merged them already.",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
)
@skip_when_held(COVERAGE_EXPORT_JOB)
def transit_coverages_after_contributors(
    context: SensorEvaluationContext, database: PlatformDatabase, transit: TransitSettings
) -> SensorResult | SkipReason:
    # A coverage run that merges nothing new plans its checks and ends with every one SKIPPED in
    # the UI, hiding the partition's last real results: such runs are not requested. A coverage
    # touched by a new contributor export waits (in the cursor) while an export of its contributors
    # or of itself is queued or running, then runs once for all of them, keyed by the inputs.
    after, pending = _coverage_cursor(context.cursor)
    result = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("contributor_export"), after_storage_id=after),
        limit=MAX_EVENTS_PER_TICK,
        ascending=True,
    )
    if not result.records and not pending:
        return SkipReason("no new contributor export")
    try:
        catalog = transit.load_catalog()
    except TransitError as error:
        return SkipReason(f"catalog not usable: {error}")
    # Coverages both in the catalog and already added as partitions (the catalog sensor adds them).
    known = set(context.instance.get_dynamic_partitions("coverages")) & {coverage.id for coverage in catalog.coverages}
    touched: dict[str, str] = {coverage_id: "an earlier new export" for coverage_id in pending}
    for record in result.records:
        contributor_id = record.partition_key or ""
        for coverage in catalog.coverages_of(contributor_id):
            touched.setdefault(coverage.id, f"new export of {contributor_id}")
    requests, waiting, current = [], [], []
    for coverage_id, trigger in touched.items():
        if coverage_id not in known:
            continue
        contributors = list(catalog.coverage(coverage_id).contributors)
        if _in_flight(context.instance, CONTRIBUTOR_EXPORT_JOB, contributors) or _in_flight(
            context.instance, COVERAGE_EXPORT_JOB, [coverage_id]
        ):
            waiting.append(coverage_id)
            continue
        inputs = _current_inputs(context.instance, contributors)
        if _merged_already(context.instance, coverage_id, inputs):
            current.append(coverage_id)
            continue
        fingerprint = hashlib.sha256(json.dumps(sorted(inputs.items())).encode()).hexdigest()[:16]
        requests.append(RunRequest(
            run_key=f"{coverage_id}:{fingerprint}", partition_key=coverage_id, tags={TRANSIT_TRIGGER_TAG: trigger},
        ))
    seen = max((record.storage_id for record in result.records), default=after)
    if waiting or current:
        context.log.info(f"waiting for runs in flight: {sorted(waiting)}; already merged: {sorted(current)}")
    return SensorResult(run_requests=requests, cursor=json.dumps({"after": seen, "pending": sorted(waiting)}))


def transit_sensors() -> list[SensorDefinition]:
    return [transit_catalog_partitions, transit_source_frequency, transit_coverages_after_contributors]
