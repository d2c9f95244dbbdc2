"""The platform's shared resources, built from settings (see settings.py for every variable).

Resource keys every system may use: `object_store`, `database`, `mailer`, `sheets`, `platform`.
"""

from __future__ import annotations

from typing import Any

from dagster import EnvVar
from dagster_aws.s3 import S3Resource

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.settings import Settings, load_settings
from platform_assets.core.sheets import Sheets

__all__ = ["ObjectStore", "PlatformDatabase", "Mailer", "Sheets", "PlatformInfo", "build_resources"]


def build_object_store(settings: Settings) -> ObjectStore:
    return ObjectStore(
        kind=settings.object_store,
        local_dir=str(settings.object_store_dir),
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        s3=S3Resource(region_name=settings.s3_region, endpoint_url=settings.s3_endpoint_url or None),
    )


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """Every shared resource, configured for the deployment described by `settings`."""
    settings = settings or load_settings()
    return {
        "object_store": build_object_store(settings),
        "database": PlatformDatabase(url=settings.database_url),
        "mailer": Mailer(
            smtp_url=settings.smtp_url,
            # Through EnvVar so the password is resolved at run time and never shown in the UI.
            password=EnvVar("PLATFORM_SMTP_PASSWORD") if settings.smtp_password_set else None,
            sender=settings.mail_from,
            outbox_dir=str(settings.outbox_dir),
        ),
        "sheets": Sheets(
            backend=settings.sheets_backend,
            workbook_path=str(settings.sheets_workbook),
            credentials_file=settings.gsheets_credentials,
            spreadsheet_key=settings.gsheets_spreadsheet,
            api_base_url=settings.value("PLATFORM_GSHEETS_API_URL"),
        ),
        "platform": PlatformInfo(deployment=settings.deployment, alert_emails=list(settings.alert_emails)),
    }
