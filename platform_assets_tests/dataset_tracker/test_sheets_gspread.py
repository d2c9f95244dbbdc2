"""The gspread backend against a local Sheets v4 endpoint: real HTTP, real gspread and google-auth code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_assets.core.errors import SheetsError
from platform_assets.dataset_tracker.sheets import GoogleSheets
from platform_assets_tests.dataset_tracker.fake_sheets import FakeSheetsServer, service_account_file

HEADER = ["Accession", "State", "Title"]
ROWS = [["E-MTAB-1", "loading", "Mouse liver"], ["E-MTAB-2", "incoming", "=1+1"], ["E-MTAB-3", "published", 12]]


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The token URI is rewritten per test; the RSA key is generated once.
    return service_account_file(tmp_path_factory.mktemp("sa") / "service-account.json", "http://127.0.0.1:1/token")


@pytest.fixture
def sheets_server(credentials: Path, tmp_path: Path) -> Iterator[tuple[FakeSheetsServer, GoogleSheets]]:
    server = FakeSheetsServer()
    info = json.loads(credentials.read_text())
    info["token_uri"] = server.token_uri
    account = tmp_path / "service-account.json"
    account.write_text(json.dumps(info))
    with server.running():
        yield server, GoogleSheets(credentials_file=str(account), spreadsheet_key=server.spreadsheet_id,
            api_base_url=server.base_url, backoff_seconds=0.01,
        )


def test_one_batch_update_with_header_freeze_and_widths(sheets_server) -> None:
    server, sheets = sheets_server
    url = sheets.replace_tabs({"Tracked": (HEADER, ROWS), "External": (["Accession"], [])})
    assert url == f"https://docs.google.com/spreadsheets/d/{server.spreadsheet_id}"
    assert server.calls() == [
        "POST /token",
        f"GET /v4/spreadsheets/{server.spreadsheet_id}",
        f"GET /v4/spreadsheets/{server.spreadsheet_id}",
        f"POST /v4/spreadsheets/{server.spreadsheet_id}:batchUpdate",
    ]
    assert server.requests[1].headers["authorization"] == "Bearer fake-access-token"
    (batch,) = server.batch_updates()
    kinds = [next(iter(request)) for request in batch["requests"]]
    assert kinds.count("addSheet") == 2 and kinds.count("updateCells") == 2
    assert kinds.count("updateDimensionProperties") == 4
    add = batch["requests"][0]["addSheet"]["properties"]
    assert add["title"] == "Tracked"
    assert add["gridProperties"] == {"rowCount": 4, "columnCount": 3, "frozenRowCount": 1}
    cells = batch["requests"][1]["updateCells"]
    assert cells["range"] == {"sheetId": add["sheetId"], "startRowIndex": 0, "endRowIndex": 4,
                              "startColumnIndex": 0, "endColumnIndex": 3}
    header = cells["rows"][0]["values"]
    assert [cell["userEnteredValue"] for cell in header] == [{"stringValue": name} for name in HEADER]
    assert all(cell["userEnteredFormat"]["textFormat"]["bold"] for cell in header)
    # Strings stay strings (no formula injection); numbers are numbers.
    assert cells["rows"][2]["values"][2] == {"userEnteredValue": {"stringValue": "=1+1"}}
    assert cells["rows"][3]["values"][2] == {"userEnteredValue": {"numberValue": 12}}

    tracked = server.sheet("Tracked")
    assert tracked.frozen_row_count == 1
    assert tracked.values() == [HEADER, *ROWS]
    assert tracked.column_pixels[2] > tracked.column_pixels[1] >= 60
    assert server.sheet("External").values() == [["Accession"]]


def test_rerun_replaces_never_appends(sheets_server) -> None:
    server, sheets = sheets_server
    sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    sheets.replace_tabs({"Tracked": (HEADER, ROWS[:1])})
    sheets.replace_tabs({"Tracked": (HEADER, ROWS[:1])})
    assert [s.title for s in server.sheets] == ["Sheet1", "Tracked"]
    assert server.sheet("Tracked").values() == [HEADER, ROWS[0]]
    second = server.batch_updates()[1]["requests"][0]
    assert second["updateSheetProperties"]["properties"]["gridProperties"] == {
        "rowCount": 2, "columnCount": 3, "frozenRowCount": 1,
    }
    # gspread itself reads back what was written.
    spreadsheet = sheets.gspread_client().open_by_key(server.spreadsheet_id)
    assert spreadsheet.worksheet("Tracked").get_all_values() == [HEADER, ROWS[0]]


def test_429_then_200_is_retried(sheets_server) -> None:
    server, sheets = sheets_server
    server.fail_next(429, "Quota exceeded for quota metric 'Write requests'", "RESOURCE_EXHAUSTED")
    server.fail_next(503, "The service is currently unavailable.", "UNAVAILABLE")
    sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    metadata_gets = [c for c in server.calls() if c == f"GET /v4/spreadsheets/{server.spreadsheet_id}"]
    assert len(metadata_gets) == 4  # the first GET answered 429, then 503, then twice 200
    assert server.sheet("Tracked").values() == [HEADER, *ROWS]


def test_retries_are_bounded(sheets_server) -> None:
    server, sheets = sheets_server
    for _ in range(5):
        server.fail_next(500, "Internal error encountered.", "INTERNAL")
    with pytest.raises(SheetsError) as caught:
        sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    assert str(caught.value) == (
        f"Google Sheets spreadsheet '{server.spreadsheet_id}': HTTP 500 INTERNAL: Internal error encountered."
    )
    assert len([c for c in server.calls() if c.startswith("GET")]) == 5


def test_403_fails_clearly_without_retry(sheets_server) -> None:
    server, sheets = sheets_server
    server.fail_next(403, "The caller does not have permission", "PERMISSION_DENIED")
    with pytest.raises(SheetsError) as caught:
        sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    assert str(caught.value) == (
        f"Google Sheets spreadsheet '{server.spreadsheet_id}': permission denied (HTTP 403 PERMISSION_DENIED:"
        " The caller does not have permission); share it with tracker@platform-tests.iam.gserviceaccount.com"
    )
    assert len([c for c in server.calls() if c.startswith("GET")]) == 1
    assert server.batch_updates() == []


def test_rejected_batch_leaves_the_last_good_sheet(sheets_server) -> None:
    server, sheets = sheets_server
    sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    server.fail_next(400, "Invalid requests[2].updateCells: Range exceeds grid limits.", "INVALID_ARGUMENT",
                     path_suffix=":batchUpdate")
    with pytest.raises(SheetsError) as caught:
        sheets.replace_tabs({"Tracked": (HEADER, ROWS[:1])})
    assert str(caught.value).endswith("HTTP 400 INVALID_ARGUMENT: Invalid requests[2].updateCells: Range exceeds grid limits.")
    assert len(server.batch_updates()) == 2  # not retried: a 400 will not get better
    assert server.sheet("Tracked").values() == [HEADER, *ROWS]


def test_unknown_spreadsheet_and_bad_credentials(sheets_server, tmp_path: Path) -> None:
    server, sheets = sheets_server
    missing = sheets.model_copy(update={"spreadsheet_key": "no-such-sheet"})
    with pytest.raises(SheetsError, match="'no-such-sheet': not found .*shared with tracker@"):
        missing.replace_tabs({"Tracked": (HEADER, ROWS)})
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "service_account"}')
    with pytest.raises(SheetsError, match=r"PLATFORM_GSHEETS_CREDENTIALS=.*broken.json: not a usable service-account"):
        sheets.model_copy(update={"credentials_file": str(broken)}).replace_tabs({"T": (HEADER, [])})


def test_refused_token_names_the_credentials(sheets_server) -> None:
    server, sheets = sheets_server
    server.refuse_tokens = True
    with pytest.raises(SheetsError) as caught:
        sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    message = str(caught.value)
    assert message.startswith(f"PLATFORM_GSHEETS_CREDENTIALS={sheets.credentials_file}: no access token")
    assert "invalid_grant" in message and "\n" not in message
    assert server.batch_updates() == []


def test_unreachable_api_is_retried_then_fails_clearly(sheets_server) -> None:
    from platform_assets_tests.servers import free_port

    server, sheets = sheets_server
    nowhere = sheets.model_copy(update={"api_base_url": f"http://127.0.0.1:{free_port()}", "max_attempts": 3})
    with pytest.raises(SheetsError) as caught:
        nowhere.replace_tabs({"Tracked": (HEADER, ROWS)})
    assert str(caught.value) == (
        f"Google Sheets spreadsheet '{server.spreadsheet_id}': cannot reach the Sheets API: [Errno 111] Connection refused"
    )
    assert server.calls() == ["POST /token"]  # the token came from the running server; the API was down


def test_big_write_is_staged_then_swapped_in_one_batch(sheets_server) -> None:
    server, sheets = sheets_server
    sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    tracked_id = server.sheet("Tracked").sheet_id
    big = [[f"E-MTAB-{n}", "loading", f"Experiment number {n}"] for n in range(60)]
    small = sheets.model_copy(update={"max_request_bytes": 1500})
    small.replace_tabs({"Tracked": (HEADER, big)})
    bodies = server.batch_updates()[1:]
    assert len(bodies) > 3
    assert all(len(json.dumps(body)) < 3000 for body in bodies[1:-1])
    add = bodies[0]["requests"][0]["addSheet"]["properties"]
    assert add["title"] == "Tracked (staging)" and add["hidden"] is True
    final = [next(iter(request)) for request in bodies[-1]["requests"]]
    assert final[:2] == ["updateSheetProperties", "copyPaste"] and final[-1] == "deleteSheet"
    tracked = server.sheet("Tracked")
    assert tracked.sheet_id == tracked_id  # links to the tab keep working
    assert tracked.values() == [HEADER, *big]
    assert tracked.frozen_row_count == 1
    assert [s.title for s in server.sheets] == ["Sheet1", "Tracked"]


def test_staged_write_failing_half_way_keeps_the_visible_tab(sheets_server) -> None:
    server, sheets = sheets_server
    sheets.replace_tabs({"Tracked": (HEADER, ROWS)})
    big = [[f"E-MTAB-{n}", "loading", f"Experiment number {n}"] for n in range(60)]
    small = sheets.model_copy(update={"max_request_bytes": 1500})
    server.fail_next(400, "Invalid requests[0].updateCells: boom", "INVALID_ARGUMENT",
                     path_suffix=":batchUpdate", skip=2)
    with pytest.raises(SheetsError, match="HTTP 400 INVALID_ARGUMENT"):
        small.replace_tabs({"Tracked": (HEADER, big)})
    assert server.sheet("Tracked").values() == [HEADER, *ROWS]
    assert server.sheet("Tracked (staging)").hidden
    small.replace_tabs({"Tracked": (HEADER, big)})  # the next run clears the stale staging tab
    assert server.sheet("Tracked").values() == [HEADER, *big]
    assert [s.title for s in server.sheets] == ["Sheet1", "Tracked"]


def _recorded(shared_data: Path, cassette: str) -> list[dict]:
    return json.loads((shared_data / "gsheets" / cassette).read_text())["interactions"]


def test_fake_endpoint_answers_in_the_recorded_shapes(shared_data: Path) -> None:
    """The local endpoint is only worth testing against if it answers like Google did."""
    import requests

    recorded = _recorded(shared_data, "gspread_WorksheetTest.test_batch_update.json")
    metadata = next(
        json.loads(i["response"]["body"]["string"]) for i in recorded
        if i["request"]["method"] == "GET" and "includeGridData" in i["request"]["uri"]
    )
    missing = next(
        json.loads(i["response"]["body"]["string"])
        for i in _recorded(shared_data, "gspread_ClientTest.test_access_non_existing_spreadsheet.json")
        if i["response"]["status"]["code"] == 404
    )
    server = FakeSheetsServer()
    with server.running():
        auth = {"Authorization": "Bearer fake-access-token"}
        ours = requests.get(f"{server.base_url}/v4/spreadsheets/{server.spreadsheet_id}",
                            params={"includeGridData": "false"}, headers=auth, timeout=5).json()
        not_found = requests.get(f"{server.base_url}/v4/spreadsheets/test", headers=auth, timeout=5)
    assert set(ours) == set(metadata)
    assert ours["sheets"][0]["properties"] == metadata["sheets"][0]["properties"]
    assert not_found.status_code == 404 and not_found.json() == missing
