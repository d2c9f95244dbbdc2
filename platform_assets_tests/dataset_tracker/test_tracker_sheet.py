"""The tracker sheet as curators use it (issues 16 and 17): warning and duplicate rows highlighted,
"Since" as a date with the days in the current state, curator columns (Owner, Priority, Notes)
kept across rewrites on both backends, IDF/SDRF paths relative to the sources config, landscape
fit-to-width printing on the local workbook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from platform_assets.core.database import dispose_engine, get_engine, upgrade_database
from platform_assets.dataset_tracker.config import load_sources_config
from platform_assets.dataset_tracker.report import EXTERNAL_TAB, TRACKED_HEADER, TRACKED_TAB
from platform_assets.dataset_tracker.service import crawl_and_record, sheet_tabs
from platform_assets.dataset_tracker.sheets import (
    DUPLICATE_FILL,
    WARNING_FILL,
    GoogleSheets,
    LocalWorkbookSheets,
)
from platform_assets_tests.dataset_tracker.fake_sheets import FakeSheetsServer, service_account_file

FIRST_CRAWL = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    upgrade_database(url)
    yield get_engine(url)
    dispose_engine(url)


def _tabs(dataset_tree: Any, engine: Engine, now: datetime) -> dict[str, Any]:
    outcome = crawl_and_record(load_sources_config(dataset_tree.config), engine, now=now)
    return sheet_tabs(outcome.inventory, engine)


def _rows(path: Path, title: str) -> dict[str, dict[str, Any]]:
    sheet = load_workbook(path)[title]
    rows = list(sheet.iter_rows(values_only=True))
    return {row[0]: dict(zip(rows[0], row, strict=False)) for row in rows[1:]}


def test_local_workbook_highlights_dates_and_keeps_curator_columns(dataset_tree: Any, engine: Engine,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "tracker.xlsx"
    sheets = LocalWorkbookSheets(workbook_path=str(path))
    sheets.replace_tabs(_tabs(dataset_tree, engine, FIRST_CRAWL))

    workbook = load_workbook(path)
    tracked = workbook[TRACKED_TAB]
    header = [cell.value for cell in tracked[1]]
    assert header == list(TRACKED_HEADER) and header[-3:] == ["Owner", "Priority", "Notes"]
    by_accession = {row[0].value: row for row in tracked.iter_rows(min_row=2)}
    # Expected colours from the tree itself: E-MTAB-2/3/6 have warnings, E-MTAB-4/5 are duplicates only.
    def fill(accession: str) -> str | None:
        colour = by_accession[accession][0].fill.fgColor.rgb
        return colour[-6:] if by_accession[accession][0].fill.fill_type == "solid" else None

    assert {a: fill(a) for a in by_accession} == {
        "E-MTAB-1": None, "E-MTAB-2": WARNING_FILL, "E-MTAB-3": WARNING_FILL, "E-MTAB-4": DUPLICATE_FILL,
        "E-MTAB-5": DUPLICATE_FILL, "E-MTAB-6": WARNING_FILL, "E-MTAB-7": None,
    }
    since = by_accession["E-MTAB-1"][header.index("Since")]
    assert since.value == FIRST_CRAWL.replace(tzinfo=None) and since.number_format == "yyyy-mm-dd hh:mm"
    assert by_accession["E-MTAB-1"][header.index("Days in state")].value == 0
    # Paths relative to the sources config's folder.
    assert by_accession["E-MTAB-1"][header.index("IDF")].value == "loading/E-MTAB-1/E-MTAB-1.idf.txt"
    assert tracked.page_setup.orientation == "landscape"
    assert tracked.sheet_properties.pageSetUpPr.fitToPage and tracked.page_setup.fitToWidth == 1
    assert tracked.page_setup.fitToHeight == 0

    # Curators type in their columns...
    for accession, owner, priority, notes in (("E-MTAB-1", "ana", 1, "check SDRF"), ("E-MTAB-5", "bo", 2, "")):
        row = by_accession[accession]
        row[header.index("Owner")].value = owner
        row[header.index("Priority")].value = priority
        row[header.index("Notes")].value = notes or None
    workbook["Discovered external"]["J2"].value = "ping GEO"  # Owner column of E-GEOD-5001
    workbook.save(path)
    # ...the tree changes (E-MTAB-5 goes away, E-MTAB-1 moves on) and the sheet is rewritten 10 days later.
    for name in ("E-MTAB-5.idf.txt",):
        (dataset_tree.root / "processed/E-MTAB-5" / name).unlink()
    (dataset_tree.root / "processed/E-MTAB-5").rmdir()
    dataset_tree.move("E-MTAB-1", "loading", "analysing")
    later = FIRST_CRAWL + timedelta(days=10)
    sheets.replace_tabs(_tabs(dataset_tree, engine, later))
    sheets.replace_tabs(_tabs(dataset_tree, engine, later + timedelta(days=3)))  # idempotent re-run

    rows = _rows(path, TRACKED_TAB)
    one = rows["E-MTAB-1"]
    assert (one["State"], one["Previous state"], one["Owner"], one["Priority"], one["Notes"]) == (
        "analysing", "loading", "ana", 1, "check SDRF")
    assert one["Since"] == later.replace(tzinfo=None) and one["Days in state"] == 3
    assert rows["E-MTAB-2"]["Days in state"] == 13 and rows["E-MTAB-2"]["Owner"] is None
    # A dataset that is gone stays visible as removed, with what its curator wrote.
    assert (rows["E-MTAB-5"]["State"], rows["E-MTAB-5"]["Owner"], rows["E-MTAB-5"]["Priority"]) == ("removed", "bo", 2)
    assert _rows(path, EXTERNAL_TAB)["E-GEOD-5001"]["Owner"] == "ping GEO"
    header_now, rows_now = sheets.read_tab(TRACKED_TAB) or ([], [])
    assert header_now == list(TRACKED_HEADER) and len(rows_now) == len(rows)
    assert sheets.read_tab("No such tab") is None


@pytest.fixture
def google(tmp_path: Path) -> Iterator[tuple[FakeSheetsServer, GoogleSheets]]:
    server = FakeSheetsServer()
    account = service_account_file(tmp_path / "sa.json", server.token_uri)
    info = json.loads(account.read_text())
    info["token_uri"] = server.token_uri
    account.write_text(json.dumps(info))
    with server.running():
        yield server, GoogleSheets(credentials_file=str(account), spreadsheet_key=server.spreadsheet_id,
                                   api_base_url=server.base_url, backoff_seconds=0.01)


def test_google_sheets_highlights_dates_and_keeps_curator_columns(dataset_tree: Any, engine: Engine,
                                                                   google: tuple[FakeSheetsServer, GoogleSheets]) -> None:
    server, sheets = google
    sheets.replace_tabs(_tabs(dataset_tree, engine, FIRST_CRAWL))
    (batch,) = server.batch_updates()
    cells = next(r["updateCells"] for r in batch["requests"] if "updateCells" in r)
    header = [cell["userEnteredValue"]["stringValue"] for cell in cells["rows"][0]["values"]]
    rows = {row["values"][0]["userEnteredValue"]["stringValue"]: row["values"] for row in cells["rows"][1:]}
    warning = rows["E-MTAB-6"][0]["userEnteredFormat"]["backgroundColor"]
    assert warning == {"red": 0xF4 / 255, "green": 0xCC / 255, "blue": 0xCC / 255}
    assert "userEnteredFormat" not in rows["E-MTAB-1"][0]
    since = rows["E-MTAB-1"][header.index("Since")]
    expected_serial = (FIRST_CRAWL.replace(tzinfo=None) - datetime(1899, 12, 30)).total_seconds() / 86400
    assert since["userEnteredValue"] == {"numberValue": expected_serial}
    assert since["userEnteredFormat"]["numberFormat"]["type"] == "DATE_TIME"

    # A curator fills Owner and Notes of E-MTAB-4 in the spreadsheet.
    tab = server.sheet(TRACKED_TAB)
    row_index = 1 + sorted(rows).index("E-MTAB-4")
    tab.cells[(row_index, header.index("Owner"))] = {"userEnteredValue": {"stringValue": "carla"}}
    tab.cells[(row_index, header.index("Notes"))] = {"userEnteredValue": {"stringValue": "same as E-MTAB-5?"}}
    sheets.replace_tabs(_tabs(dataset_tree, engine, FIRST_CRAWL + timedelta(days=1)))
    values = server.sheet(TRACKED_TAB).values()
    kept = {row[0]: dict(zip(values[0], row, strict=False)) for row in values[1:]}
    assert (kept["E-MTAB-4"]["Owner"], kept["E-MTAB-4"]["Notes"]) == ("carla", "same as E-MTAB-5?")
    assert kept["E-MTAB-1"].get("Owner", "") == ""
    assert kept["E-MTAB-4"]["Days in state"] == 1
    header_now, rows_now = sheets.read_tab(TRACKED_TAB) or ([], [])
    assert header_now == list(TRACKED_HEADER) and [row[0] for row in rows_now] == sorted(kept)
