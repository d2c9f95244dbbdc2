"""The Dagster UI, driven in a real headless Chromium against a real webserver and daemon."""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from dagster import DagsterEventType, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from platform_assets_tests.servers import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class DagsterUi:
    def __init__(self, port: int, home: Path, data_dir: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.home = home
        self.data_dir = data_dir


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUi]:
    root = tmp_path_factory.mktemp("ui")
    home, data_dir = root / "dagster_home", root / "data"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {name: value for name, value in os.environ.items() if not name.startswith("PLATFORM_")}
    env.update({"DAGSTER_HOME": str(home), "PLATFORM_DATA_DIR": str(data_dir)})
    bin_dir = Path(sys.executable).parent
    port = free_port()
    logs = open(root / "processes.log", "wb")
    webserver = subprocess.Popen(
        [str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=logs, stderr=subprocess.STDOUT,
    )
    # The repo's instance queues runs: the daemon dequeues and launches them.
    daemon = subprocess.Popen(
        [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO, env=env, stdout=logs, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/server_info", webserver, timeout=180)
        yield DagsterUi(port, home, data_dir)
    finally:
        for process in (webserver, daemon):
            process.terminate()
        for process in (webserver, daemon):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by `make test` (scripts/install-system-deps.sh)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _page(browser, ui: DagsterUi, path: str, expected: list[str], screenshot: str, height: int = 1000):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1600, "height": height})
    page.goto(f"{ui.url}{path}", wait_until="domcontentloaded")
    # Dagster's first-visit community dialog covers the page: dismiss it for readable screenshots.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # noqa: BLE001 - no dialog this time
        pass
    for text in expected:
        page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    return page


ASSETS = [
    "contributor_export",
    "coverage_export",
    "coverage_publication",
    "trip_export",
    "opendata_trip_export",
    "process_status_report",
    "dataset_inventory",
    "tracker_sheet",
    "ocds_dataset",
    "platform_inventory",
]
SENSORS = [
    "run_failure_email",
    "transit_catalog_partitions",
    "transit_source_frequency",
    "trip_export_sensor",
    "tracking_run_failed",
    "platform_automation",
]
SCHEDULES = [
    "transit_automatic_update",
    "opendata_trip_export_schedule",
    "dataset_tracker_schedule",
    "process_status_report_schedule",
]


def test_asset_catalog_lists_the_platform_assets(dagster_ui: DagsterUi, browser) -> None:  # type: ignore[no-untyped-def]
    # The catalog renders only the rows in view: tall enough for every asset, external ones included.
    page = _page(browser, dagster_ui, "/assets", ASSETS, "assets.png", height=2400)
    body = page.inner_text("body")
    for name in ASSETS:
        assert name in body
    page.close()


@pytest.mark.parametrize(
    ("group", "assets"),
    [
        ("transit", ["contributor_export", "coverage_export", "coverage_publication"]),
        ("trip_exports", ["trip_export", "opendata_trip_export"]),
    ],
)
def test_asset_graph_draws_the_system(dagster_ui: DagsterUi, browser, group: str, assets: list[str]) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, dagster_ui, f"/locations/platform_assets/asset-groups/{group}", assets, f"graph_{group}.png")
    body = page.inner_text("body")
    for name in assets:
        assert name in body
    if group == "transit":
        # Quality's reports on transit's exports are drawn in transit's group, beside what they
        # report on (the checks themselves are read on the asset's checks tab after a run, below).
        assert "contributor_export_quality_report" in body or "contributor_exp" in body
    page.close()


@pytest.mark.parametrize(
    ("asset", "scope", "neighbour"),
    [
        ("contributor_export", "upstream", "contributor_sources"),
        ("trip_export", "upstream", "carpool_trips"),
        ("ocds_dataset", "upstream", "ocds_folders"),
        ("dataset_inventory", "upstream", "dataset_folders"),
        ("coverage_publication", "downstream", "publication_platforms"),
        ("tracker_sheet", "downstream", "tracker_google_sheet"),
        ("opendata_trip_export", "downstream", "opendata_portal"),
    ],
)
def test_lineage_reaches_the_external_systems(dagster_ui: DagsterUi, browser, asset: str, scope: str, neighbour: str) -> None:  # type: ignore[no-untyped-def]
    """The asset's lineage tab (one hop) draws the real source or destination it is connected to."""
    path = f"/assets/{asset}?view=lineage&lineageScope={scope}&lineageDepth=1"
    page = _page(browser, dagster_ui, path, [neighbour], f"lineage_{asset}.png")
    assert neighbour in page.inner_text("body")
    page.close()


def test_automation_page_lists_sensors_and_schedules(dagster_ui: DagsterUi, browser) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, dagster_ui, "/automation", SENSORS + SCHEDULES, "automation.png")
    body = page.inner_text("body")
    for name in SENSORS + SCHEDULES:
        assert name in body
    page.close()


def test_asset_checks_are_listed(dagster_ui: DagsterUi, browser) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, dagster_ui, "/assets/dataset_inventory?view=checks", ["no_duplicate_datasets"], "checks.png")
    assert "metadata_files_readable" in page.inner_text("body")
    page.close()


def _wait_for_partition(ui: DagsterUi, partitions: str, key: str, timeout: float = 180) -> None:
    """The catalog sensor (run by the daemon) adds the demo contributors as partitions."""
    from dagster import DagsterInstance

    deadline = time.monotonic() + timeout
    with DagsterInstance.from_config(str(ui.home)) as instance:
        while key not in instance.get_dynamic_partitions(partitions):
            assert time.monotonic() < deadline, f"{partitions} partition {key!r} never appeared"
            time.sleep(1)


def _wait_for_run(client: DagsterGraphQLClient, run_id: str, timeout: float = 300) -> DagsterRunStatus:
    deadline = time.monotonic() + timeout
    status = client.get_run_status(run_id)
    while status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(1)
        status = client.get_run_status(run_id)
    return status


def _wait_for_check_evaluations(ui: DagsterUi, asset: str, partition: str, names: set[str], timeout: float = 480) -> list:  # type: ignore[type-arg]
    """The check evaluations recorded on one partition of `asset` (run by the automation sensor: its
    run waits in the queue, two runs at a time, behind the runs the other sensors start)."""
    from dagster import AssetKey, DagsterInstance, EventRecordsFilter

    deadline = time.monotonic() + timeout
    with DagsterInstance.from_config(str(ui.home)) as instance:
        while True:
            # Check evaluations are not indexed by asset key: filter them here.
            records = instance.get_event_records(
                EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), limit=500
            )
            evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
            found = [e for e in evaluations if e.asset_key == AssetKey(asset) and e.partition == partition]
            if names <= {evaluation.check_name for evaluation in found}:  # the run writes them one by one
                return found
            assert time.monotonic() < deadline, f"no check of {asset}[{partition}] ran within {timeout:.0f}s"
            time.sleep(2)


def _check_history_shows_partition(ui: DagsterUi, browser, asset: str, partition: str, shot: str) -> None:  # type: ignore[no-untyped-def]
    """The `references` check's execution history of `asset` has a row for `partition`."""
    page = _page(browser, ui, f"/assets/{asset}?view=checks&checkDetail=references",
                 ["Execution history"], f"{shot}_check_detail.png")
    page.get_by_text("Execution history", exact=True).first.click()
    for text in ("Partition", partition):
        page.get_by_text(text, exact=True).first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / f"{shot}_check_partitions.png"), full_page=True)
    page.close()


def test_forced_contributor_export_through_graphql(dagster_ui: DagsterUi, browser) -> None:  # type: ignore[no-untyped-def]
    _wait_for_partition(dagster_ui, "contributors", "caltrain")
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_ui.port)
    run_id = client.submit_job_execution(
        "transit_contributor_export",
        run_config={"ops": {"contributor_export": {"config": {"force": True}}}},
        tags={"dagster/partition": "caltrain"},
    )
    assert _wait_for_run(client, run_id) == DagsterRunStatus.SUCCESS
    page = _page(browser, dagster_ui, "/assets/contributor_export?partition=caltrain", ["sha256"], "contributor_export.png")
    body = page.inner_text("body")
    assert "validity" in body.lower()
    page.close()
    # The export run plans no check; the automation sensor runs the GTFS checks of the new export's
    # partition in a run of their own, each result recorded for that partition only.
    families = {"files", "fields", "references", "stop_times", "calendar", "time_based"}
    evaluations = _wait_for_check_evaluations(dagster_ui, "contributor_export", "caltrain", families)
    assert {evaluation.partition for evaluation in evaluations} == {"caltrain"}
    page = _page(browser, dagster_ui, "/assets/contributor_export?view=checks", ["time_based"], "contributor_checks.png")
    body = page.inner_text("body")
    for check in ("files", "fields", "references", "stop_times", "calendar", "time_based"):
        assert check in body
    page.close()
    # A check's execution history names the partition each result belongs to.
    _check_history_shows_partition(dagster_ui, browser, "contributor_export", "caltrain", "contributor")


def test_cli_exports_go_through_the_run_queue_with_their_tags(dagster_ui: DagsterUi) -> None:
    """`platform-assets transit export-* --queue URL` submits to the webserver: the daemon's queued
    run coordinator launches the runs, which carry the tags its concurrency limits read."""
    from click.testing import CliRunner
    from dagster import DagsterInstance

    from platform_assets.cli import platform_cli

    _wait_for_partition(dagster_ui, "contributors", "israel")
    _wait_for_partition(dagster_ui, "coverages", "demo-west")
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_ui.port)
    run_ids = {}
    for command in (["export-contributor", "israel"], ["export-contributor", "caltrain"], ["export-coverage", "demo-west"]):
        if command[0] == "export-coverage":  # after its contributors, as the sensor would
            assert all(_wait_for_run(client, run_id) == DagsterRunStatus.SUCCESS for run_id in run_ids.values())
        result = CliRunner().invoke(platform_cli, ["transit", *command, "--queue", dagster_ui.url])
        assert result.exit_code == 0, result.output
        assert f"[{command[1]}]: queued as run " in result.stdout
        run_ids[command[1]] = result.stdout.split("queued as run ")[1].split()[0]
    assert _wait_for_run(client, run_ids["demo-west"]) == DagsterRunStatus.SUCCESS
    with DagsterInstance.from_config(str(dagster_ui.home)) as instance:
        coverage_run = instance.get_run_by_id(run_ids["demo-west"])
        contributor_run = instance.get_run_by_id(run_ids["israel"])
        assert coverage_run is not None and contributor_run is not None
        assert coverage_run.job_name == "transit_coverage_export"
        assert {key: coverage_run.tags.get(key) for key in ("dagster/partition", "platform/publication", "transit/trigger")} == {
            "dagster/partition": "demo-west", "platform/publication": "demo-west", "transit/trigger": "cli"}
        assert contributor_run.tags.get("dagster/partition") == "israel" and "platform/publication" not in contributor_run.tags
        # Through the queue: enqueued at submission (runs executed in process never are), then
        # launched by the daemon's coordinator.
        events = [entry.dagster_event_type for entry in instance.all_logs(run_ids["demo-west"]) if entry.is_dagster_event]
        assert DagsterEventType.RUN_ENQUEUED in events and DagsterEventType.RUN_START in events, events
        assert events.index(DagsterEventType.RUN_ENQUEUED) < events.index(DagsterEventType.RUN_START), events
    assert (dagster_ui.data_dir / "published" / "production" / "ods" / "demo-west.zip").is_file()


def _latest_materialization(ui: DagsterUi, asset: str, partition: str):  # type: ignore[no-untyped-def]
    """The newest materialization record of one partition of `asset`, or None."""
    from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

    with DagsterInstance.from_config(str(ui.home)) as instance:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition]), limit=1
        ).records
        return records[0] if records else None


def test_a_coverage_export_partition_shows_its_own_check_results(dagster_ui: DagsterUi, browser) -> None:  # type: ignore[no-untyped-def]
    """The coverage checks run inside the coverage run (they gate its publication), each result
    recorded for the run's partition: demo-west's page and its checks' history show demo-west's."""
    _wait_for_partition(dagster_ui, "coverages", "demo-west")
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_ui.port)
    if _latest_materialization(dagster_ui, "coverage_export", "demo-west") is None:  # run alone: make one
        for contributor in ("caltrain", "israel"):
            _wait_for_partition(dagster_ui, "contributors", contributor)
            run_id = client.submit_job_execution("transit_contributor_export", tags={"dagster/partition": contributor})
            assert _wait_for_run(client, run_id) == DagsterRunStatus.SUCCESS
        run_id = client.submit_job_execution("transit_coverage_export", tags={"dagster/partition": "demo-west"})
        assert _wait_for_run(client, run_id) == DagsterRunStatus.SUCCESS
    materialization = _latest_materialization(dagster_ui, "coverage_export", "demo-west")
    assert materialization is not None
    families = {"files", "fields", "references", "stop_times", "calendar", "time_based"}
    evaluations = _wait_for_check_evaluations(dagster_ui, "coverage_export", "demo-west", families)
    assert {evaluation.partition for evaluation in evaluations} == {"demo-west"}
    assert {evaluation.target_materialization_data.run_id for evaluation in evaluations  # type: ignore[union-attr]
            if evaluation.check_name in families and evaluation.target_materialization_data} >= {materialization.run_id}
    # The partition's page: its own materialization, by the run that also evaluated its checks.
    short_run = materialization.run_id[:8]
    page = _page(browser, dagster_ui, "/assets/coverage_export?view=partitions&partition=demo-west",
                 ["demo-west", short_run, "sha256"], "coverage_export_partition.png")
    page.close()
    # A check's history: a row per evaluation, with the partition it was recorded for (the run is
    # on the partition's page above; the history shows the target materialization's time).
    _check_history_shows_partition(dagster_ui, browser, "coverage_export", "demo-west", "coverage")


def test_run_launched_through_graphql_shows_its_metadata(dagster_ui: DagsterUi, browser) -> None:  # type: ignore[no-untyped-def]
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_ui.port)
    run_id = client.submit_job_execution("platform_inventory_job")
    deadline = time.monotonic() + 240
    status = client.get_run_status(run_id)
    while status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(1)
        status = client.get_run_status(run_id)
    assert status == DagsterRunStatus.SUCCESS
    report = dagster_ui.data_dir / "objects" / "reports" / "platform_inventory.json"
    assert report.is_file()
    page = _page(browser, dagster_ui, "/assets/platform_inventory", ["platform_inventory.json"], "asset_page.png")
    assert "sha256" in page.inner_text("body")
    page.close()
