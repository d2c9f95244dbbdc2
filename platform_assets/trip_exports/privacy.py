"""The carpool registry's privacy rules shared by the regular exports and the open data, one small
function each, so both apply the very same arithmetic.

Sources (betagouv/preuve-covoiturage, `api/src/pdc/services/export/`):
- times rounded UP to the next 10 minutes of the wall clock in the export's time zone
  (`ts_ceil(... at time zone tz, 600)` in `repositories/queries/carpoolListQuery.ts` and
  `datagouvListQuery.ts`);
- coordinates truncated (`trunc`, toward zero) to 3 decimals where the commune's population
  density is over 40 inhabitants/km2, else 2 (the `precision` column of both queries);
- durations `ROUND(seconds / 60)` (datagouvListQuery.ts), halves away from zero as PostgreSQL
  rounds a numeric;
- one trip status from the acquisition, fraud and anomaly statuses
  (`providers/carpool/helpers/castStatus.ts`, used by `models/CSVWriter.ts`).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import cache
from typing import TYPE_CHECKING

from platform_assets.trip_exports import geo

if TYPE_CHECKING:
    from platform_assets.trip_exports.tables import Export


DENSITY_THRESHOLD = 40.0
ROUNDING = timedelta(minutes=10)
_MICROSECOND = timedelta(microseconds=1)


def round_up_10_minutes(moment: datetime) -> datetime:
    """Up to the next multiple of 10 minutes of its wall clock; an exact multiple stays. Naive
    datetimes stay naive; an aware one is taken as is (naive SQLite values are UTC: see callers)."""
    minute = moment.minute
    if not (minute % 10 or moment.second or moment.microsecond):
        return moment
    return moment.replace(minute=minute - minute % 10, second=0, microsecond=0) + ROUNDING


def round_up_10_minutes_utc(moment: datetime) -> datetime:
    """`round_up_10_minutes` of a UTC moment (naive = UTC, as SQLite hands it back), aware in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round_up_10_minutes(moment)


def decimals_for(insee: str | None) -> int:
    """3 where the commune is denser than 40 inhabitants/km2, else 2 (unknown communes: 2, the
    coarser, safer side)."""
    return _decimals_by_insee().get(insee or "", 2)


@cache
def _decimals_by_insee() -> dict[str, int]:
    return {
        commune.insee: 3 if commune.area_km2 > 0 and commune.density > DENSITY_THRESHOLD else 2
        for commune in geo.communes()
    }


def truncate_coordinate(value: float | None, decimals: int) -> float | None:
    """Cut toward zero to `decimals` places of the shortest decimal text of the float (what
    `trunc(value::numeric, decimals)` does), with no float drift (2.3 stays 2.3)."""
    if value is None:
        return None
    text = repr(value)
    point = text.find(".")
    if point < 0 or "e" in text or "n" in text:  # exponent, inf or nan: the exact, slower way
        return float(Decimal(text).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN))
    return float(text[: point + 1 + decimals])


def duration_minutes(start: datetime, end: datetime) -> int:
    """ROUND((end - start) in seconds / 60) with halves away from zero (PostgreSQL's ROUND of a
    numeric, which EXTRACT(EPOCH ...) is since PostgreSQL 14); Python's round() would go half
    to even and shorten 73 of 8,850 sample trips by a minute."""
    microseconds = (end - start) // _MICROSECOND
    sign = -1 if microseconds < 0 else 1
    return sign * ((2 * abs(microseconds) + 60_000_000) // 120_000_000)


# The registry says `passed`/`failed` for anomalies; the embedded trips say `ok`/`error`.
_PASSED = frozenset({"passed", "ok"})
_FAILED = frozenset({"failed", "error"})
TRIP_STATUSES = (
    "ok", "pending", "canceled", "acquisition_error", "fraud_error", "anomaly_error", "terms_violation_error", "unknown",
)


@cache
def trip_status(acquisition: str | None, fraud: str | None, anomaly: str | None) -> str:
    """One status from the three of a trip, in the registry's order of precedence."""
    if not acquisition:
        return "unknown"
    if acquisition == "canceled":
        return "canceled"
    if acquisition in ("expired", "terms_violation_error"):
        return "terms_violation_error"
    if acquisition == "failed":
        return "acquisition_error"
    if acquisition == "processed" and anomaly in _PASSED and fraud in _PASSED:
        return "ok"
    if fraud in _FAILED:
        return "fraud_error"
    if anomaly in _FAILED:
        return "anomaly_error"
    return "pending"


def scramble_text(length: int = 16) -> str:
    return secrets.token_hex(length // 2)


def scrambled_email() -> str:
    """A random address that can never be delivered (the .invalid top-level domain)."""
    return f"{scramble_text()}@scrambled.invalid"


_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\"',;:@]+@[^\s<>()\"',;:@]+")


def scramble_people(export: Export, now: datetime) -> int:
    """At expiry, what names a person goes: each recipient's email, name and message, the
    creator's email (`created_by`), and any email address in the export's log lines, replaced by
    random values (the registry's RecipientRepository.anonymize clears the recipients; the
    creator and the logs would otherwise keep an address after the files are gone). Returns how
    many recipients were scrambled now (already scrambled ones stay as they are)."""
    scrambled = 0
    for recipient in export.recipients:
        if recipient.scrambled_at is None:
            recipient.email = scrambled_email()
            recipient.fullname = scramble_text()
            recipient.message = scramble_text(32) if recipient.message else None
            recipient.scrambled_at = now
            scrambled += 1
    if not export.created_by.endswith("@scrambled.invalid"):
        export.created_by = scrambled_email()
    for log in export.logs:
        if "@" in log.message:
            log.message = _EMAIL_IN_TEXT.sub(lambda match: match.group(0) if match.group(0).endswith(
                "@scrambled.invalid") else "[scrambled]", log.message)
    return scrambled
