"""One export run: stream trips -> transform -> enrich -> XLSX -> zip -> object store -> link -> mail.

Status moves pending -> processing -> uploading -> sending -> success, progress is written at
every 5% step, every transition is logged. On any error the export becomes `error` with the
message, any uploaded file is deleted (no half-delivered export), and the recipients and the
technical admins are told.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine, func, select

from platform_assets.core.errors import MailDeliveryError, PlatformError
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore, StoredObject
from platform_assets.trip_exports import service
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.columns import columns_for
from platform_assets.trip_exports.errors import (
    ExportGone,
    ExportStateError,
    InvalidExportRequest,
    TripExportError,
)
from platform_assets.trip_exports.reader import (
    ReaderReport,
    export_rows,
    formatted_rows_from_reader_process,
    rows_from_reader_process,
)
from platform_assets.trip_exports.scope import DEFAULT_TZ, Actor, ExportScope, describe_scope, parse_address
from platform_assets.trip_exports.service import OBJECT_PREFIX, ExportRules, now_utc
from platform_assets.trip_exports.tables import trips_table
from platform_assets.trip_exports.workbook import (
    EXCEL_MAX_ROWS,
    write_formatted_trips_workbook,
    write_trips_workbook,
)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
# Progress: rows fill 0..90%, upload 92%, mail 96%, done 100%.
ROWS_SHARE = 90
PROGRESS_STEP = 5
# Presigned S3 URLs live 7 days at most (SigV4).
MAX_LINK_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class ExportOutcome:
    uuid: str
    rows: int
    stored: StoredObject
    download_url: str
    duration_seconds: float
    sheets: tuple[str, ...]
    sent_to: tuple[str, ...]
    reader_peak_rss_mb: float | None = None  # of the reader process, when there was one


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, PlatformError) else f"{type(error).__name__}: {text}"


def export_help_rows(export_uuid: str, export_type: str, params: dict) -> list[tuple[str, str]]:
    """The free lines of the Help sheet: what the export covers, named for its caller."""
    tz = params.get("tz") or DEFAULT_TZ
    operators, territories = describe_scope(params)
    return [
        ("export", export_uuid),
        ("type", export_type),
        ("period", f"{params['start_date']} to {params['end_date']}, whole days in {tz}"),
        ("operators", operators),
        ("territories", territories),
        ("trips", "processed trips only (registry acquisition status 'processed')"),
        ("privacy", "times rounded up to 10 minutes; coordinates truncated to 3 decimals where the commune has "
                    "over 40 inhabitants/km2, else 2"),
        ("generated at", now_utc().strftime("%Y-%m-%d %H:%M UTC")),
    ]


def count_trips(engine: Engine, scope: ExportScope) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(scope.query([trips_table.c.journey_id]).subquery())).scalar_one())


def run_export(
    engine: Engine,
    export_uuid: str,
    store: ObjectStore,
    mailer: Mailer,
    campaigns: CampaignConfig,
    rules: ExportRules | None = None,
    platform: str = "local",
    batch_size: int = 5_000,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    reader_process: bool | None = None,
    format_in_reader: bool = True,
) -> ExportOutcome:
    """Run one claimed export to the end. `reader_process`: read and transform the trips in a
    separate process (None: on PostgreSQL, where exports are big; SQLite stays in-process);
    `format_in_reader`: that process also formats the sheet XML and this one only deflates it
    (less work in total than handing over pickled rows; both give the same file)."""
    rules = rules or ExportRules()
    if reader_process is None:
        # A daemonic process (some executors' workers) may not start children: read in-process there.
        reader_process = engine.dialect.name == "postgresql" and not multiprocessing.current_process().daemon
    started = time.monotonic()
    export = service.start_processing(engine, export_uuid)
    params = dict(export.params)
    recipients = [(r.fullname or r.email, r.email, r.message) for r in export.recipients]
    stored: StoredObject | None = None
    try:
        scope = ExportScope.from_params(params)
        columns = columns_for(export.type)
        tz = params.get("tz") or DEFAULT_TZ
        total = count_trips(engine, scope)
        service.add_log(engine, export_uuid, "query", f"{total} trip(s) to export")

        written = 0
        next_step = PROGRESS_STEP
        reader = ReaderReport()

        def advance(rows: int) -> None:
            nonlocal written, next_step
            written += rows
            if total and written * 100 >= next_step * total:
                percent = min(written * 100 // total, 100)  # trips added since the count: cap
                service.set_progress(engine, export_uuid, percent * ROWS_SHARE // 100)
                next_step = (percent // PROGRESS_STEP + 1) * PROGRESS_STEP

        def cells() -> Iterator[tuple]:
            rows = (
                rows_from_reader_process(engine, params, export.type, campaigns, tz, batch_size, reader)
                if reader_process else export_rows(engine, params, export.type, campaigns, tz, batch_size)
            )
            for row in rows:
                yield row
                advance(1)

        def chunks() -> Iterator[tuple[bytes, int]]:
            for xml, count in formatted_rows_from_reader_process(
                engine, params, export.type, campaigns, tz, batch_size, max_rows_per_sheet, reader
            ):
                yield xml, count
                advance(count)

        name = f"trips-{params['start_date']}-{params['end_date']}-{export_uuid[:8]}"
        help_rows = export_help_rows(export_uuid, export.type, params)
        with tempfile.TemporaryDirectory(prefix="trip-export-") as tmp:
            zip_path = Path(tmp) / f"{name}.zip"
            # The workbook is written straight into its entry of the zip that is uploaded (no
            # intermediate XLSX file). The XLSX is already deflated inside, so the entry is
            # stored: deflating it again would cost time for a few bytes. ZIP64 because a
            # workbook of several full sheets can pass 4 GiB.
            with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive, \
                    archive.open(f"{name}.xlsx", "w", force_zip64=True) as entry:
                if reader_process and format_in_reader:
                    workbook = write_formatted_trips_workbook(chunks(), columns, entry, help_rows, max_rows_per_sheet)
                else:
                    workbook = write_trips_workbook(cells(), columns, entry, help_rows, max_rows_per_sheet)
            service.set_status(
                engine, export_uuid, "uploading",
                f"{workbook.rows} row(s) in {len(workbook.sheets)} sheet(s), zip {zip_path.stat().st_size} bytes",
                progress=92, expected="processing",
            )
            key = f"{OBJECT_PREFIX}/{export_uuid}/{name}.zip"
            stored = store.put_file(key, zip_path, "application/zip")
        expires_at = now_utc() + timedelta(days=rules.expiry_days)
        link = store.presigned_url(stored.key, min(rules.expiry_days * 86400, MAX_LINK_SECONDS))
        service.set_status(
            engine, export_uuid, "sending", f"uploaded {stored.uri} ({stored.size} bytes)", progress=96,
            file_key=stored.key, expected="uploading",
        )
        sent: list[str] = []
        template = TEMPLATES.get_template("export_ready.txt.j2")
        for fullname, email, message in recipients:
            body = template.render(
                fullname=fullname, uuid=export_uuid, type=export.type, start_date=params["start_date"],
                end_date=params["end_date"], rows=workbook.rows, size=stored.size, download_url=link,
                expires_at=expires_at.strftime("%Y-%m-%d %H:%M UTC"), message=message, platform=platform,
            )
            mailer.send([formataddr((fullname, email))], f"[{platform}] Your trip export is ready ({workbook.rows} trips)", body)
            sent.append(email)
        duration = round(time.monotonic() - started, 3)
        stats = {"rows": workbook.rows, "bytes": stored.size, "duration_seconds": duration,
                 "sheets": list(workbook.sheets), "sha256": stored.sha256}
        if reader.peak_rss_mb is not None:
            stats["reader_peak_rss_mb"] = round(reader.peak_rss_mb, 1)
        service.set_status(
            engine, export_uuid, "success", f"sent to {len(sent)} recipient(s) in {duration} s", progress=100,
            download_url=link, expires_at=expires_at, stats=stats, error=None, expected="sending",
        )
        return ExportOutcome(
            export_uuid, workbook.rows, stored, link, duration, workbook.sheets, tuple(sent), reader.peak_rss_mb
        )
    except BaseException as error:
        _fail(engine, export_uuid, error, stored, store, mailer, export.type, params, recipients, rules, platform)
        raise


def _fail(
    engine: Engine, export_uuid: str, error: BaseException, stored: StoredObject | None, store: ObjectStore,
    mailer: Mailer, export_type: str, params: dict, recipients: list, rules: ExportRules, platform: str,
) -> None:
    message = _describe(error)
    notes: list[str] = []
    if stored is not None:
        try:
            store.delete(stored.key)
            notes.append(f"deleted {stored.uri}")
        except PlatformError as cleanup:
            notes.append(f"could not delete {stored.uri}: {cleanup}")
    service.set_status(
        engine, export_uuid, "error", message + (f" ({'; '.join(notes)})" if notes else ""),
        error=message, download_url=None, file_key=None,
        expires_at=now_utc() + timedelta(days=rules.expiry_days),
    )
    body = TEMPLATES.get_template("export_failed.txt.j2").render(
        uuid=export_uuid, type=export_type, start_date=params.get("start_date"), end_date=params.get("end_date"),
        error=message, platform=platform,
    )
    to = [formataddr((fullname, email)) for fullname, email, _ in recipients] + list(rules.technical_admins)
    try:
        mailer.send(to, f"[{platform}] Trip export {export_uuid[:8]} failed", body)
        service.add_log(engine, export_uuid, "notified", f"failure mailed to {len(to)} address(es)")
    except (MailDeliveryError, TripExportError) as mail_error:
        service.add_log(engine, export_uuid, "notify_failed", f"could not mail the failure: {mail_error}")


def resend_link(
    engine: Engine, actor: Actor, export_uuid: str, store: ObjectStore, mailer: Mailer,
    rules: ExportRules | None = None, platform: str = "local", recipients: list[str] | None = None,
) -> int:
    """Mail a fresh link of a successful export again: to its recipients, or to `recipients`
    ('Name <email>', all checked first). Returns how many were mailed; logged on the export."""
    rules = rules or ExportRules()
    view = service.get_export(engine, actor, export_uuid)
    targets: list[tuple[str, str, str | None]] = []
    if recipients:
        problems = []
        for text in recipients:
            parsed = parse_address(text)
            if parsed is None:
                problems.append(f"recipients: {text!r} is not formatted 'Name <email>'")
            else:
                targets.append((parsed[0], parsed[1], None))
        if len(recipients) > rules.max_recipients:
            problems.append(f"recipients: {len(recipients)} recipients, at most {rules.max_recipients}")
        if problems:
            raise InvalidExportRequest(problems)
    export = service.get_internal(engine, export_uuid)
    if view.status == "expired":
        raise ExportGone(f"export {export_uuid}: expired, its files were deleted")
    if view.status != "success" or not export.file_key:
        raise ExportStateError(f"export {export_uuid}: nothing to send (it is {view.status})")
    if not targets:
        targets = [(r.fullname or r.email, r.email, r.message) for r in export.recipients]
    link = store.presigned_url(export.file_key, min(rules.expiry_days * 86400, MAX_LINK_SECONDS))
    template = TEMPLATES.get_template("export_ready.txt.j2")
    for fullname, email, message in targets:
        body = template.render(
            fullname=fullname, uuid=export_uuid, type=export.type,
            start_date=export.params["start_date"], end_date=export.params["end_date"],
            rows=(export.stats or {}).get("rows"), size=(export.stats or {}).get("bytes"), download_url=link,
            expires_at=f"{export.expires_at:%Y-%m-%d %H:%M} UTC" if export.expires_at else "-", message=message,
            platform=platform,
        )
        mailer.send([formataddr((fullname, email))], f"[{platform}] Your trip export is ready", body)
    service.add_log(engine, export_uuid, "sent", f"link sent again to {len(targets)} recipient(s) by {actor.user}")
    return len(targets)
