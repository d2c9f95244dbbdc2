"""GTFS quality checks on transit's `contributor_export` and `coverage_export` (named by AssetKey:
quality imports no other system), declared with the quality framework and surfaced as five Dagster
asset checks per asset (one per family: schema, reference,
coherence, dataset, time_based; each lists its member checks in its metadata).

The checked file is the export the materialization points at (`uri` metadata); the previous
export is the previous materialization of the same partition, read from the instance's event log.
Results are stored with `quality.storage.store_check_run` (keyed by asset, partition and the
export's sha256), so `<asset>_quality_report` can render them.

Reference failures have severity ERROR, the others WARN. A Dagster check blocks (fails the run and
stops the steps after it, e.g. the coverage publication) only when PLATFORM_QUALITY_BLOCKING_CHECKS
names one of its members or a pattern such as `reference.*`: off by default, because real feeds
carry broken references (the demo's Île-de-France coverage merges a stop-area referential with
night-bus schedules whose stop points it lacks) that should not stop a publication without an
operator deciding so; deploy/README.md recommends `reference.*` in production.
"""

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    AutomationCondition,
    DagsterInstance,
    DynamicPartitionsDefinition,
    multi_asset_check,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.errors import PlatformError
from platform_assets.core.objectstore import ObjectStore
from platform_assets.quality.dagster_checks import (
    CheckPolicy,
    asset_check_results,
    group_check_result,
    partitioned_check_spec,
)
from platform_assets.quality.gtfs.families import FAMILIES
from platform_assets.quality.reports import after_checks, after_new_export, build_quality_report
from platform_assets.quality.resources import QualityPolicy

FAMILY_DESCRIPTIONS = {
    "files": "MobilityData file notices: required, known, UTF-8, readable files at the zip's root; headers and row lengths; locations.geojson.",
    "fields": "MobilityData field notices: required columns and fields, keys, times, dates, colours, URLs, e-mails, timezones, languages, numbers, enums, currencies.",
    "references": "foreign_key_violation (stop_times -> trips/stops, trips -> routes/services/shapes, routes -> agency, parent stations, frequencies), transfers, translations, geography ids.",
    "stop_times": "Per stop time and trip: times, trip edges, distances, timepoints, unusable and unused trips; GTFS-Flex windows and booking rules.",
    "shapes": "Shape distances and points, unused shapes, trips running past their shape.",
    "stops": "Location types, parents, names and locations of stops; stops without stop times; pathways, levels, stop_access.",
    "routes": "Route names, colours and URLs, agency ids, timezones and languages; Fares v2 products and transfer rules, networks.",
    "calendar": "Date and time ranges, overlapping frequencies and timeframes, expired calendars and feeds, feed contact.",
    "coherence": "The project's own: a stop time's arrival is not after its departure.",
    "dataset": "The project's own: trips per route; close stops (informational).",
    "time_based": "Against the previous export of the same partition: stop and route ids persisting (95%), validity not shrinking.",
}
# Transit's export assets, by key; the partitions are the same dynamic sets as transit's (by name).
CONTRIBUTOR_EXPORT = "contributor_export"
COVERAGE_EXPORT = "coverage_export"
contributors_partitions = DynamicPartitionsDefinition(name="contributors")
coverages_partitions = DynamicPartitionsDefinition(name="coverages")
PARTITIONS = {CONTRIBUTOR_EXPORT: contributors_partitions, COVERAGE_EXPORT: coverages_partitions}

# Where the checks run. A contributor export run usually changes nothing (the frequency sensor and
# the 20:00 schedule try every contributor), and checks planned in a run whose export yielded
# nothing end SKIPPED, hiding the last real result: transit's contributor job leaves them out and
# they run by declarative automation once per new export of a partition (`after_new_export`). The coverage checks stay in the coverage run, whose blocking
# checks must stop the publication after them; that run starts only after a contributor's new
# export (so a coverage that did not change, forced runs aside, is rare).
CHECKS_AUTOMATION: dict[str, AutomationCondition] = {CONTRIBUTOR_EXPORT: after_new_export()}

def expand_blocking(blocking: Collection[str]) -> frozenset[str]:
    """Blocking names or patterns, plus the notice codes they match as `<group>.<code>` (so that
    `references.*` or `stop_times.*` name rule groups)."""
    from fnmatch import fnmatchcase

    from platform_assets.quality.gtfs.registry import RULES

    # `reference.*` (the name before the notice codes) still names the references group.
    patterns = [("references." + pattern[10:]) if pattern.startswith("reference.") else pattern for pattern in blocking]
    codes = {code for code, declared in RULES.items() for pattern in patterns if fnmatchcase(f"{declared.group}.{code}", pattern)}
    return frozenset(blocking) | frozenset(codes)


def gtfs_check_policy(blocking: Collection[str] = ()) -> CheckPolicy:
    """Severity per check: MobilityData's ERROR notices and the blocking ones fail with ERROR, the others WARN."""
    from platform_assets.quality.gtfs.registry import RULES

    errors = frozenset(code for code, declared in RULES.items() if declared.severity == "ERROR")
    return CheckPolicy(blocking=errors | expand_blocking(blocking))


def _family_blocks(family: str, blocking: Collection[str]) -> bool:
    """A family's Dagster check blocks when a blocking name or pattern may fall in it. Patterns
    that start with a family (`references.*`, `*`) are decided without the rule registry, whose
    modules load with the first check run rather than with the code location."""
    heads = {pattern.split(".", 1)[0] for pattern in blocking}
    if heads <= {*FAMILIES, "*", "reference"}:
        return bool(heads & {family, "*"}) or (family == "references" and "reference" in heads)
    from platform_assets.quality.gtfs.registry import RULES, family_of

    return any(pattern.split(".", 1)[0] in (family, "*") or (pattern in RULES and family_of(pattern) == family)
               for pattern in expand_blocking(blocking))


def gtfs_check_specs(
    asset: str, blocking: Collection[str] = (), automation_condition: AutomationCondition | None = None
) -> list[AssetCheckSpec]:
    """The family checks of `asset`, partitioned like it (one result per partition)."""
    return [
        partitioned_check_spec(
            PARTITIONS[asset],
            name=family,
            asset=AssetKey(asset),
            description=FAMILY_DESCRIPTIONS[family],
            blocking=_family_blocks(family, blocking),
            automation_condition=automation_condition,
        )
        for family in FAMILIES
    ]


def export_materializations(instance: DagsterInstance, asset: str, partition: str, limit: int = 2) -> list[dict[str, Any]]:
    """Metadata (`uri`, `sha256`, ...) of the newest materializations of one partition, newest first."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition]), limit=limit, ascending=False
    ).records
    found = []
    for record in records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        metadata = {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}
        found.append({**metadata, "run_id": record.run_id})
    return found


def build_gtfs_checks(asset: str, blocking: Collection[str] = ()) -> AssetChecksDefinition:
    """The family checks on `asset`; `blocking` names the blocking checks (PLATFORM_QUALITY_BLOCKING_CHECKS,
    read when the definitions are built: a check's spec is fixed then)."""
    blocking = frozenset(blocking)

    @multi_asset_check(
        name=f"{asset}_gtfs_quality",
        specs=gtfs_check_specs(asset, blocking, CHECKS_AUTOMATION.get(asset)),
        description=f"GTFS schema, reference, coherence, dataset and time-based checks on {asset}.",
    )
    def _checks(
        context: AssetCheckExecutionContext, object_store: ObjectStore, database: PlatformDatabase, quality: QualityPolicy
    ) -> Iterator[AssetCheckResult]:
        from platform_assets.lib.quality.storage import store_check_run
        from platform_assets.quality.gtfs.registry import check_feed, family_of

        policy = gtfs_check_policy(blocking)
        partition = context.partition_key
        exports = export_materializations(context.instance, asset, partition)
        if not exports or not exports[0].get("uri"):
            raise PlatformError(f"{asset} [{partition}]: no materialization with a 'uri' to check")
        current = exports[0]
        # The object store's work folder: removed on exit, and by the next run's clean-up when this
        # step is killed (a system temporary folder would stay behind).
        with object_store.work_folder(f"gtfs-checks-{partition}-") as folder:
            path = object_store.download(object_store.key_from_uri(str(current["uri"])), Path(folder) / "current.zip")
            previous_path: Path | None = None
            if len(exports) > 1 and exports[1].get("uri"):
                try:
                    previous_path = object_store.download(
                        object_store.key_from_uri(str(exports[1]["uri"])), Path(folder) / "previous.zip"
                    )
                except PlatformError as error:  # retention may have deleted it: no time-based comparison then
                    context.log.warning(f"{asset} [{partition}]: previous export unavailable ({error})")
            report = check_feed(path, previous_path, name=f"{asset}[{partition}]", chunk_rows=quality.chunk_rows,
                                spill_rows=quality.spill_rows, work_folder=folder)
        results = report.results
        store_check_run(
            database.engine, asset, partition, str(current.get("sha256") or current["uri"]), results,
            items=report.rows, run_id=context.run.run_id,
        )
        failing = report.failing()
        context.log.info(
            f"{asset} [{partition}]: {len(results)} GTFS checks, {len(failing)} failing"
            + (f" ({', '.join(failing[:10])})" if failing else "")
            + ("" if previous_path else "; no previous export for the time-based checks")
        )
        seen = set()
        for check_result in asset_check_results(results, asset, policy, family_of):
            seen.add(check_result.check_name)
            yield check_result
        for family in FAMILIES:  # a family with no member (unreadable feed) still reports
            if family not in seen:
                yield group_check_result(family, [], asset, policy)

    return _checks


def build_all_gtfs_checks(blocking: Collection[str]) -> list[AssetChecksDefinition]:
    return [build_gtfs_checks(CONTRIBUTOR_EXPORT, blocking), build_gtfs_checks(COVERAGE_EXPORT, blocking)]


# Reports over the stored GTFS check runs, built by automation after the checks of their partition
# ran, drawn in transit's group beside the assets they report on.
contributor_export_report = build_quality_report(
    CONTRIBUTOR_EXPORT, contributors_partitions, group_name="transit", automation_condition=after_checks()
)
coverage_export_report = build_quality_report(
    COVERAGE_EXPORT, coverages_partitions, group_name="transit", automation_condition=after_checks()
)
