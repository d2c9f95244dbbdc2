"""The monthly open-data file: anonymised trips, CSV (`;`) and XLSX, uploaded and published.

Rules (the registry's):
- the month is a month of Europe/Paris (1st 00:00 Paris time to the next 1st), and times are
  written in Paris time: a trip at 23:30 UTC on 31 March is 01:30 on 1 April in Paris and goes
  into April's file;
- only trips whose acquisition is `processed` and whose fraud check `passed` (non-fraud);
- start and end times rounded UP to the next 10 minutes (an exact multiple stays);
- coordinates cut (truncated, not rounded) to 3 decimals where the commune's population density
  is above 40 inhabitants per km2, else to 2 (unknown communes: 2, the safer side);
- a trip is dropped when fewer than 6 eligible trips of the month START in its start commune, or
  fewer than 6 END in its end commune: two separate counts, a start never counts for the end
  side (a trip without a start or end INSEE code is dropped too); the number dropped is kept in
  the statistics;
- durations in minutes are ROUND(seconds / 60) with halves rounded up, of end - start;
- no operator, person or money fields: exactly the 27 columns of the registry's header.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from platform_assets.core.objectstore import ObjectStore, StoredObject
from platform_assets.trip_exports.errors import TripExportError
from platform_assets.trip_exports.portal import PublishedResource, publish_resource
from platform_assets.trip_exports.privacy import (
    DENSITY_THRESHOLD,
    decimals_for,
    duration_minutes,
    round_up_10_minutes_utc,
    truncate_coordinate,
)
from platform_assets.trip_exports.workbook import Column, write_trips_workbook

if TYPE_CHECKING:
    from sqlalchemy import Engine


K_THRESHOLD = 6
OPENDATA_PREFIX = "trip_exports/opendata"
# The registry's open-data months and times are Europe/Paris (`--tz` default of
# `commands/DataGouvCommand.ts`, months split on local midnights; `ts_ceil(... at time zone tz)`
# and `to_char` in `repositories/queries/datagouvListQuery.ts`).
OPENDATA_TZ = "Europe/Paris"
_PARIS = ZoneInfo(OPENDATA_TZ)

OPENDATA_COLUMNS: tuple[Column, ...] = (
    Column("journey_id", "integer", "registry id of the passenger journey"),
    Column("trip_id", "text", "registry id of the carpool"),
    Column("journey_start_datetime", "datetime", "start, Paris time, rounded up to 10 minutes (CSV: with its UTC offset)"),
    Column("journey_start_date", "date", "start date (Paris time)"),
    Column("journey_start_time", "time", "start time (Paris time), rounded up to 10 minutes"),
    Column("journey_start_lon", "number", "start longitude, 3 decimals (dense commune) or 2"),
    Column("journey_start_lat", "number", "start latitude, 3 decimals (dense commune) or 2"),
    Column("journey_start_insee", "text", "start INSEE code"),
    Column("journey_start_department", "text", "start department code"),
    Column("journey_start_town", "text", "start commune"),
    Column("journey_start_towngroup", "text", "start EPCI"),
    Column("journey_start_country", "text", "start country"),
    Column("journey_end_datetime", "datetime", "end, Paris time, rounded up to 10 minutes (CSV: with its UTC offset)"),
    Column("journey_end_date", "date", "end date (Paris time)"),
    Column("journey_end_time", "time", "end time (Paris time), rounded up to 10 minutes"),
    Column("journey_end_lon", "number", "end longitude, 3 decimals (dense commune) or 2"),
    Column("journey_end_lat", "number", "end latitude, 3 decimals (dense commune) or 2"),
    Column("journey_end_insee", "text", "end INSEE code"),
    Column("journey_end_department", "text", "end department code"),
    Column("journey_end_town", "text", "end commune"),
    Column("journey_end_towngroup", "text", "end EPCI"),
    Column("journey_end_country", "text", "end country"),
    Column("passenger_seats", "integer", "seats booked"),
    Column("operator_class", "text", "proof class A, B or C"),
    Column("journey_distance", "integer", "distance in metres"),
    Column("journey_duration", "integer", "duration in minutes"),
    Column("has_incentive", "boolean", "an incentive was paid for the journey"),
)


@dataclass(frozen=True)
class OpendataStats:
    month: str
    trips_in_month: int
    eligible: int
    excluded_status: int
    dropped_small_areas: int
    small_area_codes: int
    published: int

    def description(self) -> str:
        return (
            f"Carpool trips of {self.month} from the registry, anonymised: {self.published} trips published "
            f"out of {self.trips_in_month} recorded ({self.excluded_status} not processed or not cleared by the "
            f"fraud check; {self.dropped_small_areas} dropped because fewer than {K_THRESHOLD} trips of the month "
            f"started in their start commune or ended in their end commune, {self.small_area_codes} such communes). Times rounded up to "
            f"10 minutes, coordinates to 3 decimals (density > {DENSITY_THRESHOLD:g} inh/km2) or 2."
        )


@dataclass(frozen=True)
class OpendataFiles:
    csv_path: Path
    xlsx_path: Path
    stats_path: Path
    stats: OpendataStats


# -- the rules: shared with the regular exports (privacy.py) ----------------------------------------
def round_up_10_minutes(moment: datetime) -> datetime:
    """Up to the next multiple of 10 minutes (UTC; naive = UTC); an exact multiple stays."""
    return round_up_10_minutes_utc(moment)


def round_up_10_minutes_paris(moment: datetime) -> datetime:
    """Up to the next 10 minutes, as an aware Paris time. Paris is a whole number of hours from
    UTC, so rounding the UTC moment and rounding the Paris wall clock (the registry's `ts_ceil` of
    the local time) give the same instant; this way a time in the spring-forward gap or the
    repeated autumn hour keeps its true offset."""
    return round_up_10_minutes_utc(moment).astimezone(_PARIS)


def opendata_month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2025-04' -> (2025-03-31 22:00 UTC, 2025-04-30 22:00 UTC): the Paris midnights of the 1st
    of the month and of the next, as UTC instants."""
    first = datetime.strptime(month, "%Y-%m").date()
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return tuple(  # type: ignore[return-value]
        datetime.combine(day, time(0), tzinfo=_PARIS).astimezone(UTC) for day in (first, following)
    )


cut_coordinate = truncate_coordinate


def small_area_codes(counts: dict[str, int], k: int = K_THRESHOLD) -> set[str]:
    return {code for code, count in counts.items() if count < k}


# -- reading --------------------------------------------------------------------------------------
def _eligible(start: datetime, end: datetime) -> list[Any]:
    from platform_assets.trip_exports.tables import trips_table

    trips = trips_table.c
    return [
        trips.start_datetime >= start,
        trips.start_datetime < end,
        trips.acquisition_status == "processed",
        trips.fraud_status == "passed",
    ]


def count_starts_and_ends(engine: Engine, month: str) -> tuple[dict[str, int], dict[str, int]]:
    """Eligible trips of the month per start INSEE code, and per end INSEE code: two separate
    counts, as the registry's `exclude_start_full` / `exclude_end_full` (datagouvListQuery.ts)."""
    from sqlalchemy import func, select

    from platform_assets.trip_exports.tables import trips_table

    start, end = opendata_month_bounds(month)
    trips = trips_table.c
    counts: list[dict[str, int]] = []
    with engine.connect() as connection:
        for column in (trips.start_insee, trips.end_insee):
            statement = select(column, func.count()).where(*_eligible(start, end)).group_by(column)
            counts.append({code: int(count) for code, count in connection.execute(statement) if code is not None})
    return counts[0], counts[1]


def _status_counts(engine: Engine, month: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from platform_assets.trip_exports.tables import trips_table

    start, end = opendata_month_bounds(month)
    trips = trips_table.c
    with engine.connect() as connection:
        total = connection.execute(
            select(func.count()).where(trips.start_datetime >= start, trips.start_datetime < end)
        ).scalar_one()
        eligible = connection.execute(select(func.count()).where(*_eligible(start, end))).scalar_one()
    return int(total), int(eligible)


def _anonymise(row: Any, start_counts: dict[str, int], end_counts: dict[str, int]) -> tuple | None:
    # Unknown codes count 0 (the registry's COUNT of a NULL code), so such trips are dropped too.
    if start_counts.get(row.start_insee, 0) < K_THRESHOLD or end_counts.get(row.end_insee, 0) < K_THRESHOLD:
        return None
    start = round_up_10_minutes_paris(row.start_datetime)
    end = round_up_10_minutes_paris(row.end_datetime)
    start_decimals = decimals_for(row.start_insee)
    end_decimals = decimals_for(row.end_insee)
    has_incentive = any(
        (getattr(row, f"{prefix}_amount") or 0) > 0
        for prefix in ("incentive_1", "incentive_2", "incentive_3", "incentive_rpc_1", "incentive_rpc_2", "incentive_rpc_3")
    )
    return (
        row.journey_id,
        row.trip_id,
        start,
        start.date(),
        start.time(),
        cut_coordinate(row.start_lon, start_decimals),
        cut_coordinate(row.start_lat, start_decimals),
        row.start_insee,
        row.start_department,
        row.start_town,
        row.start_epci_name,
        row.start_country,
        end,
        end.date(),
        end.time(),
        cut_coordinate(row.end_lon, end_decimals),
        cut_coordinate(row.end_lat, end_decimals),
        row.end_insee,
        row.end_department,
        row.end_town,
        row.end_epci_name,
        row.end_country,
        row.passenger_seats,
        row.operator_class,
        row.distance,
        duration_minutes(row.start_datetime, row.end_datetime),
        has_incentive,
    )


def _csv_cells(row: tuple) -> list[Any]:
    cells: list[Any] = []
    for value in row:
        if isinstance(value, bool):
            cells.append("true" if value else "false")
        elif isinstance(value, datetime):
            cells.append(value.isoformat())  # Paris time with its offset: 2025-04-01T01:30:00+02:00
        elif value is None or isinstance(value, int | float):
            cells.append("" if value is None else value)
        else:
            cells.append(str(value))
    return cells


def opendata_rows(engine: Engine, month: str, batch_size: int = 5_000) -> tuple[Iterator[tuple], dict[str, int]]:
    """The anonymised rows of `month` (a generator) and a dict its caller reads after consuming them."""
    start_counts, end_counts = count_starts_and_ends(engine, month)
    # Communes too small on either side (a commune small on both sides counts once).
    small = small_area_codes(start_counts) | small_area_codes(end_counts)
    start, end = opendata_month_bounds(month)
    tally = {"dropped": 0, "published": 0, "small_codes": len(small)}

    def rows() -> Iterator[tuple]:
        from sqlalchemy import select

        from platform_assets.trip_exports.tables import trips_table

        statement = (
            select(trips_table)
            .where(*_eligible(start, end))
            .order_by(trips_table.c.start_datetime, trips_table.c.journey_id)
        )
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(statement)
            for partition in result.partitions():
                for row in partition:
                    anonymised = _anonymise(row, start_counts, end_counts)
                    if anonymised is None:
                        tally["dropped"] += 1
                    else:
                        tally["published"] += 1
                        yield anonymised

    return rows(), tally


def build_opendata(engine: Engine, month: str, out_dir: Path) -> OpendataFiles:
    """Write `trips-<month>.csv` and `.xlsx` into `out_dir` in one pass over the trips."""
    datetime.strptime(month, "%Y-%m")  # a clear ValueError for a bad month before any work
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"trips-{month}.csv"
    xlsx_path = out_dir / f"trips-{month}.xlsx"
    rows, tally = opendata_rows(engine, month)
    total, eligible = _status_counts(engine, month)
    with open(csv_path, "w", encoding="utf-8", newline="") as csv_stream, open(xlsx_path, "wb") as xlsx_stream:
        writer = csv.writer(csv_stream, delimiter=";", quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerow([column.name for column in OPENDATA_COLUMNS])

        def tee() -> Iterator[tuple]:
            for row in rows:
                writer.writerow(_csv_cells(row))
                # The workbook shows the Paris wall clock (an aware value would be written in UTC).
                yield tuple(value.replace(tzinfo=None) if isinstance(value, datetime) else value for value in row)

        help_rows = [("open data", f"carpool trips of {month}, anonymised"), ("rules", __doc__.split("Rules (the registry's):")[1].strip())]
        write_trips_workbook(tee(), OPENDATA_COLUMNS, xlsx_stream, help_rows)
    stats = OpendataStats(
        month=month,
        trips_in_month=total,
        eligible=eligible,
        excluded_status=total - eligible,
        dropped_small_areas=tally["dropped"],
        small_area_codes=tally["small_codes"],
        published=tally["published"],
    )
    stats_path = out_dir / f"trips-{month}.stats.json"
    stats_path.write_text(json.dumps(asdict(stats), indent=2), encoding="utf-8")
    return OpendataFiles(csv_path, xlsx_path, stats_path, stats)


def load_opendata_files(out_dir: Path, month: str) -> OpendataFiles:
    """Files a previous `build_opendata` left in `out_dir` (for `opendata upload`)."""
    stats_path = out_dir / f"trips-{month}.stats.json"
    files = [out_dir / f"trips-{month}.csv", out_dir / f"trips-{month}.xlsx", stats_path]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise TripExportError(f"open data {month}: missing {', '.join(missing)}: run `opendata create` first")
    stats = OpendataStats(**json.loads(stats_path.read_text(encoding="utf-8")))
    return OpendataFiles(files[0], files[1], stats_path, stats)


def opendata_keys(month: str) -> tuple[str, str, str]:
    base = f"{OPENDATA_PREFIX}/{month}/trips-{month}"
    return f"{base}.csv", f"{base}.xlsx", f"{base}.stats.json"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload_opendata(store: ObjectStore, files: OpendataFiles) -> tuple[StoredObject, StoredObject, StoredObject]:
    """Upload CSV, XLSX and the statistics (the statistics last: publish reads them)."""
    csv_key, xlsx_key, stats_key = opendata_keys(files.stats.month)
    stored_csv = store.put_file(csv_key, files.csv_path, "text/csv")
    stored_xlsx = store.put_file(xlsx_key, files.xlsx_path, XLSX_TYPE)
    stored_stats = store.put_file(stats_key, files.stats_path, "application/json")
    return stored_csv, stored_xlsx, stored_stats


def publish_opendata(
    store: ObjectStore, month: str, portal_url: str, dataset: str, api_key: str, public_base_url: str = ""
) -> list[PublishedResource]:
    """Create or replace the month's CSV and XLSX resources on the portal, described by the stats."""
    csv_key, xlsx_key, stats_key = opendata_keys(month)
    stats = OpendataStats(**json.loads(store.read_bytes(stats_key)))
    published = []
    for key, file_format in ((csv_key, "csv"), (xlsx_key, "xlsx")):
        url = f"{public_base_url.rstrip('/')}/{key}" if public_base_url else store.uri(key)
        size = next((info.size for info in store.list(key) if info.key == key), None)
        published.append(
            publish_resource(
                portal_url, dataset, api_key, f"trips-{month}.{file_format}", url, stats.description(), file_format, size
            )
        )
    return published


def stats_dict(stats: OpendataStats) -> dict[str, Any]:
    return asdict(stats)


def verify_opendata_csv(path: Path) -> tuple[list[str], dict[str, int]]:
    """Read the written CSV back and check the anonymisation held: the 27 columns, times on
    10-minute boundaries, no coordinate with more than 3 decimals. Returns (problems, counts)."""
    problems: list[str] = []
    rows = 0
    coarse = 0
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream, delimiter=";")
        header = next(reader, [])
        if header != [column.name for column in OPENDATA_COLUMNS]:
            problems.append(f"{path.name}: header is not the 27 open-data columns")
            return problems, {"rows": 0}
        index = {name: position for position, name in enumerate(header)}
        for line, row in enumerate(reader, start=2):
            rows += 1
            for name in ("journey_start_time", "journey_end_time"):
                minutes, seconds = row[index[name]][3:5], row[index[name]][6:8]
                if seconds != "00" or not minutes.endswith("0"):
                    problems.append(f"{path.name}:{line}: {name} {row[index[name]]} is not on a 10-minute boundary")
            for name in ("journey_start_lon", "journey_start_lat", "journey_end_lon", "journey_end_lat"):
                decimals = len(row[index[name]].partition(".")[2])
                if decimals > 3:
                    problems.append(f"{path.name}:{line}: {name} {row[index[name]]} has {decimals} decimals")
                coarse += decimals <= 2
            if len(problems) >= 10:
                break
    return problems, {"rows": rows, "coordinates_with_2_decimals_or_fewer": coarse}
