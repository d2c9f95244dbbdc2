"""`track_process` outside Dagster: the run is recorded, completed or failed on exit."""

from __future__ import annotations

import pytest

from platform_assets.core import holds
from platform_assets.core.errors import SettingsError
from platform_assets.tracking.api import track_process, tracker_for
from platform_assets.tracking.tracker import ProcessTracker


def test_context_manager_records_a_completed_run(tracker: ProcessTracker, database_url: str) -> None:
    tracker.register_process("crm_extract")
    with track_process("crm_extract", database_url, type="extract", sources=["crm"]) as source_run:
        source_run.register_extract("customers.csv", "s3://lake/crm/", size=10, checksum="a" * 64)
    with track_process("lake_load", database_url, type="load", tool="bash", actor="cron",
                       sources=["crm"], targets=["warehouse"]) as run:
        for extract in run.ready_extracts("s3://lake/crm/"):
            run.read_extract(extract.filename, extract.location)
        run.error("3 rows had no email", type="data")
        run.records_read, run.records_written = 100, 97
    recorded = tracker.runs("lake_load")[0]
    assert recorded.status == "completed" and recorded.records_written == 97 and recorded.actor == "cron"
    assert tracker.get_process("lake_load").tool == "bash"
    extract = tracker.find_extract("customers.csv", "s3://lake/crm/")
    assert extract is not None and extract.status == "loaded"
    assert [r.id for r in extract.read_by] == [recorded.id]
    assert extract.written_by_run_id == tracker.runs("crm_extract")[0].id
    [error] = tracker.errors("lake_load")
    assert (error.type, error.fatal, error.message) == ("data", False, "3 rows had no email")


def test_an_exception_fails_the_run_with_its_error_and_is_reraised(tracker: ProcessTracker,
                                                                   database_url: str) -> None:
    with pytest.raises(FileNotFoundError), track_process("fragile", database_url, max_concurrent_failures=2) as run:
        run.register_extract("part.csv", "file:///tmp/out/", status="initialized")
        raise FileNotFoundError("input.csv is missing")
    failed = tracker.runs("fragile")[0]
    assert failed.status == "failed" and failed.ended_at is not None
    [error] = tracker.errors("fragile")
    assert (error.type, error.fatal, error.exception) == ("file", True, "FileNotFoundError")
    assert error.message == "FileNotFoundError: input.csv is missing"

    # A fatal error recorded by the tool also fails the run; the second failure puts it on hold.
    with track_process("fragile", database_url) as run:
        run.error("the warehouse refused the load", type="system", fatal=True)
    assert tracker.runs("fragile")[0].status == "failed"
    assert holds.hold_of(tracker.engine, "fragile") is not None
    with pytest.raises(holds.ProcessOnHoldError), track_process("fragile", database_url):
        pytest.fail("a held process must not run")
    assert tracker.runs("fragile")[0].status == "on hold"


def test_default_max_failures_comes_from_the_setting(database_url: str, platform_env: object,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_MAX_CONCURRENT_FAILURES", "2")
    tracker = tracker_for(database_url)
    assert tracker.register_process("two_strikes").max_concurrent_failures == 2
    monkeypatch.setenv("PLATFORM_MAX_CONCURRENT_FAILURES", "none")
    with pytest.raises(SettingsError, match="PLATFORM_MAX_CONCURRENT_FAILURES: 'none' is not a whole number"):
        tracker_for(database_url)
