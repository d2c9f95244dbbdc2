"""What a request may ask (ExportRules: limits, delays, mail policy) and what it asks (ExportRequest)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

MAIL_LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class ExportRules:
    """Limits of a request (the registry's defaults; `resources.TripExportPolicy` builds them from
    the settings)."""

    max_past_days: int = 3 * 365
    min_end_age_days: int = 5
    max_operators: int = 128
    max_territories: int = 1024
    max_recipients: int = 24
    expiry_days: int = 7
    stale_hours: float = 4.0
    technical_admins: tuple[str, ...] = ()
    # Mail: French by default, as the registry's own templates
    # (betagouv/preuve-covoiturage api/src/pdc/services/export/services/NotificationService.ts).
    mail_language: str = "fr"
    mail_attempts: int = 4
    mail_retry_seconds: float = 5.0
    send_max_per_export: int = 10
    send_max_per_day: int = 20


@dataclass(frozen=True)
class ExportRequest:
    """What a caller asks for. Dates are inclusive whole days."""

    start_date: date | str
    end_date: date | str
    operator_ids: Sequence[int | str] = ()
    geo_selector: Mapping[str, Sequence[str]] = field(default_factory=dict)
    recipients: Sequence[str] = ()
    type: str | None = None
    tz: str = "Europe/Paris"
    message: str | None = None
    language: str | None = None
