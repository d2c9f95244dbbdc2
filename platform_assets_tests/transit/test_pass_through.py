"""Pass-through data formats (ntfs, osm_file, poly_file) and each platform's choice of data sources,
checked on what loopback HTTP and FTP servers and a folder receive."""

from __future__ import annotations

import copy
import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.transit.catalog import parse_catalog
from platform_assets.transit.errors import CatalogError
from platform_assets.transit.service import export_contributor, export_coverage, publish_coverage
from platform_assets_tests.servers import FtpServer, HttpServer, Response
from platform_assets_tests.transit.probe import write_gtfs
from platform_assets_tests.transit.test_publish import multipart_file


def catalog_data(tmp_path: Path, platforms: list[dict[str, Any]]) -> dict[str, Any]:
    feed = write_gtfs(tmp_path / "in/probe.zip")
    ntfs = tmp_path / "in/probe-ntfs.zip"
    with zipfile.ZipFile(ntfs, "w") as archive:
        archive.writestr("contributors.txt", "contributor_id,contributor_name\nP,Probe\n")
    (tmp_path / "in/idf.osm.pbf").write_bytes(b"\x00\x00\x00\x0dOSMHeader-probe")
    (tmp_path / "in/idf.poly").write_text("idf\n1\n 2.1 48.1\n 2.2 48.2\nEND\nEND\n", encoding="utf-8")
    return {
        "contributors": [
            {"id": "probe", "data_prefix": "P", "data_sources": [
                {"id": "gtfs", "input": {"type": "url", "url": str(feed)}},
                {"id": "ntfs", "data_format": "ntfs", "input": {"type": "url", "url": str(ntfs)}}]},
            {"id": "geo", "data_prefix": "GEO", "data_sources": [
                {"id": "osm", "data_format": "osm", "input": {"type": "url", "url": str(tmp_path / "in/idf.osm.pbf")}},
                {"id": "poly", "data_format": "poly_file", "input": {"type": "url", "url": str(tmp_path / "in/idf.poly")}}]},
        ],
        "coverages": [{"id": "cov", "contributors": ["probe", "geo"], "preprocesses": [{"type": "ComputeODS"}],
                       "environments": {"production": {"publication_platforms": platforms}}}],
    }


def test_pass_through_sources_reach_navitia_and_ods_and_platforms_choose_their_sources(
    http_server: HttpServer, ftp: FtpServer, tmp_path: Path
) -> None:
    http_server.route("POST", "/tyr/v0/jobs/cov", Response(200, b"{}"))
    (ftp.root / "ods").mkdir()
    platforms = [
        {"sequence": 0, "type": "navitia", "protocol": "http", "url": f"{http_server.base_url}/tyr/v0/jobs/cov"},
        {"sequence": 1, "type": "ods", "protocol": "ftp", "url": f"{ftp.url}/ods"},
        {"sequence": 2, "type": "navitia", "protocol": "file", "url": str(tmp_path / "only-ntfs"),
         "input_data_source_ids": ["probe/ntfs"]},
        {"sequence": 3, "type": "ods", "protocol": "file", "url": str(tmp_path / "ods-gtfs-only"),
         "input_data_source_ids": ["export"]},
    ]
    catalog = parse_catalog(catalog_data(tmp_path, platforms), "test")
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    today = date(2026, 1, 10)
    assert export_contributor(store, catalog, "probe", tmp_path / "w1", today).exported
    geo = export_contributor(store, catalog, "geo", tmp_path / "w2", today)
    assert geo.exported and geo.main is None  # pass-through only: the data sets are the export
    coverage = export_coverage(store, catalog, "cov", tmp_path / "w3", today)
    latest, _done = publish_coverage(store, catalog, "cov", tmp_path / "w4")

    # navitia (Tartare's NavitiaPublisher): the coverage zip, then the osm and poly files under their names.
    posts = [multipart_file(r) for r in http_server.requests if r.method == "POST"]
    assert [name for name, _ in posts] == ["cov.zip", "idf.osm.pbf", "idf.poly"]
    assert posts[0][1] == store.read_bytes(latest["keys"][0])
    assert posts[1][1] == (tmp_path / "in/idf.osm.pbf").read_bytes()
    assert posts[2][1] == (tmp_path / "in/idf.poly").read_bytes()
    # ods: one metadata row per format, GTFS then NTFS, each member the unchanged file.
    with zipfile.ZipFile(ftp.root / "ods/cov.zip") as ods:
        assert sorted(ods.namelist()) == ["cov.txt", "cov_GTFS.zip", "cov_NTFS.zip"]
        assert ods.read("cov_NTFS.zip") == (tmp_path / "in/probe-ntfs.zip").read_bytes()
        lines = ods.read("cov.txt").decode().split("\n")
    assert [line.split(",")[2:4] for line in lines[1:3]] == [["GTFS", "cov-GTFS"], ["NTFS", "cov-NTFS"]]
    assert lines[3] == ""
    # Platforms that chose their data sources get only those.
    assert sorted(p.name for p in (tmp_path / "only-ntfs").iterdir()) == ["probe-ntfs.zip"]
    with zipfile.ZipFile(io.BytesIO((tmp_path / "ods-gtfs-only/cov.zip").read_bytes())) as ods:
        assert sorted(ods.namelist()) == ["cov.txt", "cov_GTFS.zip"]
    assert coverage.validity is not None and coverage.validity.end_date == date(2026, 6, 30)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["contributors"][0]["data_sources"].append(
            {"id": "osm2", "data_format": "osm_file", "input": {"type": "manual"}}),
         "coverage 'cov': 2 osm_file sources (probe/osm2, geo/osm), at most one"),
        (lambda d: d["coverages"][0]["environments"]["production"]["publication_platforms"][0].update(
            input_data_source_ids=["geo/nope"]),
         "input_data_source_ids: 'geo/nope' is not one of"),
        (lambda d: d["contributors"][1].update(preprocesses=[{"type": "RemoveUnusedStops"}]),
         "contributors[1]: preprocesses need a 'gtfs' data source"),
        (lambda d: d["contributors"][1]["data_sources"][0].update(data_format="shapefile"),
         "contributors[1].data_sources[0].data_format"),
    ],
)
def test_pass_through_catalog_errors(tmp_path: Path, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(catalog_data(tmp_path, [{"type": "navitia", "protocol": "file", "url": str(tmp_path)}]))
    change(data)
    with pytest.raises(CatalogError, match=None) as raised:
        parse_catalog(data, "catalog.yaml")
    assert expected in str(raised.value) and str(raised.value).startswith("catalog.yaml: ")
