"""Manual actions from the CLI: force exports, fetch one source, get a file from an export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import AssetKey

from platform_assets.cli import platform_cli
from platform_assets_tests.transit.conftest import TransitWorld


@pytest.fixture
def cli_world(transit_world: TransitWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TransitWorld:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return transit_world


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(platform_cli, ["transit", *args])


def test_manual_actions(cli_world: TransitWorld) -> None:
    fetched = invoke("fetch-source", "beta", "gtfs")
    assert fetched.exit_code == 0, fetched.output
    assert fetched.stdout.startswith("beta/gtfs: updated sha256=")
    assert invoke("fetch-source", "beta", "gtfs").stdout.startswith("beta/gtfs: unchanged")

    exported = invoke("export-contributor", "beta")
    assert exported.exit_code == 0, exported.output
    assert "contributor_export[beta]: file://" in exported.stdout
    unchanged = invoke("export-contributor", "beta", "--no-force")
    assert "nothing changed, no new materialization" in unchanged.stdout
    assert invoke("export-contributor", "gamma").exit_code == 0

    coverage = invoke("export-coverage", "south")
    assert coverage.exit_code == 0, coverage.output
    assert "coverage_export[south]" in coverage.stdout and "coverage_publication[south]" in coverage.stdout
    assert (cli_world.data_dir / "published/south/south.zip").is_file()

    stops = invoke("get-file", "beta", "stops.txt")
    assert stops.exit_code == 0 and "Gare de Chelles Gournay" in stops.stdout
    out = cli_world.data_dir / "calendar.txt"
    assert invoke("get-file", "beta", "calendar.txt", "-o", str(out)).exit_code == 0
    assert out.read_bytes().startswith(b"service_id")


def test_manual_source_saved_from_a_file(cli_world: TransitWorld, shared_data: Path) -> None:
    import yaml

    catalog = yaml.safe_load(cli_world.catalog_path.read_text(encoding="utf-8"))
    catalog["contributors"][2]["data_sources"][0]["input"] = {"type": "manual"}
    cli_world.write_catalog(catalog)
    missing = invoke("export-contributor", "gamma")
    assert missing.exit_code == 2 and "no data set saved yet" in missing.stderr
    feed = shared_data / "gtfs/preprocesses/headsign_short_name/headsign_short_name.zip"
    saved = invoke("fetch-source", "gamma", "gtfs", "--from", str(feed))
    assert saved.exit_code == 0 and saved.stdout.startswith("gamma/gtfs: updated")
    assert invoke("export-contributor", "gamma").exit_code == 0


def test_manual_action_errors_are_one_line(cli_world: TransitWorld) -> None:
    for args, expected in [
        (("export-contributor", "nobody"), "no contributor 'nobody' in the catalog"),
        (("get-file", "beta", "stops.txt"), "contributor 'beta' has no export yet"),
        (("fetch-source", "beta", "nothing"), "contributor 'beta' has no data source 'nothing'"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2
        assert result.stderr.strip() == f"error: {expected}"


def test_check_feed_prints_failing_checks_and_exits_1_only_when_one_blocks(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platform_assets.quality.gtfs.notices import RULES
    from platform_assets.quality.gtfs.registry import FAMILIES  # noqa: F401 (declares every rule)

    night_buses = Path(__file__).parents[2] / "platform_assets/transit/demo/feeds/transilien-night.zip"
    good = shared_data / "gtfs/nyc_subway_gtfs.zip"
    monkeypatch.setenv("PLATFORM_QUALITY_BLOCKING_CHECKS", "files.*")  # a rule group: the file notices
    blocked = invoke("check-feed", str(night_buses), "--chunk-rows", "50")
    assert blocked.exit_code == 1, blocked.output
    # agency.txt, stops.txt and routes.txt are missing (the coverage merge brings them).
    assert 'ERROR missing_required_file: 3 of 5 failed  e.g. {"item": "agency.txt", "file": "agency.txt"}' in blocked.stdout
    assert "WARN  unused_trip" in blocked.stdout
    checks = len(RULES) + 6  # every MobilityData notice covered, plus the project's six own checks
    assert f"transilien-night.zip: {checks} checks, 4 failing, 2 blocking; 309 rows" in blocked.stdout

    passed = invoke("check-feed", str(good), "--previous", str(good), "--json")
    assert passed.exit_code == 0, passed.output
    results = {result["name"]: result for result in map(json.loads, passed.stdout.splitlines())}
    failing = sorted(name for name, result in results.items() if result["failed"] and result["name"] != "dataset.stops.close_pairs")
    assert len(results) == checks and failing == ["expired_calendar"]  # its calendar ended 2025-01-17: a warning
    assert results["time_based.stops.stop_id.persistence"]["passed"] > 0  # against --previous
    assert f"nyc_subway_gtfs.zip: {checks} checks, 1 failing, 0 blocking; 94295 rows" in passed.stderr

    monkeypatch.setenv("PLATFORM_QUALITY_CHUNK_ROWS", "many")
    refused = invoke("check-feed", str(good))
    assert refused.exit_code == 2 and "PLATFORM_QUALITY_CHUNK_ROWS" in refused.output


def test_check_feed_spills_into_the_platform_work_folder(
    shared_data: Path, platform_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past PLATFORM_QUALITY_SPILL_ROWS the per-trip columns wait on disk in a folder owned by the
    command under PLATFORM_WORK_DIR (removed at the end, or at the next run's start if killed)."""
    work = tmp_path / "work"
    monkeypatch.setenv("PLATFORM_WORK_DIR", str(work))
    monkeypatch.setenv("PLATFORM_QUALITY_SPILL_ROWS", "20000")  # nyc_subway has 86,150 stop times
    result = invoke("check-feed", str(shared_data / "gtfs/nyc_subway_gtfs.zip"))
    assert result.exit_code == 0, result.output
    assert "buckets spilled to disk" in result.stdout
    assert work.is_dir() and list(work.iterdir()) == []


def test_queue_needs_a_webserver_that_answers(cli_world: TransitWorld) -> None:
    from platform_assets_tests.servers import free_port

    wrong = invoke("export-coverage", "south", "--queue", "ftp://webserver.example")
    assert wrong.exit_code == 2
    assert wrong.output.strip() == "error: --queue 'ftp://webserver.example': not a Dagster webserver URL (http://host:port)"
    url = f"http://127.0.0.1:{free_port()}"
    dead = invoke("export-contributor", "beta", "--queue", url)
    assert dead.exit_code == 2
    assert dead.output.startswith(f"error: {url}: could not submit transit_contributor_export [beta]: ")
    assert "Connection refused" in dead.output and len(dead.output.strip().splitlines()) == 1


def test_rollback_republishes_a_kept_export_and_records_it(cli_world: TransitWorld, shared_data: Path) -> None:
    import yaml

    from platform_assets.transit.service import kept_coverage_exports, publication_history

    store = cli_world.resources["object_store"]
    published = cli_world.data_dir / "published/south/south.zip"
    assert invoke("export-contributor", "beta").exit_code == 0
    assert invoke("export-contributor", "gamma").exit_code == 0
    assert invoke("export-coverage", "south").exit_code == 0
    catalog = yaml.safe_load(cli_world.catalog_path.read_text(encoding="utf-8"))
    catalog["contributors"][2]["data_sources"][0]["input"]["url"] = str(shared_data / "gtfs/history/gtfs-2.zip")
    catalog["contributors"][2]["preprocesses"] = []  # the history feeds have no routes.txt
    cli_world.write_catalog(catalog)
    second_export = invoke("export-contributor", "gamma")
    assert second_export.exit_code == 0, second_export.output
    assert invoke("export-coverage", "south").exit_code == 0
    first, second = kept_coverage_exports(store, "south")
    assert published.read_bytes() == store.read_bytes(second["keys"][0])

    listing = invoke("rollback", "south")
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [second["version"], first["version"]]
    assert lines[0].endswith("(latest, published)") and "(" not in lines[1]

    rolled = invoke("rollback", "south", first["version"])
    assert rolled.exit_code == 0, rolled.output
    assert "coverage_publication[south]" in rolled.stdout
    assert published.read_bytes() == store.read_bytes(first["keys"][0]) != store.read_bytes(second["keys"][0])
    last = publication_history(store, "south")[-1]
    assert (last["version"], last["rollback"]) == (first["version"], True)
    after = invoke("rollback", "south").stdout.splitlines()
    assert after[0].endswith("(latest)") and after[1].endswith("(published)")

    missing = invoke("rollback", "south", "19990101T000000000000Z")
    assert missing.exit_code == 2
    assert missing.stderr.strip().startswith("error: coverage 'south': no kept export '19990101T000000000000Z' (kept: ")


def test_update_now_then_get_any_kept_file(cli_world: TransitWorld, shared_data: Path) -> None:
    """Tartare's manual actions: the automatic update now; any file of a data set or an export."""
    updated = invoke("update-now")
    assert updated.exit_code == 0, updated.output
    for line in ("contributor_export[alpha]: file://", "contributor_export[beta]: file://",
                 "contributor_export[gamma]: file://", "coverage_export[north]: file://",
                 "coverage_export[south]: file://", "coverage_publication[south]"):
        assert line in updated.stdout
    # (A second update-now finding nothing changed was checked here too: 5 more runs, ~8 s; change
    # detection is test_workflow's, and the launchpad test below runs update_now's real runs.)

    out = cli_world.data_dir / "got"
    rules = invoke("get-file", "beta", "--source", "rules", "-o", str(out))
    assert rules.exit_code == 0, rules.output
    assert out.read_bytes() == (shared_data / "gtfs/preprocesses/ruspell/config-fr_idf.yml").read_bytes()
    assert invoke("get-file", "beta", "--source", "gtfs", "-o", str(out)).exit_code == 0
    assert out.read_bytes() == (shared_data / "gtfs/preprocesses/ruspell/gtfs.zip").read_bytes()
    member = invoke("get-file", "south", "stops.txt", "--coverage")
    assert member.exit_code == 0 and "B:StopArea:8711611" in member.stdout
    whole = invoke("get-file", "south", "--coverage", "-o", str(out))
    assert whole.exit_code == 0 and out.read_bytes()[:2] == b"PK"
    wrong = invoke("get-file", "beta", "stops.txt", "--version", "nope")
    assert wrong.exit_code == 2 and wrong.stderr.startswith("error: contributor 'beta': no kept version 'nope' (kept: ")


def test_update_now_from_the_launchpad_runs_real_export_runs(transit_world: TransitWorld) -> None:
    """The job `transit_update_now` (UI launchpad, with config): each export is a run of the transit
    jobs on the instance, tagged with the update run; only the chosen contributors and their coverages."""
    from platform_assets.core.tags import TRANSIT_TRIGGER_TAG
    from platform_assets.transit.update_now import UPDATE_NOW_JOB

    world = transit_world
    job = world.defs.resolve_job_def(UPDATE_NOW_JOB)
    config = {"ops": {"transit_update_now_op": {"config": {"contributors": ["gamma"]}}}}
    result = job.execute_in_process(instance=world.instance, run_config=config, raise_on_error=False)
    assert result.success
    runs = world.instance.get_runs()
    launched = sorted((run.job_name, run.tags.get("dagster/partition")) for run in runs if run.run_id != result.run_id)
    # gamma is only in coverage south (with beta, which has no export yet and is left out).
    assert launched == [("transit_contributor_export", "gamma"), ("transit_coverage_export", "south")]
    assert {run.tags[TRANSIT_TRIGGER_TAG] for run in runs if run.run_id != result.run_id} == {f"update now (run {result.run_id})"}
    made = sorted((key.to_user_string(), partition) for key, partitions in (
        (key, world.instance.get_materialized_partitions(key)) for key in
        [AssetKey("contributor_export"), AssetKey("coverage_export"), AssetKey("coverage_publication")]
    ) for partition in partitions)
    assert made == [("contributor_export", "gamma"), ("coverage_export", "south"), ("coverage_publication", "south")]

    unknown = job.execute_in_process(
        instance=world.instance, run_config={"ops": {"transit_update_now_op": {"config": {"contributors": ["zeta"]}}}},
        raise_on_error=False,
    )
    assert not unknown.success
    failure = next(e for e in unknown.all_events if e.is_step_failure)
    assert "no contributor 'zeta' in the catalog" in failure.event_specific_data.error.message


def test_get_file_from_the_launchpad_links_any_kept_file(transit_world: TransitWorld, shared_data: Path, tmp_path: Path) -> None:
    """Tartare's file download as the job `transit_get_file`: a member of an export, or a whole data set."""
    import hashlib
    import zipfile
    from datetime import date

    from platform_assets.transit.catalog import load_catalog
    from platform_assets.transit.get_file import GET_FILE_JOB
    from platform_assets.transit.service import export_contributor

    world = transit_world
    store = world.resources["object_store"]
    export_contributor(store, load_catalog(world.catalog_path), "gamma", tmp_path / "w", date(2018, 1, 1))
    job = world.defs.resolve_job_def(GET_FILE_JOB)

    def get(**config: object):  # type: ignore[no-untyped-def]
        result = job.execute_in_process(
            instance=world.instance, run_config={"ops": {"transit_get_file_op": {"config": config}}}, raise_on_error=False
        )
        outputs = [e.event_specific_data.metadata for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
        return result, (outputs[0] if outputs else {})

    result, metadata = get(subject="gamma", file_name="trips.txt")
    assert result.success
    export = tmp_path / "w/export/gamma.zip"  # what export_contributor saved (same bytes as the stored export)
    with zipfile.ZipFile(export) as archive:
        trips = archive.read("trips.txt")
    assert metadata["file"].value == "trips.txt" and metadata["size_bytes"].value == len(trips)
    assert metadata["sha256"].value == hashlib.sha256(trips).hexdigest()
    assert store.read_bytes(store.key_from_uri(metadata["uri"].value)) == trips
    assert trips.decode().splitlines()[0] in metadata["preview"].value

    fixture = shared_data / "gtfs/preprocesses/headsign_short_name/headsign_short_name.zip"
    result, metadata = get(subject="gamma", source="gtfs")
    assert result.success and metadata["sha256"].value == hashlib.sha256(fixture.read_bytes()).hexdigest()
    assert metadata["size_bytes"].value == fixture.stat().st_size and "preview" not in metadata

    result, _ = get(subject="gamma", file_name="nope.txt")
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert not result.success and "FeedError: gamma.zip: has no file 'nope.txt'" in failure.event_specific_data.error.message
