"""Tracking's demo on the embedded default, and the uri-only metadata convention."""

from pathlib import Path

from dagster import Definitions, MetadataValue, instance_for_test

from platform_assets.core.tags import PROCESS_TYPE_TAG
from platform_assets.definitions import all_resources
from platform_assets.tracking.api import tracker_for
from platform_assets.tracking.defs import tracking_definitions
from platform_assets.tracking.demo import run_demo
from platform_assets.tracking.runs import file_events


def test_demo_reports_and_registers_its_runs(platform_env: Path) -> None:
    defs = Definitions.merge(tracking_definitions(with_resources=False), Definitions(resources=all_resources()))
    with instance_for_test() as instance:
        first = run_demo(instance, defs)
        second = run_demo(instance, defs)
    assert first[0] == "tracking: 2 processes, 2 runs, 0 on hold, 1 extracts registered"
    assert "tracking:   process_status_report_job: completed (run #2)" in second
    report = platform_env / "objects" / "reports" / "process_status.md"
    assert report.read_text().startswith("# Process status")
    tracker = tracker_for(None)
    extract = tracker.find_extract("process_status.md", report.parent.absolute().as_uri() + "/")
    assert extract is not None and extract.status == "ready" and extract.size == report.stat().st_size


def test_main_file_without_platform_files_counts_as_written() -> None:
    metadata = {"uri": MetadataValue.url("s3://b/reports/x.json"), "size": 3, "sha256": "f" * 64}
    assert file_events(metadata) == [
        {"uri": "s3://b/reports/x.json", "size": 3, "sha256": "f" * 64, "action": "written"}
    ]
    assert file_events({"rows": 3}) == []


def test_demo_records_the_process_type_and_sources_the_daemon_does(platform_env: Path) -> None:
    from dagster import AssetKey, MaterializeResult, asset, define_asset_job

    @asset
    def stop_feed() -> None:
        """An upstream never materialized here: the export's source."""

    @asset(deps=[stop_feed], tags={PROCESS_TYPE_TAG: "export"}, kinds={"zip"})
    def coverage_bundle() -> MaterializeResult:
        return MaterializeResult(metadata={"dagster/row_count": 3})

    bundle_job = define_asset_job("coverage_bundle_job", selection=[coverage_bundle])
    defs = Definitions.merge(
        tracking_definitions(with_resources=False),
        Definitions(assets=[stop_feed, coverage_bundle], jobs=[bundle_job], resources=all_resources()),
    )
    with instance_for_test() as instance:
        assert defs.resolve_job_def("coverage_bundle_job").execute_in_process(instance=instance).success
        run_demo(instance, defs)
    process = tracker_for(None).get_process("coverage_bundle_job")
    # What the run status sensors record under the daemon, from the code location's graph.
    assert (process.type, process.tool) == ("export", "dagster")
    assert [source.name for source in process.sources] == [AssetKey("stop_feed").to_user_string()]
    assert [(target.name, target.kind) for target in process.targets] == [("coverage_bundle", "zip")]
