"""The CLI on the embedded default: the same service functions, one-line errors (exit 2)."""

from __future__ import annotations

import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from platform_assets.cli import platform_cli
from platform_assets.core.database import PlatformDatabase, get_engine, upgrade_database
from platform_assets.core.settings import configure
from platform_assets.trip_exports.generator import load_trips
from platform_assets_tests.servers import HttpServer
from platform_assets_tests.trip_exports.test_opendata import Portal

OPERATOR = ["--as", "Ana Lopez <ana@op1.example>", "--role", "operator.admin", "--org", "1"]
OTHER_OPERATOR = ["--as", "bo@op2.example", "--role", "operator.admin", "--org", "2"]
REGISTRY = ["--as", "admin@registry.example", "--role", "registry.admin"]


def run(*args: str) -> Result:
    return CliRunner().invoke(platform_cli, list(args), catch_exceptions=False)


@pytest.fixture
def cli_env(platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLATFORM_TRIP_EXPORT_MIN_END_AGE_DAYS", "0")
    url = configure(PlatformDatabase, resolve=True).url
    upgrade_database(url)
    load_trips(get_engine(url), 400, date(2025, 3, 1), date(2025, 4, 1), seed=3)
    return platform_env


def test_export_lifecycle_through_the_cli(cli_env: Path, tmp_path: Path) -> None:
    created = run("export", "create", *OPERATOR, "--start", "2025-03-01", "--end", "2025-03-31",
                  "--geo", "aom:256900994", "--recipient", "Cy Dupont <cy@op1.example>")
    assert created.exit_code == 0, created.output
    export_uuid = created.output.split()[0]
    assert re.fullmatch(r"[0-9a-f-]{36}", export_uuid) and " pending " in created.output

    listed = run("export", "list", *OPERATOR)
    assert export_uuid in listed.output and "1 export(s)" in listed.output
    assert "0 export(s)" in run("export", "list", *OTHER_OPERATOR).output

    refused = CliRunner().invoke(platform_cli, ["export", "process", *OPERATOR])
    assert refused.exit_code == 2 and "only registry admins process exports" in refused.output
    processed = run("export", "process", *REGISTRY)
    assert f"{export_uuid}: " in processed.output and "1 export(s) processed" in processed.output

    status = run("export", "status", *OPERATOR, export_uuid)
    assert " success " in status.output and "100%" in status.output and "link: file://" in status.output
    for step in ("created", "processing", "uploading", "sending", "mailed", "success"):
        assert f" {step}: " in status.output

    target = tmp_path / "mine.zip"
    downloaded = run("export", "download", *OPERATOR, export_uuid, "--output", str(target))
    assert downloaded.exit_code == 0
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist()[0].endswith(".xlsx")

    outbox = cli_env / "outbox"
    before = len(list(outbox.glob("*.eml")))
    assert "sent to 1 recipient(s)" in run("export", "send", *OPERATOR, export_uuid).output
    assert len(list(outbox.glob("*.eml"))) == before + 1

    hidden = CliRunner().invoke(platform_cli, ["export", "status", *OTHER_OPERATOR, export_uuid])
    assert hidden.exit_code == 2 and hidden.output.strip() == f"error: export {export_uuid}: not found"
    not_pending = CliRunner().invoke(platform_cli, ["export", "cancel", *OPERATOR, export_uuid])
    assert not_pending.exit_code == 2 and "only pending exports can be cancelled" in not_pending.output


def test_bad_parameters_are_one_line_and_write_nothing(cli_env: Path) -> None:
    result = CliRunner().invoke(
        platform_cli,
        ["export", "create", *OPERATOR, "--start", "2025-02-30", "--end", "2025-03-31", "--operator", "2",
         "--recipient", "nobody"],
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    # Permission problems win: widening is refused before anything else is reported.
    assert "operator 1 may only export its own trips, not operator(s) 2" in result.output
    result = CliRunner().invoke(
        platform_cli, ["export", "create", *OPERATOR, "--start", "2025-02-30", "--end", "2025-03-31", "--recipient", "nobody"]
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "start_date: '2025-02-30' is not a date" in result.output and "'nobody' is not formatted" in result.output
    assert "0 export(s)" in run("export", "list", *REGISTRY).output
    bad_geo = CliRunner().invoke(platform_cli, ["export", "create", *REGISTRY, "--start", "2025-03-01",
                                                "--end", "2025-03-02", "--geo", "69123"])
    assert bad_geo.exit_code == 2 and "--geo '69123': expected level:code" in bad_geo.output


def test_cancel_a_pending_export(cli_env: Path) -> None:
    export_uuid = run("export", "create", *REGISTRY, "--start", "2025-03-01", "--end", "2025-03-02").output.split()[0]
    assert " cancelled " in run("export", "cancel", *REGISTRY, export_uuid).output
    assert "0 export(s) processed" in run("export", "process", *REGISTRY).output


def test_opendata_create_upload_publish(cli_env: Path, http_server: HttpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    portal = Portal(http_server)
    monkeypatch.setenv("PLATFORM_OPENDATA_PORTAL_URL", portal.url)
    monkeypatch.setenv("PLATFORM_OPENDATA_API_KEY", "secret-key")
    created = run("opendata", "create", *REGISTRY, "--month", "2025-03")
    assert "trips-2025-03.csv" in created.output and "trips published out of 400 recorded" in created.output
    uploaded = run("opendata", "upload", *REGISTRY, "--month", "2025-03")
    assert uploaded.output.count("file://") == 3
    published = run("opendata", "publish", *REGISTRY, "--month", "2025-03")
    assert "trips-2025-03.csv: created (r1)" in published.output
    refused = CliRunner().invoke(platform_cli, ["opendata", "create", *OPERATOR, "--month", "2025-03"])
    assert refused.exit_code == 2 and "open data is the registry's" in refused.output
    missing = CliRunner().invoke(platform_cli, ["opendata", "upload", *REGISTRY, "--month", "2024-01"])
    assert missing.exit_code == 2 and "run `opendata create` first" in missing.output
