"""Synthetic carpool trips that look like the registry's: French communes with their EPCI, AOM,
department and region (from the bundled INSEE reference), commuter-peak start times, operators of
classes A/B/C, passenger contributions, operator and registry incentives tied to the AOMs'
campaigns, and acquisition / fraud / anomaly statuses.

Deterministic for a seed. Rows come out as tuples in `TRIP_COLUMN_NAMES` order with datetimes as
UTC text, so the PostgreSQL path can COPY them as CSV (1M rows in well under a minute) and the
SQLite path executemany them as they are.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select

from platform_assets.trip_exports.geo import Commune, communes
from platform_assets.trip_exports.tables import TRIP_COLUMN_NAMES, trips_table


@dataclass(frozen=True)
class Operator:
    id: int
    name: str
    operator_class: str
    siret: str
    prefix: str


OPERATORS: tuple[Operator, ...] = (
    Operator(1, "Klaxit", "C", "81414941600037", "klx"),
    Operator(2, "BlaBlaCar Daily", "C", "53819823800046", "bbd"),
    Operator(3, "Karos", "C", "80822458700029", "krs"),
    Operator(4, "Mobicoop", "B", "82977438300019", "mbc"),
    Operator(5, "Ecov", "B", "81082785300023", "ecv"),
    Operator(6, "Rezo Pouce", "A", "79473436300018", "rzp"),
)
OPERATOR_WEIGHTS = (30, 25, 20, 12, 8, 5)

# One registry incentive campaign per AOM (the demo campaign config uses the same ids).
CAMPAIGN_OF_AOM: dict[str, int] = {
    "256900994": 1,  # Sytral Mobilités
    "287500078": 2,  # Île-de-France Mobilités
    "253800825": 3,  # SMMAG
    "200093201": 4,  # Métropole Européenne de Lille
    "200053767": 5,  # Région Auvergne-Rhône-Alpes
    "200053791": 6,  # Région Occitanie
}
# Commuting basins (departments) and their share of trips.
BASINS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("75", "92", "93", "77"), 35),
    (("69",), 25),
    (("59",), 15),
    (("38",), 15),
    (("48",), 10),
)
# Start hours: weekday commuter peaks.
HOUR_WEIGHTS = (0, 0, 0, 0, 1, 3, 8, 14, 12, 5, 3, 3, 4, 3, 3, 4, 7, 12, 10, 5, 3, 2, 1, 1)


def _expand(values: list, weights: list[int] | tuple[int, ...], size: int = 1000) -> list:
    """A lookup list where each value appears in proportion to its weight (O(1) weighted draws)."""
    total = sum(weights)
    table: list = []
    for value, weight in zip(values, weights, strict=True):
        table += [value] * round(size * weight / total)
    return table


def _distance_m(a: Commune, b: Commune) -> float:
    dlat = math.radians(b.lat - a.lat)
    dlon = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    return 6_371_000 * math.hypot(dlat, dlon)


def _geo(commune: Commune) -> tuple:
    return (
        commune.insee, commune.town, commune.department, commune.epci, commune.epci_name,
        commune.aom, commune.aom_name, commune.region, commune.region_name, commune.country,
    )


def generate_trips(
    count: int,
    start: date,
    end: date,
    seed: int = 0,
    first_journey_id: int = 1,
    datetime_suffix: str = "",
) -> Iterator[tuple]:
    """`count` trips starting between `start` (included) and `end` (excluded), as row tuples."""
    rng = random.Random(seed)
    rand = rng.random
    days = max((end - start).days, 1)
    # Text of each day (one spare day for trips ending after midnight of the last one).
    day_text = [(start + timedelta(days=offset)).isoformat() for offset in range(days + 2)]
    hours = _expand(list(range(24)), HOUR_WEIGHTS)
    operators = _expand(list(OPERATORS), OPERATOR_WEIGHTS)
    basin_table = _expand([departments for departments, _ in BASINS], [weight for _, weight in BASINS])
    basin_communes: dict[tuple[str, ...], list[Commune]] = {}
    for departments, _ in BASINS:
        members = [commune for commune in communes() if commune.department in departments]
        basin_communes[departments] = _expand(members, [max(1, round(math.sqrt(c.population))) for c in members])
    geo = {commune.insee: _geo(commune) for commune in communes()}
    users = [f"{rng.getrandbits(128):032x}" for _ in range(max(100, count // 8))]
    user_count = len(users)
    acquisition = _expand(["processed", "pending", "canceled"], [95, 3, 2], 100)
    fraud = _expand(["passed", "pending", "failed"], [93, 4, 3], 100)
    anomaly = _expand(["ok", "error"], [98, 2], 100)
    no_incentive = (None, None, None, None)
    # A separate stream for CEE applications, so adding them left every other draw unchanged.
    cee_rand = random.Random(seed ^ 0xCEE).random

    def stamp(seconds: int) -> str:
        day, rest = divmod(seconds, 86400)
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        return f"{day_text[day]} {hour:02d}:{minute:02d}:{second:02d}{datetime_suffix}"

    trip_id = ""
    trip_left = 0
    trip_seq = 0
    operator = operators[0]
    origin = destination = basin_communes[basin_table[0]][0]
    start_seconds = duration = distance = driver = 0
    driver_id = ""
    for journey_id in range(first_journey_id, first_journey_id + count):
        if trip_left == 0:
            # A new carpool: 1 to 3 passengers share the driver, the route and the times.
            trip_seq += 1
            trip_left = 1 + (rand() < 0.25) + (rand() < 0.08)
            trip_id = f"{rng.getrandbits(128):032x}"
            operator = operators[int(rand() * len(operators))]
            members = basin_communes[basin_table[int(rand() * len(basin_table))]]
            origin = members[int(rand() * len(members))]
            destination = members[int(rand() * len(members))]
            distance = int(_distance_m(origin, destination) * (1.2 + 0.3 * rand())) + 800 + int(rand() * 3000)
            duration = int(distance / (9 + 6 * rand())) + 120
            start_seconds = (
                int(rand() * days) * 86400 + hours[int(rand() * len(hours))] * 3600 + int(rand() * 3600)
            )
            driver = int(rand() * user_count)
            driver_id = users[driver]
        trip_left -= 1
        passenger_id = users[(driver + 1 + int(rand() * (user_count - 1))) % user_count]
        seats = 1 if rand() < 0.93 else 2
        contribution = (int(distance * 0.00008 * 100) // 10) * 10 if rand() < 0.7 else 0
        incentives: tuple = ()
        if rand() < 0.2:
            incentives += ("Incitation " + operator.name, operator.siret, 50 + int(rand() * 100), None)
        else:
            incentives += no_incentive
        incentives += no_incentive + no_incentive
        campaign = CAMPAIGN_OF_AOM.get(origin.aom)
        rpc_amount = 0
        if campaign is not None and rand() < 0.45:
            rpc_amount = 100 + 10 * int(rand() * 20)
            incentives += (origin.aom_name, origin.aom + "00015", rpc_amount, campaign)
        else:
            incentives += no_incentive
        incentives += no_incentive + no_incentive
        start_text = stamp(start_seconds)
        end_text = stamp(start_seconds + duration)
        yield (
            journey_id,
            trip_id,
            f"{operator.prefix}-{journey_id}",
            f"{operator.prefix}-t{trip_seq}",
            operator.operator_class,
            operator.id,
            operator.name,
            start_text,
            end_text,
            round(origin.lon + (rand() - 0.5) * 0.02, 6),
            round(origin.lat + (rand() - 0.5) * 0.014, 6),
            *geo[origin.insee],
            round(destination.lon + (rand() - 0.5) * 0.02, 6),
            round(destination.lat + (rand() - 0.5) * 0.014, 6),
            *geo[destination.insee],
            distance,
            duration,
            passenger_id,
            driver_id,
            seats,
            contribution * seats,
            contribution * seats + rpc_amount,
            # incentive tuples are (name, siret, amount, campaign): reorder to the columns' order
            *_incentive_columns(incentives),
            acquisition[int(rand() * 100)],
            fraud[int(rand() * 100)],
            anomaly[int(rand() * 100)],
            cee_rand() < 0.03,
        )


def _incentive_columns(incentives: tuple) -> tuple:
    """(name, siret, amount, campaign) x 6 -> (siret, name, amount, campaign_id) x 6."""
    out: list = []
    for index in range(0, len(incentives), 4):
        name, siret, amount, campaign = incentives[index : index + 4]
        out += [siret, name, amount, campaign]
    return tuple(out)


class _CsvStream:
    """A read-only file of CSV text produced on demand from row tuples (bounded memory)."""

    def __init__(self, rows: Iterator[tuple], rows_per_chunk: int = 2_000) -> None:
        self._rows = rows
        self._rows_per_chunk = rows_per_chunk
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self._pending = ""

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self._pending) < size:
            self._buffer.seek(0)
            self._buffer.truncate()
            before = self._buffer.tell()
            for _ in range(self._rows_per_chunk):
                row = next(self._rows, None)
                if row is None:
                    break
                self._writer.writerow(row)
            chunk = self._buffer.getvalue()
            if not chunk or self._buffer.tell() == before:
                break
            self._pending += chunk
        if size < 0:
            data, self._pending = self._pending, ""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data

    readline = read


def _next_journey_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.max(trips_table.c.journey_id), 0))).scalar_one()) + 1


def load_trips(
    engine: Engine,
    count: int,
    start: date,
    end: date,
    seed: int = 0,
    batch_size: int = 100_000,
) -> int:
    """Append `count` generated trips to the `trips` table (COPY on PostgreSQL); return the count."""
    first_id = _next_journey_id(engine)
    if engine.dialect.name == "postgresql":
        rows = generate_trips(count, start, end, seed, first_id, datetime_suffix="+00")
        column_list = ", ".join(TRIP_COLUMN_NAMES)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            # One streaming COPY: the server parses and indexes while Python generates the next rows.
            cursor.copy_expert(
                f"COPY trips ({column_list}) FROM STDIN WITH (FORMAT csv)", _CsvStream(rows), size=1 << 18
            )
            raw.commit()
        finally:
            raw.close()
        return count
    # SQLite stores DateTime as naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff" (SQLAlchemy's format).
    rows = generate_trips(count, start, end, seed, first_id, datetime_suffix=".000000")
    names = TRIP_COLUMN_NAMES
    with engine.begin() as connection:
        dbapi = connection.connection.driver_connection
        placeholders = ", ".join("?" for _ in names)
        sql = f"INSERT INTO trips ({', '.join(names)}) VALUES ({placeholders})"
        done = 0
        while done < count:
            batch = min(batch_size, count - done)
            dbapi.executemany(sql, [next(rows) for _ in range(batch)])  # type: ignore[union-attr]
            done += batch
    return count


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2025-03' -> (2025-03-01 00:00 UTC, 2025-04-01 00:00 UTC)."""
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following
