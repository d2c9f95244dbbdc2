"""The run is the only claimer: the sensor launches runs and leaves exports pending, staleness
counts from the run's start, `export process UUID` on a held export says it is taken (exit 2);
and an export type lives in one place, the registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import build_sensor_context, instance_for_test
from sqlalchemy import Engine

from platform_assets.cli import platform_cli
from platform_assets.core.database import PlatformDatabase, get_engine, upgrade_database
from platform_assets.core.settings import configure
from platform_assets.trip_exports import export_types
from platform_assets.trip_exports.errors import InvalidExportRequest
from platform_assets.trip_exports.export_types import EXPORT_TYPES, ExportType, types_for, unbounded
from platform_assets.trip_exports.sensors import trip_export_sensor
from platform_assets.trip_exports.service import (
    ExportRequest,
    create_export,
    fail_stale,
    get_export,
    start_processing,
)
from platform_assets.trip_exports.tables import EXPORT_TYPES as STORED_TYPES
from platform_assets_tests.trip_exports.conftest import (
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    TODAY,
    policy_resources,
)


def test_an_export_queued_behind_the_run_queue_is_not_stale_before_its_run_starts(
    sqlite_engine: Engine, platform_env: Path
) -> None:
    database = PlatformDatabase(url=str(sqlite_engine.url))
    export_uuid = create_export(sqlite_engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES,
                                today=TODAY).uuid
    with instance_for_test() as instance:
        tick = trip_export_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database)))
        assert [request.run_key for request in tick.run_requests] == [export_uuid]
        again = trip_export_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database),
                                                        cursor=tick.cursor))
        assert not again.run_requests  # asked for once
    assert get_export(sqlite_engine, REGISTRY_USER, export_uuid).status == "pending"  # the sensor claims nothing
    # Five hours in the run queue: not stale, its run has not started.
    queued_long = datetime.now(UTC) + timedelta(hours=5)
    assert fail_stale(sqlite_engine, timedelta(hours=4), now=queued_long) == []
    # The run starts then; staleness counts from there.
    start_processing(sqlite_engine, export_uuid, now=queued_long)
    assert fail_stale(sqlite_engine, timedelta(hours=4), now=queued_long + timedelta(hours=3)) == []
    assert fail_stale(sqlite_engine, timedelta(hours=4), now=queued_long + timedelta(hours=5)) == [export_uuid]


def test_export_process_on_a_held_export_says_it_is_taken(platform_env: Path) -> None:
    url = configure(PlatformDatabase, resolve=True).url
    upgrade_database(url)
    engine = get_engine(url)
    export_uuid = create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY).uuid
    start_processing(engine, export_uuid)  # another worker's run, alive
    result = CliRunner().invoke(platform_cli, ["export", "process", "--as", REGISTRY_ADMIN.user, "--role",
                                               "registry.admin", export_uuid])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(f"error: export {export_uuid}: taken by another worker (processing since ")
    assert get_export(engine, REGISTRY_ADMIN, export_uuid).status == "processing"


def test_control_characters_exit_2_on_the_cli(platform_env: Path) -> None:
    result = CliRunner().invoke(platform_cli, [
        "export", "create", "--as", REGISTRY_ADMIN.user, "--role", "registry.admin", "--start", "2025-03-01",
        "--end", "2025-03-02", "--recipient", "Ana\r\nBcc: x@evil.example <ana@example.org>"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "contains control character(s) carriage return, newline" in result.output


def test_every_requestable_type_is_registered_and_a_new_one_needs_one_entry(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(EXPORT_TYPES) == set(STORED_TYPES)
    assert types_for("registry") == ("registry", "regular") and types_for("operator") == ("operator",)
    assert types_for("territory") == ("territory",)
    # One entry adds a type: who may ask for it, its scope rule, its validation, its columns.
    audit = ExportType("audit", "test type", ("registry",), unbounded,
                       lambda _actor, params: [] if params["operator_ids"] else ["operator_ids: audits name operators"],
                       columns_for="registry")
    monkeypatch.setitem(export_types.EXPORT_TYPES, "audit", audit)
    with pytest.raises(InvalidExportRequest, match="operator_ids: audits name operators"):
        create_export(sqlite_engine, REGISTRY_ADMIN, ExportRequest("2025-03-01", "2025-03-31", type="audit"), RULES,
                      today=TODAY)
    view = create_export(sqlite_engine, REGISTRY_ADMIN,
                         ExportRequest("2025-03-01", "2025-03-31", operator_ids=[1], type="audit"), RULES, today=TODAY)
    assert view.type == "audit" and view.params["bound"] == {}
    assert audit.columns() == EXPORT_TYPES["registry"].columns()
