"""The trip generator: realistic, deterministic, loads through COPY (PostgreSQL) and executemany (SQLite)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import Engine, func, select

from platform_assets.trip_exports import geo
from platform_assets.trip_exports.generator import OPERATORS, generate_trips, load_trips
from platform_assets.trip_exports.tables import TRIP_COLUMN_NAMES, trips_table


def test_generated_trips_look_like_the_registry() -> None:
    rows = [dict(zip(TRIP_COLUMN_NAMES, row, strict=True)) for row in generate_trips(3000, date(2025, 3, 1), date(2025, 4, 1), seed=7)]
    assert rows == [dict(zip(TRIP_COLUMN_NAMES, row, strict=True)) for row in generate_trips(3000, date(2025, 3, 1), date(2025, 4, 1), seed=7)]
    communes = geo.commune_by_insee()
    operators = {operator.id: operator for operator in OPERATORS}
    for row in rows:
        start, end = communes[row["start_insee"]], communes[row["end_insee"]]
        assert (row["start_epci"], row["start_aom"], row["start_region"]) == (start.epci, start.aom, start.region)
        assert row["end_department"] == end.department
        assert abs(row["start_lon"] - start.lon) < 0.011 and abs(row["end_lat"] - end.lat) < 0.008
        assert "2025-03-01" <= row["start_datetime"][:10] <= "2025-03-31"
        assert row["end_datetime"] > row["start_datetime"]
        assert row["operator_class"] == operators[row["operator_id"]].operator_class
        assert row["distance"] > 0 and row["duration"] > 0
        assert row["driver_revenue"] >= row["passenger_contribution"] >= 0
    statuses = Counter(row["acquisition_status"] for row in rows)
    assert set(statuses) == {"processed", "pending", "canceled"} and statuses["processed"] > 2700
    assert {row["fraud_status"] for row in rows} == {"passed", "pending", "failed"}
    with_incentive = [row for row in rows if row["incentive_rpc_1_amount"]]
    assert 0.3 * len(rows) < len(with_incentive) < 0.6 * len(rows)
    assert all(row["incentive_rpc_1_campaign_id"] in range(1, 7) for row in with_incentive)
    # Carpools group passengers: some trip ids are shared.
    assert max(Counter(row["trip_id"] for row in rows).values()) >= 2
    hours = Counter(int(row["start_datetime"][11:13]) for row in rows)
    assert hours[8] > hours[3] and hours[18] > hours[22]


def test_load_trips_on_both_backends(engine: Engine) -> None:
    assert load_trips(engine, 1500, date(2025, 3, 1), date(2025, 4, 1), seed=1, batch_size=700) == 1500
    load_trips(engine, 500, date(2025, 3, 1), date(2025, 4, 1), seed=2)  # appends after the last id
    with engine.connect() as connection:
        count, first, last, earliest = connection.execute(
            select(func.count(), func.min(trips_table.c.journey_id), func.max(trips_table.c.journey_id),
                   func.min(trips_table.c.start_datetime))
        ).one()
    assert (count, first, last) == (2000, 1, 2000)
    earliest = earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)
    assert datetime(2025, 3, 1, tzinfo=UTC) <= earliest < datetime(2025, 3, 2, tzinfo=UTC)
