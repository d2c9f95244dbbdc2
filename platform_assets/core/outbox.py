"""The alert outbox: operator alerts are written to a table first, then delivered, and retried
with backoff until the mail server takes them, so an SMTP outage loses no alert.

An alert has a deduplication key (e.g. `run-failure:<run id>`): queuing the same alert twice
(a sensor tick retried after a crash) sends it once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, Text, select, update
from sqlalchemy.dialects import postgresql, sqlite

from platform_assets.core.errors import MailDeliveryError
from platform_assets.lib.db import new_metadata

metadata = new_metadata()

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("recipients", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("sent_to", Text),
)

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)

Send = Callable[[Sequence[str], str, str], str]


@dataclass(frozen=True)
class Delivery:
    dedup_key: str
    sent_to: str | None
    error: str | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 30 s, 1 min, 2 min... at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def queue_alert(engine: Engine, dedup_key: str, recipients: Sequence[str], subject: str, body: str,
                now: datetime | None = None) -> bool:
    """Queue an alert; False when one with this key is already queued (or sent)."""
    now = now or datetime.now(UTC)
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(alert_outbox).values(
        dedup_key=dedup_key, recipients=",".join(recipients), subject=subject, body=body,
        created_at=now, attempts=0, next_attempt_at=now,
    ).on_conflict_do_nothing(index_elements=[alert_outbox.c.dedup_key])
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def deliver_due(engine: Engine, send: Send, now: datetime | None = None, limit: int = 50) -> list[Delivery]:
    """Try every alert whose time has come; a failure stays queued for its next attempt."""
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        rows = connection.execute(
            select(alert_outbox)
            .where(alert_outbox.c.sent_at.is_(None), alert_outbox.c.next_attempt_at <= now)
            .order_by(alert_outbox.c.id)
            .limit(limit)
        ).all()
    deliveries = []
    for row in rows:
        recipients = [address for address in row.recipients.split(",") if address]
        try:
            where = send(recipients, row.subject, row.body)
        except MailDeliveryError as error:
            attempts = row.attempts + 1
            with engine.begin() as connection:
                connection.execute(
                    update(alert_outbox).where(alert_outbox.c.id == row.id).values(
                        attempts=attempts, last_error=str(error)[:1000], next_attempt_at=now + backoff(attempts)
                    )
                )
            deliveries.append(Delivery(row.dedup_key, None, str(error)))
            continue
        with engine.begin() as connection:
            connection.execute(
                update(alert_outbox).where(alert_outbox.c.id == row.id).values(
                    attempts=row.attempts + 1, sent_at=now, sent_to=where, last_error=None
                )
            )
        deliveries.append(Delivery(row.dedup_key, where, None))
    return deliveries


def pending_alerts(engine: Engine) -> list[tuple[str, int, str | None, datetime]]:
    """(key, attempts, last error, next attempt) of every alert not delivered yet."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(alert_outbox).where(alert_outbox.c.sent_at.is_(None)).order_by(alert_outbox.c.id)
        ).all()
    return [(row.dedup_key, row.attempts, row.last_error, _aware(row.next_attempt_at)) for row in rows]
