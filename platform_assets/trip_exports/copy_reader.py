"""The PostgreSQL fast path of the reader process: the privacy rules applied in SQL, the rows read
with `COPY (SELECT ...) TO STDOUT (FORMAT csv)` and parsed by the C csv module, and every cell
written into the sheet XML straight from that text.

It produces the same (xml, row count) chunks as `workbook.formatted_chunks(export_rows(...))`,
so the same workbook (a test reads both back cell for cell), with less work in Python: no row
objects from the driver, no datetime objects, no per-cell conversions. The registry transforms
in SQL too (betagouv/preuve-covoiturage `api/src/pdc/services/export/repositories/queries/
carpoolListQuery.ts`: `ts_ceil(... at time zone tz, 600)`, `trunc(...::numeric, precision)`).

The SQL gives each cell the text the streaming writer would write for the Python value:
- times: the wall clock of the export's time zone (`timezone(tz, ...)`), rounded UP to the next
  10 minutes (`date_bin` of one microsecond earlier, plus 10 minutes: an exact multiple stays),
  then the Excel serial (days since 1899-12-30 plus the day's milliseconds / 86,400,000, the
  float sum the writer computes), the date serial and `HH24:MI:SS`;
- floats (coordinates, euros): PostgreSQL prints a float8 as its shortest round-trip text, as
  Python's repr does (`extra_float_digits = 1`, set for the session); an integral value gets
  repr's ".0"; coordinates are cut on that text to 3 or 2 decimals by the commune's density, as
  `privacy.truncate_coordinate` cuts repr's text;
- the trip status is `privacy.trip_status` as a CASE; booleans are 1/0; NULL and '' are blank
  cells either way.
Only the campaign enrichment (incentive type, campaign names) stays in Python, cached by input.
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.dialects import postgresql

from platform_assets.lib.xlsx.writer import EXCEL_MAX_INT, XlsxValueError, column_letter, text_cell_formatter
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.columns import OPERATOR_INCENTIVES, REGISTRY_INCENTIVES
from platform_assets.trip_exports.privacy import _decimals_by_insee
from platform_assets.trip_exports.scope import ExportScope
from platform_assets.trip_exports.tables import trips_table
from platform_assets.trip_exports.workbook import EXCEL_MAX_ROWS, Column, chunks_of_rows

# Cells of repeated text (towns, statuses, times...) are kept per column, this many at most.
_TEXT_CACHE_SIZE = 2048
_ENRICH_CACHE_SIZE = 8192
_EXCEL_EPOCH = "date '1899-12-30'"
_GEO_SOURCE = {"epci": "epci_name", "aom": "aom_name", "region": "region_name"}


def _ceil_10_minutes(local: str) -> str:
    return f"(date_bin('10 minutes', {local} - interval '1 microsecond', timestamp '2000-01-01') + interval '10 minutes')"


def _python_float(text: str) -> str:
    """float8 text as Python's repr writes it: PostgreSQL's shortest round-trip digits, plus
    repr's '.0' when integral (`text` is a column: evaluated once)."""
    # strpos rather than a regex: cheaper on the server, for 12 cells a row
    exotic = " OR ".join(f"strpos({text}, '{mark}') > 0" for mark in ".eNI")  # 1.5, 1e-05, NaN, Infinity
    return f"CASE WHEN {exotic} THEN {text} ELSE {text} || '.0' END"


_EUROS = ("driver_revenue", "passenger_contribution", *(f"{prefix}_amount" for prefix in (*OPERATOR_INCENTIVES, *REGISTRY_INCENTIVES)))
_COORDINATES = tuple(f"{side}_{axis}" for side in ("start", "end") for axis in ("lon", "lat"))


def _stages(inner_sql: str) -> str:
    """The FROM of the COPY: the scope's rows in order, then each derived value computed once per
    row in its own stage (OFFSET 0 keeps PostgreSQL from folding a stage into the next, which
    would evaluate a shared expression once per use)."""
    dense = [code for code, decimals in _decimals_by_insee().items() if decimals == 3]
    codes = ", ".join("'" + code.replace("'", "''") + "'" for code in dense) or "NULL"
    first = [f"{_ceil_10_minutes(f'a.{side}_local')} AS x_{side}_ceil" for side in ("start", "end")]
    first += [f"(CASE WHEN a.{side}_insee IN ({codes}) THEN 3 ELSE 2 END) AS x_{side}_decimals" for side in ("start", "end")]
    first += [f"a.{name}::text AS x_{name}_text" for name in _COORDINATES]
    first += [f"(a.{name}::float8 / 100)::text AS x_{name}_euros" for name in _EUROS]
    second = []
    for side in ("start", "end"):
        second += [f"(b.x_{side}_ceil::date - {_EXCEL_EPOCH}) AS x_{side}_serial",
                   f"(extract(epoch from b.x_{side}_ceil::time) * 1000)::bigint AS x_{side}_ms"]
    for name in _COORDINATES:
        # privacy.truncate_coordinate: cut the shortest text (exponent forms: the exact way)
        text, decimals = f"b.x_{name}_text", f"b.x_{name.split('_')[0]}_decimals"
        second.append(
            f"CASE WHEN strpos({text}, 'e') > 0 OR strpos({text}, 'N') > 0 "
            f"THEN trunc(b.{name}::numeric, {decimals})::float8::text "
            f"WHEN strpos({text}, '.') = 0 THEN {text} "
            f"ELSE left({text}, strpos({text}, '.') + {decimals})::float8::text END AS x_{name}_cut"
        )
    third = [
        f"CASE WHEN c.x_{side}_ms = 0 THEN c.x_{side}_serial::text "
        f"ELSE (c.x_{side}_serial::float8 + c.x_{side}_ms::float8 / 86400000)::text END AS x_{side}_serial_text"
        for side in ("start", "end")
    ]
    return (
        f"(SELECT c.*, {', '.join(third)} FROM ("
        f"SELECT b.*, {', '.join(second)} FROM ("
        f"SELECT a.*, {', '.join(first)} FROM ({inner_sql}) AS a OFFSET 0"
        ") AS b OFFSET 0) AS c OFFSET 0) AS t"
    )


_STATUS = """CASE
  WHEN t.acquisition_status IS NULL OR t.acquisition_status = '' THEN 'unknown'
  WHEN t.acquisition_status = 'canceled' THEN 'canceled'
  WHEN t.acquisition_status IN ('expired', 'terms_violation_error') THEN 'terms_violation_error'
  WHEN t.acquisition_status = 'failed' THEN 'acquisition_error'
  WHEN t.acquisition_status = 'processed' AND t.anomaly_status IN ('passed', 'ok')
       AND t.fraud_status IN ('passed', 'ok') THEN 'ok'
  WHEN t.fraud_status IN ('failed', 'error') THEN 'fraud_error'
  WHEN t.anomaly_status IN ('failed', 'error') THEN 'anomaly_error'
  ELSE 'pending' END"""


def _cell_sql(column: Column) -> tuple[str, str]:
    """(kind, SQL text of the cell) for one export column; kind `python:*` is filled in Python."""
    name = column.name
    if name == "status":
        return "text", _STATUS
    if name == "operator":
        return "text", "t.operator_name"
    if name == "incentive_type":
        return "python:incentive_type", "NULL"
    if name.endswith("_campaign_name"):
        return "python:campaign_name", "NULL"
    for side in ("start", "end"):
        if name == f"{side}_datetime":
            return "datetime", f"t.x_{side}_serial_text"
        if name == f"{side}_date":
            return "date", f"t.x_{side}_serial::text"
        if name == f"{side}_time":
            return "text", f"to_char(t.x_{side}_ceil, 'HH24:MI:SS')"
        if name in (f"{side}_lon", f"{side}_lat"):
            return "float", _python_float(f"t.x_{name}_cut")
        field = name.removeprefix(f"{side}_")
        if name.startswith(f"{side}_") and field in ("insee", "town", "department", "epci", "aom", "region", "country"):
            return "text", f"t.{side}_{_GEO_SOURCE.get(field, field)}"
    if name in _EUROS:
        return "float", _python_float(f"t.x_{name}_euros")
    if name == "cee_application":
        return "bool", "CASE WHEN t.cee_application THEN '1' ELSE '0' END"
    if column.type == "integer":
        return "int", f"t.{name}::text"
    if column.type == "text":
        return "text", f"t.{name}"
    raise AssertionError(f"no SQL for export column {name} ({column.type})")


# Trailing fields the Python enrichment reads: the trip's own (unrounded) local day, the campaign
# ids in `transform_rows`' order (registry incentives, then the operator's), both AOMs.
_HELPERS = (
    "t.start_local::date::text",
    *(f"t.{prefix}_campaign_id::text" for prefix in (*REGISTRY_INCENTIVES, *OPERATOR_INCENTIVES)),
    "t.start_aom",
    "t.end_aom",
)


def copy_sql(engine: Engine, scope: ExportScope, columns: Sequence[Column], tz: str) -> tuple[str, list[str]]:
    """The COPY statement of an export and the kind of each of its cells."""
    trips = trips_table.c
    inner = scope.query([
        *trips_table.columns,
        func.timezone(tz, trips.start_datetime).label("start_local"),
        func.timezone(tz, trips.end_datetime).label("end_local"),
    ]).order_by(trips.start_datetime, trips.journey_id)
    compiled = inner.compile(dialect=postgresql.psycopg2.dialect(), compile_kwargs={"render_postcompile": True})
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        inner_sql = cursor.mogrify(str(compiled), compiled.params).decode()
        cursor.close()
    finally:
        raw.close()
    cells = [_cell_sql(column) for column in columns]
    select_list = ",\n  ".join([sql for _, sql in cells] + list(_HELPERS))
    # Sorted once, on the trips, by the innermost query (an index scan on start_datetime): the
    # stages above are plain subquery scans, which keep their input's order; an outer ORDER BY
    # would sort the ~3 kB rows of text again (PostgreSQL does not carry the order through them).
    statement = f"COPY (SELECT\n  {select_list}\nFROM {_stages(inner_sql)}) TO STDOUT (FORMAT csv)"
    return statement, [kind for kind, _ in cells]


def copy_rows(engine: Engine, statement: str, buffer_size: int = 1 << 16) -> Iterator[list[str]]:
    """The COPY's CSV rows as lists of text, parsed by the C csv module. The driver writes into a
    pipe from a thread (it releases the GIL while it waits for the server), so the server's work
    on the next rows overlaps the formatting of these."""
    read_fd, write_fd = os.pipe()
    raw = engine.raw_connection()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb", buffering=buffer_size) as sink:
                cursor = raw.cursor()
                cursor.execute("SET extra_float_digits = 1")  # shortest round-trip float text
                cursor.execute("SET jit = off")  # compiling the expressions costs more than it saves here
                cursor.copy_expert(statement, sink, size=buffer_size)
                cursor.close()
        except BaseException as error:  # noqa: BLE001 - raised in the consumer
            failure.append(error)

    producer = threading.Thread(target=produce, name="trip-export-copy", daemon=True)
    source = open(read_fd, encoding="utf-8", newline="", buffering=buffer_size)  # noqa: SIM115 - closed below
    producer.start()
    try:
        yield from csv.reader(source)
        producer.join()
        if failure:
            raise failure[0]
    finally:
        source.close()  # a producer still writing gets a broken pipe and stops
        producer.join(timeout=30)
        try:
            raw.rollback()
        finally:
            raw.close()


def _compile_text_row_formatter(columns: Sequence[Column], kinds: Sequence[str]) -> Callable[[list[str], str], str]:
    """(cells as text, row number as text) -> the row's SpreadsheetML, as the streaming writer
    formats the Python values (code generated once per column set, like the writer's own)."""
    namespace: dict[str, Any] = {"text_cell": text_cell_formatter(), "too_big": _too_big, "not_finite": _not_finite, "XlsxValueError": XlsxValueError}
    lines = ["def format_row(r, n):", "    parts = ['<row r=\"', n, '\">']"]
    for index, (column, kind) in enumerate(zip(columns, kinds, strict=True)):
        ref = f"'<c r=\"{column_letter(index)}', n, '\"'"
        lines += [f"    v = r[{index}]", "    if v:"]
        if kind == "int":
            lines += ["        if len(v) > 15:", f"            too_big(v, n, {column.name!r})",
                      f"        parts += ({ref}, '><v>', v, '</v></c>')"]
        elif kind == "float":  # NaN and [-]Infinity end in N or y: refused as the writer refuses them
            lines += ["        if v[-1] in 'yN':", f"            not_finite(v, n, {column.name!r})",
                      f"        parts += ({ref}, '><v>', v, '</v></c>')"]
        elif kind == "datetime":
            lines.append(f"        parts += ({ref}, ' s=\"2\"><v>', v, '</v></c>')")
        elif kind == "date":
            lines.append(f"        parts += ({ref}, ' s=\"1\"><v>', v, '</v></c>')")
        elif kind == "bool":
            lines.append(f"        parts += ({ref}, ' t=\"b\"><v>', v, '</v></c>')")
        else:  # text, and the enrichment's text
            namespace[f"c{index}"] = {}
            lines += [
                f"        cell = c{index}.get(v)",
                "        if cell is None:",
                "            try:",
                "                cell = text_cell(v)",
                "            except XlsxValueError as error:",
                f"                raise XlsxValueError(f'row {{n}} column \"{column.name}\" (str): {{error}}') from None",
                f"            if len(c{index}) < {_TEXT_CACHE_SIZE}:",
                f"                c{index}[v] = cell",
                "        if cell:",
                f"            parts += ({ref}, cell)",
            ]
    lines += ["    parts.append('</row>')", "    return ''.join(parts)"]
    exec("\n".join(lines), namespace)  # noqa: S102 - code built above from column kinds only
    return namespace["format_row"]  # type: ignore[no-any-return]


def _too_big(text: str, row_number: str, name: str) -> None:
    if abs(int(text)) > EXCEL_MAX_INT:
        raise XlsxValueError(f"row {row_number} column {name!r} (int): {text} has more digits than Excel keeps (15)")


def _not_finite(text: str, row_number: str, name: str) -> None:
    raise XlsxValueError(f"row {row_number} column {name!r} (float): {text} is not a finite number; "
                         "XLSX cells cannot hold NaN or infinities")


def _enricher(kinds: Sequence[str], width: int, campaigns: CampaignConfig) -> Callable[[list[str]], None]:
    """Fills the enrichment's cells of a row in place (incentive type, campaign names)."""
    type_positions = [index for index, kind in enumerate(kinds) if kind == "python:incentive_type"]
    # Campaign names follow their campaign id in the column set (`*_campaign_id`, `*_campaign_name`).
    name_positions = [index for index, kind in enumerate(kinds) if kind == "python:campaign_name"]
    if not type_positions and not name_positions:
        return lambda row: None
    types: dict[tuple[str, ...], str] = {}
    names: dict[str, str] = {}
    days: dict[str, date] = {}

    def enrich(row: list[str]) -> None:
        helpers = tuple(row[width:])
        if type_positions:
            kind = types.get(helpers)
            if kind is None:
                day_text, *slots, start_aom, end_aom = helpers
                day = days.get(day_text)
                if day is None:
                    day = days[day_text] = date.fromisoformat(day_text)
                kind = campaigns.incentive_type(day, [int(slot) if slot else None for slot in slots], start_aom, end_aom)
                if len(types) < _ENRICH_CACHE_SIZE:
                    types[helpers] = kind
            for position in type_positions:
                row[position] = kind
        for position in name_positions:
            campaign_id = row[position - 1]
            if campaign_id:
                name = names.get(campaign_id)
                if name is None:
                    name = names[campaign_id] = campaigns.name_of(int(campaign_id)) or ""
                row[position] = name

    return enrich


def formatted_chunks_by_copy(
    engine: Engine, scope: ExportScope, columns: Sequence[Column], campaigns: CampaignConfig, tz: str,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS, chunk_rows: int = 1_000, title: str = "Trips",
) -> Iterator[tuple[bytes, int]]:
    """The export's rows as (SpreadsheetML, row count) chunks, exactly as
    `workbook.formatted_chunks(export_rows(...))` makes them, read with COPY (PostgreSQL only)."""
    statement, kinds = copy_sql(engine, scope, columns, tz)
    width = len(columns)
    for index, kind in enumerate(kinds):
        if kind == "python:campaign_name" and not columns[index - 1].name.endswith("_campaign_id"):
            raise AssertionError(f"{columns[index].name} must follow its campaign id")
    enrich = _enricher(kinds, width, campaigns)
    format_row = _compile_text_row_formatter(columns, kinds)

    def enrich_and_format(row: list[Any], number: int) -> str:
        enrich(row)
        return format_row(row, str(number))

    yield from chunks_of_rows(copy_rows(engine, statement), enrich_and_format, max_rows_per_sheet, chunk_rows, title)
