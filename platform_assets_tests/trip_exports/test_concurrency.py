"""Two workers on one export: the run's claim is a compare-and-set, so exactly one runs it and
the other is told it is taken (issue 18 item 10), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.errors import ExportStateError, ExportTaken
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.service import (
    ExportRequest,
    create_export,
    get_export,
    pending_exports,
    start_processing,
)
from platform_assets.trip_exports.tables import Export, Log
from platform_assets_tests.trip_exports.conftest import (
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    TODAY,
    insert_trips,
    trip,
)


def new_exports(engine: Engine, count: int, recipients: tuple[str, ...] = ()) -> list[str]:
    return [
        create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31", recipients=recipients),
                      RULES, today=TODAY).uuid
        for _ in range(count)
    ]


def log_counts(engine: Engine, type_: str) -> Counter:
    with Session(engine) as session:
        return Counter(
            session.execute(select(Export.uuid).join(Log, Log.export_id == Export.id).where(Log.type == type_)).scalars()
        )


def test_two_workers_on_a_stale_export_one_runs_the_other_is_taken(
    engine: Engine, store: ObjectStore, tmp_path: Path
) -> None:
    """The export was left `processing` by a worker that died 5 hours ago; two `export process
    UUID` start at once. Before, both took it (processing -> processing) and one ended in error
    with a failure mail after the other mailed "ready"."""
    insert_trips(engine, [trip(journey_id) for journey_id in range(1, 4)])
    (export_uuid,) = new_exports(engine, 1, ("Ana Lopez <ana@example.org>",))
    start_processing(engine, export_uuid, now=datetime.now(UTC) - timedelta(hours=5))  # the dead worker
    outbox = tmp_path / "outbox"
    results: list[str] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        try:
            run_export(engine, export_uuid, store, Mailer(outbox_dir=str(outbox)), CampaignConfig(), RULES)
            results.append("ran")
        except ExportTaken as error:
            assert "taken by another worker" in str(error)
            results.append("taken")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == ["ran", "taken"]
    view = get_export(engine, REGISTRY_ADMIN, export_uuid)
    assert view.status == "success" and view.error is None
    assert len(list(outbox.glob("*.eml"))) == 1  # one "ready" mail, no failure mail
    assert len(store.list(f"trip_exports/{export_uuid}/")) == 1
    assert [line[2] for line in view.logs if line[1] == "processing"][-1] == "processing started (taken over from a stale run)"


def test_a_live_run_is_not_taken_over(engine: Engine) -> None:
    (export_uuid,) = new_exports(engine, 1)
    start_processing(engine, export_uuid, now=datetime.now(UTC) - timedelta(hours=3))  # 3 h < 4 h: alive
    try:
        start_processing(engine, export_uuid, timedelta(hours=4))
        raise AssertionError("a live run was taken over")
    except ExportTaken as error:
        assert "processing since" in str(error)
    # Once it is older than the stale timeout it may be taken over, once.
    start_processing(engine, export_uuid, timedelta(hours=2))
    assert log_counts(engine, "processing")[export_uuid] == 2


def test_two_workers_process_every_pending_export_exactly_once(
    engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    insert_trips(engine, [trip(journey_id) for journey_id in range(1, 4)])
    uuids = new_exports(engine, 12)
    processed: list[str] = []
    taken: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            while pending := pending_exports(engine, limit=3):
                for export_uuid in pending:
                    try:
                        run_export(engine, export_uuid, store, outbox_mailer, CampaignConfig(), RULES)
                        processed.append(export_uuid)
                    except ExportStateError:  # taken, or already finished by the other worker
                        taken.append(export_uuid)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert sorted(processed) == sorted(uuids)  # each once, by whichever worker claimed it
    assert all(get_export(engine, REGISTRY_ADMIN, export_uuid).status == "success" for export_uuid in uuids)
    assert log_counts(engine, "processing") == Counter({export_uuid: 1 for export_uuid in uuids})
