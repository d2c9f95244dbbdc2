"""Fuzz the API from its own OpenAPI schema with schemathesis (CLI, against the live server; the
examples, coverage, fuzzing and stateful phases, the last following the OpenAPI links from a
created export): whatever the body, path or query, no 5xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dagster_aws.s3 import S3Resource
from sqlalchemy import Engine, func, select

from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import S3ObjectStore
from platform_assets.trip_exports.api import ApiContext
from platform_assets.trip_exports.tables import Export
from platform_assets.trip_exports.tokens import create_token
from platform_assets_tests.trip_exports.api_server import serve_api
from platform_assets_tests.trip_exports.conftest import LYON_ADMIN, REGISTRY_ADMIN, RULES

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def api(pg_engine: Engine, s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> Iterator[str]:
    store = S3ObjectStore(bucket=s3_bucket, s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"))
    with serve_api(ApiContext(engine=pg_engine, store=store, mailer=Mailer(outbox_dir=str(tmp_path / "outbox")),
                              rules=RULES)) as url:
        yield url


@pytest.mark.parametrize("actor", [REGISTRY_ADMIN, LYON_ADMIN], ids=["registry-admin", "territory-admin"])
def test_schema_fuzzing_finds_no_server_error(api: str, pg_engine: Engine, actor: object, tmp_path: Path) -> None:
    token, _info = create_token(pg_engine, REGISTRY_ADMIN, actor.user, actor.role, actor.org)  # type: ignore[attr-defined]
    assert httpx.get(f"{api}/openapi.json").json()["info"]["title"] == "platform_assets trip exports"
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{api}/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "25", "--seed", "20261123", "--phases", "examples,coverage,fuzzing,stateful",
         "--header", f"Authorization: Bearer {token}", "--request-timeout", "10", "--no-color"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Stateful" in result.stdout and " 0 generated" not in result.stdout
    # The examples and the stateful links reached the service: exports were really created.
    with pg_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Export)).scalar_one() > 0
