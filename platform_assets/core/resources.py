"""The platform's shared resources, chosen and configured per deployment from the environment.

Resource keys every system may use: `object_store`, `database`, `mailer`, `platform`. Each class
declares its own settings (`core/settings.py`: `setting()`); the only settings read while the
definitions are built are those that choose a class (PLATFORM_OBJECT_STORE) and the checks that
need several settings together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.errors import SettingsError
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import LocalObjectStore, ObjectStore
from platform_assets.core.settings import (
    SettingSpec,
    configure,
    env_value,
    field_specs,
    parse_smtp_url,
    resolved,
)

if TYPE_CHECKING:  # at run time both come from the module's __getattr__ below
    from platform_assets.core.objectstore_s3 import S3ObjectStore

    RESOURCE_CLASSES: tuple[type, ...]

__all__ = [
    "ObjectStore", "LocalObjectStore", "S3ObjectStore", "PlatformDatabase", "Mailer", "PlatformInfo",
    "core_resources", "object_store", "CHOICE_SETTINGS", "RESOURCE_CLASSES",
]

OBJECT_STORE_KIND = SettingSpec(
    "PLATFORM_OBJECT_STORE", "local", "Where files go: a local folder or S3.", choices=("local", "s3")
)
S3_ENDPOINT = SettingSpec("PLATFORM_S3_ENDPOINT_URL", "", "S3 endpoint for non-AWS stores (MinIO, moto...).")
S3_REGION = SettingSpec("PLATFORM_S3_REGION", "us-east-1", "S3 region.")
# Settings that are not fields of a core resource class: a class choice and dagster-aws's S3Resource.
CHOICE_SETTINGS: tuple[SettingSpec, ...] = (OBJECT_STORE_KIND, S3_ENDPOINT, S3_REGION)


def __getattr__(name: str) -> Any:
    # S3ObjectStore (and so RESOURCE_CLASSES, which lists it) imports dagster-aws: only on demand
    # (settings listing, an S3 deployment), not on every load of the code location.
    if name in ("S3ObjectStore", "RESOURCE_CLASSES"):
        from platform_assets.core.objectstore_s3 import S3ObjectStore

        classes: tuple[type, ...] = (PlatformInfo, PlatformDatabase, LocalObjectStore, S3ObjectStore, Mailer)
        return S3ObjectStore if name == "S3ObjectStore" else classes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def object_store(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> ObjectStore:
    """The object store this deployment uses (PLATFORM_OBJECT_STORE)."""
    if OBJECT_STORE_KIND.read(env) == "local":
        return configure(LocalObjectStore, env, resolve=resolve)
    from dagster_aws.s3 import S3Resource

    from platform_assets.core.objectstore_s3 import S3ObjectStore

    name = field_specs(S3ObjectStore)["bucket"].read(env)
    if not name:
        raise SettingsError("PLATFORM_S3_BUCKET", "required when PLATFORM_OBJECT_STORE=s3")
    if len(name) < 3:
        raise SettingsError("PLATFORM_S3_BUCKET", "bucket names have at least 3 characters")
    endpoint = env_value(S3_ENDPOINT, env, resolve=resolve) or None
    region = env_value(S3_REGION, env, resolve=resolve)
    return configure(S3ObjectStore, env, resolve=resolve, s3=S3Resource(region_name=region, endpoint_url=endpoint))


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """The checks no single setting can make alone; SettingsError naming the variable."""
    database_url = resolved(PlatformDatabase, env).url
    if "://" not in database_url:
        raise SettingsError("PLATFORM_DATABASE_URL", f"{database_url!r} is not a database URL")
    smtp_url = resolved(Mailer, env).smtp_url
    if smtp_url:
        parse_smtp_url(smtp_url)


def core_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, Any]:
    """Every shared resource, configured for this deployment (`resolve`: values, not EnvVars)."""
    check_environment(env)
    return {
        "object_store": object_store(env, resolve=resolve),
        "database": configure(PlatformDatabase, env, resolve=resolve),
        "mailer": configure(Mailer, env, resolve=resolve),
        "platform": configure(PlatformInfo, env, resolve=resolve),
    }
