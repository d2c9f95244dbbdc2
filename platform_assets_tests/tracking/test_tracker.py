"""The tracking service without Dagster: processes, runs, the on-hold rule, extracts, errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from platform_assets.core import holds
from platform_assets.core.database import get_engine
from platform_assets.tracking.models import Base
from platform_assets.tracking.tracker import ExtractStatusError, ProcessTracker, TrackingError, split_uri


def test_migrations_create_the_tables(database_url: str) -> None:
    tables = set(inspect(get_engine(database_url)).get_table_names())
    assert {"process", "system", "process_source", "process_target", "process_run", "extract",
            "extract_status_history", "extract_reader", "error", "process_hold"} <= tables


def test_models_match_the_migrations(database_url: str) -> None:
    def tracking_owns(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
        # Other systems' tables (and their indexes) are in the database but not in tracking's metadata.
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name in Base.metadata.tables

    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": tracking_owns})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_register_process_links_systems_both_ways(tracker: ProcessTracker) -> None:
    tracker.register_process("load_trips", type="load", tool="python", actor="etl",
                             sources=["trips_csv"], targets=["warehouse"], system_kinds={"warehouse": "postgres"})
    tracker.register_process("publish_trips", type="publish", sources=["warehouse"], targets=["portal"])
    load, publish = tracker.get_process("load_trips"), tracker.get_process("publish_trips")
    assert [s.name for s in load.sources] == ["trips_csv"]
    assert [s.name for s in load.targets] == ["warehouse"]
    assert load.targets[0].kind == "postgres"
    # One system row, target of one process and source of another.
    assert publish.sources[0].id == load.targets[0].id
    assert load.max_concurrent_failures == 5 and load.actor == "etl"
    with pytest.raises(TrackingError, match="type 'dance'"):
        tracker.register_process("x", type="dance")


def test_runs_are_numbered_per_process_and_completed(tracker: ProcessTracker) -> None:
    tracker.register_process("a")
    tracker.register_process("b")
    first = tracker.start_run("a", actor="alice")
    tracker.start_run("b")
    second = tracker.start_run("a")
    assert (first.run_number, second.run_number) == (1, 2)
    tracker.complete_run(first.id, records_read=10, records_written=7)
    done = tracker.get_run(first.id)
    assert done.status == "completed" and done.records_written == 7 and done.ended_at is not None
    assert done.actor == "alice"
    assert tracker.get_process("a").last_completed_at is not None
    assert [run.run_number for run in tracker.runs("a")] == [2, 1]


def test_failures_put_on_hold_refuse_runs_and_release_resumes(tracker: ProcessTracker) -> None:
    tracker.register_process("flaky", max_concurrent_failures=3)
    for number in range(3):
        run = tracker.start_run("flaky")
        hold = tracker.fail_run(run.id, "data", f"ValueError: bad row {number}", exception="ValueError")
        assert (hold is None) == (number < 2)
    hold = holds.hold_of(tracker.engine, "flaky")
    assert hold is not None and "the last 3 runs failed" in hold.reason and "bad row 2" in hold.reason
    with pytest.raises(holds.ProcessOnHoldError, match="release it with"):
        tracker.start_run("flaky")
    refused = tracker.runs("flaky")[0]
    assert refused.status == "on hold" and refused.run_number == 4
    # The refused run keeps why (not fatal), as a run refused under Dagster does.
    refusal, *errors = tracker.errors("flaky")
    assert (refusal.exception, refusal.fatal, refusal.run.run_number) == ("ProcessOnHoldError", False, 4)
    assert len(errors) == 3 and all(error.fatal and error.type == "data" for error in errors)

    tracker.release("flaky", by="operator-ann")
    assert holds.hold_of(tracker.engine, "flaky") is None
    events = tracker.hold_events("flaky")
    assert [(e.action, e.by) for e in events] == [("held", "tracking"), ("released", "operator-ann")]
    # After the release the count starts again: one more failure does not hold it.
    run = tracker.start_run("flaky")
    assert tracker.fail_run(run.id, message="boom") is None
    assert tracker.start_run("flaky").status == "running"
    with pytest.raises(TrackingError, match="not on hold"):
        tracker.release("flaky", by="x")


def test_a_completed_run_resets_the_failure_count(tracker: ProcessTracker) -> None:
    tracker.register_process("p", max_concurrent_failures=2)
    tracker.fail_run(tracker.start_run("p").id)
    tracker.complete_run(tracker.start_run("p").id)
    assert tracker.fail_run(tracker.start_run("p").id) is None
    assert tracker.fail_run(tracker.start_run("p").id) is not None


def test_extract_lifecycle_with_history_writer_and_readers(tracker: ProcessTracker) -> None:
    tracker.register_process("writer")
    tracker.register_process("reader")
    writer = tracker.start_run("writer")
    reader = tracker.start_run("reader")
    where = "s3://bucket/exports/"
    tracker.register_extract("a.zip", where, run_id=writer.id, status="initialized")
    tracker.register_extract("a.zip", where, run_id=writer.id, size=12, checksum="ab" * 32)
    tracker.register_extract("b.zip", where, run_id=writer.id)
    assert [e.filename for e in tracker.ready_extracts(where)] == ["a.zip", "b.zip"]
    tracker.set_extract_status("a.zip", where, "loading", run_id=reader.id)
    tracker.set_extract_status("a.zip", where, "loaded", run_id=reader.id)
    tracker.set_extract_status("a.zip", where, "archived")
    tracker.set_extract_status("a.zip", where, "deleted")
    extract = tracker.find_extract("a.zip", where)
    assert extract is not None
    assert [change.status for change in extract.history] == [
        "initialized", "ready", "loading", "loaded", "archived", "deleted"]
    assert extract.written_by_run_id == writer.id and [run.id for run in extract.read_by] == [reader.id]
    assert extract.size == 12 and extract.uri == "s3://bucket/exports/a.zip"
    with pytest.raises(ExtractStatusError, match="is deleted: it cannot become loaded"):
        tracker.set_extract_status("a.zip", where, "loaded")
    with pytest.raises(ExtractStatusError, match="not one of"):
        tracker.set_extract_status("b.zip", where, "eaten")
    assert [e.filename for e in tracker.ready_extracts(where)] == ["b.zip"]
    assert [e.filename for e in tracker.extracts(status="deleted")] == ["a.zip"]
    assert tracker.find_extract("a.zip", "s3://elsewhere/") is None


def test_file_events_from_metadata(tracker: ProcessTracker) -> None:
    tracker.register_process("p")
    run = tracker.start_run("p")
    problems = tracker.record_file_events(run.id, [
        {"uri": "file:///data/objects/out/x.csv", "size": 3, "sha256": "c" * 64, "action": "written"},
        {"uri": "https://example.org/feeds/gtfs.zip", "action": "read"},
        {"uri": "file:///data/objects/out/old.csv", "action": "deleted"},
        {"uri": "file:///data/objects/out/x.csv", "action": "archived"},
        {"uri": "file:///data/objects/out/y.csv", "action": "renamed"},
    ])
    assert problems == ["file:///data/objects/out/y.csv: unknown file action 'renamed'"]
    assert tracker.find_extract("x.csv", "file:///data/objects/out/").status == "archived"
    assert tracker.find_extract("gtfs.zip", "https://example.org/feeds/").status == "loaded"
    assert tracker.find_extract("old.csv", "file:///data/objects/out/").status == "deleted"
    assert split_uri("s3://b/k/f.zip") == ("f.zip", "s3://b/k/")


def test_concurrent_runs_get_distinct_numbers(tracker: ProcessTracker) -> None:
    tracker.register_process("busy")

    def start_three(_: int) -> list[int]:
        return [tracker.start_run("busy").run_number for _ in range(3)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = [number for batch in pool.map(start_three, range(4)) for number in batch]
    assert sorted(numbers) == list(range(1, 13))


def test_a_failing_partition_is_held_alone_and_the_others_go_on(tracker: ProcessTracker) -> None:
    """Issue 16, holds 2: a contributor with a dead URL fails N times in a row: that contributor's
    partition is held, the healthy contributor keeps running, the process itself is not held."""
    tracker.register_process("transit_contributor_export", max_concurrent_failures=3)
    for number in range(3):
        healthy = tracker.start_run("transit_contributor_export", partition="beta")
        tracker.complete_run(healthy.id)
        dead = tracker.start_run("transit_contributor_export", partition="alpha")
        hold = tracker.fail_run(dead.id, "system", f"FetchError: alpha: connection refused ({number})")
        assert (hold is None) == (number < 2)
    alpha = holds.hold_of(tracker.engine, "transit_contributor_export", "alpha")
    assert alpha is not None and alpha.partition_key == "alpha" and "the last 3 runs of alpha failed" in alpha.reason
    assert holds.hold_of(tracker.engine, "transit_contributor_export") is None
    assert holds.hold_of(tracker.engine, "transit_contributor_export", "beta") is None
    # The healthy partition still starts; the held one is refused.
    assert tracker.start_run("transit_contributor_export", partition="beta").status == "running"
    with pytest.raises(holds.ProcessOnHoldError, match=r"\[alpha\]"):
        tracker.start_run("transit_contributor_export", partition="alpha")
    tracker.release("transit_contributor_export", by="ops", partition="alpha")
    assert holds.hold_of(tracker.engine, "transit_contributor_export", "alpha") is None
    with pytest.raises(TrackingError, match=r"\[alpha\] is not on hold"):
        tracker.release("transit_contributor_export", by="ops", partition="alpha")
