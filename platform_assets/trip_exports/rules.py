"""What a request may ask (ExportRules: limits, delays, mail policy) and what it asks (ExportRequest)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from platform_assets.core.settings import Settings

MAIL_LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class ExportRules:
    """Limits of a request (the registry's defaults; settings may change them)."""

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

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportRules:
        admins = settings.value("PLATFORM_TRIP_EXPORT_ADMIN_EMAILS") or ",".join(settings.alert_emails)
        language = settings.value("PLATFORM_TRIP_EXPORT_MAIL_LANGUAGE").strip().lower() or "fr"
        if language not in MAIL_LANGUAGES:
            from platform_assets.core.errors import SettingsError

            raise SettingsError("PLATFORM_TRIP_EXPORT_MAIL_LANGUAGE", f"{language!r} is not one of fr, en")
        try:
            retry_seconds = float(settings.value("PLATFORM_TRIP_EXPORT_MAIL_RETRY_SECONDS"))
        except ValueError:
            retry_seconds = -1.0
        if not retry_seconds >= 0:
            from platform_assets.core.errors import SettingsError

            raise SettingsError("PLATFORM_TRIP_EXPORT_MAIL_RETRY_SECONDS", "expected a number of seconds >= 0")
        return cls(
            max_past_days=settings.whole_number("PLATFORM_TRIP_EXPORT_MAX_PAST_DAYS", minimum=1),
            min_end_age_days=settings.whole_number("PLATFORM_TRIP_EXPORT_MIN_END_AGE_DAYS"),
            expiry_days=settings.whole_number("PLATFORM_TRIP_EXPORT_EXPIRY_DAYS", minimum=1),
            stale_hours=float(settings.value("PLATFORM_TRIP_EXPORT_STALE_HOURS")),
            technical_admins=tuple(a.strip() for a in admins.split(",") if a.strip()),
            mail_language=language,
            mail_attempts=settings.whole_number("PLATFORM_TRIP_EXPORT_MAIL_ATTEMPTS", minimum=1),
            mail_retry_seconds=retry_seconds,
            send_max_per_export=settings.whole_number("PLATFORM_TRIP_EXPORT_SEND_MAX_PER_EXPORT"),
            send_max_per_day=settings.whole_number("PLATFORM_TRIP_EXPORT_SEND_MAX_PER_DAY"),
        )


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
