"""The trip-export demo: a few thousand generated trips in the embedded database, one operator
export processed by `trip_export_job` (zip in the object store, mail in the outbox) and the
month's open data built by `opendata_trip_export_job`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dagster import DagsterInstance, Definitions
from sqlalchemy import func, select

from platform_assets.core.tags import SUBJECT_TAG
from platform_assets.trip_exports.generator import load_trips, month_bounds
from platform_assets.trip_exports.resources import trip_exports_runtime
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.service import ExportRequest, create_export, get_export
from platform_assets.trip_exports.tables import trips_table

DEMO_TRIPS = 3_000


def demo_month(today: date) -> str:
    """Two months back: complete, and old enough for the default date rules."""
    first = today.replace(day=1)
    return (first - timedelta(days=32)).replace(day=1).strftime("%Y-%m")


def run_demo(instance: DagsterInstance, defs: Definitions) -> list[str]:
    runtime = trip_exports_runtime()
    engine = runtime.engine
    month = demo_month(datetime.now(UTC).date())
    start, end = month_bounds(month)
    with engine.connect() as connection:
        existing = connection.execute(
            select(func.count()).where(trips_table.c.start_datetime >= start, trips_table.c.start_datetime < end)
        ).scalar_one()
    if existing == 0:
        load_trips(engine, DEMO_TRIPS, start.date(), end.date(), seed=2024)
    last_day = (end - timedelta(days=1)).date().isoformat()
    actor = Actor.parse("Camille Martin <camille.martin@klaxit.example>", "operator.admin", "1")
    export = create_export(
        engine,
        actor,
        ExportRequest(start.date().isoformat(), last_day, geo_selector={"aom": ["256900994"]}),
        runtime.rules,
    )
    instance.add_dynamic_partitions("trip_export", [export.uuid])
    result = defs.resolve_job_def("trip_export_job").execute_in_process(
        instance=instance, partition_key=export.uuid, tags={SUBJECT_TAG: export.uuid}
    )
    lines = [f"trip exports: {existing or DEMO_TRIPS} generated trips in {month}"]
    view = get_export(engine, actor, export.uuid)
    if not result.success:
        return [*lines, f"trip export {export.uuid}: {view.status}: {view.error}"]
    lines.append(
        f"trip export {export.uuid} ({view.type}, Lyon AOM, operator 1): {view.status}, "
        f"{view.stats['rows'] if view.stats else 0} rows -> {view.download_url}; mail in {runtime.mailer.outbox_dir}"
    )
    opendata = defs.resolve_job_def("opendata_trip_export_job").execute_in_process(
        instance=instance, partition_key=f"{month}-01"
    )
    for event in opendata.get_asset_materialization_events():
        metadata = event.materialization.metadata
        lines.append(
            f"open data {month}: {metadata['dagster/row_count'].value} trips ({metadata['dropped_small_areas'].value} dropped, "
            f"k<6) -> {metadata['uri'].value}"
        )
    return lines
