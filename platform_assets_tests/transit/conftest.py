"""Transit fixtures: a catalog of small real feeds behind real servers, and Dagster helpers."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterInstance, Definitions, build_sensor_context, instance_for_test

from platform_assets.core.alerts import run_failure_email
from platform_assets.core.database import upgrade_database
from platform_assets.core.resources import core_resources
from platform_assets.transit.defs import transit_definitions, transit_resources
from platform_assets.transit.sensors import transit_catalog_partitions, transit_coverages_after_contributors
from platform_assets_tests.servers import HttpServer, Request, Response

FEED_USER, FEED_PASSWORD = "alpha", "feed-secret"


@dataclass
class ServedFeed:
    """A feed served with ETag/Last-Modified and basic auth; tests swap `path` to publish a new version."""

    path: Path
    version: int = 1
    failures_left: int = 0
    served: list[int] = field(default_factory=list)

    def handler(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{FEED_USER}:{FEED_PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Response(401, b"unauthorized")
        if self.failures_left > 0:
            self.failures_left -= 1
            self.served.append(500)
            return Response(500, b"temporary failure")
        etag = f'"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            self.served.append(304)
            return Response(304)
        self.served.append(200)
        return Response(
            200,
            self.path.read_bytes(),
            {"ETag": etag, "Last-Modified": f"Mon, 0{self.version} Nov 2026 10:00:00 GMT",
             "Content-Disposition": f'attachment; filename="alpha-v{self.version}.zip"'},
        )


@dataclass
class TransitWorld:
    catalog_path: Path
    feed: ServedFeed
    defs: Definitions
    instance: DagsterInstance
    resources: dict[str, Any]
    data_dir: Path

    def write_catalog(self, catalog: dict[str, Any]) -> None:
        self.catalog_path.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")

    def sync_partitions(self) -> None:
        result = transit_catalog_partitions(build_sensor_context(instance=self.instance, resources={"transit": self.resources["transit"]}))
        for request in getattr(result, "dynamic_partitions_requests", None) or []:
            if type(request).__name__ == "AddDynamicPartitionsRequest":
                self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    self.instance.delete_dynamic_partition(request.partitions_def_name, key)

    def run(self, job: str, partition: str, run_config: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        return self.defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, partition_key=partition, run_config=run_config or {}, raise_on_error=False
        )

    def materialized(self, result) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events())

    def coverage_requests(self, cursor: str | None) -> tuple[list[str], str | None]:
        context = build_sensor_context(instance=self.instance, cursor=cursor, resources={"database": self.resources["database"], "transit": self.resources["transit"]})
        result = transit_coverages_after_contributors(context)
        requests = getattr(result, "run_requests", None) or []
        return sorted(r.partition_key for r in requests), getattr(result, "cursor", None) or cursor


def base_catalog(http_server: HttpServer, shared_data: Path) -> dict[str, Any]:
    pre = shared_data / "gtfs/preprocesses"
    return {
        "contributors": [
            {"id": "alpha", "data_prefix": "A", "data_sources": [
                {"id": "gtfs", "input": {"type": "url", "url": f"{http_server.base_url}/feeds/alpha",
                                          "frequency": {"type": "continuously", "minutes": 10},
                                          "auth": {"username": FEED_USER, "password_env": "ALPHA_FEED_PASSWORD"}}}]},
            {"id": "beta", "data_prefix": "B", "data_sources": [
                {"id": "gtfs", "input": {"type": "url", "url": str(pre / "ruspell/gtfs.zip")}},
                {"id": "rules", "data_format": "ruspell_config", "input": {"type": "url", "url": str(pre / "ruspell/config-fr_idf.yml")}}],
             "preprocesses": [{"type": "Ruspell", "sequence": 1, "data_source_ids": ["rules"]}]},
            {"id": "gamma", "data_prefix": "G", "data_sources": [
                {"id": "gtfs", "input": {"type": "url", "url": str(pre / "headsign_short_name/headsign_short_name.zip")}}],
             "preprocesses": [{"type": "HeadsignShortName"}]},
        ],
        "coverages": [
            {"id": "north", "contributors": ["alpha", "beta"], "preprocesses": [{"type": "ComputeODS"}], "environments": {}},
            {"id": "south", "contributors": ["beta", "gamma"], "environments": {
                "production": {"publication_platforms": [
                    {"type": "navitia", "protocol": "file", "url": "{data_dir}/published/south"}]}}},
        ],
    }


@pytest.fixture
def transit_world(
    platform_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, http_server: HttpServer, shared_data: Path
) -> Iterator[TransitWorld]:
    monkeypatch.setenv("PLATFORM_TRANSIT_TODAY", "2018-01-01")
    monkeypatch.setenv("ALPHA_FEED_PASSWORD", FEED_PASSWORD)
    catalog_path = tmp_path / "catalog.yaml"
    monkeypatch.setenv("PLATFORM_CATALOG", str(catalog_path))
    feed = ServedFeed(shared_data / "gtfs/history/gtfs-1.zip")
    http_server.route("GET", "/feeds/alpha", feed.handler)
    monkeypatch.setenv("PLATFORM_TRANSIT_RETRY_DELAY", "0.2")
    # Values, not EnvVars: the tests run code outside Dagster with these resources too.
    resources = core_resources(resolve=True)
    upgrade_database(resources["database"].url)
    defs = Definitions.merge(
        transit_definitions(), Definitions(resources=resources, sensors=[run_failure_email])
    )
    resources = {**resources, **transit_resources()}  # EnvVars: a test may change a setting later
    with instance_for_test() as instance:
        world = TransitWorld(catalog_path, feed, defs, instance, resources, platform_env)
        world.write_catalog(base_catalog(http_server, shared_data))
        yield world
