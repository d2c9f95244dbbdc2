"""`platform-assets api token ...` and `platform-assets api serve` (a real uvicorn subprocess), and an
open-data request from the API carried through its Dagster run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from dagster import build_sensor_context, instance_for_test, materialize
from sqlalchemy import Engine, select

from platform_assets.cli import platform_cli
from platform_assets.core.database import PlatformDatabase, get_engine
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.settings import configure
from platform_assets.trip_exports.assets import opendata_trip_export
from platform_assets.trip_exports.sensors import REQUEST_TAG, opendata_request_sensor
from platform_assets.trip_exports.service import get_export, list_exports, request_opendata
from platform_assets.trip_exports.tables import ApiToken
from platform_assets_tests.servers import free_port
from platform_assets_tests.trip_exports.conftest import REGISTRY_ADMIN, insert_trips, policy_resources
from platform_assets_tests.trip_exports.test_opendata import march_trips


def test_token_commands_and_serve(platform_env: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(platform_cli, ["api", "token", "create", "--user", "ana@op1.example",
                                           "--role", "operator.admin", "--org", "1"], catch_exceptions=False)
    assert created.exit_code == 0, created.output
    header, token = created.output.strip().splitlines()
    assert header.startswith("token ") and "ana@op1.example (operator.admin 1)" in header and token.startswith("pat_")
    token_id = int(header.split()[1])
    engine = get_engine(configure(PlatformDatabase, resolve=True).url)
    with engine.connect() as connection:
        stored = connection.execute(select(ApiToken)).one()
    assert token not in {str(value) for value in stored._mapping.values()}  # never stored in clear

    missing_org = runner.invoke(platform_cli, ["api", "token", "create", "--user", "x@op1.example", "--role", "operator.user"])
    assert missing_org.exit_code == 2 and "--org is required" in missing_org.output

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "platform_assets.cli", "api", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                schema = httpx.get(f"{base_url}/openapi.json", timeout=2).json()
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        assert {"/exports", "/exports/{export_uuid}/download", "/opendata/{month}/publish"} <= set(schema["paths"])
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base_url}/exports", headers=headers).json()["items"] == []

        revoked = runner.invoke(platform_cli, ["api", "token", "revoke", str(token_id)], catch_exceptions=False)
        assert revoked.exit_code == 0 and "revoked at" in revoked.output
        assert httpx.get(f"{base_url}/exports", headers=headers).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
    listed = runner.invoke(platform_cli, ["api", "token", "list"], catch_exceptions=False)
    assert "ana@op1.example" in listed.output and "1 token(s)" in listed.output and "revoked 20" in listed.output


def test_opendata_request_is_done_by_its_run(sqlite_engine: Engine, store: ObjectStore, platform_env: Path) -> None:
    insert_trips(sqlite_engine, march_trips())
    request = request_opendata(sqlite_engine, REGISTRY_ADMIN, "2025-03")
    database = PlatformDatabase(url=str(sqlite_engine.url))
    with instance_for_test() as instance:
        (run_request,) = opendata_request_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database))).run_requests
        assert get_export(sqlite_engine, REGISTRY_ADMIN, request.uuid).status == "processing"
        result = materialize([opendata_trip_export], instance=instance, partition_key=run_request.partition_key,
                             tags=run_request.tags, resources=policy_resources(database=database, object_store=store))
    assert result.success
    done = get_export(sqlite_engine, REGISTRY_ADMIN, request.uuid)
    assert done.status == "success" and done.progress == 100 and done.stats["published"] == 12
    assert done.logs[-1][2].startswith("published by dagster run") and run_request.tags[REQUEST_TAG] == request.uuid
    # The publication record of the run sits beside the request.
    assert sorted(view.params.get("request", False) for view in list_exports(sqlite_engine, REGISTRY_ADMIN)) == [False, True]
