"""The export service: the functions the CLI, the sensors, the assets and the HTTP API call.

One module per job, all re-exported here:
- `rules`: limits of a request and the request itself;
- `export_types`: the registry of export types (who, scope rule, validation, columns);
- `creation`: validate a request and write a pending export;
- `records`: views, get and list;
- `lifecycle`: cancel, the run's atomic claim, status, progress, log lines, stale runs;
- `downloads`: presigned links and the file for the API;
- `delivery`: mails per recipient with retries, failure notices, `send`;
- `expiry`: scramble recipients and delete files of expired exports;
- `opendata_requests`: open-data months recorded and requested.
Every state change writes a log line in the same transaction.
"""

from __future__ import annotations

from platform_assets.trip_exports.creation import create_export, validate_request
from platform_assets.trip_exports.downloads import (
    DOWNLOAD_LINK_SECONDS,
    Download,
    download_link,
    prepare_download,
)
from platform_assets.trip_exports.expiry import expire_exports, scramble_text
from platform_assets.trip_exports.export_types import EXPORT_TYPES, ExportType, export_type
from platform_assets.trip_exports.lifecycle import (
    add_log,
    cancel_export,
    fail_stale,
    pending_exports,
    set_progress,
    set_status,
    start_processing,
)
from platform_assets.trip_exports.opendata_requests import (
    claim_opendata_requests,
    record_opendata,
    request_opendata,
    validate_month,
)
from platform_assets.trip_exports.records import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    OBJECT_PREFIX,
    ExportView,
    get_export,
    get_internal,
    list_exports,
    now_utc,
)
from platform_assets.trip_exports.rules import ExportRequest, ExportRules

__all__ = [
    "ACTIVE_STATUSES", "DOWNLOAD_LINK_SECONDS", "EXPORT_TYPES", "FINAL_STATUSES", "OBJECT_PREFIX", "Download",
    "ExportRequest", "ExportRules", "ExportType", "ExportView", "add_log", "cancel_export", "claim_opendata_requests",
    "create_export", "download_link", "expire_exports", "export_type", "fail_stale", "get_export", "get_internal",
    "list_exports", "now_utc", "pending_exports", "prepare_download", "record_opendata", "request_opendata",
    "scramble_text", "set_progress", "set_status", "start_processing", "validate_month", "validate_request",
]
