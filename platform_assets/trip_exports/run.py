"""One export run: stream trips -> transform -> enrich -> XLSX -> zip -> object store -> link -> mail.

Status moves pending -> processing -> uploading -> sending -> success, progress is written at
every 5% step, every transition is logged. The run is the only claimer (`start_processing`).
Mail goes per recipient (`delivery`): the export succeeds when at least one recipient was mailed,
the others logged and reported to the technical admins. On any error the export becomes `error`
with a message fit for users (details in an internal log line and the admins' mail), an uploaded
file is deleted unless a recipient already has its link, and recipients get a generic notice.
"""

from __future__ import annotations

import multiprocessing
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from platform_assets.core.errors import PlatformError
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore, StoredObject
from platform_assets.trip_exports import delivery, service
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.delivery import MAX_LINK_SECONDS, MailTarget, resend_link
from platform_assets.trip_exports.export_types import export_type as registered_type
from platform_assets.trip_exports.reader import (
    ReaderReport,
    export_rows,
    formatted_rows_from_reader_process,
    rows_from_reader_process,
)
from platform_assets.trip_exports.scope import DEFAULT_TZ, ExportScope, describe_scope
from platform_assets.trip_exports.service import OBJECT_PREFIX, ExportRules, now_utc
from platform_assets.trip_exports.tables import trips_table
from platform_assets.trip_exports.workbook import (
    EXCEL_MAX_ROWS,
    write_formatted_trips_workbook,
    write_trips_workbook,
)

__all__ = ["ExportOutcome", "count_trips", "resend_link", "run_export"]
# Progress: rows fill 0..90%, upload 92%, mail 96%, done 100%.
ROWS_SHARE = 90
PROGRESS_STEP = 5


@dataclass(frozen=True)
class ExportOutcome:
    uuid: str
    rows: int
    stored: StoredObject
    download_url: str
    duration_seconds: float
    sheets: tuple[str, ...]
    sent_to: tuple[str, ...]
    failed_recipients: tuple[str, ...] = ()
    reader_peak_rss_mb: float | None = None  # of the reader process, when there was one


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
    read_with_copy: bool = True,
) -> ExportOutcome:
    """Run one claimed export to the end. `reader_process`: read and transform the trips in a
    separate process (None: on PostgreSQL, where exports are big; SQLite stays in-process);
    `format_in_reader`: that process also formats the sheet XML and this one only deflates it
    (less work in total than handing over pickled rows; both give the same file);
    `read_with_copy`: that process reads with COPY, the privacy rules applied in SQL
    (`copy_reader`; the same file again, with less work in Python)."""
    rules = rules or ExportRules()
    if reader_process is None:
        # A daemonic process (some executors' workers) may not start children: read in-process there.
        reader_process = engine.dialect.name == "postgresql" and not multiprocessing.current_process().daemon
    started = time.monotonic()
    export = service.start_processing(engine, export_uuid, timedelta(hours=rules.stale_hours))
    params = dict(export.params)
    recipients = [MailTarget(r.fullname or r.email, r.email, r.message) for r in export.recipients]
    stored: StoredObject | None = None
    delivered: tuple[str, ...] = ()
    try:
        scope = ExportScope.from_params(params)
        columns = registered_type(export.type).columns()
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
                engine, params, export.type, campaigns, tz, batch_size, max_rows_per_sheet, reader, read_with_copy
            ):
                yield xml, count
                advance(count)

        name = f"trips-{params['start_date']}-{params['end_date']}-{export_uuid[:8]}"
        help_rows = export_help_rows(export_uuid, export.type, params)
        with store.work_folder("trip-export-") as tmp:
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
        report = delivery.notify_ready(
            engine, export_uuid, export.type, params, recipients, workbook.rows, stored.size, link, expires_at,
            mailer, rules, platform,
        )
        delivered = report.sent
        if not delivered:
            raise delivery.NobodyReached(
                f"export {export_uuid}: none of {len(recipients)} recipient(s) could be mailed: "
                + "; ".join(f"{outcome.email}: {outcome.detail}" for outcome in report.failed)
            )
        if report.failed:
            delivery.notify_admins(
                engine, export_uuid, export.type, params, export.created_by, "undelivered",
                [f"{outcome.email}: {outcome.status}: {outcome.detail}" for outcome in report.failed],
                f"delivered to {len(delivered)} of {len(recipients)} recipient(s)", mailer, rules, platform,
                count=len(report.failed),
            )
        duration = round(time.monotonic() - started, 3)
        stats = {"rows": workbook.rows, "bytes": stored.size, "duration_seconds": duration,
                 "sheets": list(workbook.sheets), "sha256": stored.sha256, "delivery": report.as_stats()}
        failed_note = f", {len(report.failed)} failed" if report.failed else ""
        if reader.peak_rss_mb is not None:
            stats["reader_peak_rss_mb"] = round(reader.peak_rss_mb, 1)
        service.set_status(
            engine, export_uuid, "success",
            f"sent to {len(delivered)} of {len(recipients)} recipient(s){failed_note} in {duration} s", progress=100,
            download_url=link, expires_at=expires_at, stats=stats, error=None, expected="sending",
        )
        return ExportOutcome(
            export_uuid, workbook.rows, stored, link, duration, workbook.sheets, delivered,
            tuple(outcome.email for outcome in report.failed), reader.peak_rss_mb,
        )
    except BaseException as error:
        _fail(engine, export_uuid, error, stored, store, mailer, export, params, recipients, rules, platform, delivered)
        raise


def _fail(
    engine: Engine, export_uuid: str, error: BaseException, stored: StoredObject | None, store: ObjectStore,
    mailer: Mailer, export: object, params: dict, recipients: list[MailTarget], rules: ExportRules, platform: str,
    delivered: tuple[str, ...] = (),
) -> None:
    public = delivery.public_error(error)
    notes: list[str] = []
    values: dict[str, object] = {}
    if stored is not None and delivered:
        # Someone already has the link: the file stays until the export expires.
        notes.append(f"kept {stored.uri}: {len(delivered)} recipient(s) already have its link")
    elif stored is not None:
        values = {"download_url": None, "file_key": None}
        try:
            store.delete(stored.key)
            notes.append(f"deleted {stored.uri}")
        except PlatformError as cleanup:
            notes.append(f"could not delete {stored.uri}: {delivery.technical_detail(cleanup)}")
    service.set_status(
        engine, export_uuid, "error", public, error=public,
        expires_at=now_utc() + timedelta(days=rules.expiry_days), **values,
    )
    service.add_log(engine, export_uuid, "error_detail",
                    delivery.technical_detail(error) + (f" ({'; '.join(notes)})" if notes else ""))
    pending = [target for target in recipients if target.email not in delivered]
    delivery.notify_failure(
        engine, export_uuid, getattr(export, "type", "?"), params, getattr(export, "created_by", "?"), pending,
        error, mailer, rules, platform, notes,
    )
