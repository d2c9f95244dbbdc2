"""Expiry: finished exports past `expires_at` lose their files and their recipients' details."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, select, update

from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.privacy import scramble_people
from platform_assets.trip_exports.records import (
    FINAL_STATUSES,
    OBJECT_PREFIX,
    load_export,
    new_session,
    now_utc,
    write_log,
)
from platform_assets.trip_exports.tables import Export


def scramble_text(length: int = 16) -> str:
    return secrets.token_hex(length // 2)


def expire_exports(engine: Engine, store: ObjectStore, now: datetime | None = None) -> list[str]:
    """Finished exports past `expires_at`: scramble recipients, delete files, mark expired."""
    now = now or now_utc()
    expired: list[str] = []
    with new_session(engine) as session:
        due = session.execute(
            select(Export.uuid).where(Export.status.in_(FINAL_STATUSES), Export.expires_at <= now)
        ).scalars().all()
    for export_uuid in due:
        deleted = [info.key for info in store.list(f"{OBJECT_PREFIX}/{export_uuid}/")]
        for key in deleted:
            store.delete(key)
        with new_session(engine) as session, session.begin():
            export = load_export(session, export_uuid)
            scramble_people(export, now)  # recipients, the creator's email, addresses in the logs
            session.execute(
                update(Export)
                .where(Export.id == export.id)
                .values(status="expired", download_url=None, updated_at=now)
            )
            write_log(
                session,
                export,
                "expired",
                f"expired: {len(export.recipients)} recipient(s) scrambled, {len(deleted)} file(s) deleted"
                + (f" ({', '.join(deleted)})" if deleted else ""),
            )
        expired.append(export_uuid)
    return expired
