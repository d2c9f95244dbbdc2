"""Secrets never reach the UI: the repository snapshot the webserver serves (resources, launchpad
config schemas and their defaults) holds neither the database password nor the SMTP password."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from platform_assets.definitions import build_definitions

DATABASE_PASSWORD = "SomePassword"
SMTP_PASSWORD = "AnotherSecret42"
API_KEY = "PortalKey9000"


@pytest.fixture
def secret_environment(platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_DATABASE_URL", f"postgresql://u:{DATABASE_PASSWORD}@db.example/platform")
    monkeypatch.setenv("PLATFORM_SMTP_URL", "smtp+starttls://mailer@mail.example:587")
    monkeypatch.setenv("PLATFORM_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("PLATFORM_OPENDATA_API_KEY", API_KEY)
    monkeypatch.setenv("PLATFORM_CELERY_BROKER", f"pyamqp://guest:{DATABASE_PASSWORD}@broker.example//")


def test_repository_snapshot_holds_no_secret(secret_environment: None) -> None:
    defs = build_definitions()
    repository = defs.get_repository_def()
    snapshot = serialize_value(RepositorySnap.from_def(repository))
    assert "PLATFORM_DATABASE_URL" in snapshot  # the resources are there, by variable name
    for secret in (DATABASE_PASSWORD, SMTP_PASSWORD, API_KEY):
        assert secret not in snapshot
    # The resources still resolve the real values inside a run.
    database = defs.resources["database"]  # type: ignore[index]
    assert "EnvVar" in type(database.url).__name__ or getattr(database.url, "env_var_name", None)


def test_the_launchpad_default_run_config_holds_no_secret(secret_environment: None) -> None:
    """What the launchpad scaffolds for each job comes from its config schema defaults."""
    from dagster._config.snap import snap_from_config_type

    repository = build_definitions().get_repository_def()
    for job in repository.get_all_jobs():
        schema = job.run_config_schema.config_type
        text = serialize_value(snap_from_config_type(schema))
        for secret in (DATABASE_PASSWORD, SMTP_PASSWORD, API_KEY):
            assert secret not in text, f"{job.name}: a secret is in its run config schema"
