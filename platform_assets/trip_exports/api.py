"""HTTP API of the trip exports, for operators', territories' and the registry's own systems.

A thin layer over the same service functions the CLI and the sensors use: it writes requests and
reads state, the sensor-driven runs do the work. Callers authenticate with bearer tokens
(`platform-assets api token create`); every call on an export is written to the export's logs.
"""

import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator
from sqlalchemy import Engine

from platform_assets.core.errors import PlatformError
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports import service
from platform_assets.trip_exports.delivery import public_error, resend_link
from platform_assets.trip_exports.errors import (
    ExportGone,
    ExportNotFound,
    ExportStateError,
    InvalidExportRequest,
    PermissionDenied,
    SendLimitReached,
)
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.service import ExportRequest, ExportRules, ExportView
from platform_assets.trip_exports.tokens import authenticate

MAX_BODY_BYTES = 64 * 1024
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
StatusName = Literal["pending", "processing", "uploading", "sending", "success", "error", "expired", "cancelled"]
ExportTypeName = Literal["regular", "opendata", "operator", "territory", "registry"]
RequestableType = Literal["registry", "regular", "operator", "territory"]
LanguageName = Literal["fr", "en"]
LOGGER = logging.getLogger(__name__)
DOCS_ASSETS = "/docs-assets"
TAGS = [
    {"name": "exports", "description": "Create, follow, cancel, download and send trip exports."},
    {"name": "opendata", "description": "Registry admins: have a month of open data built and published."},
]


def _utc_text(moment: datetime) -> str:
    """Always UTC, always with Z (SQLite hands back naive datetimes written as UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(_utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "UTC, ending in Z.",
                    "examples": ["2025-03-04T08:15:00Z"]}),
]
DateText = Annotated[str, Field(max_length=32, json_schema_extra={"format": "date"})]


@dataclass
class RateLimiter:
    """Token bucket per API token: `per_minute` calls on average, bursts of `burst`."""

    per_minute: float
    burst: int
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, token_id: int) -> float:
        """0 when the call may go ahead (and is counted), else seconds to wait."""
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            level, last = self._buckets.get(token_id, (float(self.burst), now))
            level = min(float(self.burst), level + (now - last) * rate)
            if level >= 1.0:
                self._buckets[token_id] = (level - 1.0, now)
                return 0.0
            self._buckets[token_id] = (level, now)
            return (1.0 - level) / rate


@dataclass(frozen=True)
class ApiContext:
    """What the endpoints act on: the platform's database, object store and mailer."""

    engine: Engine
    store: ObjectStore
    mailer: Mailer
    rules: ExportRules = field(default_factory=ExportRules)
    platform: str = "local"
    rate_limiter: RateLimiter | None = None


# -- bodies and answers ---------------------------------------------------------------------------
class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def no_nul(cls, value: Any) -> Any:
        # PostgreSQL refuses NUL in text: refuse it here, as a field error, not a 500 later.
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


CodeList = Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=1024)]


class GeoSelector(StrictBody):
    """INSEE codes per level; trips starting or ending in any of them (always within the caller's own
    territory)."""

    com: CodeList = Field(default_factory=list, description="Communes.", examples=[["69123"]])
    epci: CodeList = Field(default_factory=list, description="Intercommunalities (SIREN).")
    aom: CodeList = Field(default_factory=list, description="Mobility authorities (SIREN).", examples=[["256900994"]])
    dep: CodeList = Field(default_factory=list, description="Departments.")
    reg: CodeList = Field(default_factory=list, description="Regions.")
    country: CodeList = Field(default_factory=list, description="Countries.")

    def as_dict(self) -> dict[str, list[str]]:
        return {level: codes for level, codes in self.model_dump().items() if codes}


class ExportCreate(StrictBody):
    start_date: DateText = Field(description="First day, YYYY-MM-DD.", examples=["2025-03-01"])
    end_date: DateText = Field(description="Last day, YYYY-MM-DD (inclusive).", examples=["2025-03-31"])
    operator_ids: list[int | str] = Field(default_factory=list, description="Operator ids (default: all in scope).")
    geo_selector: GeoSelector = Field(default_factory=GeoSelector, description="Areas to narrow the export to.")
    recipients: list[str] = Field(default_factory=list, description="'Name <email>' (default: the caller); "
                                  "no control characters.", examples=[["Ana Lopez <ana@example.org>"]])
    type: RequestableType | None = Field(None, description="Default: the caller's own (registry, operator, territory).")
    tz: str = Field("Europe/Paris", max_length=64, description="Time zone of the exported times.")
    message: str | None = Field(None, max_length=2000, description="A note for the recipients (one line, no control characters).")
    language: LanguageName | None = Field(None, description="Language of the mails (default: the platform's, French).")


class SendBody(StrictBody):
    recipients: list[str] = Field(default_factory=list, description="'Name <email>' (default: the export's recipients). "
                                  "Others: yourself, or (admins) addresses of your own domain.")


class LogLine(BaseModel):
    created_at: UtcDateTime
    type: str
    message: str


class ExportOut(BaseModel):
    uuid: str
    status: StatusName
    progress: int
    type: ExportTypeName
    created_at: UtcDateTime
    created_by: str
    params: dict[str, Any]
    expires_at: UtcDateTime | None
    error: str | None = Field(description="What went wrong, in words fit for users (details go to the technical admins).")
    stats: dict[str, Any] | None
    download: str | None = Field(description="Path of the download redirect, once the export succeeded.")
    recipients: list[str] = Field(default_factory=list)
    logs: list[LogLine] = Field(default_factory=list)


class ExportPage(BaseModel):
    items: list[ExportOut]
    limit: int
    offset: int
    next_offset: int | None


class SentOut(BaseModel):
    uuid: str
    sent: int
    failed: list[str] = Field(default_factory=list, description="Recipients the mail could not reach.")


class Problem(BaseModel):
    detail: str
    problems: list[str] = Field(default_factory=list)


def export_out(view: ExportView, details: bool = True) -> ExportOut:
    return ExportOut(
        uuid=view.uuid, status=view.status, progress=view.progress, type=view.type, created_at=view.created_at,
        created_by=view.created_by, params=view.params, expires_at=view.expires_at, error=view.error,
        stats=view.stats, download=f"/exports/{view.uuid}/download" if view.status == "success" else None,
        recipients=list(view.recipients) if details else [],
        logs=[LogLine(created_at=at, type=type_, message=message) for at, type_, message in view.logs] if details else [],
    )


# -- errors ---------------------------------------------------------------------------------------
class Unauthorized(Exception):
    """Missing, unknown or revoked token."""


class TooManyRequests(Exception):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after


def _problem(status: int, detail: str, problems: list[str] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "problems": problems or []}, status_code=status, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body",)]
    return ".".join(parts) or "body"


def _install_error_handlers(app: FastAPI) -> None:
    async def invalid_request(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = [f"{_field_name(tuple(item.get('loc', ())))}: {item.get('msg', 'invalid')}" for item in error.errors()]
        return _problem(422, "invalid request: " + "; ".join(problems), problems)

    async def invalid_export(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, InvalidExportRequest)
        return _problem(422, str(error), error.problems)

    async def unauthorized(_request: Request, _error: Exception) -> JSONResponse:
        return _problem(401, "missing, unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"})

    async def too_many(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, TooManyRequests)
        return _problem(429, "too many requests for this token",
                        headers={"Retry-After": str(max(1, math.ceil(error.retry_after)))})

    def status_of(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        async def handler(_request: Request, error: Exception) -> JSONResponse:
            return _problem(status, str(error))

        return handler

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(InvalidExportRequest, invalid_export)
    app.add_exception_handler(Unauthorized, unauthorized)
    app.add_exception_handler(TooManyRequests, too_many)
    app.add_exception_handler(PermissionDenied, status_of(403))
    app.add_exception_handler(ExportNotFound, status_of(404))
    app.add_exception_handler(ExportGone, status_of(410))
    app.add_exception_handler(ExportStateError, status_of(409))
    app.add_exception_handler(SendLimitReached, status_of(429))

    async def upstream(_request: Request, error: Exception) -> JSONResponse:
        # Object store or mail server trouble: the platform's fault upstream. The caller reads a
        # generic line; the details (buckets, endpoints, settings) go to the server log only.
        LOGGER.warning("API call failed upstream: %s", error)
        return _problem(502, public_error(error))

    app.add_exception_handler(PlatformError, upstream)


class BodyLimit:
    """ASGI middleware: request bodies larger than `limit` bytes get 413 before any endpoint runs."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _problem(413, f"request body larger than {self.limit} bytes")(scope, receive, send)
            return
        # Read the (small) body here, counting, so chunked uploads are bounded too.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _problem(413, f"request body larger than {self.limit} bytes")(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# -- the application ------------------------------------------------------------------------------
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, unknown or revoked token."},
    403: {"model": Problem, "description": "The token's role may not do this."},
    413: {"model": Problem, "description": "Request body too large."},
    422: {"model": Problem, "description": "Every invalid field."},
    429: {"model": Problem, "description": "Rate limit of the token reached."},
}


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(
        title="platform_assets trip exports",
        version="1",
        description="Create and follow trip exports. Bearer tokens: `platform-assets api token create`. "
        "Timestamps are UTC, written with Z.",
        responses=ERROR_RESPONSES,
        openapi_tags=TAGS,
        docs_url=None,  # served below from the package's own Swagger UI assets: works offline
        redoc_url=None,
    )
    _install_docs(app)
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    bearer = HTTPBearer(auto_error=False)

    def caller(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> tuple[int, Actor]:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized()
        found = authenticate(context.engine, credentials.credentials)
        if found is None:
            raise Unauthorized()
        if context.rate_limiter is not None:
            wait = context.rate_limiter.retry_after(found[0])
            if wait > 0:
                raise TooManyRequests(wait)
        return found

    Caller = Annotated[tuple[int, Actor], Depends(caller)]
    ExportUuid = Annotated[str, Path(pattern=UUID_PATTERN, description="Export uuid.")]

    def log_call(export_uuid: str, who: tuple[int, Actor], what: str) -> None:
        token_id, actor = who
        service.add_log(context.engine, export_uuid, "api", f"{what} by {actor.user} (token {token_id})")

    # OpenAPI links: clients (and schemathesis' stateful tests) follow the created uuid.
    uuid_link = {"export_uuid": "$response.body#/uuid"}
    created_links = {
        name: {"operationId": operation, "parameters": uuid_link}
        for name, operation in (("GetExport", "get_export"), ("CancelExport", "cancel_export"),
                                ("DownloadExport", "download_export"), ("SendExport", "send_export"))
    }

    @app.post("/exports", status_code=201, response_model=ExportOut, operation_id="create_export", tags=["exports"],
              responses={404: {"model": Problem}}, openapi_extra={"responses": {"201": {"links": created_links}}})
    def create_export(body: ExportCreate, who: Caller) -> ExportOut:
        """Validate and queue an export: the sensor launches its run within a minute."""
        request = ExportRequest(body.start_date, body.end_date, body.operator_ids, body.geo_selector.as_dict(),
                                body.recipients, body.type, body.tz, body.message, body.language)
        view = service.create_export(context.engine, who[1], request, context.rules)
        log_call(view.uuid, who, "POST /exports")
        return export_out(view)

    @app.get("/exports", response_model=ExportPage, operation_id="list_exports", tags=["exports"])
    def list_exports(
        who: Caller,
        status: Annotated[StatusName | None, Query(description="Only exports with this status.")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> ExportPage:
        """The exports the caller may see, newest first."""
        views = service.list_exports(context.engine, who[1], status, limit=limit + 1, offset=offset)
        return ExportPage(items=[export_out(view, details=False) for view in views[:limit]], limit=limit,
                          offset=offset, next_offset=offset + limit if len(views) > limit else None)

    @app.get("/exports/{export_uuid}", response_model=ExportOut, operation_id="get_export", tags=["exports"],
             responses={404: {"model": Problem}})
    def get_export(
        export_uuid: ExportUuid, who: Caller,
        logs: Annotated[bool, Query(description="Include the export's log lines.")] = False,
    ) -> ExportOut:
        """Status, progress, stats and error of one export (and its log with `logs=true`)."""
        view = service.get_export(context.engine, who[1], export_uuid, logs=logs)
        log_call(export_uuid, who, "GET /exports/{uuid}")
        return export_out(view)

    @app.post("/exports/{export_uuid}/cancel", response_model=ExportOut, operation_id="cancel_export", tags=["exports"],
              responses={404: {"model": Problem}, 409: {"model": Problem}})
    def cancel_export(export_uuid: ExportUuid, who: Caller) -> ExportOut:
        """Cancel a pending export."""
        view = service.cancel_export(context.engine, who[1], export_uuid, context.rules)
        log_call(export_uuid, who, "POST /exports/{uuid}/cancel")
        return export_out(view)

    @app.get("/exports/{export_uuid}/download", response_class=Response, operation_id="download_export",
             tags=["exports"],
             responses={200: {"description": "The zip itself (local object store).",
                              "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                        307: {"description": "Redirect to the file in the object store (link valid 60 s)."},
                        404: {"model": Problem}, 409: {"model": Problem}, 410: {"model": Problem}})
    def download_export(export_uuid: ExportUuid, who: Caller) -> Response:
        """The export's zip: a redirect through a link valid 60 seconds when the object store serves
        HTTP (S3), else the file itself (a file:// link is no use to an HTTP client)."""
        download = service.prepare_download(context.engine, who[1], export_uuid, context.store)
        log_call(export_uuid, who, "GET /exports/{uuid}/download")
        if download.served_over_http:
            return RedirectResponse(download.link, status_code=307, headers={"Cache-Control": "no-store"})
        opened = context.store.open(download.key)
        stream = opened.__enter__()  # opened now, so a missing file is an error before the 200

        def chunks() -> Iterator[bytes]:
            try:
                while chunk := stream.read(1024 * 1024):
                    yield chunk
            finally:
                opened.__exit__(None, None, None)

        return StreamingResponse(chunks(), media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"', "Cache-Control": "no-store"})

    @app.post("/exports/{export_uuid}/send", response_model=SentOut, operation_id="send_export", tags=["exports"],
              responses={403: {"model": Problem}, 404: {"model": Problem}, 409: {"model": Problem},
                         410: {"model": Problem}, 429: {"model": Problem, "description": "Send limit reached."},
                         502: {"model": Problem, "description": "No recipient could be reached."}})
    def send_export(export_uuid: ExportUuid, who: Caller, body: SendBody | None = None) -> SentOut:
        """Mail a fresh link again, to the given recipients or to the export's own (bounded per export
        and per caller per day)."""
        report = resend_link(context.engine, who[1], export_uuid, context.store, context.mailer, context.rules,
                             context.platform, recipients=list(body.recipients) if body else None)
        log_call(export_uuid, who, "POST /exports/{uuid}/send")
        return SentOut(uuid=export_uuid, sent=len(report.sent), failed=[outcome.email for outcome in report.failed])

    @app.post("/opendata/{month}/publish", status_code=202, response_model=ExportOut, operation_id="publish_opendata",
              tags=["opendata"])
    def publish_opendata(month: Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")], who: Caller) -> ExportOut:
        """Registry admins: ask for the month's open data to be built and published (a run does it)."""
        view = service.request_opendata(context.engine, who[1], month)
        log_call(view.uuid, who, f"POST /opendata/{month}/publish")
        return export_out(view)

    return app


def _install_docs(app: FastAPI) -> None:
    """/docs from the Swagger UI assets of the `swagger-ui-bundle` package (no CDN)."""
    import swagger_ui_bundle

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def app_from_settings(rate_per_minute: float | None = None) -> FastAPI:
    """The app on the platform's configured database, object store and mailer."""
    from platform_assets.trip_exports.resources import trip_exports_runtime

    runtime = trip_exports_runtime()
    limiter = RateLimiter(rate_per_minute, burst=max(1, int(rate_per_minute // 6))) if rate_per_minute else None
    return create_app(ApiContext(
        engine=runtime.engine, store=runtime.object_store, mailer=runtime.mailer,
        rules=runtime.rules, platform=runtime.platform.deployment, rate_limiter=limiter,
    ))
