"""One export run: stream trips -> transform -> enrich -> XLSX -> zip -> object store -> link -> mail.

Status moves pending -> processing -> uploading -> sending -> success, progress is written at
every 5% step, every transition is logged. The run is the only claimer (`start_processing`).
Mail goes per recipient (`delivery`): the export succeeds when at least one recipient was mailed,
the others logged and reported to the technical admins. On any error the export becomes `error`
with a message fit for users (details in an internal log line and the admins' mail), an uploaded
file is deleted unless a recipient already has its link, and recipients get a generic notice.
"""

from __future__ import annotations

import queue
import tempfile
import threading
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
from platform_assets.trip_exports.columns import selector_for, transform_rows
from platform_assets.trip_exports.delivery import MAX_LINK_SECONDS, MailTarget, resend_link
from platform_assets.trip_exports.export_types import export_type as registered_type
from platform_assets.trip_exports.scope import ExportScope
from platform_assets.trip_exports.service import OBJECT_PREFIX, ExportRules, now_utc
from platform_assets.trip_exports.tables import trips_table
from platform_assets.trip_exports.workbook import EXCEL_MAX_ROWS, write_trips_workbook

__all__ = ["ExportOutcome", "count_trips", "resend_link", "run_export", "stream_trips"]
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


def stream_trips(engine: Engine, scope: ExportScope, batch_size: int, prefetch: int = 2) -> Iterator:
    """Rows of the export in start order, through a server-side cursor in batches (Core, not ORM).

    A reader thread keeps up to `prefetch` batches ahead, so the database's work on the next
    batch overlaps the transform and the workbook writing of this one (memory stays bounded by
    prefetch x batch_size rows)."""
    statement = scope.query().order_by(trips_table.c.start_datetime, trips_table.c.journey_id)
    batches: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            with engine.connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(statement)
                for partition in result.partitions():
                    while not stop.is_set():
                        try:
                            batches.put(partition, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
        except BaseException as error:  # handed to the consumer, raised there
            batches.put(error)
            return
        batches.put(done)

    reader = threading.Thread(target=read, name="trip-export-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = batches.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        reader.join(timeout=30)


def count_trips(engine: Engine, scope: ExportScope) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(scope.query().subquery())).scalar_one())


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
) -> ExportOutcome:
    rules = rules or ExportRules()
    started = time.monotonic()
    export = service.start_processing(engine, export_uuid, timedelta(hours=rules.stale_hours))
    params = dict(export.params)
    recipients = [MailTarget(r.fullname or r.email, r.email, r.message) for r in export.recipients]
    stored: StoredObject | None = None
    delivered: tuple[str, ...] = ()
    try:
        scope = ExportScope.from_params(params)
        columns = registered_type(export.type).columns()
        select_cells = selector_for(columns)
        total = count_trips(engine, scope)
        service.add_log(engine, export_uuid, "query", f"{total} trip(s) to export")

        written = 0
        next_step = PROGRESS_STEP

        def cells() -> Iterator[tuple]:
            nonlocal written, next_step
            for row in transform_rows(stream_trips(engine, scope, batch_size), campaigns, params.get("tz") or "UTC"):
                yield select_cells(row)
                written += 1
                if total and written * 100 >= next_step * total:
                    percent = min(written * 100 // total, 100)  # trips added since the count: cap
                    service.set_progress(engine, export_uuid, percent * ROWS_SHARE // 100)
                    next_step = (percent // PROGRESS_STEP + 1) * PROGRESS_STEP

        name = f"trips-{params['start_date']}-{params['end_date']}-{export_uuid[:8]}"
        help_rows = [
            ("export", export_uuid),
            ("type", export.type),
            ("period", f"{params['start_date']} to {params['end_date']} (UTC days; times in {params.get('tz')})"),
            ("operators", ", ".join(map(str, params.get("operator_ids") or [])) or "all in scope"),
            ("territories", ", ".join(f"{k}:{','.join(v)}" for k, v in (params.get("geo_selector") or {}).items()) or "all in scope"),
            ("generated at", now_utc().strftime("%Y-%m-%d %H:%M UTC")),
        ]
        with tempfile.TemporaryDirectory(prefix="trip-export-") as tmp:
            zip_path = Path(tmp) / f"{name}.zip"
            # The workbook is written straight into its entry of the zip that is uploaded (no
            # intermediate XLSX file). The XLSX is already deflated inside, so the entry is
            # stored: deflating it again would cost time for a few bytes. ZIP64 because a
            # workbook of several full sheets can pass 4 GiB.
            with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive, \
                    archive.open(f"{name}.xlsx", "w", force_zip64=True) as entry:
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
        service.set_status(
            engine, export_uuid, "success",
            f"sent to {len(delivered)} of {len(recipients)} recipient(s){failed_note} in {duration} s", progress=100,
            download_url=link, expires_at=expires_at, stats=stats, error=None, expected="sending",
        )
        return ExportOutcome(export_uuid, workbook.rows, stored, link, duration, workbook.sheets, delivered,
                             tuple(outcome.email for outcome in report.failed))
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
