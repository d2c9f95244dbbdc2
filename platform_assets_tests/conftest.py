"""Fixtures shared by every system's tests: real servers on loopback and an isolated platform."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_assets_tests import servers

# moto and boto3 need credentials to sign requests; these never leave loopback.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# The real public feeds and datasets the tests read, bundled in `data/` (origins and licences in
# data/NOTICE.md); PLATFORM_TEST_SHARED_DATA points at another copy.
SHARED_DATA = Path(os.environ.get("PLATFORM_TEST_SHARED_DATA") or Path(__file__).resolve().parent / "data")
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _dagster_state_storage_reset() -> Iterator[None]:
    """Each test starts with the Dagster state-storage context it would have alone.

    A DagsterInstance entered with `with` publishes its state storage in a context variable that is
    reset on exit; one exited in another context (a server thread, an async task) leaves it set,
    pointing at a disposed instance, and a later test's `Definitions` load then fails with
    "Attempted to resolve undefined DagsterInstance weakref" depending on test order.
    """
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    with set_defs_state_storage(None):
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The bundled public sample data (see data/NOTICE.md)."""
    assert SHARED_DATA.is_dir(), f"expected the sample data at {SHARED_DATA} (set PLATFORM_TEST_SHARED_DATA)"
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this test session and dropped at its end."""
    with servers.postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with servers.moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    return servers.create_bucket(s3_endpoint)


@pytest.fixture
def smtp() -> Iterator[servers.SmtpServer]:
    with servers.smtp_server() as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[servers.HttpServer]:
    with servers.HttpServer().running() as server:
        yield server


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[servers.FtpServer]:
    with servers.ftp_server(tmp_path / "ftp-root") as server:
        yield server


@pytest.fixture
def platform_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every PLATFORM_* setting at a fresh data dir (embedded defaults otherwise)."""
    for name in list(os.environ):
        if name.startswith("PLATFORM_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def resources(platform_env: Path) -> dict[str, Any]:
    """The platform's shared resources on the embedded default, inside this test's data dir."""
    from platform_assets.definitions import all_resources

    return all_resources()
