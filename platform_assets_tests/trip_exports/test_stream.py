"""Streaming trips: batches in start order, reader errors surface, an abandoned stream stops its reader."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError

from platform_assets.trip_exports.reader import stream_trips
from platform_assets.trip_exports.scope import ExportScope
from platform_assets_tests.trip_exports.conftest import MONTH_START, insert_trips, trip

SCOPE = ExportScope.from_params({"start_date": "2025-03-01", "end_date": "2025-03-31"})


def test_rows_come_in_start_order_across_batches(engine: Engine) -> None:
    insert_trips(engine, [trip(journey_id, start_datetime=MONTH_START + timedelta(minutes=(97 * journey_id) % 500))
                          for journey_id in range(1, 101)])
    rows = list(stream_trips(engine, SCOPE, batch_size=7, prefetch=2))
    assert len(rows) == 100
    keys = [(row.start_datetime.replace(tzinfo=None), row.journey_id) for row in rows]
    assert keys == sorted(keys)


def test_reader_errors_reach_the_consumer(tmp_path: Path) -> None:
    empty = create_engine(f"sqlite:///{tmp_path}/empty.db")  # no migrations: no trips table
    with pytest.raises(OperationalError, match="no such table: trips"):
        list(stream_trips(empty, SCOPE, batch_size=10))


def test_an_abandoned_stream_stops_its_reader(sqlite_engine: Engine) -> None:
    insert_trips(sqlite_engine, [trip(journey_id) for journey_id in range(1, 201)])
    stream = stream_trips(sqlite_engine, SCOPE, batch_size=5, prefetch=1)
    assert next(stream).journey_id is not None
    stream.close()
    assert not [thread for thread in threading.enumerate() if thread.name == "trip-export-reader"]
