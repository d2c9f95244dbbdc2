"""Tracking's demo on the embedded default, and the uri-only metadata convention."""

from pathlib import Path

from dagster import Definitions, MetadataValue, instance_for_test

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
