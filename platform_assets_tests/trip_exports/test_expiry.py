"""Expiry: recipients scrambled, files deleted, status expired, all logged (service and job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import instance_for_test
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.jobs import trip_export_expiry_job
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.service import ExportRequest, create_export, expire_exports, get_export
from platform_assets.trip_exports.tables import Export, Recipient
from platform_assets_tests.trip_exports.conftest import (
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    TODAY,
    insert_trips,
    trip,
)


def processed_export(engine: Engine, store: ObjectStore, mailer: Mailer) -> str:
    insert_trips(engine, [trip(journey_id) for journey_id in range(1, 4)])
    export_uuid = create_export(
        engine, REGISTRY_USER,
        ExportRequest("2025-03-01", "2025-03-31", recipients=["Ana Lopez <ana@example.org>"], message="hello"),
        RULES, today=TODAY,
    ).uuid
    run_export(engine, export_uuid, store, mailer, CampaignConfig(), RULES)
    return export_uuid


def recipients_of(engine: Engine, export_uuid: str) -> list[Recipient]:
    with Session(engine) as session:
        export = session.execute(select(Export).where(Export.uuid == export_uuid)).scalar_one()
        return list(session.execute(select(Recipient).where(Recipient.export_id == export.id)).scalars())


def test_expiry_scrambles_recipients_and_deletes_files(
    engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    export_uuid = processed_export(engine, store, outbox_mailer)
    assert len(store.list(f"trip_exports/{export_uuid}/")) == 1
    # Not due yet: nothing happens.
    assert expire_exports(engine, store) == []
    later = datetime.now(UTC) + timedelta(days=RULES.expiry_days, minutes=1)
    assert expire_exports(engine, store, now=later) == [export_uuid]
    # The creator's email is scrambled too: a registry admin reads the expired export.
    view = get_export(engine, REGISTRY_ADMIN, export_uuid)
    assert view.status == "expired" and view.download_url is None
    assert store.list(f"trip_exports/{export_uuid}/") == []
    (recipient,) = recipients_of(engine, export_uuid)
    assert recipient.email != "ana@example.org" and recipient.email.endswith("@scrambled.invalid")
    assert recipient.fullname != "Ana Lopez" and recipient.message != "hello"
    assert recipient.scrambled_at is not None
    assert view.logs[-1][1] == "expired" and "1 recipient(s) scrambled, 1 file(s) deleted" in view.logs[-1][2]
    # Idempotent: an expired export is not expired twice.
    assert expire_exports(engine, store, now=later) == []


def test_expiry_job_runs_with_the_platform_resources(
    sqlite_engine: Engine, store: ObjectStore, outbox_mailer: Mailer, tmp_path: Path
) -> None:
    export_uuid = processed_export(sqlite_engine, store, outbox_mailer)
    with sqlite_engine.begin() as connection:
        connection.execute(update(Export).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    with instance_for_test() as instance:
        result = trip_export_expiry_job.execute_in_process(
            instance=instance,
            resources={"database": PlatformDatabase(url=str(sqlite_engine.url)), "object_store": store},
        )
    assert result.success
    assert get_export(sqlite_engine, REGISTRY_ADMIN, export_uuid).status == "expired"
    assert store.list() == []
