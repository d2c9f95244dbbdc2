"""A local Google Sheets v4 endpoint on loopback, for gspread's real HTTP code.

It answers the calls gspread makes (shapes as recorded in `../shared/data/gsheets/*.json`):
the service-account token exchange (`POST /token`), `GET /v4/spreadsheets/{id}`,
`POST /v4/spreadsheets/{id}:batchUpdate` (addSheet, updateSheetProperties, updateCells,
updateDimensionProperties, deleteSheet) and `GET /v4/spreadsheets/{id}/values/{range}`.
It keeps the spreadsheet's state, records every request, and can be told to fail the next calls.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from platform_assets_tests.servers import free_port

TOKEN = "fake-access-token"


@dataclass
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeSheet:
    sheet_id: int
    title: str
    index: int
    row_count: int = 1000
    column_count: int = 26
    frozen_row_count: int = 0
    hidden: bool = False
    cells: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    column_pixels: dict[int, int] = field(default_factory=dict)

    def properties(self) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": self.row_count, "columnCount": self.column_count}
        if self.frozen_row_count:
            grid["frozenRowCount"] = self.frozen_row_count
        properties = {"sheetId": self.sheet_id, "title": self.title, "index": self.index,
                      "sheetType": "GRID", "gridProperties": grid}
        if self.hidden:
            properties["hidden"] = True
        return properties

    def values(self) -> list[list[Any]]:
        """Cell values as the API's `values.get` returns them (trailing empties trimmed)."""
        rows: list[list[Any]] = []
        for row in range(self.row_count):
            values = []
            for column in range(self.column_count):
                cell = self.cells.get((row, column), {})
                value = cell.get("userEnteredValue", {})
                values.append(next(iter(value.values()), ""))
            while values and values[-1] == "":
                values.pop()
            rows.append(values)
        while rows and not rows[-1]:
            rows.pop()
        return rows


class FakeSheetsServer:
    """The fake endpoint; `base_url` goes in `Sheets.api_base_url`, `token_uri` in the service-account file."""

    def __init__(self, spreadsheet_id: str = "tracker-sheet-1", title: str = "Dataset tracker") -> None:
        self.spreadsheet_id = spreadsheet_id
        self.title = title
        self.sheets: list[FakeSheet] = [FakeSheet(0, "Sheet1", 0)]
        self.requests: list[ReceivedRequest] = []
        self.failures: list[list[Any]] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token_uri = f"{self.base_url}/token"
        self.refuse_tokens = False
        self._lock = threading.Lock()

    # -- what tests use --------------------------------------------------------------------------
    def fail_next(self, status: int, message: str = "injected failure", api_status: str = "",
                  path_suffix: str = "", skip: int = 0) -> None:
        """Answer a coming Sheets call (not the token exchange) whose path ends with `path_suffix` with
        this error, after letting `skip` such calls through."""
        self.failures.append([status, {"error": {"code": status, "message": message,
                                                 "status": api_status or "UNAVAILABLE"}}, path_suffix, skip])

    def sheet(self, title: str) -> FakeSheet:
        return next(sheet for sheet in self.sheets if sheet.title == title)

    def batch_updates(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.requests if r.method == "POST" and r.path.endswith(":batchUpdate")]

    def calls(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    # -- the API ---------------------------------------------------------------------------------
    def _spreadsheet(self) -> dict[str, Any]:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {"title": self.title, "locale": "en_US", "timeZone": "Etc/GMT"},
            "sheets": [{"properties": sheet.properties()} for sheet in sorted(self.sheets, key=lambda s: s.index)],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit",
        }

    def _by_id(self, sheet_id: int) -> FakeSheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise ApiError(400, f"No grid with id: {sheet_id}", "INVALID_ARGUMENT")

    def _apply(self, request: dict[str, Any]) -> dict[str, Any]:
        kind, body = next(iter(request.items()))
        if kind == "addSheet":
            properties = body["properties"]
            if any(sheet.title == properties["title"] for sheet in self.sheets):
                raise ApiError(400, f"A sheet with the name \"{properties['title']}\" already exists.",
                               "INVALID_ARGUMENT")
            grid = properties.get("gridProperties", {})
            sheet = FakeSheet(
                properties.get("sheetId", max(s.sheet_id for s in self.sheets) + 1),
                properties["title"], len(self.sheets), grid.get("rowCount", 1000),
                grid.get("columnCount", 26), grid.get("frozenRowCount", 0), properties.get("hidden", False),
            )
            self.sheets.append(sheet)
            return {"addSheet": {"properties": sheet.properties()}}
        if kind == "updateSheetProperties":
            sheet = self._by_id(body["properties"]["sheetId"])
            grid = body["properties"].get("gridProperties", {})
            fields = body["fields"]
            if "rowCount" in fields:
                sheet.row_count = grid["rowCount"]
            if "columnCount" in fields:
                sheet.column_count = grid["columnCount"]
            if "frozenRowCount" in fields:
                sheet.frozen_row_count = grid.get("frozenRowCount", 0)
            if sheet.frozen_row_count >= sheet.row_count:
                raise ApiError(400, "You can't freeze all visible rows on the sheet.", "INVALID_ARGUMENT")
            sheet.cells = {k: v for k, v in sheet.cells.items() if k[0] < sheet.row_count and k[1] < sheet.column_count}
            return {}
        if kind == "updateCells":
            grid_range = body["range"]
            sheet = self._by_id(grid_range["sheetId"])
            if grid_range["endRowIndex"] > sheet.row_count or grid_range["endColumnIndex"] > sheet.column_count:
                raise ApiError(400, "Range exceeds grid limits.", "INVALID_ARGUMENT")
            for row in range(grid_range["startRowIndex"], grid_range["endRowIndex"]):
                for column in range(grid_range["startColumnIndex"], grid_range["endColumnIndex"]):
                    sheet.cells.pop((row, column), None)
            for r, row in enumerate(body.get("rows", [])):
                for c, cell in enumerate(row.get("values", [])):
                    sheet.cells[(grid_range["startRowIndex"] + r, grid_range["startColumnIndex"] + c)] = cell
            return {}
        if kind == "updateDimensionProperties":
            dimension = body["range"]
            sheet = self._by_id(dimension["sheetId"])
            for index in range(dimension["startIndex"], dimension["endIndex"]):
                sheet.column_pixels[index] = body["properties"]["pixelSize"]
            return {}
        if kind == "copyPaste":
            source, destination = body["source"], body["destination"]
            origin, target = self._by_id(source["sheetId"]), self._by_id(destination["sheetId"])
            if destination["endRowIndex"] > target.row_count or destination["endColumnIndex"] > target.column_count:
                raise ApiError(400, "Range exceeds grid limits.", "INVALID_ARGUMENT")
            copied = {
                (row - source["startRowIndex"] + destination["startRowIndex"],
                 column - source["startColumnIndex"] + destination["startColumnIndex"]): dict(cell)
                for (row, column), cell in origin.cells.items()
                if source["startRowIndex"] <= row < source["endRowIndex"]
                and source["startColumnIndex"] <= column < source["endColumnIndex"]
            }
            for row in range(destination["startRowIndex"], destination["endRowIndex"]):
                for column in range(destination["startColumnIndex"], destination["endColumnIndex"]):
                    target.cells.pop((row, column), None)
            target.cells.update(copied)
            return {}
        if kind == "deleteSheet":
            self.sheets.remove(self._by_id(body["sheetId"]))
            return {}
        raise ApiError(400, f"unsupported request {kind}", "INVALID_ARGUMENT")

    def handle(self, request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            if request.path == "/token":
                form = parse_qs(request.body.decode())
                if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
                    return 400, {"error": "unsupported_grant_type"}
                if self.refuse_tokens or len(form.get("assertion", [""])[0].split(".")) != 3:
                    return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                return 200, {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                       "status": "UNAUTHENTICATED"}}
            if self.failures and request.path.endswith(self.failures[0][2]):
                if self.failures[0][3] > 0:
                    self.failures[0][3] -= 1
                else:
                    status, payload, _suffix, _skip = self.failures.pop(0)
                    return status, payload
            match = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(:batchUpdate|/values/(.+))?", request.path)
            if match is None:
                return 404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}}
            if unquote(match.group(1)) != self.spreadsheet_id:
                return 404, {"error": {"code": 404, "message": "Requested entity was not found.",
                                       "status": "NOT_FOUND"}}
            try:
                if match.group(2) is None and request.method == "GET":
                    return 200, self._spreadsheet()
                if match.group(2) == ":batchUpdate" and request.method == "POST":
                    snapshot = [(s.sheet_id, s.title, s.index, s.row_count, s.column_count, s.frozen_row_count,
                                 s.hidden, dict(s.cells), dict(s.column_pixels)) for s in self.sheets]
                    try:
                        replies = [self._apply(item) for item in request.json()["requests"]]
                    except ApiError:
                        # A batch is atomic: nothing of it stays when one request fails.
                        self.sheets = [FakeSheet(*state) for state in snapshot]
                        raise
                    return 200, {"spreadsheetId": self.spreadsheet_id, "replies": replies}
                if match.group(3) is not None and request.method == "GET":
                    title = unquote(match.group(3)).split("!")[0].strip("'")
                    sheet = self.sheet(title)
                    return 200, {"range": f"'{title}'!A1", "majorDimension": "ROWS", "values": sheet.values()}
            except ApiError as error:
                return error.status, {"error": {"code": error.status, "message": str(error),
                                                "status": error.api_status}}
            return 405, {"error": {"code": 405, "message": "Method not allowed", "status": "INVALID_ARGUMENT"}}

    @contextmanager
    def running(self) -> Iterator[FakeSheetsServer]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = ReceivedRequest(self.command, parts.path, parse_qs(parts.query),
                                          {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                status, payload = outer.handle(request)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _dispatch

            def log_message(self, *_args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


class ApiError(Exception):
    def __init__(self, status: int, message: str, api_status: str) -> None:
        super().__init__(message)
        self.status = status
        self.api_status = api_status


def service_account_file(path: Any, token_uri: str) -> Any:
    """A service-account JSON with a freshly generated RSA key whose token exchange goes to `token_uri`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(json.dumps({
        "type": "service_account",
        "project_id": "platform-tests",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": "tracker@platform-tests.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }))
    return path
