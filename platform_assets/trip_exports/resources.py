"""Trip exports' settings, as resources: the request and lifecycle policy, and the open-data portal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.errors import SettingsError
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.settings import comma_list, configure, setting
from platform_assets.trip_exports.rules import MAIL_LANGUAGES, ExportRules

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from platform_assets.trip_exports.campaigns import CampaignConfig


class TripExportPolicy(ConfigurableResource):
    """Limits of a request, lifetimes of an export and who hears of failures."""

    campaign_config: str = setting(
        "PLATFORM_CAMPAIGN_CONFIG",
        "{package}/trip_exports/demo/campaigns.yaml",
        "Trip-export incentive campaign configuration.",
    )
    max_past_days: int = setting(
        "PLATFORM_TRIP_EXPORT_MAX_PAST_DAYS", "1095", "Oldest start date of a trip export, in days ago.", minimum=1
    )
    min_end_age_days: int = setting(
        "PLATFORM_TRIP_EXPORT_MIN_END_AGE_DAYS", "5", "A trip export's end date is at least this many days ago.",
        minimum=0,
    )
    expiry_days: int = setting(
        "PLATFORM_TRIP_EXPORT_EXPIRY_DAYS", "7",
        "Days before a finished export's files are deleted and recipients scrambled.", minimum=1,
    )
    stale_hours: str = setting(
        "PLATFORM_TRIP_EXPORT_STALE_HOURS", "4", "Hours after which an export stuck in processing becomes error."
    )
    admin_emails: str = setting(
        "PLATFORM_TRIP_EXPORT_ADMIN_EMAILS", "", "Technical admins told of failed exports (empty: PLATFORM_ALERT_EMAILS)."
    )
    mail_language: str = setting(
        "PLATFORM_TRIP_EXPORT_MAIL_LANGUAGE", "fr", "Language of trip-export mails (a request may choose).",
        choices=MAIL_LANGUAGES,
    )
    mail_attempts: int = setting(
        "PLATFORM_TRIP_EXPORT_MAIL_ATTEMPTS", "4",
        "Attempts per recipient when SMTP answers 4xx or drops the connection.", minimum=1,
    )
    mail_retry_seconds: str = setting(
        "PLATFORM_TRIP_EXPORT_MAIL_RETRY_SECONDS", "5", "First wait before a mail is tried again (doubles each attempt)."
    )
    send_max_per_export: int = setting(
        "PLATFORM_TRIP_EXPORT_SEND_MAX_PER_EXPORT", "10", "Times the link of one export may be mailed again (send).",
        minimum=0,
    )
    send_max_per_day: int = setting(
        "PLATFORM_TRIP_EXPORT_SEND_MAX_PER_DAY", "20", "Sends one caller may make per UTC day, all exports together.",
        minimum=0,
    )

    def rules(self, alert_emails: Sequence[str] = ()) -> ExportRules:
        try:
            stale_hours = float(self.stale_hours)
        except ValueError:
            raise SettingsError("PLATFORM_TRIP_EXPORT_STALE_HOURS", f"{self.stale_hours!r} is not a number of hours") from None
        try:
            retry_seconds = float(self.mail_retry_seconds)
        except ValueError:
            retry_seconds = -1.0
        if not retry_seconds >= 0:
            raise SettingsError("PLATFORM_TRIP_EXPORT_MAIL_RETRY_SECONDS", "expected a number of seconds >= 0")
        return ExportRules(
            max_past_days=self.max_past_days,
            min_end_age_days=self.min_end_age_days,
            expiry_days=self.expiry_days,
            stale_hours=stale_hours,
            technical_admins=tuple(comma_list(self.admin_emails) or alert_emails),
            mail_language=self.mail_language,
            mail_attempts=self.mail_attempts,
            mail_retry_seconds=retry_seconds,
            send_max_per_export=self.send_max_per_export,
            send_max_per_day=self.send_max_per_day,
        )

    def campaigns(self) -> CampaignConfig:
        from platform_assets.trip_exports.campaigns import load_campaign_config

        return load_campaign_config(Path(self.campaign_config))


class OpenDataPortal(ConfigurableResource):
    """The open-data portal the monthly anonymised trips are published to."""

    url: str = setting("PLATFORM_OPENDATA_PORTAL_URL", "", "Open-data portal API base URL (empty: publishing is refused).")
    dataset: str = setting(
        "PLATFORM_OPENDATA_DATASET", "carpool-trips", "Dataset id of the monthly trips on the open-data portal."
    )
    api_key: str = setting("PLATFORM_OPENDATA_API_KEY", "", "API key sent to the open-data portal (X-API-KEY).", secret=True)
    public_url: str = setting(
        "PLATFORM_OPENDATA_PUBLIC_URL", "", "Public base URL of open-data files (empty: the object store URI)."
    )


@dataclass
class TripExportsRuntime:
    """The resources resolved for the CLI, the HTTP API and the demo (processes that show no
    configuration, so values rather than EnvVars)."""

    resources: dict[str, Any]

    @cached_property
    def engine(self) -> Engine:
        """The database engine, migrated once for this process."""
        from platform_assets.core.database import upgrade_database

        database = self.resources["database"]
        upgrade_database(database.url)
        return database.engine

    @property
    def object_store(self) -> ObjectStore:
        return self.resources["object_store"]

    @property
    def mailer(self) -> Mailer:
        return self.resources["mailer"]

    @property
    def platform(self) -> PlatformInfo:
        return self.resources["platform"]

    @property
    def policy(self) -> TripExportPolicy:
        return self.resources["trip_exports"]

    @property
    def portal(self) -> OpenDataPortal:
        return self.resources["opendata_portal"]

    @property
    def rules(self) -> ExportRules:
        return self.policy.rules(self.platform.alert_emails)


def trip_exports_runtime(env: Mapping[str, str] | None = None) -> TripExportsRuntime:
    from platform_assets.core.resources import core_resources

    return TripExportsRuntime({
        **core_resources(env, resolve=True),
        "trip_exports": configure(TripExportPolicy, env, resolve=True),
        "opendata_portal": configure(OpenDataPortal, env, resolve=True),
    })
