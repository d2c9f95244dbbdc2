"""The Dagster layer: both assets materialized with the platform's resources, schedule, sensor, holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    DagsterInstance,
    Definitions,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
    materialize,
)
from openpyxl import load_workbook

from platform_assets.core.holds import ProcessOnHoldError, put_on_hold
from platform_assets.core.metadata import files_from_metadata
from platform_assets.dataset_tracker.assets import dataset_inventory, tracker_sheet
from platform_assets.dataset_tracker.checks import metadata_files_readable, no_duplicate_datasets
from platform_assets.dataset_tracker.defs import dataset_tracker_definitions
from platform_assets.dataset_tracker.report import EXTERNAL_TAB, TRACKED_HEADER, TRACKED_TAB
from platform_assets.dataset_tracker.schedules import dataset_tracker_schedule
from platform_assets.dataset_tracker.sensors import dataset_folders_sensor
from platform_assets.dataset_tracker.sheets import GoogleSheets
from platform_assets_tests.dataset_tracker.fake_sheets import FakeSheetsServer, service_account_file


@pytest.fixture
def tracker_env(dataset_tree, platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLATFORM_SOURCES_CONFIG", str(dataset_tree.config))
    return platform_env


@pytest.fixture(scope="module")
def instance() -> Any:
    # One ephemeral instance for the module: each test has its own data dir and database anyway.
    with instance_for_test() as instance:
        yield instance


def _materialize(resources: dict[str, Any], instance: DagsterInstance, **kwargs: Any) -> Any:
    result = materialize(
        [dataset_inventory, tracker_sheet, no_duplicate_datasets, metadata_files_readable],
        resources=resources, instance=instance, **kwargs,
    )
    assert result.success
    return result


def _metadata(result: Any, key: str) -> dict[str, Any]:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {name: getattr(value, "value", value) for name, value in event.materialization.metadata.items()}


def _tab(path: Path, title: str) -> list[dict[str, Any]]:
    rows = list(load_workbook(path)[title].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_inventory_and_sheet_on_the_embedded_default(tracker_env: Path, resources, instance, dataset_tree) -> None:
    result = _materialize(resources, instance)
    inventory = _metadata(result, "dataset_inventory")
    assert inventory["accessions"] == 9
    assert {k: v for k, v in inventory.items() if k.startswith("state/")} == {
        "state/external": 2, "state/incoming": 2, "state/loading": 1,
        "state/analysing": 1, "state/processed": 1, "state/published_dev": 0, "state/published": 2,
    }
    assert inventory["duplicates"] == 4 and inventory["warnings"] == 3 and inventory["state_changes"] == 9
    stored = json.loads(Path(inventory["uri"].removeprefix("file://")).read_text())
    assert {d["accession"] for d in stored["datasets"]} >= {"E-MTAB-1", "E-GEOD-5002"}
    assert files_from_metadata(result.get_asset_materialization_events()[0].materialization.metadata)[0][
        "action"] == "written"

    sheet = _metadata(result, "tracker_sheet")
    workbook = tracker_env / "tracker.xlsx"
    assert sheet["sheet"] == workbook.as_uri() and sheet["backend"] == "local"
    assert sheet["tracked_rows"] == 7 and sheet["external_rows"] == 2
    assert sheet["uri"] == workbook.as_uri() and sheet["size"] == workbook.stat().st_size
    tracked = {row["Accession"]: row for row in _tab(workbook, TRACKED_TAB)}
    assert list(load_workbook(workbook)[TRACKED_TAB].iter_rows(values_only=True))[0] == TRACKED_HEADER
    assert tracked["E-MTAB-1"]["State"] == "loading" and tracked["E-MTAB-1"]["Previous state"] is None
    assert tracked["E-MTAB-2"]["Title"] == "Wurzeln unter Kälte (Müller, Göttingen)"
    assert tracked["E-MTAB-3"]["Duplicate"] == "in 2 incoming sources: imports, submissions"
    assert tracked["E-MTAB-3"]["Warnings"] == "E-MTAB-3.idf.txt: empty file"
    assert tracked["E-MTAB-4"]["Organism"] == "Homo sapiens" and tracked["E-MTAB-4"]["Samples"] == 8
    external = {row["Accession"]: row for row in _tab(workbook, EXTERNAL_TAB)}
    assert set(external) == {"E-GEOD-5001", "E-GEOD-5002"}
    assert external["E-GEOD-5001"]["Duplicate"] == "is a secondary accession of E-MTAB-4, E-MTAB-5"

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["no_duplicate_datasets"].passed
    assert checks["no_duplicate_datasets"].metadata["duplicates"].value == 4
    assert checks["no_duplicate_datasets"].severity.value == "WARN"
    assert checks["metadata_files_readable"].metadata["warnings"].value == 3


def test_rerun_shows_state_changes_since_when_and_previous_state(
    tracker_env: Path, resources, instance, dataset_tree
) -> None:
    _materialize(resources, instance)
    dataset_tree.move("E-MTAB-2", "incoming/submissions", "loading")
    result = _materialize(resources, instance)
    assert _metadata(result, "dataset_inventory")["state_changes"] == 1
    tracked = {row["Accession"]: row for row in _tab(tracker_env / "tracker.xlsx", TRACKED_TAB)}
    assert tracked["E-MTAB-2"]["State"] == "loading"
    assert tracked["E-MTAB-2"]["Previous state"] == "incoming"
    assert tracked["E-MTAB-2"]["Since"] >= tracked["E-MTAB-1"]["Since"]
    assert len(tracked) == 7  # replaced, not appended

    # A dataset that disappears stays on the sheet as `removed`, with the state it had.
    for path in sorted((dataset_tree.root / "analysing/E-MTAB-4").iterdir()):
        path.unlink()
    (dataset_tree.root / "analysing/E-MTAB-4").rmdir()
    _materialize(resources, instance)
    tracked = {row["Accession"]: row for row in _tab(tracker_env / "tracker.xlsx", TRACKED_TAB)}
    assert tracked["E-MTAB-4"]["State"] == "removed" and tracked["E-MTAB-4"]["Previous state"] == "analysing"
    assert list(tracked) == sorted(tracked)
    # A third run with nothing changed records nothing.
    assert _metadata(_materialize(resources, instance), "dataset_inventory")["state_changes"] == 0


def test_history_on_postgresql(tracker_env: Path, resources, instance, postgres_url: str) -> None:
    from platform_assets.core.database import PlatformDatabase
    from platform_assets.dataset_tracker.history import current_states

    resources = {**resources, "database": PlatformDatabase(url=postgres_url)}
    result = _materialize(resources, instance)
    assert _metadata(result, "dataset_inventory")["state_changes"] == 9
    states = current_states(resources["database"].engine)
    assert states["E-MTAB-1"].state == "loading" and states["E-MTAB-1"].since.tzinfo is not None
    assert _metadata(_materialize(resources, instance), "dataset_inventory")["state_changes"] == 0


def test_tracker_sheet_on_google_sheets(tracker_env: Path, resources, instance, tmp_path: Path) -> None:
    server = FakeSheetsServer()
    account = service_account_file(tmp_path / "sa.json", server.token_uri)
    with server.running():
        resources = {**resources, "sheets": GoogleSheets(credentials_file=str(account), spreadsheet_key=server.spreadsheet_id,
            api_base_url=server.base_url, backoff_seconds=0.01,
        )}
        result = _materialize(resources, instance)
        _materialize(resources, instance)
    assert _metadata(result, "tracker_sheet")["backend"] == "gspread"
    assert len(server.batch_updates()) == 2
    values = server.sheet(TRACKED_TAB).values()
    assert values[0] == list(TRACKED_HEADER) and len(values) == 8
    assert server.sheet(TRACKED_TAB).frozen_row_count == 1
    assert [row[0] for row in server.sheet(EXTERNAL_TAB).values()] == ["Accession", "E-GEOD-5001", "E-GEOD-5002"]


def test_bad_config_fails_the_run_with_one_line(tracker_env: Path, resources, instance, dataset_tree) -> None:
    dataset_tree.config.write_text("sources:\n  - {name: x, stage: shipped, folder: .}\n")
    result = materialize([dataset_inventory], resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    assert error.cause is not None and error.cause.cls_name == "SourcesConfigError"
    assert "sources[0] (x): stage: 'shipped' is not one of" in error.cause.message


def test_process_on_hold_refuses_to_run(tracker_env: Path, resources, instance) -> None:
    engine = resources["database"].engine
    resources["database"].upgrade()
    put_on_hold(engine, "dataset_tracker_job", "three failures in a row")
    job = Definitions.merge(dataset_tracker_definitions(with_resources=False), Definitions(resources=resources)).resolve_job_def("dataset_tracker_job")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    errors = [e.step_failure_data.error for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert errors[0].cause is not None and errors[0].cause.cls_name == ProcessOnHoldError.__name__
    assert "is on hold" in errors[0].cause.message


def test_schedule_three_times_a_day_and_hold(tracker_env: Path, resources, instance) -> None:
    assert dataset_tracker_schedule.cron_schedule == "0 6,12,18 * * *"
    resources["database"].upgrade()
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    context = build_schedule_context(instance=instance, resources={"database": resources["database"], "tracker_sources": resources["tracker_sources"]},
                                     scheduled_execution_time=noon)
    request = dataset_tracker_schedule.evaluate_tick(context).run_requests[0]
    assert isinstance(request, RunRequest) and request.run_key == "tracker-20260302T1200"
    assert request.tags["platform/subject"].endswith("sources_config.yaml")
    put_on_hold(resources["database"].engine, "dataset_tracker_job", "operator pause")
    data = dataset_tracker_schedule.evaluate_tick(
        build_schedule_context(instance=instance, resources={"database": resources["database"], "tracker_sources": resources["tracker_sources"]},
                               scheduled_execution_time=noon)
    )
    assert not data.run_requests and "on hold" in data.skip_message


def test_sensor_runs_when_a_dataset_folder_appears(tracker_env: Path, resources, instance, dataset_tree) -> None:
    resources["database"].upgrade()
    sensor_resources = {"database": resources["database"], "tracker_sources": resources["tracker_sources"]}
    first = dataset_folders_sensor(build_sensor_context(instance=instance, resources=sensor_resources))
    assert isinstance(first, SensorResult) and not first.run_requests and first.cursor
    same = dataset_folders_sensor(build_sensor_context(instance=instance, cursor=first.cursor,
                                                       resources=sensor_resources))
    assert isinstance(same, SkipReason)
    (dataset_tree.root / "incoming/submissions/E-MTAB-10").mkdir()
    changed = dataset_folders_sensor(build_sensor_context(instance=instance, cursor=first.cursor,
                                                          resources=sensor_resources))
    assert isinstance(changed, SensorResult) and changed.cursor != first.cursor
    (request,) = changed.run_requests
    assert request.run_key == f"folders-{changed.cursor}"
    again = dataset_folders_sensor(build_sensor_context(instance=instance, cursor=changed.cursor,
                                                        resources=sensor_resources))
    assert isinstance(again, SkipReason)


def test_demo_runs_the_job(platform_env: Path, resources, instance) -> None:
    from platform_assets.dataset_tracker.demo import run_demo

    lines = run_demo(instance, Definitions.merge(dataset_tracker_definitions(with_resources=False), Definitions(resources=resources)))
    assert lines[0].startswith("dataset tracker: 9 accessions (external 3, incoming 1, loading 1, analysing 1,")
    assert lines[1] == f"tracker sheet: {(platform_env / 'tracker.xlsx').as_uri()} (6 tracked, 3 external)"


def test_unreadable_source_is_retried_once_then_fails(tracker_env: Path, resources, instance, dataset_tree) -> None:
    dataset_tree.config.write_text("sources:\n  - {name: gone, stage: incoming, folder: no/such/folder}\n")
    result = materialize(
        [dataset_inventory], resources=resources, instance=instance, raise_on_error=False,
        run_config={"ops": {"dataset_inventory": {"config": {"unavailable_retry_seconds": 0}}}},
    )
    assert not result.success
    kinds = [e.event_type_value for e in result.all_events]
    assert kinds.count("STEP_UP_FOR_RETRY") == 1 and kinds.count("STEP_FAILURE") == 1
