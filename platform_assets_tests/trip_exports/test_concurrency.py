"""Two claimers on PostgreSQL: SKIP LOCKED never blocks nor hands out a row twice, and every
export is processed exactly once."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.service import ExportRequest, claim_pending, create_export, get_export
from platform_assets.trip_exports.tables import Export, Log
from platform_assets_tests.trip_exports.conftest import (
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    TODAY,
    insert_trips,
    trip,
)


def new_exports(engine: Engine, count: int) -> list[str]:
    return [
        create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY).uuid
        for _ in range(count)
    ]


def test_skip_locked_passes_over_a_row_another_worker_holds(pg_engine: Engine) -> None:
    first, second = new_exports(pg_engine, 2)
    with pg_engine.connect() as other_worker:
        transaction = other_worker.begin()
        other_worker.execute(text("SELECT id FROM exports WHERE uuid = :u FOR UPDATE"), {"u": first})
        # Would block without SKIP LOCKED; with it, the next free row is taken at once.
        assert claim_pending(pg_engine, limit=2) == [second]
        transaction.rollback()
    assert claim_pending(pg_engine, limit=2) == [first]


def test_two_claimers_process_every_export_exactly_once(
    pg_engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    insert_trips(pg_engine, [trip(journey_id) for journey_id in range(1, 4)])
    uuids = new_exports(pg_engine, 16)
    processed: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            while claimed := claim_pending(pg_engine, limit=2):
                for export_uuid in claimed:
                    run_export(pg_engine, export_uuid, store, outbox_mailer, CampaignConfig(), RULES)
                    processed.append(export_uuid)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(processed) == sorted(uuids)
    assert all(get_export(pg_engine, REGISTRY_ADMIN, export_uuid).status == "success" for export_uuid in uuids)
    with Session(pg_engine) as session:
        claims = Counter(
            session.execute(select(Export.uuid).join(Log, Log.export_id == Export.id).where(Log.type == "claimed")).scalars()
        )
    assert claims == Counter({export_uuid: 1 for export_uuid in uuids})


def test_two_claimers_on_sqlite_never_share_an_export(sqlite_engine: Engine) -> None:
    uuids = new_exports(sqlite_engine, 30)
    claimed: list[list[str]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        try:
            start.wait()
            while batch := claim_pending(sqlite_engine, limit=1):
                claimed[index].extend(batch)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not set(claimed[0]) & set(claimed[1])
    assert sorted(claimed[0] + claimed[1]) == sorted(uuids)
