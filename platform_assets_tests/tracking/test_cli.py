"""`platform-assets process ...` against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from platform_assets.cli import platform_cli
from platform_assets.core import holds
from platform_assets.tracking.api import track_process
from platform_assets.tracking.tracker import ProcessTracker


@pytest.fixture
def cli(platform_env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PLATFORM_DATABASE_URL", database_url)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(platform_cli, ["process", *args], catch_exceptions=False)

    return invoke


def test_process_commands(cli, tracker: ProcessTracker, database_url: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("list").output == "no process registered yet\n"
    with track_process("feeds_load", database_url, type="load", max_concurrent_failures=2) as run:
        run.register_extract("stops.txt", "s3://feeds/idfm/", size=120)
        run.records_written = 7
    for _ in range(2):
        with pytest.raises(KeyError), track_process("feeds_load", database_url):
            raise KeyError("stop_id")

    listing = cli("list")
    assert listing.exit_code == 0
    header, row = listing.output.splitlines()
    assert header.split()[:4] == ["process", "type", "tool", "state"]
    assert row.startswith("feeds_load") and "on hold" in row and "2/2" in row and "the last 2 runs failed" in row

    runs = cli("runs", "feeds_load").output.splitlines()
    assert [line.split()[:2] for line in runs[1:]] == [["#3", "failed"], ["#2", "failed"], ["#1", "completed"]]

    errors = cli("errors", "feeds_load").output.splitlines()
    assert len(errors) == 3 and "KeyError: 'stop_id'" in errors[1] and " data " in errors[1]

    extracts = cli("extracts", "--location", "s3://feeds/idfm/", "--status", "ready").output.splitlines()
    assert extracts[1].split()[:3] == ["stops.txt", "ready", "120"]
    assert cli("extracts", "--status", "deleted").output == "no extract matches\n"
    assert cli("extracts", "--status", "eaten").exit_code == 2

    released = cli("release", "feeds_load", "--by", "ops-ann")
    assert released.output == "process feeds_load released by ops-ann\n"
    assert holds.hold_of(tracker.engine, "feeds_load") is None
    assert [(e.action, e.by) for e in tracker.hold_events("feeds_load")][-1] == ("released", "ops-ann")

    held = cli("hold", "feeds_load", "--reason", "supplier maintenance")
    assert held.exit_code == 0 and "on hold (supplier maintenance)" in held.output
    hold = holds.hold_of(tracker.engine, "feeds_load")
    assert hold is not None and hold.held_by  # the OS user by default


def test_errors_are_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("runs", "nowhere")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: no process named 'nowhere' (see `platform-assets process list`)"
    )
    assert cli("release", "nowhere").output.strip() == "error: process 'nowhere' is not on hold"
