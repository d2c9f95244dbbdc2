"""The platform's shared resources, built from settings (see settings.py for every variable).

Resource keys every system may use: `object_store`, `database`, `mailer`, `platform` (the tracker's
`sheets` is the dataset tracker's own: dataset_tracker/resources.py).
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

__all__ = ["ObjectStore", "PlatformDatabase", "Mailer", "PlatformInfo", "build_resources"]


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
        "platform": PlatformInfo(deployment=settings.deployment, alert_emails=list(settings.alert_emails)),
    }
