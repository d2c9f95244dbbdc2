"""The workflow functions on an S3 object store (moto): state, exports and retention."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dagster_aws.s3 import S3Resource

from platform_assets.core.objectstore import S3ObjectStore
from platform_assets.transit.catalog import parse_catalog
from platform_assets.transit.service import export_contributor, export_coverage, latest_coverage_export


def test_exports_and_retention_on_s3(s3_endpoint: str, s3_bucket: str, shared_data: Path, tmp_path: Path) -> None:
    store = S3ObjectStore(bucket=s3_bucket, prefix="platform", s3=S3Resource(endpoint_url=s3_endpoint))
    served = tmp_path / "served.zip"
    catalog = parse_catalog(
        {
            "contributors": [
                {"id": "hist", "data_prefix": "H", "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(served)}}]},
                {"id": "rus", "data_prefix": "R", "data_sources": [
                    {"id": "gtfs", "input": {"type": "url", "url": str(shared_data / "gtfs/preprocesses/ruspell/gtfs.zip")}}]},
            ],
            "coverages": [{"id": "both", "contributors": ["hist", "rus"]}],
        },
        "test",
    )
    today = date(2018, 1, 1)
    assert export_contributor(store, catalog, "rus", tmp_path / "w0", today).exported
    for version in range(1, 6):
        served.write_bytes((shared_data / f"gtfs/history/gtfs-{version}.zip").read_bytes())
        outcome = export_contributor(store, catalog, "hist", tmp_path / f"w{version}", today)
        assert outcome.exported and outcome.main.uri.startswith(f"s3://{s3_bucket}/platform/transit/")
        assert export_coverage(store, catalog, "both", tmp_path / f"c{version}", today).exported
    assert not export_contributor(store, catalog, "hist", tmp_path / "again", today).exported
    assert not export_coverage(store, catalog, "both", tmp_path / "again-c", today).exported
    assert len(store.list("transit/data_sets/hist/")) == 3
    assert len(store.list("transit/contributor_exports/hist/")) == 3
    assert len(store.list("transit/coverage_exports/both/")) == 3
    latest = latest_coverage_export(store, "both")
    assert latest is not None and latest["validity"] == {"start_date": "2017-09-01", "end_date": "2018-09-01"}
    assert latest["counts"]["stops"] == 2
