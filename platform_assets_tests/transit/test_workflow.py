"""End to end with real feeds: exports, change detection, publication, retention, retries, failures."""

from __future__ import annotations

import zipfile
from pathlib import Path

import boto3
from dagster import AssetKey, DagsterEventType, build_run_status_sensor_context

from platform_assets.core.alerts import PlatformInfo, run_failure_email
from platform_assets.core.mailer import Mailer
from platform_assets.core.metadata import files_from_metadata
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB
from platform_assets.transit.service import latest_contributor_export
from platform_assets_tests.servers import FtpServer, HttpServer, Response, SmtpServer
from platform_assets_tests.transit.conftest import TransitWorld


def add_north_platforms(world: TransitWorld, http_server: HttpServer, ftp: FtpServer, s3_endpoint: str, bucket: str,
                        navitia_path: str = "/tyr/v0/jobs/north") -> None:
    import yaml

    catalog = yaml.safe_load(world.catalog_path.read_text(encoding="utf-8"))
    (ftp.root / "ods").mkdir(exist_ok=True)
    catalog["coverages"][0]["environments"] = {
        "production": {"sequence": 1, "publication_platforms": [
            {"sequence": 0, "type": "navitia", "protocol": "http", "url": f"{http_server.base_url}{navitia_path}"},
            {"sequence": 1, "type": "ods", "protocol": "ftp", "url": f"{ftp.url}/ods",
             "options": {"download_url": "https://opendata.example.org/north.zip"}},
            {"sequence": 2, "type": "stop_area", "protocol": "s3", "url": f"s3://{bucket}/stop_areas",
             "options": {"endpoint_url": s3_endpoint}}]},
        "integration": {"sequence": 0, "publication_platforms": [
            {"type": "navitia", "protocol": "file", "url": "{data_dir}/published/integration/north"}]},
    }
    world.write_catalog(catalog)


def test_exports_publish_detect_changes_and_keep_three_versions(
    transit_world: TransitWorld, http_server: HttpServer, ftp: FtpServer, s3_endpoint: str, s3_bucket: str,
    shared_data: Path,
) -> None:
    world = transit_world
    http_server.route("POST", "/tyr/v0/jobs/north", Response(200, b'{"job": "ok"}'))
    add_north_platforms(world, http_server, ftp, s3_endpoint, s3_bucket)
    world.sync_partitions()
    assert sorted(world.instance.get_dynamic_partitions("contributors")) == ["alpha", "beta", "gamma"]
    store = world.resources["object_store"]

    # First run: every contributor exported, both coverages exported and published.
    for contributor in ("alpha", "beta", "gamma"):
        result = world.run(CONTRIBUTOR_EXPORT_JOB, contributor)
        assert result.success and world.materialized(result) == ["contributor_export"]
    requests, cursor = world.coverage_requests(None)
    assert requests == ["north", "south"]
    for coverage in requests:
        result = world.run(COVERAGE_EXPORT_JOB, coverage)
        assert result.success and world.materialized(result) == ["coverage_export", "coverage_publication"]
    navitia_posts = [r for r in http_server.requests if r.method == "POST"]
    assert len(navitia_posts) == 1 and b'filename="north.zip"' in navitia_posts[0].body
    with zipfile.ZipFile(ftp.root / "ods/north.zip") as ods:
        assert sorted(ods.namelist()) == ["north.txt", "north_GTFS.zip"]
        metadata = ods.read("north.txt").decode()
        assert "\n,https://opendata.example.org/north.zip,GTFS,north-GTFS,,," in metadata
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    stops = s3.get_object(Bucket=s3_bucket, Key="stop_areas/north_stops.txt")["Body"].read().decode()
    assert "B:StopArea:8711611,Gare de Chelles Gournay" in stops  # prefixed and ruspell-ed
    assert (world.data_dir / "published/integration/north/north.zip").is_file()
    assert (world.data_dir / "published/south/south.zip").is_file()

    # Second run, nothing changed: no export anywhere, the HTTP source answered 304.
    for contributor in ("alpha", "beta", "gamma"):
        result = world.run(CONTRIBUTOR_EXPORT_JOB, contributor)
        assert result.success and world.materialized(result) == []
    assert world.feed.served[-1] == 304
    requests, cursor = world.coverage_requests(cursor)
    assert requests == []
    quiet = world.run(COVERAGE_EXPORT_JOB, "south")
    assert quiet.success and world.materialized(quiet) == []
    messages = [record.user_message for record in world.instance.all_logs(quiet.run_id)]
    assert any("no contributor produced a new export: no new export, nothing materialized" in m for m in messages)

    # New versions of alpha's feed: only alpha re-exports, only north follows.
    for version in range(2, 6):
        world.feed.path, world.feed.version = shared_data / f"gtfs/history/gtfs-{version}.zip", version
        # Every contributor is checked for the first change; later versions only need alpha for retention.
        checked = ("alpha", "beta", "gamma") if version == 2 else ("alpha",)
        exported = [c for c in checked if world.materialized(world.run(CONTRIBUTOR_EXPORT_JOB, c))]
        assert exported == ["alpha"]
        requests, cursor = world.coverage_requests(cursor)
        assert requests == ["north"]
        assert world.materialized(world.run(COVERAGE_EXPORT_JOB, "north")) == ["coverage_export", "coverage_publication"]
    latest = latest_contributor_export(store, "alpha")
    assert latest is not None and latest["validity"]["end_date"] == "2018-04-01"  # gtfs-5
    assert len(store.list("transit/data_sets/alpha/gtfs/")) == 3
    assert len(store.list("transit/contributor_exports/alpha/")) == 3
    assert len(store.list("transit/coverage_exports/north/")) == 6  # 3 versions x (export + ODS archive)
    assert len(store.list("transit/coverage_exports/south/")) == 1
    event = world.instance.get_latest_materialization_event(AssetKey("contributor_export"))
    metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["source/gtfs/status"].value == "updated"
    assert metadata["validity_start"].value == "2017-09-01"
    deleted = [f for f in files_from_metadata(metadata) if f["action"] == "deleted"]
    assert deleted, "older data sets and exports are deleted and reported"


def test_failing_navitia_stops_later_platforms_and_emails(
    transit_world: TransitWorld, http_server: HttpServer, ftp: FtpServer, s3_endpoint: str, s3_bucket: str,
    smtp: SmtpServer,
) -> None:
    world = transit_world
    http_server.route("POST", "/tyr/v0/jobs/north", Response(500, b"tyr is down"))
    add_north_platforms(world, http_server, ftp, s3_endpoint, s3_bucket)
    world.sync_partitions()
    for contributor in ("alpha", "beta"):
        assert world.run(CONTRIBUTOR_EXPORT_JOB, contributor).success
    result = world.run(COVERAGE_EXPORT_JOB, "north")
    assert not result.success
    assert world.materialized(result) == ["coverage_export"]
    # Integration (sequence 0) went out; production navitia failed once (no retry); ftp and s3 never tried.
    assert (world.data_dir / "published/integration/north/north.zip").is_file()
    assert len([r for r in http_server.requests if r.method == "POST"]) == 1
    assert not (ftp.root / "ods/north.zip").exists()
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failures] == ["coverage_publication"]

    context = build_run_status_sensor_context(
        sensor_name="run_failure_email",
        dagster_instance=world.instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources={"mailer": Mailer(smtp_url=smtp.url), "database": world.resources["database"],
                   "platform": PlatformInfo(deployment="test", alert_emails_text="ops@example.org")},
    )
    run_failure_email(context)
    mail = smtp.wait_for(1)[0]
    body = mail.message.get_content()
    assert "north" in mail.message["Subject"]
    assert "Step: coverage_publication" in body
    assert "Contributor / coverage / export: north" in body
    assert "Action type: coverage_export" in body
    assert "production platform 0 (navitia over http)" in body and "HTTP 500" in body


def test_fetch_retries_once_then_keeps_the_last_export(transit_world: TransitWorld) -> None:
    world = transit_world
    world.sync_partitions()
    world.feed.failures_left = 1
    result = world.run(CONTRIBUTOR_EXPORT_JOB, "alpha")
    assert result.success and world.materialized(result) == ["contributor_export"]
    assert world.feed.served == [500, 200]
    store = world.resources["object_store"]
    first = latest_contributor_export(store, "alpha")

    world.feed.failures_left = 5
    world.feed.version = 2
    failed = world.run(CONTRIBUTOR_EXPORT_JOB, "alpha", {"ops": {"contributor_export": {"config": {"force": True}}}})
    assert not failed.success
    assert world.feed.served[-2:] == [500, 500]  # one retry, then the failure is final
    assert latest_contributor_export(store, "alpha") == first  # the last good export stays


def test_forced_export_and_broken_feed_keep_previous(transit_world: TransitWorld, shared_data: Path) -> None:
    world = transit_world
    world.sync_partitions()
    assert world.materialized(world.run(CONTRIBUTOR_EXPORT_JOB, "gamma")) == ["contributor_export"]
    assert world.materialized(world.run(CONTRIBUTOR_EXPORT_JOB, "gamma")) == []
    forced = world.run(CONTRIBUTOR_EXPORT_JOB, "gamma", {"ops": {"contributor_export": {"config": {"force": True}}}})
    assert world.materialized(forced) == ["contributor_export"]
    store = world.resources["object_store"]
    assert world.run(CONTRIBUTOR_EXPORT_JOB, "alpha").success
    before = latest_contributor_export(store, "alpha")
    world.feed.path, world.feed.version = shared_data / "gtfs/broken/transitfeed-contains_null.zip", 2
    broken = world.run(CONTRIBUTOR_EXPORT_JOB, "alpha")
    assert not broken.success
    failures = [e for e in broken.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1  # a bad feed is not retried
    message = failures[0].event_specific_data.error.message  # type: ignore[union-attr]
    assert "alpha-v2.zip/stops.txt: contains a NUL byte" in message
    assert latest_contributor_export(store, "alpha") == before  # the last good export stays
    assert not world.run(CONTRIBUTOR_EXPORT_JOB, "alpha").success  # still failing loudly, never skipped


def test_the_coverage_sensor_waits_for_runs_in_flight_and_skips_coverages_already_merged(
    transit_world: TransitWorld,
) -> None:
    """A coverage run that merges nothing new would plan its checks and leave them all SKIPPED in the
    UI: the sensor waits while a contributor export of the coverage (or the coverage itself) is
    queued or running, and requests nothing for a coverage whose latest export merged its
    contributors' latest exports already."""
    import json

    from dagster import DagsterRunStatus, build_sensor_context
    from dagster._core.test_utils import create_run_for_test

    from platform_assets.transit.sensors import transit_coverages_after_contributors

    world = transit_world
    world.sync_partitions()
    for contributor in ("alpha", "beta", "gamma"):
        assert world.materialized(world.run(CONTRIBUTOR_EXPORT_JOB, contributor)) == ["contributor_export"]
    # gamma's next export is still running: south (beta, gamma) waits, north (alpha, beta) goes.
    running = create_run_for_test(world.instance, job_name=CONTRIBUTOR_EXPORT_JOB, status=DagsterRunStatus.STARTED,
                                 tags={"dagster/partition": "gamma"})

    def tick(cursor: str | None):  # type: ignore[no-untyped-def]
        context = build_sensor_context(instance=world.instance, cursor=cursor, resources={
            "database": world.resources["database"], "transit": world.resources["transit"]})
        return transit_coverages_after_contributors(context)

    first = tick(None)
    assert [request.partition_key for request in first.run_requests] == ["north"]
    assert json.loads(first.cursor)["pending"] == ["south"]
    assert [request.run_key for request in tick(None).run_requests] == [first.run_requests[0].run_key]  # same inputs, same key

    # gamma's run ends with nothing new; a manual south export merges the current exports: south is current.
    world.instance.delete_run(running.run_id)
    assert world.materialized(world.run(COVERAGE_EXPORT_JOB, "south")) == ["coverage_export", "coverage_publication"]
    second = tick(first.cursor)
    assert second.run_requests == [] and json.loads(second.cursor)["pending"] == []

    # North exported as requested; a new export of beta touches both coverages again.
    assert world.materialized(world.run(COVERAGE_EXPORT_JOB, "north"))[0] == "coverage_export"
    quiet = tick(second.cursor)
    assert not getattr(quiet, "run_requests", None) and "no new contributor export" in str(quiet)
    world.feed.path, world.feed.version = world.feed.path.parent / "gtfs-2.zip", 2
    assert world.materialized(world.run(CONTRIBUTOR_EXPORT_JOB, "alpha")) == ["contributor_export"]
    third = tick(second.cursor)
    assert [request.partition_key for request in third.run_requests] == ["north"]
    assert third.run_requests[0].tags["transit/trigger"] == "new export of alpha"
