"""GTFS quality checks: real good and broken feeds, hand-made breakages with hand-counted
outcomes, time-based checks against a previous export, and the asset checks through Dagster."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from platform_assets.lib.gtfs.reader import Table, read_feed, read_gtfs_frames, write_feed
from platform_assets.lib.quality.result import Outcome
from platform_assets.quality.gtfs.registry import FeedReport, check_feed, family_of
from platform_assets_tests.transit.conftest import TransitWorld
from platform_assets_tests.transit.conftest import transit_world as transit_world  # noqa: F401 (fixture)

CORE = ("schema", "reference", "coherence")


def failing_core(report: FeedReport) -> list[str]:
    return [name for name in report.failing() if family_of(name) in CORE]


def edited(source: Path, target: Path, edit: Callable[[dict[str, Table]], None]) -> Path:
    """A copy of a real feed with some rows changed (written as the platform writes exports)."""
    feed = read_feed(source)
    edit(feed.tables)
    return write_feed(feed, target)


def set_cell(table: Table, key_column: str, key: str, column: str, value: str) -> None:
    index, target = table.column(key_column), table.column(column)
    rows = [row for row in table.rows if row[index] == key]
    assert rows, f"{table.name}: no row with {key_column}={key}"
    rows[0][target] = value


@pytest.mark.parametrize(
    "feed",
    [
        "google-sample-feed-1.zip",
        "sample_gtfs.zip",
        "broken/transitfeed-good_feed.zip",
        "partridge-caltrain-2017-07-24.zip",
        "partridge-israel-public-transportation-route-2126.zip",
    ],
)
def test_good_feeds_raise_no_reference_or_time_errors(shared_data: Path, feed: str) -> None:
    names = check_feed(shared_data / "gtfs" / feed).by_name()
    for code in ("foreign_key_violation", "invalid_time", "stop_time_with_arrival_before_previous_departure_time", "csv_parsing_failed"):
        assert names[code].failed == 0, (code, names[code].examples)
    assert names["foreign_key_violation"].passed > 0 and names["invalid_time"].passed > 0


def test_the_largest_feed_passes_and_hours_past_24_are_valid(shared_data: Path) -> None:
    names = check_feed(shared_data / "gtfs" / "nyc_subway_gtfs.zip").by_name()
    times = names["invalid_time"]
    assert times.passed == 2 * 86_150 and times.failed == 0  # both times of every stop time, some after 24:00:00
    assert names["unusable_trip"].passed == 1990  # one outcome per trip


def test_time_based_checks_against_the_previous_export(shared_data: Path, tmp_path: Path) -> None:
    history = shared_data / "gtfs" / "history"
    shrinking = check_feed(history / "gtfs-2.zip", history / "gtfs-1.zip").by_name()["time_based.validity.not_shrinking"]
    assert not shrinking.ok
    good = shared_data / "gtfs" / "broken" / "transitfeed-good_feed.zip"

    def drop_stop(tables: dict[str, Table]) -> None:
        stops = tables["stops.txt"]
        stops.rows = [row for row in stops.rows if row[0] != "AMV"]

    names = check_feed(edited(good, tmp_path / "fewer.zip", drop_stop), good).by_name()
    stops = names["time_based.stops.stop_id.persistence"]
    assert (stops.passed, stops.failed) == (9, 1) and not stops.ok  # 90% < 95%


# -- through Dagster -------------------------------------------------------------------------------
def run_checks(world: TransitWorld, partition: str):  # type: ignore[no-untyped-def]
    """The contributor checks job for one partition, as the automation launches it (a partition
    tag: Dagster 1.13 infers no partitions for a job of checks only, so `partition_key=` fails)."""
    from platform_assets.quality.jobs import CHECKS_JOB

    return world.defs.resolve_job_def(CHECKS_JOB).execute_in_process(
        instance=world.instance, tags={"dagster/partition": partition}, raise_on_error=False
    )


def requested(automation, key) -> set[str]:  # type: ignore[no-untyped-def]
    """The partitions an automation tick requests for `key` (an asset check too: Dagster's tester
    counts assets only)."""
    result = next(r for r in automation.results if r.key == key)
    return set(result.true_subset.get_internal_value().get_partition_keys())


@pytest.fixture
def checked_world(transit_world: TransitWorld) -> TransitWorld:
    """Transit's definitions plus quality's GTFS checks and reports on them (merged by key, as the
    code location merges the systems)."""
    from dagster import Definitions

    from platform_assets.quality import gtfs_checks
    from platform_assets.quality.defs import quality_resources

    quality = quality_resources(resolve=True)
    from platform_assets.quality.jobs import contributor_export_checks_job

    transit_world.defs = Definitions.merge(transit_world.defs, Definitions(
        assets=[gtfs_checks.contributor_export_report, gtfs_checks.coverage_export_report],
        asset_checks=gtfs_checks.build_all_gtfs_checks(()),
        jobs=[contributor_export_checks_job],
        resources=quality,
    ))
    transit_world.resources = {**transit_world.resources, **quality}
    return transit_world


def test_contributor_export_checks_run_store_and_report(
    checked_world: TransitWorld, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import AssetKey

    from platform_assets.lib.quality.storage import load_check_run
    from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB

    monkeypatch.setenv("PLATFORM_TRANSIT_TODAY", "2008-01-01")
    world = checked_world
    good = shared_data / "gtfs" / "broken" / "transitfeed-good_feed.zip"
    source = tmp_path / "delta.zip"
    source.write_bytes(good.read_bytes())
    world.write_catalog({"contributors": [{"id": "delta", "data_prefix": "D", "data_sources": [
        {"id": "gtfs", "input": {"type": "url", "url": str(source)}}]}], "coverages": []})
    world.sync_partitions()

    from dagster import AssetCheckKey, AssetSelection, evaluate_automation_conditions

    # Only the contributor checks and their report (each evaluated key costs time).
    automated = AssetSelection.checks(AssetCheckKey(AssetKey("contributor_export"), "references")) | AssetSelection.assets(
        "contributor_export_quality_report")
    automation = evaluate_automation_conditions(world.defs, world.instance, automated)  # a first tick: nothing yet
    exported = world.run(CONTRIBUTOR_EXPORT_JOB, "delta")
    # The export run plans no check (none ends SKIPPED when nothing changed); the automation
    # requests the checks of the new export's partition, then the report once they ran.
    assert exported.success and exported.get_asset_check_evaluations() == []
    automation = evaluate_automation_conditions(world.defs, world.instance, automated, cursor=automation.cursor)
    references = AssetCheckKey(AssetKey("contributor_export"), "references")
    assert requested(automation, references) == {"delta"}
    assert automation.get_num_requested(AssetKey("contributor_export_quality_report")) == 0  # no check result yet
    first = run_checks(world, "delta")
    assert first.success
    automation = evaluate_automation_conditions(world.defs, world.instance, automated, cursor=automation.cursor)
    assert automation.get_requested_partitions(AssetKey("contributor_export_quality_report")) == {"delta"}
    assert requested(automation, references) == set()
    evaluations = {e.check_name: e for e in first.get_asset_check_evaluations()}
    assert {e.partition for e in evaluations.values()} == {"delta"}  # each result belongs to its partition
    from platform_assets.quality.gtfs.registry import FAMILIES

    assert sorted(evaluations) == sorted(FAMILIES)
    assert evaluations["references"].passed and evaluations["references"].metadata["passed"].value > 28
    assert "foreign_key_violation" in evaluations["references"].metadata["members"].value
    assert evaluations["time_based"].metadata["not_applicable"].value > 0  # no previous export yet

    # A new version that lost a stop still used by stop times: references fail (blocking, ERROR),
    # stop ids persist below 95% (warning).
    def drop_stop(tables: dict[str, Table]) -> None:
        tables["stops.txt"].rows = [row for row in tables["stops.txt"].rows if row[0] != "AMV"]

    edited(good, source, drop_stop)
    assert world.materialized(world.run(CONTRIBUTOR_EXPORT_JOB, "delta")) == ["contributor_export"]
    second = run_checks(world, "delta")
    assert second.success  # nothing blocks by default
    evaluations = {e.check_name: e for e in second.get_asset_check_evaluations()}
    reference = evaluations["references"]
    assert not reference.passed and reference.severity.value == "ERROR"
    assert reference.metadata["worst_check"].value == "foreign_key_violation"
    assert "AMV" in reference.metadata["examples"].value
    time_based = evaluations["time_based"]
    assert not time_based.passed and time_based.severity.value == "WARN"
    assert time_based.metadata["worst_check"].value == "time_based.stops.stop_id.persistence"
    assert evaluations["fields"].passed and evaluations["coherence"].passed

    stored = load_check_run(world.resources["database"].engine, "contributor_export", "delta")
    assert stored is not None and stored.run_id == second.run_id and stored.items > 70
    failing = sorted(r.name for r in stored.results if not r.ok)
    assert "foreign_key_violation" in failing and "time_based.stops.stop_id.persistence" in failing

    from dagster import materialize

    report_assets = [a for a in world.defs.assets if getattr(a, "key", None) == AssetKey("contributor_export_quality_report")]
    report = materialize(report_assets, instance=world.instance, resources=world.resources, partition_key="delta")
    metadata = report.asset_materializations_for_node("contributor_export_quality_report")[0].metadata
    assert metadata["failing_checks"].value == len(failing)
    assert metadata["uri"].value.endswith("quality/reports/contributor_export/delta/quality_report.xlsx")


def test_blocking_reference_checks_fail_the_run_but_keep_the_export(
    transit_world: TransitWorld, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PLATFORM_QUALITY_BLOCKING_CHECKS=reference.* a broken reference stops the run (and,
    on coverage_export, the publication after it)."""
    from dagster import AssetKey, materialize

    from platform_assets.quality.gtfs_checks import build_gtfs_checks

    monkeypatch.setenv("PLATFORM_TRANSIT_TODAY", "2008-01-01")
    world = transit_world
    source = tmp_path / "epsilon.zip"

    def unknown_route(tables: dict[str, Table]) -> None:
        set_cell(tables["trips.txt"], "trip_id", "AB1", "route_id", "GONE")

    edited(shared_data / "gtfs" / "broken" / "transitfeed-good_feed.zip", source, unknown_route)
    world.write_catalog({"contributors": [{"id": "epsilon", "data_prefix": "E", "data_sources": [
        {"id": "gtfs", "input": {"type": "url", "url": str(source)}}]}], "coverages": []})
    world.sync_partitions()
    checks = build_gtfs_checks("contributor_export", blocking=["reference.*"])
    assert {spec.name for spec in checks.check_specs if spec.blocking} == {"references"}
    export = next(a for a in world.defs.assets if getattr(a, "key", None) == AssetKey("contributor_export"))
    from platform_assets.quality.defs import quality_resources

    result = materialize([export, checks], instance=world.instance,
                         resources={**world.resources, **quality_resources(resolve=True)},
                         partition_key="epsilon", raise_on_error=False)
    assert not result.success
    assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == ["contributor_export"]
    reference = next(e for e in result.get_asset_check_evaluations() if e.check_name == "references")
    assert not reference.passed and reference.severity.value == "ERROR"
    assert "GONE" in reference.metadata["examples"].value


def test_transit_definitions_declare_the_gtfs_checks_and_reports() -> None:
    from platform_assets.definitions import build_definitions

    defs = build_definitions()

    graph = defs.resolve_asset_graph()
    checks = {f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys}
    from platform_assets.quality.gtfs.registry import FAMILIES as families
    assert {f"{asset}:{family}" for asset in ("contributor_export", "coverage_export") for family in families} <= checks
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"contributor_export_quality_report", "coverage_export_quality_report"} <= keys


# -- chunked reading -------------------------------------------------------------------------------
def _comparable(report: FeedReport) -> dict[str, tuple[object, ...]]:
    """Counts and failure examples per check (passing ones are sampled per batch; row-length
    examples depend on the order tables are read in)."""
    return {
        result.name: (result.passed, result.failed, result.not_applicable,
                      None if result.name == "invalid_row_length" else repr(result.examples.get(Outcome.FAILED)))
        for result in report.results
    }


@pytest.mark.parametrize(
    "feed",
    [
        "nyc_subway_gtfs.zip",
        "cairns_gtfs.zip",
        "partridge-region-nord-v2.zip",
        "broken/transitfeed-extra_row_cells.zip",
        "broken/transitfeed-bad_utf8.zip",
        "preprocesses/compute_directions/unsorted_stop_sequences.zip",
    ],
)
def test_chunked_stop_times_give_the_results_of_whole_tables(shared_data: Path, feed: str) -> None:
    whole = check_feed(shared_data / "gtfs" / feed, chunk_rows=None)
    chunked = check_feed(shared_data / "gtfs" / feed, chunk_rows=997)
    assert whole.rows == chunked.rows and whole.rows > 0
    assert _comparable(chunked) == _comparable(whole)


def test_stop_times_are_read_one_bounded_chunk_at_a_time(shared_data: Path) -> None:
    path = shared_data / "gtfs" / "nyc_subway_gtfs.zip"
    with zipfile.ZipFile(path) as archive:
        lines = [line for line in archive.read("stop_times.txt").decode("utf-8-sig").splitlines() if line.strip()]
    feed = read_gtfs_frames(path, chunk_rows=10_000)
    assert "stop_times.txt" not in feed.frames and "stop_times.txt" in feed.streamed
    assert feed.headers["stop_times.txt"] == lines[0].split(",")
    chunks = list(feed.chunks("stop_times.txt"))
    assert [len(chunk.frame) for chunk in chunks[:-1]] == [10_000] * (len(chunks) - 1)
    assert 0 < len(chunks[-1].frame) <= 10_000
    assert [chunk.offset for chunk in chunks] == [10_000 * i for i in range(len(chunks))]
    assert sum(len(chunk.frame) for chunk in chunks) == len(lines) - 1 == feed.streamed_rows["stop_times.txt"]
    last = chunks[-1].frame.iloc[-1]
    assert ",".join("" if value != value else value for value in last) == lines[-1].replace('"', "")


def _with_stop_times(source: Path, target: Path, data: bytes, *, corrupt: bool = False) -> Path:
    """A copy of a real feed whose stop_times.txt member is `data` (its compressed bytes damaged
    when `corrupt`)."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            if info.filename != "stop_times.txt":
                out.writestr(info.filename, archive.read(info))
        out.writestr("stop_times.txt", data)
    if corrupt:
        raw = bytearray(target.read_bytes())
        with zipfile.ZipFile(target) as archive:
            info = archive.getinfo("stop_times.txt")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for position in range(start + 40, start + 60):
            raw[position] ^= 0xFF
        target.write_bytes(bytes(raw))
    return target


def test_streamed_stop_times_decode_like_the_other_files(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "gtfs" / "broken" / "transitfeed-good_feed.zip"
    with zipfile.ZipFile(source) as archive:
        text = archive.read("stop_times.txt").decode("utf-8-sig")
    expected = check_feed(source).by_name()["foreign_key_violation"]
    for encoding, data in (("utf-16", text.encode("utf-16")), ("utf-8-sig", text.encode("utf-8-sig"))):
        report = check_feed(_with_stop_times(source, tmp_path / f"{encoding}.zip", data), chunk_rows=5).by_name()
        assert report["csv_parsing_failed"].failed == 0 and report["invalid_character"].failed == 0, encoding
        assert report["foreign_key_violation"].passed == expected.passed > 0
    # A stop id with a Latin-1 "é" (not UTF-8): an invalid_character error, and the reference fails on "é", visibly.
    latin = text.replace("STAGECOACH", "STAGECOACHé", 1).encode("latin-1")
    report = check_feed(_with_stop_times(source, tmp_path / "latin.zip", latin), chunk_rows=5).by_name()
    assert report["invalid_character"].examples[Outcome.FAILED][0]["item"] == "stop_times.txt"
    failed = report["foreign_key_violation"].examples[Outcome.FAILED]
    assert [example["value"] for example in failed] == ["STAGECOACHé"]


@pytest.mark.parametrize(("case", "message"), [("nul", "stop_times.txt: contains a NUL byte")])
def test_a_damaged_stop_times_is_reported_not_raised(shared_data: Path, tmp_path: Path, case: str, message: str) -> None:
    source = shared_data / "gtfs" / "broken" / "transitfeed-good_feed.zip"
    with zipfile.ZipFile(source) as archive:
        data = archive.read("stop_times.txt")
    data = data[:100] + b"\x00" + data[100:]
    report = check_feed(_with_stop_times(source, tmp_path / f"{case}.zip", data))
    readable = report.by_name()["csv_parsing_failed"]
    assert readable.failed == 1
    (example,) = readable.examples[Outcome.FAILED]
    assert example["item"] == "stop_times.txt" and message in example["error"]
    # The rest of the feed is still checked.
    assert report.by_name()["missing_required_field"].passed > 0


def _imported_modules(package: Path) -> set[str]:
    import ast

    found: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_quality_and_transit_never_import_each_other() -> None:
    """The GTFS checks live in quality and name transit's assets by key (issue 12)."""
    root = Path(__file__).parents[2] / "platform_assets"
    quality, transit, lib = (_imported_modules(root / name) for name in ("quality", "transit", "lib"))
    assert not [name for name in quality if name.startswith("platform_assets.transit")]
    assert not [name for name in transit if name.startswith("platform_assets.quality")]
    assert not [name for name in lib if name.split(".")[1:2] in (["transit"], ["quality"])]
    assert not (root / "transit" / "gtfs_quality.py").exists() and not (root / "transit" / "checks.py").exists()
