"""Bearer tokens of the HTTP API: created and revoked by admins, stored as sha256 only.

A token is 32 random bytes (URL-safe base64) behind a `pat_` prefix: with that much entropy a
plain sha256 is enough (no salt or slow hash needed: there is nothing to guess), and it lets the
API find a token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import sessionmaker

from platform_assets.trip_exports.errors import PermissionDenied, TripExportError
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.service import now_utc
from platform_assets.trip_exports.tables import ApiToken

TOKEN_PREFIX = "pat_"
# last_used_at is rewritten at most this often per token, so a busy client does not turn every
# read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenNotFound(TripExportError):
    """No API token with this id."""


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    role: str
    org: str | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None = None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.user, row.role, row.org, row.created_by, row.created_at, row.revoked_at, row.last_used_at,
                     row.expires_at)


def _aware(moment: datetime | None, zone: tzinfo) -> datetime | None:
    """SQLite hands datetimes back naive (they were stored as UTC)."""
    return moment.replace(tzinfo=zone) if moment is not None and moment.tzinfo is None else moment


def _require_admin(admin: Actor, actor: Actor) -> None:
    """Registry admins give tokens to anyone; operator and territory admins to their own org."""
    if admin.role == "registry.admin":
        return
    if not admin.is_admin:
        raise PermissionDenied(f"role {admin.role} may not manage API tokens (admins only)")
    if actor.family != admin.family or actor.org != admin.org:
        raise PermissionDenied(f"{admin.role} {admin.org} may only manage tokens of its own organisation")


def create_token(
    engine: Engine, admin: Actor, user: str, role: str, org: str | None = None, expires_at: datetime | None = None
) -> tuple[str, TokenInfo]:
    """A new token for `user` acting as `role` in `org`, valid until revoked or until `expires_at`
    (aware, in the future); returns (token, info). The token is shown once: only its digest is
    stored."""
    actor = Actor.parse(user, role, org)
    _require_admin(admin, actor)
    now = now_utc()
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise TripExportError(f"token expiry {expires_at}: give a time zone (e.g. UTC)")
        if expires_at <= now:
            raise TripExportError(f"token expiry {expires_at:%Y-%m-%d %H:%M %Z}: already past")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with sessionmaker(bind=engine, expire_on_commit=False)() as session, session.begin():
        row = ApiToken(token_sha256=token_digest(token), user=actor.user, role=actor.role, org=actor.org,
                       created_by=admin.user, created_at=now, expires_at=expires_at)
        session.add(row)
        session.flush()
        return token, _info(row)


def revoke_token(engine: Engine, admin: Actor, token_id: int) -> TokenInfo:
    with sessionmaker(bind=engine, expire_on_commit=False)() as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise TokenNotFound(f"API token {token_id}: not found")
        _require_admin(admin, Actor(user=row.user, role=row.role, org=row.org))
        if row.revoked_at is None:
            row.revoked_at = now_utc()
        session.flush()
        return _info(row)


def list_tokens(engine: Engine, admin: Actor) -> list[TokenInfo]:
    with sessionmaker(bind=engine)() as session:
        rows = session.execute(select(ApiToken).order_by(ApiToken.id)).scalars().all()
        visible = []
        for row in rows:
            try:
                _require_admin(admin, Actor(user=row.user, role=row.role, org=row.org))
            except PermissionDenied:
                continue
            visible.append(_info(row))
        return visible


def authenticate(engine: Engine, token: str) -> tuple[int, Actor] | None:
    """(token id, actor) of a valid token; None when it is unknown, revoked or expired."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    digest = token_digest(token)
    now = now_utc()
    with engine.begin() as connection:
        row = connection.execute(
            select(ApiToken.id, ApiToken.user, ApiToken.role, ApiToken.org, ApiToken.revoked_at, ApiToken.last_used_at,
                   ApiToken.expires_at)
            .where(ApiToken.token_sha256 == digest)
        ).one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        expires_at = _aware(row.expires_at, UTC)
        if expires_at is not None and expires_at <= now:
            return None
        last_used = _aware(row.last_used_at, UTC)
        if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
            connection.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row.id, Actor(user=row.user, role=row.role, org=row.org)
