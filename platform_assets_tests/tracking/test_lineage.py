"""Lineage out (issue 16): tracked runs sent as OpenLineage events over HTTP to a loopback
receiver, each validated against the OpenLineage run-event JSON schema; off by default."""

import json
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    DagsterEventType,
    Definitions,
    ExecuteInProcessResult,
    MaterializeResult,
    asset,
    build_run_status_sensor_context,
    define_asset_job,
    instance_for_test,
    materialize,
)
from jsonschema import Draft202012Validator, FormatChecker

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.metadata import file_metadata
from platform_assets.core.objectstore import LocalObjectStore, ObjectStore
from platform_assets.core.settings import configure
from platform_assets.tracking.resources import TrackingPolicy
from platform_assets.tracking.sensors import tracking_run_failed, tracking_run_started, tracking_run_succeeded
from platform_assets.tracking.tracker import ProcessTracker
from platform_assets_tests.servers import HttpServer, Request, Response

SCHEMA = json.loads((Path(__file__).parents[1] / "data/openlineage/OpenLineage.json").read_text())


@asset
def stop_feed() -> None:
    """Never materialized here: the export's source."""


@asset(deps=[stop_feed])
def network_export(object_store: ObjectStore) -> MaterializeResult:
    stored = object_store.put_bytes("exports/network.zip", b"PK-zip-bytes")
    return MaterializeResult(metadata={**file_metadata(main=stored), "dagster/row_count": 2})


@asset
def broken_export() -> None:
    raise ValueError("stops.txt: column 'stop_id' is missing")


broken_job = define_asset_job("broken_job", selection=[broken_export])


def _sensor(sensor_def: Any, result: ExecuteInProcessResult, event_type: DagsterEventType, instance: Any,
            resources: dict[str, Any], defs: Definitions) -> None:
    event = next(e for e in result.all_events if e.event_type == event_type)
    with build_run_status_sensor_context(
        sensor_name=sensor_def.name, dagster_event=event, dagster_instance=instance,
        dagster_run=result.dagster_run, resources=resources, repository_def=defs.get_repository_def(),
    ) as context:
        if event_type == DagsterEventType.RUN_FAILURE:
            with context.for_run_failure() as failure_context:
                sensor_def(failure_context)
        else:
            sensor_def(context)


def test_runs_are_sent_as_valid_openlineage_events(
    database_url: str, tracker: ProcessTracker, http_server: HttpServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[dict[str, Any]] = []

    def receive(request: Request) -> Response:
        received.append(json.loads(request.body))
        return Response(201, b"")

    http_server.route("POST", "/api/v1/lineage", receive)
    monkeypatch.setenv("PLATFORM_OPENLINEAGE_URL", http_server.base_url)
    monkeypatch.setenv("PLATFORM_DEPLOYMENT", "prod-eu")
    resources = {"database": PlatformDatabase(url=database_url),
                 "object_store": LocalObjectStore(local_dir=str(tmp_path / "objects")),
                 "tracking": configure(TrackingPolicy)}  # EnvVars: PLATFORM_OPENLINEAGE_URL as set by the test
    defs = Definitions(assets=[stop_feed, network_export, broken_export], jobs=[broken_job], resources=resources)
    with instance_for_test() as instance:
        ok = materialize([stop_feed, network_export], selection=[network_export], instance=instance,
                         resources=resources)
        _sensor(tracking_run_started, ok, DagsterEventType.RUN_START, instance, resources, defs)
        _sensor(tracking_run_succeeded, ok, DagsterEventType.RUN_SUCCESS, instance, resources, defs)
        _sensor(tracking_run_succeeded, ok, DagsterEventType.RUN_SUCCESS, instance, resources, defs)  # no repeat
        failed = defs.resolve_job_def("broken_job").execute_in_process(instance=instance, raise_on_error=False)
        _sensor(tracking_run_failed, failed, DagsterEventType.RUN_FAILURE, instance, resources, defs)

    validator = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    for event in received:
        errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(event)]
        assert not errors, errors
    assert [(e["eventType"], e["job"]["name"], e["run"]["runId"]) for e in received] == [
        ("START", "network_export", ok.run_id),
        ("COMPLETE", "network_export", ok.run_id),
        ("START", "broken_job", failed.run_id),
        ("FAIL", "broken_job", failed.run_id),
    ]
    assert {e["job"]["namespace"] for e in received} == {"prod-eu"}
    complete = received[1]
    assert complete["inputs"] == [{"namespace": "prod-eu", "name": "stop_feed", "facets": {}, "inputFacets": {}}]
    objects = (tmp_path / "objects").absolute().as_uri()
    assert [(o["namespace"], o["name"]) for o in complete["outputs"]] == [
        ("prod-eu", "network_export"), ("file://", objects.removeprefix("file://") + "/exports/network.zip"),
    ]
    error = received[3]["run"]["facets"]["errorMessage"]
    assert error["message"] == "ValueError: stops.txt: column 'stop_id' is missing"
    assert tracker.get_run(tracker.runs("broken_job")[0].id).status == "failed"


def test_lineage_is_off_by_default_and_a_dead_consumer_never_fails_tracking(
    database_url: str, tracker: ProcessTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platform_assets_tests.servers import free_port

    resources = {"database": PlatformDatabase(url=database_url),
                 "object_store": LocalObjectStore(local_dir=str(tmp_path / "objects")),
                 "tracking": configure(TrackingPolicy)}  # EnvVars: PLATFORM_OPENLINEAGE_URL as set by the test
    defs = Definitions(assets=[stop_feed, network_export], resources=resources)
    monkeypatch.setenv("PLATFORM_OPENLINEAGE_URL", f"http://127.0.0.1:{free_port()}")
    with instance_for_test() as instance:
        ok = materialize([stop_feed, network_export], selection=[network_export], instance=instance,
                         resources=resources)
        _sensor(tracking_run_succeeded, ok, DagsterEventType.RUN_SUCCESS, instance, resources, defs)
    assert [run.status for run in tracker.runs("network_export")] == ["completed"]
    from platform_assets.configuration import all_settings

    assert next(spec for spec in all_settings() if spec.name == "PLATFORM_OPENLINEAGE_URL").default == ""


def test_python_api_runs_and_their_extracts_are_sent_as_valid_openlineage_events(
    tmp_path: Path, http_server: HttpServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platform_assets.tracking.api import track_process, tracker_for

    database_url = f"sqlite:///{tmp_path / 'platform.db'}"  # lineage does not depend on the backend
    tracker = tracker_for(database_url)

    received: list[dict[str, Any]] = []
    http_server.route("POST", "/api/v1/lineage", lambda request: (received.append(json.loads(request.body)),
                                                                  Response(201, b""))[1])
    monkeypatch.setenv("PLATFORM_OPENLINEAGE_URL", http_server.base_url)
    monkeypatch.setenv("PLATFORM_DEPLOYMENT", "prod-eu")
    tracker.register_process("crm_dump")
    tracker.register_extract("orders.csv", "s3://drop/crm/", status="ready")
    with track_process("crm_load", database=database_url, sources=["crm"], targets=["warehouse.orders"]) as run:
        run.read_extract("s3://drop/crm/orders.csv")
        run.register_extract("orders.parquet", "s3://lake/orders/", size=10)
    with pytest.raises(ValueError, match="bad header"), track_process("crm_load", database=database_url):
        raise ValueError("bad header")
    with track_process("crm_load", database=database_url) as skipped:
        skipped.skip("nothing new")

    validator = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    for event in received:
        errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(event)]
        assert not errors, errors
    assert [(e["eventType"], e["job"]["namespace"], e["job"]["name"]) for e in received] == [
        ("START", "prod-eu", "crm_load"), ("COMPLETE", "prod-eu", "crm_load"),
        ("START", "prod-eu", "crm_load"), ("FAIL", "prod-eu", "crm_load"),
        ("START", "prod-eu", "crm_load"), ("ABORT", "prod-eu", "crm_load"),
    ]
    run_ids = [e["run"]["runId"] for e in received]
    assert run_ids[0] == run_ids[1] != run_ids[2] == run_ids[3] != run_ids[4] == run_ids[5]
    complete = received[1]
    assert [(i["namespace"], i["name"]) for i in complete["inputs"]] == [("prod-eu", "crm"), ("s3://drop", "/crm/orders.csv")]
    assert [(o["namespace"], o["name"]) for o in complete["outputs"]] == [
        ("prod-eu", "warehouse.orders"), ("s3://lake", "/orders/orders.parquet"),
    ]
    assert received[3]["run"]["facets"]["errorMessage"]["message"] == "ValueError: bad header"
    assert [run.status for run in tracker.runs("crm_load")] == ["skipped", "failed", "completed"]
