"""The API's interfaces on the embedded default (SQLite, local object store, outbox): the docs page
works offline, the schema is typed, timestamps are UTC with Z, the download is the file itself,
and nothing technical reaches a caller."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.api import ApiContext
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.tables import STATUSES
from platform_assets.trip_exports.tokens import create_token
from platform_assets_tests.servers import free_port
from platform_assets_tests.trip_exports.api_server import serve_api
from platform_assets_tests.trip_exports.conftest import (
    OPERATOR_1_ADMIN,
    REGISTRY_ADMIN,
    RULES,
    insert_trips,
    trip,
)

MARCH = {"start_date": "2025-03-01", "end_date": "2025-03-31"}


@pytest.fixture
def api(sqlite_engine: Engine, store: ObjectStore, outbox_mailer: Mailer) -> Iterator[str]:
    with serve_api(ApiContext(engine=sqlite_engine, store=store, mailer=outbox_mailer, rules=RULES)) as url:
        yield url


def token_for(engine: Engine, actor: Actor) -> dict[str, str]:
    token, _info = create_token(engine, REGISTRY_ADMIN, actor.user, actor.role, actor.org)
    return {"Authorization": f"Bearer {token}"}


def test_docs_page_needs_nothing_from_the_internet(api: str) -> None:
    page = httpx.get(f"{api}/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert urls and not [url for url in urls if "://" in url or url.startswith("//")]  # all served here
    for url in urls:
        assert httpx.get(f"{api}{url}").status_code == 200, url
    script = httpx.get(f"{api}/docs-assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"] and len(script.content) > 100_000


def test_schema_is_typed(api: str) -> None:
    schema = httpx.get(f"{api}/openapi.json").json()
    components = schema["components"]["schemas"]
    out = components["ExportOut"]["properties"]
    assert out["status"]["enum"] == list(STATUSES)
    assert set(out["type"]["enum"]) == {"regular", "opendata", "operator", "territory", "registry"}
    assert out["created_at"]["format"] == "date-time"
    create = components["ExportCreate"]["properties"]
    assert create["start_date"]["format"] == "date" and create["end_date"]["format"] == "date"
    assert create["geo_selector"]["$ref"] == "#/components/schemas/GeoSelector"
    assert set(components["GeoSelector"]["properties"]) == {"com", "epci", "aom", "dep", "reg", "country"}
    assert components["GeoSelector"]["additionalProperties"] is False
    assert {tag["name"] for tag in schema["tags"]} == {"exports", "opendata"}
    operations = [operation for path in schema["paths"].values() for operation in path.values()]
    assert operations and all(operation.get("tags") for operation in operations)
    download = schema["paths"]["/exports/{export_uuid}/download"]["get"]["responses"]
    assert "application/zip" in download["200"]["content"] and "307" in download


def test_local_download_is_the_file_and_times_are_utc_with_z(
    api: str, sqlite_engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    insert_trips(sqlite_engine, [trip(journey_id) for journey_id in range(1, 4)])
    headers = token_for(sqlite_engine, OPERATOR_1_ADMIN)
    with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
        created = client.post("/exports", json=MARCH)
        assert created.status_code == 201, created.text
        export_uuid = created.json()["uuid"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", created.json()["created_at"])
        outcome = run_export(sqlite_engine, export_uuid, store, outbox_mailer, CampaignConfig(), RULES)
        response = client.get(f"/exports/{export_uuid}/download", follow_redirects=False)
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"] == f'attachment; filename="{Path(outcome.stored.key).name}"'
        assert response.content == store.read_bytes(outcome.stored.key)
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert archive.namelist()[0].endswith(".xlsx")
        view = client.get(f"/exports/{export_uuid}", params={"logs": True}).json()
        assert all(line["created_at"].endswith("Z") for line in view["logs"]) and view["expires_at"].endswith("Z")


def test_control_characters_are_a_422(api: str, sqlite_engine: Engine) -> None:
    headers = token_for(sqlite_engine, OPERATOR_1_ADMIN)
    response = httpx.post(f"{api}/exports", headers=headers,
                          json={**MARCH, "recipients": ["Ana\nBcc: all@evil.example <ana@op1.example>"]})
    assert response.status_code == 422
    assert response.json()["problems"][0].endswith("contains control character(s) newline")
    response = httpx.post(f"{api}/exports", headers=headers, json={**MARCH, "message": "hello\rBcc: x"})
    assert response.status_code == 422 and "message: contains control character(s) carriage return" in response.text


def test_failures_read_by_callers_name_no_server_nor_setting(sqlite_engine: Engine, store: ObjectStore) -> None:
    insert_trips(sqlite_engine, [trip(journey_id) for journey_id in range(1, 4)])
    dead_smtp = Mailer(smtp_url=f"smtp://127.0.0.1:{free_port()}", timeout_seconds=2)
    with serve_api(ApiContext(engine=sqlite_engine, store=store, mailer=dead_smtp, rules=RULES)) as api:
        headers = token_for(sqlite_engine, OPERATOR_1_ADMIN)
        export_uuid = httpx.post(f"{api}/exports", headers=headers, json=MARCH).json()["uuid"]
        with pytest.raises(Exception, match="none of 1 recipient"):
            run_export(sqlite_engine, export_uuid, store, dead_smtp, CampaignConfig(), RULES)
        seen = httpx.get(f"{api}/exports/{export_uuid}", headers=headers, params={"logs": True}).text
        assert '"status":"error"' in seen and "no recipient could be reached by mail" in seen
        for secret in ("127.0.0.1", "SMTP", "PLATFORM_", "file://", str(store.local_dir)):
            assert secret not in seen, secret
        admin = httpx.get(f"{api}/exports/{export_uuid}", headers=token_for(sqlite_engine, REGISTRY_ADMIN),
                          params={"logs": True}).json()
        assert any("cannot reach SMTP server" in line["message"] for line in admin["logs"] if line["type"] == "error_detail")
