"""Every setting of the platform, read from environment variables with embedded defaults.

This is the one place that knows variable names and defaults; the README's table of settings
mirrors `SETTINGS` below (a test keeps the two in step). Nothing here imports Dagster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from platform_assets.core.errors import SettingsError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SettingSpec:
    """One environment variable: its name, default (as text) and meaning."""

    name: str
    default: str
    help: str
    choices: tuple[str, ...] = ()


# `{data_dir}` and `{package}` in defaults are filled in by `load_settings`.
SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("PLATFORM_DEPLOYMENT", "local", "Name of this deployment, shown in alert emails."),
    SettingSpec("PLATFORM_DATA_DIR", "var/data", "Root folder of the embedded default's files."),
    SettingSpec(
        "PLATFORM_EXECUTOR",
        "default",
        "How a run's steps execute: Dagster's default (multiprocess), in_process, or celery workers.",
        choices=("default", "in_process", "multiprocess", "celery"),
    ),
    SettingSpec(
        "PLATFORM_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//", "Celery broker (PLATFORM_EXECUTOR=celery)."
    ),
    SettingSpec("PLATFORM_CELERY_BACKEND", "rpc://", "Celery result backend (PLATFORM_EXECUTOR=celery)."),
    SettingSpec(
        "PLATFORM_DATABASE_URL",
        "sqlite:///{data_dir}/platform.db",
        "SQLAlchemy URL of the platform database (PostgreSQL in production).",
    ),
    SettingSpec(
        "PLATFORM_OBJECT_STORE", "local", "Where files go: a local folder or S3.", choices=("local", "s3")
    ),
    SettingSpec("PLATFORM_OBJECT_STORE_DIR", "{data_dir}/objects", "Folder of the local object store."),
    SettingSpec("PLATFORM_S3_BUCKET", "", "S3 bucket (required when PLATFORM_OBJECT_STORE=s3)."),
    SettingSpec("PLATFORM_S3_PREFIX", "", "Key prefix inside the bucket."),
    SettingSpec("PLATFORM_S3_ENDPOINT_URL", "", "S3 endpoint for non-AWS stores (MinIO, moto...)."),
    SettingSpec("PLATFORM_S3_REGION", "us-east-1", "S3 region."),
    SettingSpec(
        "PLATFORM_SMTP_URL",
        "",
        "SMTP server: smtp://[user@]host[:25], smtp+starttls://user@host:587, smtps://user@host:465."
        " Empty: mail is written as .eml files to PLATFORM_OUTBOX_DIR.",
    ),
    SettingSpec("PLATFORM_SMTP_PASSWORD", "", "SMTP password (read through Dagster EnvVar, never shown)."),
    SettingSpec("PLATFORM_OUTBOX_DIR", "{data_dir}/outbox", "Folder of .eml files when no SMTP server is set."),
    SettingSpec("PLATFORM_MAIL_FROM", "platform@localhost", "Sender address of every email."),
    SettingSpec(
        "PLATFORM_ALERT_EMAILS", "operators@localhost", "Comma-separated operators who get failure emails."
    ),
    SettingSpec(
        "PLATFORM_SHEETS_BACKEND", "local", "Tracker sheet backend.", choices=("local", "gspread")
    ),
    SettingSpec("PLATFORM_SHEETS_WORKBOOK", "{data_dir}/tracker.xlsx", "Local workbook path (local backend)."),
    SettingSpec("PLATFORM_GSHEETS_CREDENTIALS", "", "Service-account JSON file (gspread backend)."),
    SettingSpec("PLATFORM_GSHEETS_SPREADSHEET", "", "Spreadsheet key (gspread backend)."),
    SettingSpec(
        "PLATFORM_GSHEETS_API_URL", "", "Sheets-compatible API base URL (gspread backend); empty: Google's."
    ),
    # -- transit (keep each system's settings in its own block) --------------------------------
    SettingSpec(
        "PLATFORM_CATALOG", "{package}/transit/demo/catalog.yaml", "Transit catalog (contributors, coverages)."
    ),
    SettingSpec(
        "PLATFORM_TRANSIT_RETRY_DELAY", "180", "Seconds before the one retry of a failed fetch/export step."
    ),
    SettingSpec(
        "PLATFORM_TRANSIT_TODAY",
        "",
        "Pin 'today' (YYYY-MM-DD) for the validity-period rules, e.g. to replay archived feeds; empty: the real date.",
    ),
    # -- trip exports ----------------------------------------------------------------------------
    SettingSpec(
        "PLATFORM_CAMPAIGN_CONFIG",
        "{package}/trip_exports/demo/campaigns.yaml",
        "Trip-export incentive campaign configuration.",
    ),
    SettingSpec("PLATFORM_TRIP_EXPORT_MAX_PAST_DAYS", "1095", "Oldest start date of a trip export, in days ago."),
    SettingSpec("PLATFORM_TRIP_EXPORT_MIN_END_AGE_DAYS", "5", "A trip export's end date is at least this many days ago."),
    SettingSpec("PLATFORM_TRIP_EXPORT_EXPIRY_DAYS", "7", "Days before a finished export's files are deleted and recipients scrambled."),
    SettingSpec("PLATFORM_TRIP_EXPORT_STALE_HOURS", "4", "Hours after which an export stuck in processing becomes error."),
    SettingSpec(
        "PLATFORM_TRIP_EXPORT_ADMIN_EMAILS", "", "Technical admins told of failed exports (empty: PLATFORM_ALERT_EMAILS)."
    ),
    SettingSpec("PLATFORM_OPENDATA_PORTAL_URL", "", "Open-data portal API base URL (empty: publishing is refused)."),
    SettingSpec("PLATFORM_OPENDATA_DATASET", "carpool-trips", "Dataset id of the monthly trips on the open-data portal."),
    SettingSpec("PLATFORM_OPENDATA_API_KEY", "", "API key sent to the open-data portal (X-API-KEY)."),
    SettingSpec(
        "PLATFORM_OPENDATA_PUBLIC_URL", "", "Public base URL of open-data files (empty: the object store URI)."
    ),
    # -- tracking --------------------------------------------------------------------------------
    SettingSpec(
        "PLATFORM_MAX_CONCURRENT_FAILURES",
        "5",
        "Failed runs in a row that put a newly registered process on hold (per process afterwards).",
    ),
    SettingSpec(
        "PLATFORM_OPENLINEAGE_URL",
        "",
        "OpenLineage consumer (e.g. Marquez) receiving every tracked run's events at {url}/api/v1/lineage; empty: off.",
    ),
    # -- dataset tracker -------------------------------------------------------------------------
    SettingSpec(
        "PLATFORM_SOURCES_CONFIG",
        "{package}/dataset_tracker/demo/sources_config.yaml",
        "Dataset-tracker sources configuration.",
    ),
    # -- quality ---------------------------------------------------------------------------------
    SettingSpec("PLATFORM_OCDS_SOURCE", "{package}/quality/demo/ocds", "OCDS data folder checked by quality."),
    SettingSpec(
        "PLATFORM_QUALITY_BLOCKING_CHECKS",
        "",
        "Comma-separated quality check names or patterns (reference.*) that block (severity ERROR); the others warn.",
    ),
    SettingSpec(
        "PLATFORM_QUALITY_REPORT_FORMATS", "xlsx,html", "Formats of quality reports written to the object store."
    ),
    SettingSpec(
        "PLATFORM_QUALITY_CHUNK_ROWS",
        "25000",
        "Rows of stop_times.txt / shapes.txt held at a time by the GTFS checks (bounds their memory).",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with `load_settings()`."""

    deployment: str
    data_dir: Path
    database_url: str
    object_store: str
    object_store_dir: Path
    s3_bucket: str
    s3_prefix: str
    s3_endpoint_url: str
    s3_region: str
    smtp_url: str
    smtp_password_set: bool
    outbox_dir: Path
    mail_from: str
    alert_emails: tuple[str, ...]
    sheets_backend: str
    sheets_workbook: Path
    gsheets_credentials: str
    gsheets_spreadsheet: str
    catalog: Path
    campaign_config: Path
    sources_config: Path
    ocds_source: Path
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)

    def value(self, name: str) -> str:
        """Any setting by variable name (systems read their own settings this way)."""
        return self.raw[name]

    def whole_number(self, name: str, minimum: int = 0) -> int:
        """A setting that counts something; SettingsError naming it unless a whole number >= minimum."""
        raw = self.raw[name]
        if not raw.strip().isdigit() or int(raw) < minimum:
            raise SettingsError(name, f"{raw!r} is not a whole number of at least {minimum}")
        return int(raw)


def _value(spec: SettingSpec, env: Mapping[str, str], data_dir: str) -> str:
    raw = env.get(spec.name)
    value = raw if raw not in (None, "") else spec.default
    value = value.replace("{data_dir}", data_dir).replace("{package}", str(PACKAGE_ROOT))
    if spec.choices and value not in spec.choices:
        raise SettingsError(spec.name, f"{value!r} is not one of: {', '.join(spec.choices)}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: the process environment); raise SettingsError on bad values."""
    env = os.environ if env is None else env
    specs = {spec.name: spec for spec in SETTINGS}
    data_dir = str(Path(env.get("PLATFORM_DATA_DIR") or specs["PLATFORM_DATA_DIR"].default).absolute())
    values = {name: _value(spec, env, data_dir) for name, spec in specs.items()}

    if values["PLATFORM_OBJECT_STORE"] == "s3":
        if not values["PLATFORM_S3_BUCKET"]:
            raise SettingsError("PLATFORM_S3_BUCKET", "required when PLATFORM_OBJECT_STORE=s3")
        if len(values["PLATFORM_S3_BUCKET"]) < 3:
            raise SettingsError("PLATFORM_S3_BUCKET", "bucket names have at least 3 characters")
    if values["PLATFORM_SMTP_URL"]:
        parse_smtp_url(values["PLATFORM_SMTP_URL"])
    if values["PLATFORM_SHEETS_BACKEND"] == "gspread":
        for name in ("PLATFORM_GSHEETS_CREDENTIALS", "PLATFORM_GSHEETS_SPREADSHEET"):
            if not values[name]:
                raise SettingsError(name, "required when PLATFORM_SHEETS_BACKEND=gspread")
    if "://" not in values["PLATFORM_DATABASE_URL"]:
        raise SettingsError("PLATFORM_DATABASE_URL", f"{values['PLATFORM_DATABASE_URL']!r} is not a database URL")

    return Settings(
        deployment=values["PLATFORM_DEPLOYMENT"],
        data_dir=Path(data_dir),
        database_url=values["PLATFORM_DATABASE_URL"],
        object_store=values["PLATFORM_OBJECT_STORE"],
        object_store_dir=Path(values["PLATFORM_OBJECT_STORE_DIR"]).absolute(),
        s3_bucket=values["PLATFORM_S3_BUCKET"],
        s3_prefix=values["PLATFORM_S3_PREFIX"],
        s3_endpoint_url=values["PLATFORM_S3_ENDPOINT_URL"],
        s3_region=values["PLATFORM_S3_REGION"],
        smtp_url=values["PLATFORM_SMTP_URL"],
        smtp_password_set=bool(env.get("PLATFORM_SMTP_PASSWORD")),
        outbox_dir=Path(values["PLATFORM_OUTBOX_DIR"]).absolute(),
        mail_from=values["PLATFORM_MAIL_FROM"],
        alert_emails=tuple(a.strip() for a in values["PLATFORM_ALERT_EMAILS"].split(",") if a.strip()),
        sheets_backend=values["PLATFORM_SHEETS_BACKEND"],
        sheets_workbook=Path(values["PLATFORM_SHEETS_WORKBOOK"]).absolute(),
        gsheets_credentials=values["PLATFORM_GSHEETS_CREDENTIALS"],
        gsheets_spreadsheet=values["PLATFORM_GSHEETS_SPREADSHEET"],
        catalog=Path(values["PLATFORM_CATALOG"]).absolute(),
        campaign_config=Path(values["PLATFORM_CAMPAIGN_CONFIG"]).absolute(),
        sources_config=Path(values["PLATFORM_SOURCES_CONFIG"]).absolute(),
        ocds_source=Path(values["PLATFORM_OCDS_SOURCE"]).absolute(),
        raw=values,
    )


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to reach an SMTP server, parsed from PLATFORM_SMTP_URL."""

    host: str
    port: int
    security: str  # plain | starttls | ssl
    username: str | None
    password: str | None


_SMTP_SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse `smtp://`, `smtp+starttls://` or `smtps://` URLs; raise SettingsError naming the setting."""
    parts = urlsplit(url)
    if parts.scheme not in _SMTP_SCHEMES:
        raise SettingsError(
            "PLATFORM_SMTP_URL", f"scheme {parts.scheme!r} is not one of: {', '.join(_SMTP_SCHEMES)}"
        )
    if not parts.hostname:
        raise SettingsError("PLATFORM_SMTP_URL", f"{url!r} names no host")
    security, default_port = _SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError as error:
        raise SettingsError("PLATFORM_SMTP_URL", f"bad port in {url!r}") from error
    return SmtpTarget(parts.hostname, port, security, parts.username, parts.password)


def settings_markdown() -> str:
    """The README's table of settings, generated from SETTINGS."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for spec in SETTINGS:
        default = spec.default.replace("{data_dir}", "$PLATFORM_DATA_DIR").replace("{package}", "<package>")
        choices = f" One of: {', '.join(spec.choices)}." if spec.choices else ""
        lines.append(f"| `{spec.name}` | `{default}` | {spec.help}{choices} |" if default else
                     f"| `{spec.name}` | (empty) | {spec.help}{choices} |")
    return "\n".join(lines) + "\n"


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
