"""Sensors, schedule, holds and the definitions of the transit system."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dagster import (
    AssetKey,
    Definitions,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from platform_assets.core.holds import put_on_hold, release_hold
from platform_assets.transit.catalog import Frequency
from platform_assets.transit.frequency import is_due
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB
from platform_assets.transit.schedules import transit_automatic_update
from platform_assets.transit.sensors import transit_catalog_partitions, transit_source_frequency
from platform_assets_tests.transit.conftest import TransitWorld


def test_definitions_load_and_name_everything() -> None:
    from platform_assets.definitions import build_definitions

    defs = build_definitions()

    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    for name in ("contributor_export", "coverage_export", "coverage_publication"):
        node = graph.get(AssetKey(name))
        assert node.group_name == "transit"
    # Outages are retried once by the export jobs' policy; a publication never is.
    for job in ("transit_contributor_export", "transit_coverage_export"):
        policy = defs.resolve_job_def(job).op_retry_policy
        assert policy is not None and policy.max_retries == 1 and policy.delay == 180
    assets = {key.to_user_string(): a for a in defs.assets or [] if hasattr(a, "keys") for key in a.keys}
    assert assets["coverage_publication"].op.retry_policy.max_retries == 0  # type: ignore[union-attr]
    schedule = defs.resolve_schedule_def("transit_automatic_update")
    assert schedule.cron_schedule == "0 20 * * 1-4" and schedule.execution_timezone == "UTC"
    for job in ("transit_contributor_export", "transit_coverage_export", "transit_coverage_publication"):
        assert defs.resolve_job_def(job).partitions_def is not None


def test_retry_delay_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from platform_assets.core.settings import configure
    from platform_assets.transit.errors import TransitError
    from platform_assets.transit.resources import TransitSettings

    def retry_delay_seconds() -> float:
        return configure(TransitSettings, resolve=True).retry_delay_seconds()

    monkeypatch.delenv("PLATFORM_TRANSIT_RETRY_DELAY", raising=False)
    assert retry_delay_seconds() == 180
    monkeypatch.setenv("PLATFORM_TRANSIT_RETRY_DELAY", "2.5")
    assert retry_delay_seconds() == 2.5
    monkeypatch.setenv("PLATFORM_TRANSIT_RETRY_DELAY", "soon")
    with pytest.raises(TransitError, match="PLATFORM_TRANSIT_RETRY_DELAY"):
        retry_delay_seconds()


def test_partitions_follow_the_catalog(transit_world: TransitWorld) -> None:
    world = transit_world
    first = transit_catalog_partitions(build_sensor_context(instance=world.instance, resources={"transit": world.resources["transit"]}))
    assert isinstance(first, SensorResult)
    world.sync_partitions()
    assert sorted(world.instance.get_dynamic_partitions("coverages")) == ["north", "south"]
    again = transit_catalog_partitions(build_sensor_context(instance=world.instance, resources={"transit": world.resources["transit"]}))
    assert isinstance(again, SkipReason)
    import yaml

    catalog = yaml.safe_load(world.catalog_path.read_text(encoding="utf-8"))
    catalog["contributors"] = [c for c in catalog["contributors"] if c["id"] != "gamma"]
    catalog["coverages"] = [c for c in catalog["coverages"] if c["id"] != "south"]
    world.write_catalog(catalog)
    world.sync_partitions()
    assert sorted(world.instance.get_dynamic_partitions("contributors")) == ["alpha", "beta"]
    assert world.instance.get_dynamic_partitions("coverages") == ["north"]
    world.catalog_path.write_text("contributors: 3\n", encoding="utf-8")
    broken = transit_catalog_partitions(build_sensor_context(instance=world.instance, resources={"transit": world.resources["transit"]}))
    assert isinstance(broken, SkipReason) and "contributors" in (broken.skip_message or "")


def test_frequency_sensor_requests_due_sources_once(transit_world: TransitWorld) -> None:
    world = transit_world
    world.sync_partitions()
    resources = {"database": world.resources["database"], "transit": world.resources["transit"]}
    first = transit_source_frequency(build_sensor_context(instance=world.instance, resources=resources))
    assert isinstance(first, SensorResult)
    assert [r.partition_key for r in first.run_requests or []] == ["alpha"]  # the only source with a frequency
    assert first.cursor is not None and len(first.cursor) < 40  # one timestamp
    datetime.fromisoformat(first.cursor)
    second = transit_source_frequency(
        build_sensor_context(instance=world.instance, cursor=first.cursor, resources=resources)
    )
    assert isinstance(second, SensorResult) and not second.run_requests
    ten_minutes_ago = (datetime.fromisoformat(first.cursor) - timedelta(minutes=10)).isoformat()
    later = transit_source_frequency(
        build_sensor_context(instance=world.instance, cursor=ten_minutes_ago, resources=resources)
    )
    assert [r.partition_key for r in later.run_requests or []] == ["alpha"]  # type: ignore[union-attr]


def test_holds_skip_sensors_schedule_and_runs(transit_world: TransitWorld) -> None:
    world = transit_world
    world.sync_partitions()
    database = world.resources["database"]
    put_on_hold(database.engine, CONTRIBUTOR_EXPORT_JOB, "three failures in a row")
    skipped = transit_source_frequency(build_sensor_context(instance=world.instance, resources={"database": database, "transit": world.resources["transit"]}))
    assert isinstance(skipped, SkipReason) and "on hold" in (skipped.skip_message or "")
    scheduled = transit_automatic_update(build_schedule_context(instance=world.instance, resources={"database": database, "transit": world.resources["transit"]}))
    assert isinstance(scheduled, SkipReason) and "three failures in a row" in (scheduled.skip_message or "")
    held_run = world.run(CONTRIBUTOR_EXPORT_JOB, "alpha")
    assert not held_run.success
    release_hold(database.engine, CONTRIBUTOR_EXPORT_JOB, "operator")
    requests = transit_automatic_update(
        build_schedule_context(instance=world.instance, resources={"database": database, "transit": world.resources["transit"]},
                               scheduled_execution_time=datetime(2026, 11, 23, 20, tzinfo=UTC))
    )
    assert sorted(r.partition_key for r in requests) == ["alpha", "beta", "gamma"]  # type: ignore[union-attr]
    assert world.run(CONTRIBUTOR_EXPORT_JOB, "alpha").success


@pytest.mark.parametrize(
    ("frequency", "now", "last", "due"),
    [
        (Frequency(type="continuously", minutes=30), "2026-11-23T10:07", None, "2026-11-23T10:00"),
        (Frequency(type="continuously", minutes=30), "2026-11-23T10:20", "2026-11-23T10:01", None),
        (Frequency(type="continuously", minutes=30), "2026-11-23T10:31", "2026-11-23T10:29", "2026-11-23T10:30"),
        (Frequency(type="daily", hour_of_day=20), "2026-11-23T19:00", "2026-11-22T20:00", None),
        (Frequency(type="daily", hour_of_day=20), "2026-11-23T20:05", "2026-11-22T20:00", "2026-11-23T20:00"),
        (Frequency(type="weekly", day_of_week=0, hour_of_day=6), "2026-11-25T12:00", "2026-11-20T00:00", "2026-11-23T06:00"),
        (Frequency(type="weekly", day_of_week=0, hour_of_day=6), "2026-11-25T12:00", "2026-11-23T06:00", None),
        (Frequency(type="monthly", day_of_month=1, hour_of_day=4), "2026-11-23T12:00", "2026-10-15T00:00", "2026-11-01T04:00"),
        (Frequency(type="monthly", day_of_month=28, hour_of_day=4), "2026-11-23T12:00", "2026-10-01T00:00", "2026-10-28T04:00"),
    ],
)
def test_frequencies(frequency: Frequency, now: str, last: str | None, due: str | None) -> None:
    moment = is_due(frequency, datetime.fromisoformat(now), datetime.fromisoformat(last) if last else None)
    assert (moment.isoformat(timespec="minutes") if moment else None) == due


def test_hold_check_on_postgresql(transit_world: TransitWorld, postgres_url: str) -> None:
    from platform_assets.core.database import PlatformDatabase, upgrade_database

    upgrade_database(postgres_url)
    database = PlatformDatabase(url=postgres_url)
    transit_world.sync_partitions()
    context = build_sensor_context(instance=transit_world.instance, resources={"database": database, "transit": transit_world.resources["transit"]})
    assert isinstance(transit_source_frequency(context), SensorResult)
    put_on_hold(database.engine, CONTRIBUTOR_EXPORT_JOB, "operator pause")
    try:
        held = transit_source_frequency(build_sensor_context(instance=transit_world.instance, resources={"database": database, "transit": transit_world.resources["transit"]}))
        assert isinstance(held, SkipReason) and "operator pause" in (held.skip_message or "")
    finally:
        release_hold(database.engine, CONTRIBUTOR_EXPORT_JOB, "test")


def test_asset_graph_snapshot() -> None:
    """Any change to the transit asset graph shows up here in review."""
    from platform_assets.definitions import build_definitions

    defs = build_definitions()

    graph = defs.resolve_asset_graph()
    snapshot = {}
    for name in ("contributor_export", "coverage_export", "coverage_publication"):
        node = graph.get(AssetKey(name))
        snapshot[name] = (
            node.partitions_def.name,  # type: ignore[union-attr]
            sorted(key.to_user_string() for key in node.parent_keys),
        )
    assert snapshot == {
        "contributor_export": ("contributors", ["contributor_sources"]),
        "coverage_export": ("coverages", ["contributor_export"]),
        "coverage_publication": ("coverages", ["coverage_export"]),
    }
    jobs = {name: sorted(k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.selected_asset_keys)
            for name in ("transit_contributor_export", "transit_coverage_export", "transit_coverage_publication")}
    assert jobs == {
        "transit_contributor_export": ["contributor_export"],
        "transit_coverage_export": ["coverage_export", "coverage_publication"],
        "transit_coverage_publication": ["coverage_publication"],
    }
