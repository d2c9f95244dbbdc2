"""The Google Sheets backend through gspread (PLATFORM_SHEETS_BACKEND=gspread).

ONE `spreadsheets.batchUpdate` per write (add missing tabs, resize the grid to the data, write
every cell with its format, freeze the header, set column widths). Google applies a batch
atomically, so a failed write leaves the previous sheet as it was. A write bigger than
`max_request_bytes` (Google refuses requests near 10 MB) is staged: hidden staging tabs are
filled in chunks, then one final batch copies them over the visible tabs (keeping their ids and
links) and deletes them; a failure before that batch leaves the visible tabs as they were, and
the next run removes the stale staging tabs first. Values are sent as typed cells (strings stay
strings: a title starting with `=` is never run as a formula; datetimes are date cells).
Curator columns are read (`values.get`) from the tabs before the write and put back.
429, 408 and 5xx answers and dropped connections are retried with exponential backoff, a
bounded number of times; any other error is a one-line `SheetsError`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from platform_assets.core.errors import SheetsError
from platform_assets.dataset_tracker.sheets.base import (
    SheetTab,
    TabLike,
    Tabs,
    TrackerSheets,
    as_tab,
    column_widths,
    keep_curator_columns,
    one_line,
    text_of,
)

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
# Hosts gspread talks to (urls.py); `api_base_url` sends them elsewhere.
GOOGLE_API_ORIGINS = ("https://sheets.googleapis.com/", "https://www.googleapis.com/")
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 32.0
# Google Sheets refuses cells over 50,000 characters.
SHEETS_CELL_LIMIT = 50_000
# Sheets counts dates in days since 1899-12-30 (as spreadsheets do).
SHEETS_EPOCH = datetime(1899, 12, 30)
_one_line = one_line


def _serial(value: date) -> float:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return (moment.replace(tzinfo=None) - SHEETS_EPOCH).total_seconds() / 86400


def _cell_value(value: Any) -> dict[str, Any]:
    """A Sheets `ExtendedValue`: numbers, booleans and dates typed, everything else a plain string."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    if isinstance(value, date):
        return {"numberValue": _serial(value)}
    return {"stringValue": text_of(value)[:SHEETS_CELL_LIMIT]}


def _rgb(hex_colour: str) -> dict[str, float]:
    return {name: int(hex_colour[index:index + 2], 16) / 255 for name, index in (("red", 0), ("green", 2), ("blue", 4))}


def _cell(value: Any, fill: str | None) -> dict[str, Any]:
    cell: dict[str, Any] = {} if value in (None, "") else {"userEnteredValue": _cell_value(value)}
    formats: dict[str, Any] = {}
    if isinstance(value, date):
        pattern = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "yyyy-mm-dd"
        formats["numberFormat"] = {"type": "DATE_TIME" if isinstance(value, datetime) else "DATE", "pattern": pattern}
    if fill:
        formats["backgroundColor"] = _rgb(fill)
    if formats:
        cell["userEnteredFormat"] = formats
    return cell


STAGING_SUFFIX = " (staging)"
GRID_FIELDS = "gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount"


CELL_FIELDS = (
    "userEnteredValue,userEnteredFormat.textFormat.bold,userEnteredFormat.backgroundColor,"
    "userEnteredFormat.numberFormat"
)


class _TabPlan:
    """One tab to write: its cells as Sheets `RowData`, grid size and column widths."""

    def __init__(self, title: str, given: TabLike) -> None:
        tab = as_tab(given)
        header, rows = tab.header, tab.rows
        self.title = title
        self.column_count = max(len(header), *(len(row) for row in rows), 1) if rows else max(len(header), 1)
        # The header must stay frozen above at least one more row.
        self.row_count = max(len(rows) + 1, 2)
        header_cells = [
            {"userEnteredValue": _cell_value(name), "userEnteredFormat": {"textFormat": {"bold": True}}}
            for name in header
        ]
        # An empty cell is sent as {}: with `fields` naming userEnteredValue it is cleared.
        self.row_data = [{"values": header_cells}] + [
            {"values": [_cell(value, tab.row_fills.get(index)) for value in row]}
            for index, row in enumerate(rows)
        ]
        self.widths = column_widths(header, rows)

    @property
    def grid(self) -> dict[str, int]:
        return {"rowCount": self.row_count, "columnCount": self.column_count, "frozenRowCount": 1}

    def grid_request(self, sheet_id: int, exists: bool, title: str | None = None,
                     hidden: bool = False) -> dict[str, Any]:
        if not exists:
            properties: dict[str, Any] = {"sheetId": sheet_id, "title": title or self.title, "gridProperties": self.grid}
            if hidden:
                properties["hidden"] = True
            return {"addSheet": {"properties": properties}}
        return {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "gridProperties": self.grid},
                                          "fields": GRID_FIELDS}}

    def cells_request(self, sheet_id: int, start: int, stop: int) -> dict[str, Any]:
        """Write rows [start, stop) (0 = header); the last chunk's range runs to the grid's end,
        so cells the data does not cover are cleared and old rows never linger."""
        end = self.row_count if stop >= len(self.row_data) else stop
        return {"updateCells": {
            "range": {"sheetId": sheet_id, "startRowIndex": start, "endRowIndex": end,
                      "startColumnIndex": 0, "endColumnIndex": self.column_count},
            "rows": self.row_data[start:stop],
            "fields": CELL_FIELDS,
        }}

    def width_requests(self, sheet_id: int) -> list[dict[str, Any]]:
        return [
            {"updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": index, "endIndex": index + 1},
                "properties": {"pixelSize": width * 7 + 10},
                "fields": "pixelSize",
            }}
            for index, width in enumerate(self.widths)
        ]

    def full_range(self, sheet_id: int) -> dict[str, int]:
        return {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": self.row_count,
                "startColumnIndex": 0, "endColumnIndex": self.column_count}


def _plans(tabs: Tabs) -> list[_TabPlan]:
    return [_TabPlan(title, tab) for title, tab in tabs.items()]


def batch_update_body(tabs: Tabs, existing: Mapping[str, int]) -> dict[str, Any]:
    """The one `spreadsheets.batchUpdate` body replacing `tabs`; `existing` maps tab title -> sheetId."""
    requests: list[dict[str, Any]] = []
    next_id = max([*existing.values(), 0]) + 1
    for plan in _plans(tabs):
        sheet_id = existing.get(plan.title)
        if sheet_id is None:
            sheet_id, next_id = next_id, next_id + 1
        requests.append(plan.grid_request(sheet_id, plan.title in existing))
        requests.append(plan.cells_request(sheet_id, 0, len(plan.row_data)))
        requests.extend(plan.width_requests(sheet_id))
    return {"requests": requests}


def staged_batch_update_bodies(tabs: Tabs, existing: Mapping[str, int], max_bytes: int) -> list[dict[str, Any]]:
    """For tabs too big for one request: fill hidden staging tabs in chunks of at most ~`max_bytes`,
    then ONE final batch resizes each tab, copies its staging tab over it and deletes the staging
    tab. Until that last batch the visible tabs are untouched; their sheet ids (links) are kept."""
    plans = _plans(tabs)
    next_id = max([*existing.values(), 0]) + 1
    first: list[dict[str, Any]] = []
    staging: dict[str, int] = {}
    for plan in plans:
        leftover = existing.get(plan.title + STAGING_SUFFIX)  # from a run that failed half-way
        if leftover is not None:
            first.append({"deleteSheet": {"sheetId": leftover}})
        staging[plan.title], next_id = next_id, next_id + 1
        first.append(plan.grid_request(staging[plan.title], False, plan.title + STAGING_SUFFIX, hidden=True))
    bodies = [{"requests": first}]

    chunk: list[dict[str, Any]] = []
    size = 0
    for plan in plans:
        start = 0
        while start < len(plan.row_data):
            stop, rows_size = start, 0
            while stop < len(plan.row_data):
                row_size = len(json.dumps(plan.row_data[stop])) + 1
                if stop > start and size + rows_size + row_size > max_bytes:
                    break
                rows_size += row_size
                stop += 1
            chunk.append(plan.cells_request(staging[plan.title], start, stop))
            size += rows_size + 200
            start = stop
            if size >= max_bytes or start < len(plan.row_data):
                bodies.append({"requests": chunk})
                chunk, size = [], 0
    if chunk:
        bodies.append({"requests": chunk})

    final: list[dict[str, Any]] = []
    for plan in plans:
        sheet_id = existing.get(plan.title)
        if sheet_id is None:
            sheet_id, next_id = next_id, next_id + 1
        final.append(plan.grid_request(sheet_id, plan.title in existing))
        final.append({"copyPaste": {
            "source": plan.full_range(staging[plan.title]),
            "destination": plan.full_range(sheet_id),
            "pasteType": "PASTE_NORMAL",
            "pasteOrientation": "NORMAL",
        }})
        final.extend(plan.width_requests(sheet_id))
        final.append({"deleteSheet": {"sheetId": staging[plan.title]}})
    bodies.append({"requests": final})
    return bodies


@functools.cache
def _retrying_http_client_class() -> type:
    """gspread's HTTPClient with bounded retries and an optional base URL (imported lazily: gspread is heavy)."""
    import requests
    from gspread.http_client import HTTPClient
    from requests.adapters import HTTPAdapter

    class RebaseAdapter(HTTPAdapter):
        """Sends requests for Google's API hosts to `base_url`, keeping path and query."""

        def __init__(self, base_url: str) -> None:
            super().__init__()
            self.base_url = base_url.rstrip("/")

        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            parts = urlsplit(request.url or "")
            request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
            return super().send(request, **kwargs)

    class RetryingHTTPClient(HTTPClient):
        def __init__(self, auth: Any, session: Any = None, *, api_base_url: str = "", attempts: int = 5,
                     backoff_seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
            super().__init__(auth, session)
            self.attempts = max(attempts, 1)
            self.backoff_seconds = backoff_seconds
            self.sleep = sleep
            self.retries = 0
            if api_base_url:
                adapter = RebaseAdapter(api_base_url)
                for origin in GOOGLE_API_ORIGINS:
                    self.session.mount(origin, adapter)

        def _wait(self, attempt: int, response: requests.Response | None) -> float:
            retry_after = response.headers.get("Retry-After") if response is not None else None
            if retry_after and retry_after.isdigit():
                return min(float(retry_after), MAX_BACKOFF_SECONDS)
            return min(self.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
            from gspread.exceptions import APIError

            for attempt in range(1, self.attempts + 1):
                try:
                    return super().request(method, endpoint, *args, **kwargs)
                except APIError as error:
                    if error.response.status_code not in RETRYABLE_STATUS or attempt == self.attempts:
                        raise
                    wait = self._wait(attempt, error.response)
                except requests.ReadTimeout:
                    # The server may have applied a batch it did not answer: only reads are repeated.
                    if method.lower() != "get" or attempt == self.attempts:
                        raise
                    wait = self._wait(attempt, None)
                except requests.ConnectionError:
                    if attempt == self.attempts:
                        raise
                    wait = self._wait(attempt, None)
                self.retries += 1
                self.sleep(wait)
            raise AssertionError("unreachable")

    return RetryingHTTPClient


class GoogleSheets(TrackerSheets):
    """Writes the tracker sheet to a Google spreadsheet through gspread (service account)."""

    credentials_file: str = Field(default="", description="Service-account JSON (PLATFORM_GSHEETS_CREDENTIALS).")
    spreadsheet_key: str = Field(default="", description="Spreadsheet key (PLATFORM_GSHEETS_SPREADSHEET).")
    api_base_url: str = Field(
        default="",
        description="Base URL of a Sheets-compatible endpoint, e.g. a proxy or a test server: requests for "
        "sheets.googleapis.com and www.googleapis.com go there (PLATFORM_GSHEETS_API_URL). Empty: Google.",
    )
    max_attempts: int = Field(default=5, description="Tries per request on 429/408/5xx or a dropped connection.")
    backoff_seconds: float = Field(default=1.0, description="First wait between tries; doubles, at most 32 s.")
    timeout_seconds: float = Field(default=60.0, description="Timeout of each HTTP request.")
    max_request_bytes: int = Field(
        default=8_000_000,
        description="Largest batch request sent (Google refuses ~10 MB): bigger writes are staged in hidden "
        "tabs and swapped in by one final batch.",
    )

    @property
    def backend(self) -> str:
        return "gspread"

    def replace_tabs(self, tabs: Tabs) -> str:
        """Replace each tab with a header row and rows; return where the sheet lives."""
        return self._write_gspread(tabs)

    def read_tab(self, title: str) -> tuple[list[Any], list[list[Any]]] | None:
        spreadsheet = self._open(self.gspread_client())
        return self._read_values(spreadsheet, title)

    @staticmethod
    def _read_values(spreadsheet: Any, title: str) -> tuple[list[Any], list[list[Any]]] | None:
        quoted = "'" + title.replace("'", "''") + "'"
        values = spreadsheet.values_get(quoted).get("values", [])
        return (values[0] if values else []), [list(row) for row in values[1:]]

    def _open(self, client: Any) -> Any:
        if not self.spreadsheet_key:
            raise SheetsError("PLATFORM_GSHEETS_SPREADSHEET: required when PLATFORM_SHEETS_BACKEND=gspread")
        return client.open_by_key(self.spreadsheet_key)

    # -- Google Sheets ---------------------------------------------------------------------------
    def gspread_client(self, sleep: Callable[[float], None] = time.sleep) -> Any:
        """An authorised gspread Client using this resource's credentials, base URL and retries."""
        import gspread
        from google.oauth2.service_account import Credentials

        if not self.credentials_file:
            raise SheetsError("PLATFORM_GSHEETS_CREDENTIALS: required when PLATFORM_SHEETS_BACKEND=gspread")
        try:
            credentials = Credentials.from_service_account_file(self.credentials_file, scopes=list(SCOPES))
        except (OSError, ValueError, KeyError) as error:
            raise SheetsError(
                f"PLATFORM_GSHEETS_CREDENTIALS={self.credentials_file}: not a usable service-account file:"
                f" {_one_line(error)}"
            ) from None
        http_client = functools.partial(
            _retrying_http_client_class(),
            api_base_url=self.api_base_url,
            attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
            sleep=sleep,
        )
        client = gspread.Client(auth=credentials, http_client=http_client)  # type: ignore[arg-type]
        client.set_timeout(self.timeout_seconds)
        return client

    def _write_gspread(self, tabs: Tabs, sleep: Callable[[float], None] = time.sleep) -> str:
        import requests
        from google.auth.exceptions import GoogleAuthError, TransportError
        from gspread.exceptions import APIError, SpreadsheetNotFound

        if not self.spreadsheet_key:
            raise SheetsError("PLATFORM_GSHEETS_SPREADSHEET: required when PLATFORM_SHEETS_BACKEND=gspread")
        client = self.gspread_client(sleep)
        where = f"Google Sheets spreadsheet {self.spreadsheet_key!r}"
        try:
            spreadsheet = self._open(client)
            sheets = spreadsheet.fetch_sheet_metadata().get("sheets", [])
            existing = {sheet["properties"]["title"]: sheet["properties"]["sheetId"] for sheet in sheets}
            merged: dict[str, SheetTab] = {}
            for title, given in tabs.items():
                tab = as_tab(given)
                if tab.kept_columns and title in existing:
                    current = self._read_values(spreadsheet, title)
                    if current is not None:
                        tab = keep_curator_columns(tab, *current)
                merged[title] = tab
            tabs = merged
            body = batch_update_body(tabs, existing)
            if len(json.dumps(body)) <= self.max_request_bytes:
                spreadsheet.batch_update(body)
            else:
                for staged in staged_batch_update_bodies(tabs, existing, self.max_request_bytes):
                    spreadsheet.batch_update(staged)
        except SpreadsheetNotFound:
            raise SheetsError(
                f"{where}: not found (check PLATFORM_GSHEETS_SPREADSHEET and that it is shared with"
                f" {client.http_client.auth.service_account_email})"
            ) from None
        except PermissionError as error:  # gspread's translation of a 403 on open
            cause = error.__cause__
            detail = _api_error_line(cause) if isinstance(cause, APIError) else "HTTP 403"
            raise SheetsError(
                f"{where}: permission denied ({detail}); share it with"
                f" {client.http_client.auth.service_account_email}"
            ) from None
        except APIError as error:
            raise SheetsError(f"{where}: {_api_error_line(error)}") from None
        except TransportError as error:
            raise SheetsError(
                f"{where}: cannot reach the token endpoint of PLATFORM_GSHEETS_CREDENTIALS: {_innermost(error)}"
            ) from None
        except GoogleAuthError as error:
            raise SheetsError(
                f"PLATFORM_GSHEETS_CREDENTIALS={self.credentials_file}: no access token for this service account:"
                f" {_one_line(error)}"
            ) from None
        except requests.RequestException as error:
            raise SheetsError(f"{where}: cannot reach the Sheets API: {_innermost(error)}") from None
        return str(spreadsheet.url)


def _innermost(error: BaseException) -> str:
    """The root cause's message (`[Errno 111] Connection refused`), not five wrappers deep of repr."""
    while (error.__cause__ or error.__context__) is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    text = str(error)
    return _one_line(text.split(": ", 1)[-1] if text.startswith(("HTTPConnection", "HTTPSConnection")) else text)


def _api_error_line(error: Any) -> str:
    status = error.response.status_code
    detail = error.error if isinstance(error.error, Mapping) else {}
    reason = detail.get("status") or error.response.reason or ""
    message = detail.get("message") or ""
    return _one_line(f"HTTP {status} {reason}: {message}".rstrip(": "))
