"""Reading the rows of an export: the trips of its scope, transformed into export cells.

Three ways, same file in the end:
- `export_rows`: `stream_trips` + `transform_rows` in the calling process (a reader thread keeps
  the next batch coming from the database);
- `rows_from_reader_process`: a child process reads and transforms; pickled batches of rows
  go to the caller, which formats and deflates them;
- `formatted_rows_from_reader_process`: the child also formats the rows as sheet XML and the
  caller only deflates the bytes (less work in total: pickling datetimes, dates and times costs
  about as much as writing the row as CSV).
benchmarks/trip_export.py compares them with a CSV export of the same rows: on 2 cores neither
split reaches the CSV rate yet (README, Performance).

The child process imports only this module's light dependencies (SQLAlchemy, the domain
modules), not Dagster, so it starts in a fraction of a second.
"""

from __future__ import annotations

import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, create_engine

from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.columns import columns_for, selector_for, transform_rows
from platform_assets.trip_exports.copy_reader import formatted_chunks_by_copy
from platform_assets.trip_exports.errors import TripExportError
from platform_assets.trip_exports.scope import ExportScope
from platform_assets.trip_exports.tables import trips_table
from platform_assets.trip_exports.workbook import EXCEL_MAX_ROWS, formatted_chunks


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


_FRAME = struct.Struct("<Q")


def _send(stream: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise EOFError
    size = _FRAME.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def _reader_main(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Child process: read the job from stdin, then send ("rows", [...]) batches, and ("done", n,
    peak RSS) or ("error", one line) on stdout. Pickled batches go out through a writer thread
    (blocked writes release the GIL), so the next batch is read and transformed meanwhile."""
    url, params, export_type, campaigns, tz, batch_size, max_rows_per_sheet, formatted, use_copy = _receive(stdin)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    outgoing: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def write() -> None:
        while (data := outgoing.get()) is not None:
            if not failure:
                try:
                    stdout.write(_FRAME.pack(len(data)))
                    stdout.write(data)
                    stdout.flush()
                except BaseException as error:  # noqa: BLE001 - the parent went away
                    failure.append(error)

    writer = threading.Thread(target=write, name="trip-export-sender", daemon=True)
    writer.start()

    def put(message: object) -> None:
        if failure:
            raise failure[0]
        outgoing.put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    count = 0
    try:
        rows = export_rows(engine, params, export_type, campaigns, tz, batch_size)
        if formatted:
            if use_copy and engine.dialect.name == "postgresql":
                rows.close()
                chunks = formatted_chunks_by_copy(
                    engine, ExportScope.from_params(params), columns_for(export_type), campaigns, tz, max_rows_per_sheet
                )
            else:
                chunks = formatted_chunks(rows, columns_for(export_type), max_rows_per_sheet)
            for xml, rows_in_chunk in chunks:
                put(("xml", xml, rows_in_chunk))
                count += rows_in_chunk
        else:
            batch: list[tuple] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= batch_size:
                    put(("rows", batch))
                    count += len(batch)
                    batch = []
            if batch:
                put(("rows", batch))
                count += len(batch)
        put(("done", count, _peak_rss_mb()))
    except BrokenPipeError:  # the parent stopped reading (its own error): nothing to tell
        pass
    except BaseException as error:  # noqa: BLE001 - every failure goes to the parent as one line
        text = str(getattr(error, "orig", None) or error).strip().splitlines()
        message = f"{type(error).__name__}: {text[0] if text else ''}"
        try:
            put(("error", message))
        except BaseException:  # noqa: BLE001 - the parent is gone
            pass
    finally:
        outgoing.put(None)
        writer.join()
        engine.dispose()


def _from_reader_process(
    engine: Engine, job: tuple, report: ReaderReport | None,
) -> Iterator[tuple]:
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(  # noqa: S603 - our own module, with this interpreter
        [sys.executable, "-m", "platform_assets.trip_exports.reader"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        _send(process.stdin, (url, *job))
        process.stdin.close()
        while True:
            try:
                message = _receive(process.stdout)
            except EOFError:
                raise TripExportError(
                    f"trip export reader process stopped without finishing (exit code {process.wait(timeout=30)})"
                ) from None
            kind = message[0]
            if kind == "rows":
                yield from message[1]
            elif kind == "xml":
                yield message[1], message[2]
            elif kind == "done":
                if report is not None:
                    report.rows, report.peak_rss_mb = message[1], message[2]
                return
            else:
                raise TripExportError(f"reading the trips failed: {message[1]}")
    finally:
        process.stdout.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=5)


def rows_from_reader_process(
    engine: Engine, params: Mapping[str, Any], export_type: str, campaigns: CampaignConfig, tz: str,
    batch_size: int, report: ReaderReport | None = None,
) -> Iterator[tuple]:
    """The rows of `export_rows`, read and transformed by a child Python process (`python -m
    platform_assets.trip_exports.reader`: a plain subprocess, so the caller's main module, a
    Dagster or CLI entry point, is not imported again as multiprocessing's spawn would) and
    handed over as pickled batches; the caller formats and deflates them. Closing the generator
    early stops the child; a failure in the child is raised as a one-line TripExportError."""
    return _from_reader_process(
        engine, (dict(params), export_type, campaigns, tz, batch_size, EXCEL_MAX_ROWS, False, False), report
    )


def formatted_rows_from_reader_process(
    engine: Engine, params: Mapping[str, Any], export_type: str, campaigns: CampaignConfig, tz: str,
    batch_size: int, max_rows_per_sheet: int = EXCEL_MAX_ROWS, report: ReaderReport | None = None,
    use_copy: bool = True,
) -> Iterator[tuple[bytes, int]]:
    """Like `rows_from_reader_process`, but the child also formats the rows as sheet XML
    (`workbook.formatted_chunks`): (xml, row count) chunks for
    `workbook.write_formatted_trips_workbook`; the caller only deflates them. `use_copy` (on
    PostgreSQL): the child reads with COPY, the rules applied in SQL (`copy_reader`)."""
    return _from_reader_process(
        engine, (dict(params), export_type, campaigns, tz, batch_size, max_rows_per_sheet, True, use_copy), report
    )


if __name__ == "__main__":
    _reader_main(sys.stdin.buffer, sys.stdout.buffer)
