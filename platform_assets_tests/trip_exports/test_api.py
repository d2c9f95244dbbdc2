"""The HTTP API on real parts: uvicorn on loopback, httpx, PostgreSQL, moto's S3 server, aiosmtpd.

The full path (create -> sensor tick -> run -> success -> download redirect -> the zip from S3),
then every refusal: other organisations' exports, widened scopes, revoked tokens, malformed and
oversized bodies — each with its status and nothing written.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from dagster import SkipReason, build_sensor_context, instance_for_test
from dagster_aws.s3 import S3Resource
from sqlalchemy import Engine, func, select

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore, S3ObjectStore
from platform_assets.trip_exports.api import ApiContext, RateLimiter
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.sensors import REQUEST_TAG, opendata_request_sensor, trip_export_sensor
from platform_assets.trip_exports.service import set_status
from platform_assets.trip_exports.tables import ApiToken, Export, Log
from platform_assets.trip_exports.tokens import authenticate, create_token, revoke_token, token_digest
from platform_assets_tests.servers import SmtpServer
from platform_assets_tests.trip_exports.api_server import serve_api
from platform_assets_tests.trip_exports.conftest import (
    IDF_ADMIN,
    LYON_ADMIN,
    LYON_USER,
    OPERATOR_1_ADMIN,
    OPERATOR_1_USER,
    OPERATOR_2_ADMIN,
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    insert_trips,
    policy_resources,
)
from platform_assets_tests.trip_exports.test_export_run import hand_trips, materialize_export

MARCH = {"start_date": "2025-03-01", "end_date": "2025-03-31"}


@pytest.fixture
def s3_store(s3_endpoint: str, s3_bucket: str) -> ObjectStore:
    return S3ObjectStore(bucket=s3_bucket, s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"))


@pytest.fixture
def mailer(smtp: SmtpServer) -> Mailer:
    return Mailer(smtp_url=smtp.url, sender="exports@registry.example")


@pytest.fixture
def api(pg_engine: Engine, s3_store: ObjectStore, mailer: Mailer) -> Iterator[str]:
    with serve_api(ApiContext(engine=pg_engine, store=s3_store, mailer=mailer, rules=RULES, platform="test")) as url:
        yield url


def token_for(engine: Engine, actor: Actor) -> dict[str, str]:
    token, _info = create_token(engine, REGISTRY_ADMIN, actor.user, actor.role, actor.org)
    return {"Authorization": f"Bearer {token}"}


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (connection.execute(select(func.count()).select_from(Export)).scalar_one(),
                connection.execute(select(func.count()).select_from(Log)).scalar_one())


def test_full_path_create_sensor_run_download(api: str, pg_engine: Engine, s3_store: ObjectStore, mailer: Mailer,
                                              postgres_url: str, platform_env: Any) -> None:
    rows, expected = hand_trips()
    insert_trips(pg_engine, rows)
    headers = token_for(pg_engine, OPERATOR_1_ADMIN)
    with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
        created = client.post("/exports", json={**MARCH, "geo_selector": {"aom": ["256900994"]},
                                                "recipients": ["Ana Lopez <ana@op1.example>"]})
        assert created.status_code == 201, created.text
        export_uuid = created.json()["uuid"]
        assert created.json()["status"] == "pending"
        assert created.json()["params"]["bound"] == {"operator_id": 1}
        assert client.get(f"/exports/{export_uuid}/download").status_code == 409  # not ready yet

        resources = policy_resources(
            database=PlatformDatabase(url=postgres_url), object_store=s3_store, mailer=mailer,
            platform=PlatformInfo(deployment="test", alert_emails_text="ops@registry.example"),
        )
        with instance_for_test() as instance:
            tick = trip_export_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=resources["database"])))
            assert [request.run_key for request in tick.run_requests] == [export_uuid]
            assert client.get(f"/exports/{export_uuid}").json()["status"] == "pending"  # the run claims it
            assert materialize_export(instance, resources, export_uuid).success

        status = client.get(f"/exports/{export_uuid}").json()
        assert status["status"] == "success" and status["progress"] == 100 and status["error"] is None
        assert status["created_at"].endswith("Z") and status["expires_at"].endswith("Z")
        assert status["stats"]["rows"] == len(expected)
        assert status["download"] == f"/exports/{export_uuid}/download"

        redirect = client.get(f"/exports/{export_uuid}/download", follow_redirects=False)
        assert redirect.status_code == 307 and redirect.headers["cache-control"] == "no-store"
        link = redirect.headers["location"]
        assert link.startswith(s3_store.s3.endpoint_url)
        query = parse_qs(urlsplit(link).query)
        # SigV2 links carry their end as a timestamp, SigV4 ones their life in seconds: 60 s either way.
        lifetime = int(query["X-Amz-Expires"][0]) if "X-Amz-Expires" in query else int(query["Expires"][0]) - time.time()
        assert 50 <= lifetime <= 61
        response = client.get(f"/exports/{export_uuid}/download", follow_redirects=True)
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            (name,) = archive.namelist()
            assert name.endswith(".xlsx") and archive.read(name)[:2] == b"PK"

        # Every call is in the export's log, beside the run's own lines.
        log_types = [line["type"] for line in client.get(f"/exports/{export_uuid}", params={"logs": True}).json()["logs"]]
        assert log_types[:2] == ["created", "api"] and "download" in log_types and "success" in log_types
        messages = [line["message"] for line in client.get(f"/exports/{export_uuid}", params={"logs": True}).json()["logs"]]
        assert any(m.startswith("GET /exports/{uuid}/download by admin@op1.example") for m in messages)

        listed = client.get("/exports", params={"status": "success"}).json()
        assert [item["uuid"] for item in listed["items"]] == [export_uuid] and listed["next_offset"] is None


def test_send_mails_a_fresh_link_to_given_recipients(api: str, pg_engine: Engine, s3_store: ObjectStore,
                                                     smtp: SmtpServer) -> None:
    headers = token_for(pg_engine, REGISTRY_ADMIN)
    with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
        export_uuid = client.post("/exports", json=MARCH).json()["uuid"]
        assert client.post(f"/exports/{export_uuid}/send", json={}).status_code == 409
        s3_store.put_bytes(f"trip_exports/{export_uuid}/trips.zip", b"PK zip", "application/zip")
        set_status(pg_engine, export_uuid, "success", "done by hand for the test", progress=100,
                   file_key=f"trip_exports/{export_uuid}/trips.zip", stats={"rows": 0, "bytes": 6})
        bad = client.post(f"/exports/{export_uuid}/send", json={"recipients": ["nobody", "Bo <bo@x.example>"]})
        assert bad.status_code == 422 and bad.json()["problems"] == ["recipients: 'nobody' is not formatted 'Name <email>'"]
        header = client.post(f"/exports/{export_uuid}/send", json={"recipients": ["Bo\r\nBcc: x@evil.example <bo@registry.example>"]})
        assert header.status_code == 422 and "control character(s) carriage return, newline" in header.json()["detail"]
        foreign = client.post(f"/exports/{export_uuid}/send", json={"recipients": ["Bo Chen <bo@territory.example>"]})
        assert foreign.status_code == 403 and "bo@territory.example not allowed" in foreign.json()["detail"]
        sent = client.post(f"/exports/{export_uuid}/send", json={"recipients": ["Bo Chen <bo@registry.example>"]})
        assert sent.status_code == 200 and sent.json() == {"uuid": export_uuid, "sent": 1, "failed": []}
        (mail,) = smtp.wait_for(1)
        assert mail.recipients == ["bo@registry.example"]
        plain = mail.message.get_body(("plain",)).get_content()
        assert f"trip_exports/{export_uuid}/trips.zip" in plain.replace("=\n", "")
        # Expired: files gone, 410 for download and send.
        set_status(pg_engine, export_uuid, "expired", "expired for the test", file_key=None)
        assert client.get(f"/exports/{export_uuid}/download").status_code == 410
        assert client.post(f"/exports/{export_uuid}/send").status_code == 410


def test_every_invalid_field_is_listed(api: str, pg_engine: Engine) -> None:
    headers = token_for(pg_engine, REGISTRY_ADMIN)
    body = {"start_date": "2025-02-30", "end_date": "2025-03-31", "tz": "Mars/Olympus",
            "recipients": ["bob@example.org"], "geo_selector": {"com": ["00000"]}}
    before = counts(pg_engine)
    response = httpx.post(f"{api}/exports", json=body, headers=headers)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [problem.split(":")[0] for problem in problems] == ["start_date", "geo_selector.com", "recipients", "tz"]
    # Shape errors too: every field named at once.
    response = httpx.post(f"{api}/exports", json={"end_date": 5, "operator_ids": "x", "colour": "red"}, headers=headers)
    assert response.status_code == 422
    fields = {problem.split(":")[0] for problem in response.json()["problems"]}
    assert {"start_date", "end_date", "colour"} <= fields and any(f.startswith("operator_ids") for f in fields)
    assert counts(pg_engine) == before


ALL_ACTORS = [REGISTRY_USER, OPERATOR_1_ADMIN, OPERATOR_1_USER, OPERATOR_2_ADMIN, LYON_ADMIN, LYON_USER, IDF_ADMIN]


def test_roles_cannot_reach_other_organisations(api: str, pg_engine: Engine) -> None:
    tokens = {actor.role + str(actor.org) + actor.user: token_for(pg_engine, actor) for actor in [REGISTRY_ADMIN, *ALL_ACTORS]}

    def headers(actor: Actor) -> dict[str, str]:
        return tokens[actor.role + str(actor.org) + actor.user]

    owned: dict[str, str] = {}
    for actor in ALL_ACTORS:
        response = httpx.post(f"{api}/exports", json=MARCH, headers=headers(actor))
        assert response.status_code == 201, (actor, response.text)
        owned[actor.user + actor.role] = response.json()["uuid"]

    before = counts(pg_engine)
    for actor in ALL_ACTORS:
        for other in ALL_ACTORS:
            export_uuid = owned[other.user + other.role]
            created_by = other.user
            if actor.may_see(created_by, other.role, other.org):
                continue
            # Someone else's export looks exactly like a missing one.
            for method, path in (("GET", ""), ("POST", "/cancel"), ("GET", "/download"), ("POST", "/send")):
                response = httpx.request(method, f"{api}/exports/{export_uuid}{path}", headers=headers(actor))
                assert response.status_code == 404, (actor.role, other.role, path, response.text)
        visible = {item["uuid"] for item in httpx.get(f"{api}/exports", headers=headers(actor)).json()["items"]}
        assert visible == {owned[o.user + o.role] for o in ALL_ACTORS if actor.may_see(o.user, o.role, o.org)}
    assert counts(pg_engine) == before

    # Widening the scope: a territory asking for another territory, an operator for another operator.
    refused = [
        (LYON_ADMIN, {**MARCH, "geo_selector": {"aom": ["287500078"]}}),
        (LYON_USER, {**MARCH, "geo_selector": {"reg": ["84"]}}),
        (IDF_ADMIN, {**MARCH, "geo_selector": {"com": ["69123"]}}),
        (OPERATOR_1_USER, {**MARCH, "operator_ids": [2]}),
        (OPERATOR_2_ADMIN, {**MARCH, "type": "registry"}),
    ]
    for actor, body in refused:
        response = httpx.post(f"{api}/exports", json=body, headers=headers(actor))
        assert response.status_code == 403, (actor.role, body, response.text)
    for actor in ALL_ACTORS:  # only registry admins publish open data
        assert httpx.post(f"{api}/opendata/2025-03/publish", headers=headers(actor)).status_code == 403
    assert counts(pg_engine) == before


def test_tokens_missing_unknown_revoked_and_bodies(api: str, pg_engine: Engine) -> None:
    token, info = create_token(pg_engine, REGISTRY_ADMIN, OPERATOR_1_ADMIN.user, OPERATOR_1_ADMIN.role, OPERATOR_1_ADMIN.org)
    good = {"Authorization": f"Bearer {token}"}
    with pg_engine.connect() as connection:
        stored = connection.execute(select(ApiToken.token_sha256).where(ApiToken.id == info.id)).one()
    assert stored.token_sha256 == token_digest(token) and token not in stored.token_sha256
    assert httpx.get(f"{api}/exports", headers=good).status_code == 200
    with pg_engine.connect() as connection:
        assert connection.execute(select(ApiToken.last_used_at).where(ApiToken.id == info.id)).scalar_one() is not None

    before = counts(pg_engine)
    for headers in ({}, {"Authorization": "Bearer pat_nope"}, {"Authorization": f"Basic {token}"},
                    {"Authorization": f"Bearer {token}x"}):
        response = httpx.post(f"{api}/exports", json=MARCH, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    revoke_token(pg_engine, REGISTRY_ADMIN, info.id)
    assert authenticate(pg_engine, token) is None
    assert httpx.post(f"{api}/exports", json=MARCH, headers=good).status_code == 401

    admin = token_for(pg_engine, REGISTRY_ADMIN)
    malformed = httpx.post(f"{api}/exports", content=b'{"start_date": ', headers={**admin, "Content-Type": "application/json"})
    assert malformed.status_code == 422
    assert httpx.post(f"{api}/exports", json=[1, 2], headers=admin).status_code == 422
    assert httpx.post(f"{api}/exports", json={**MARCH, "message": "a\x00b"}, headers=admin).status_code == 422
    oversized = {**MARCH, "message": "x" * (70 * 1024)}
    assert httpx.post(f"{api}/exports", json=oversized, headers=admin).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(80):
            yield b" " * 1024

    assert httpx.post(f"{api}/exports", content=chunks(), headers=admin).status_code == 413
    assert httpx.get(f"{api}/exports/not-a-uuid", headers=admin).status_code == 422
    assert httpx.post(f"{api}/opendata/2025-13/publish", headers=admin).status_code == 422
    assert counts(pg_engine) == before


def test_cancel_and_opendata_request_go_through_the_platform(api: str, pg_engine: Engine, postgres_url: str) -> None:
    admin = token_for(pg_engine, REGISTRY_ADMIN)
    with httpx.Client(base_url=api, headers=admin) as client:
        export_uuid = client.post("/exports", json=MARCH).json()["uuid"]
        cancelled = client.post(f"/exports/{export_uuid}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert client.post(f"/exports/{export_uuid}/cancel").status_code == 409

        published = client.post("/opendata/2025-03/publish")
        assert published.status_code == 202
        request = published.json()
        assert request["status"] == "pending" and request["type"] == "opendata" and request["params"]["month"] == "2025-03"
    database = PlatformDatabase(url=postgres_url)
    with instance_for_test() as instance:
        # The export sensor leaves open-data requests alone; their own sensor launches the month's run.
        assert not trip_export_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database))).run_requests
        tick = opendata_request_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database)))
        (run_request,) = tick.run_requests
        assert run_request.partition_key == "2025-03-01" and run_request.tags[REQUEST_TAG] == request["uuid"]
        again = opendata_request_sensor(build_sensor_context(instance=instance, resources=policy_resources(database=database)))
        assert isinstance(again, SkipReason)


def test_rate_limit_per_token(pg_engine: Engine, s3_store: ObjectStore, mailer: Mailer) -> None:
    context = ApiContext(engine=pg_engine, store=s3_store, mailer=mailer, rules=RULES,
                         rate_limiter=RateLimiter(per_minute=60, burst=3))
    first, second = token_for(pg_engine, REGISTRY_ADMIN), token_for(pg_engine, REGISTRY_USER)
    with serve_api(context) as url:
        statuses = [httpx.get(f"{url}/exports", headers=first).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = httpx.get(f"{url}/exports", headers=first)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert httpx.get(f"{url}/exports", headers=second).status_code == 200  # another token, its own budget


def test_tokens_on_both_backends(engine: Engine) -> None:
    token, info = create_token(engine, LYON_ADMIN, "new@lyon.example", "territory.user", "aom:256900994")
    assert authenticate(engine, token) == (info.id, Actor("new@lyon.example", "territory.user", "aom:256900994"))
    from platform_assets.trip_exports.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        create_token(engine, LYON_ADMIN, "x@idf.example", "territory.user", "aom:287500078")
    with pytest.raises(PermissionDenied):
        create_token(engine, LYON_USER, "x@lyon.example", "territory.user", "aom:256900994")
    revoke_token(engine, REGISTRY_ADMIN, info.id)
    assert authenticate(engine, token) is None
