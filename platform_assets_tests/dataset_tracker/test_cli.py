"""`platform-assets tracker ...` through the root group (one-line errors, exit 2)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from platform_assets.cli import platform_cli
from platform_assets.dataset_tracker.report import TRACKED_TAB


def test_crawl_sheet_and_history(dataset_tree, platform_env: Path) -> None:
    runner = CliRunner()
    config = str(dataset_tree.config)
    checked = runner.invoke(platform_cli, ["tracker", "check-config", "--config", config])
    assert checked.exit_code == 0, checked.output
    assert checked.output.splitlines()[1].startswith("submissions\tincoming\t")

    dry = runner.invoke(platform_cli, ["tracker", "crawl", "--no-record", "--config", config])
    assert dry.exit_code == 0, dry.output
    assert "state changes" not in dry.output

    crawled = runner.invoke(platform_cli, ["tracker", "crawl", "--config", config])
    assert crawled.exit_code == 0, crawled.output
    lines = crawled.output.splitlines()
    assert lines[0] == (
        "9 accessions: external 2, incoming 2, loading 1, analysing 1, processed 1, published_dev 0, published 2"
    )
    assert "duplicate E-MTAB-3: in 2 incoming sources: imports, submissions" in lines
    assert any(line.startswith("warning E-MTAB-6: ") and "binary content" in line for line in lines)
    assert lines[-1] == "9 state changes recorded"

    dataset_tree.move("E-MTAB-2", "incoming/submissions", "processed")
    sheet = runner.invoke(platform_cli, ["tracker", "sheet", "--config", config])
    assert sheet.exit_code == 0, sheet.output
    workbook = platform_env / "tracker.xlsx"
    assert sheet.output.strip() == (
        f"tracker sheet: {workbook.as_uri()} (Tracked datasets: 7 rows, Discovered external: 2 rows)"
    )
    rows = {row[0]: row for row in load_workbook(workbook)[TRACKED_TAB].iter_rows(values_only=True)}
    state, since, days, previous = rows["E-MTAB-2"][1:5]
    assert (state, previous, days) == ("processed", "incoming", 0)
    assert isinstance(since, datetime)  # a date cell, not text

    history = runner.invoke(platform_cli, ["tracker", "history", "E-MTAB-2"])
    assert history.exit_code == 0, history.output
    assert [line.split("\t")[1] for line in history.output.splitlines()] == ["- -> incoming", "incoming -> processed"]


def test_errors_are_one_line(dataset_tree, platform_env: Path) -> None:
    runner = CliRunner()
    dataset_tree.config.write_text("sources:\n  - {name: a, stage: loading}\n")
    result = runner.invoke(platform_cli, ["tracker", "crawl", "--config", str(dataset_tree.config)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {dataset_tree.config}: sources[0] (a): give exactly one of folder, listing, url (got none)"
    )
    unknown = runner.invoke(platform_cli, ["tracker", "history", "E-MTAB-404"])
    assert unknown.exit_code == 2
    assert unknown.output.strip() == "error: E-MTAB-404: no state recorded (run `platform-assets tracker crawl`)"
