"""Reading the rows of an export: the trips of its scope, transformed into export cells.

Two ways, same rows:
- `stream_trips` + `transform_rows` in the calling process (a reader thread keeps the next batch
  coming from the database);
- `rows_from_reader_process`: a separate process reads and transforms, and hands batches of
  finished rows to the caller through a pipe. The workbook writer and the reader+transform each
  cost about as much per row; in one process they share one GIL, in two they run side by side,
  which is what lets an XLSX export keep up with a plain CSV export (benchmarks/trip_export.py).

The child process imports only this module's light dependencies (SQLAlchemy, the domain
modules), not Dagster, so it starts in a fraction of a second.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine

from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.columns import columns_for, selector_for, transform_rows
from platform_assets.trip_exports.errors import TripExportError
from platform_assets.trip_exports.scope import ExportScope
from platform_assets.trip_exports.tables import trips_table


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


def export_rows(
    engine: Engine, params: Mapping[str, Any], export_type: str, campaigns: CampaignConfig, tz: str, batch_size: int
) -> Iterator[tuple]:
    """The cells of every row of an export, in this process."""
    select_cells = selector_for(columns_for(export_type))
    scope = ExportScope.from_params(params)
    for row in transform_rows(stream_trips(engine, scope, batch_size), campaigns, tz):
        yield select_cells(row)


@dataclass
class ReaderReport:
    """What the reader process said when it finished (filled as the rows are consumed)."""

    rows: int = 0
    peak_rss_mb: float | None = None


def _peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reader_main(
    connection: Connection, url: str, params: dict[str, Any], export_type: str, campaigns: CampaignConfig,
    tz: str, batch_size: int,
) -> None:
    """Child process: read and transform, send pickled batches ("rows", [...]) then ("done", n, rss)
    or ("error", one line)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    count = 0
    try:
        batch: list[tuple] = []
        for row in export_rows(engine, params, export_type, campaigns, tz, batch_size):
            batch.append(row)
            if len(batch) >= batch_size:
                # send_bytes blocks while the parent is busy with the previous batch: the pipe is the
                # bound on memory (one batch being built, one being sent).
                connection.send_bytes(pickle.dumps(("rows", batch), protocol=pickle.HIGHEST_PROTOCOL))
                count += len(batch)
                batch = []
        if batch:
            connection.send_bytes(pickle.dumps(("rows", batch), protocol=pickle.HIGHEST_PROTOCOL))
            count += len(batch)
        connection.send_bytes(pickle.dumps(("done", count, _peak_rss_mb())))
    except BrokenPipeError:  # the parent stopped reading (its own error): nothing to tell
        pass
    except BaseException as error:  # noqa: BLE001 - every failure goes to the parent as one line
        text = str(getattr(error, "orig", None) or error).strip().splitlines()
        message = f"{type(error).__name__}: {text[0] if text else ''}"
        try:
            connection.send_bytes(pickle.dumps(("error", message)))
        except OSError:
            pass
    finally:
        connection.close()
        engine.dispose()


def rows_from_reader_process(
    engine: Engine, params: Mapping[str, Any], export_type: str, campaigns: CampaignConfig, tz: str,
    batch_size: int, report: ReaderReport | None = None,
) -> Iterator[tuple]:
    """The same rows as `export_rows`, read and transformed by a separate (spawned) process.

    Closing the generator early (the caller failed) stops the child. A failure in the child is
    raised here as a TripExportError naming it in one line."""
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded run worker
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(
        target=_reader_main, name="trip-export-reader",
        args=(child_end, url, dict(params), export_type, campaigns, tz, batch_size), daemon=True,
    )
    process.start()
    child_end.close()
    try:
        while True:
            try:
                message = pickle.loads(parent_end.recv_bytes())
            except EOFError:
                raise TripExportError(
                    f"trip export reader process stopped without finishing (exit code {process.exitcode})"
                ) from None
            kind = message[0]
            if kind == "rows":
                yield from message[1]
            elif kind == "done":
                if report is not None:
                    report.rows, report.peak_rss_mb = message[1], message[2]
                return
            else:
                raise TripExportError(f"reading the trips failed: {message[1]}")
    finally:
        parent_end.close()
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
