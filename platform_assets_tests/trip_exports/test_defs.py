"""The Dagster layer: loadable definitions, holds respected, schedules targeting the right work."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dagster import Definitions, SkipReason, build_schedule_context, build_sensor_context, instance_for_test
from sqlalchemy import Engine

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import put_on_hold, release_hold
from platform_assets.trip_exports.defs import trip_exports_definitions
from platform_assets.trip_exports.demo import run_demo
from platform_assets.trip_exports.schedules import opendata_trip_export_schedule, trip_export_expiry_schedule
from platform_assets.trip_exports.sensors import trip_export_sensor
from platform_assets.trip_exports.service import ExportRequest, create_export, get_export
from platform_assets_tests.trip_exports.conftest import REGISTRY_USER, RULES, TODAY, policy_resources


def test_definitions_load_and_jobs_resolve() -> None:
    from platform_assets.definitions import build_definitions

    defs = build_definitions()

    Definitions.validate_loadable(defs)
    for name in ("trip_export_job", "opendata_trip_export_job", "trip_export_expiry_job"):
        assert defs.resolve_job_def(name).name == name
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"trip_export", "opendata_trip_export"} <= keys
    assert {sensor.name for sensor in trip_exports_definitions().sensors} == {"trip_export_sensor", "opendata_request_sensor"}


def test_sensor_skips_while_on_hold(sqlite_engine: Engine, platform_env: Path) -> None:
    database = PlatformDatabase(url=str(sqlite_engine.url))
    export = create_export(sqlite_engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    put_on_hold(sqlite_engine, "trip_export_job", "3 failures in a row")
    with instance_for_test() as instance:
        held = trip_export_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database)))
        assert isinstance(held, SkipReason) and "on hold" in held.skip_message
        assert get_export(sqlite_engine, REGISTRY_USER, export.uuid).status == "pending"
        release_hold(sqlite_engine, "trip_export_job", "ops")
        result = trip_export_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database)))
        assert [request.run_key for request in result.run_requests] == [export.uuid]


def test_schedules(sqlite_engine: Engine) -> None:
    database = PlatformDatabase(url=str(sqlite_engine.url))
    context = build_schedule_context(
        scheduled_execution_time=datetime(2025, 4, 2, 5, tzinfo=UTC), resources=policy_resources(database=database)
    )
    request = opendata_trip_export_schedule(context)
    assert request.partition_key == "2025-03-01" and request.run_key == "opendata-2025-03"
    january = build_schedule_context(
        scheduled_execution_time=datetime(2026, 1, 2, 5, tzinfo=UTC), resources=policy_resources(database=database)
    )
    assert opendata_trip_export_schedule(january).partition_key == "2025-12-01"
    assert trip_export_expiry_schedule(context).run_key == "expiry-2025-04-02"
    put_on_hold(sqlite_engine, "opendata_trip_export_job", "portal down")
    assert isinstance(opendata_trip_export_schedule(context), SkipReason)


def test_demo_produces_an_export_and_open_data(platform_env: Path) -> None:
    from platform_assets.definitions import all_resources

    # Resources built now, inside this test's data dir (the code location's are built at import).
    defs = Definitions.merge(trip_exports_definitions(with_resources=False), Definitions(resources=all_resources()))
    with instance_for_test() as instance:
        lines = run_demo(instance, defs)
    text = "\n".join(lines)
    assert "3000 generated trips" in text
    assert "(operator, Lyon AOM, operator 1): success" in text and "mail in" in text
    assert "open data" in text
    assert list((platform_env / "outbox").glob("*.eml"))
