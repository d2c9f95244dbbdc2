"""Publishing over real protocols: HTTP (navitia), FTP (pyftpdlib), S3 (moto) and local files."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import pytest

from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.lib.gtfs.validity import ValidityPeriod
from platform_assets.transit.catalog import parse_catalog
from platform_assets.transit.errors import PublicationError
from platform_assets.transit.publish import ODS_COLUMNS, OdsInfo, build_ods_archive, deliver, stop_area_file
from platform_assets.transit.service import export_contributor, export_coverage, publish_coverage
from platform_assets_tests.servers import FtpServer, HttpServer, Request, Response
from platform_assets_tests.transit.probe import write_gtfs


@pytest.fixture
def export(shared_data: Path) -> Path:
    return shared_data / "gtfs/sample_gtfs.zip"


def test_navitia_multipart_post(http_server: HttpServer, export: Path, tmp_path: Path) -> None:
    http_server.route("POST", "/v0/jobs/fr-se", Response(200, b"{}"))
    http_server.route("POST", "/v0/jobs/down", Response(503, b"maintenance"))
    deliver("http", f"{http_server.base_url}/v0/jobs/fr-se", export, "fr-se.zip", {})
    request = http_server.requests[-1]
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'filename="fr-se.zip"' in request.body and export.read_bytes() in request.body
    with pytest.raises(PublicationError, match=r"/v0/jobs/down: publishing fr-se.zip got HTTP 503 \(200 required\)"):
        deliver("http", f"{http_server.base_url}/v0/jobs/down", export, "fr-se.zip", {})


def test_ftp_s3_and_file(ftp: FtpServer, s3_endpoint: str, s3_bucket: str, export: Path, tmp_path: Path) -> None:
    (ftp.root / "incoming").mkdir()
    deliver("ftp", f"{ftp.url}/incoming", export, "fr-se.zip", {})
    assert (ftp.root / "incoming/fr-se.zip").read_bytes() == export.read_bytes()
    with pytest.raises(PublicationError, match="ftp upload failed"):
        deliver("ftp", f"{ftp.url}/no/such/dir", export, "fr-se.zip", {})
    where = deliver("s3", f"s3://{s3_bucket}/ods", export, "fr-se.zip", {"endpoint_url": s3_endpoint})
    assert where == f"s3://{s3_bucket}/ods/fr-se.zip"
    body = boto3.client("s3", endpoint_url=s3_endpoint).get_object(Bucket=s3_bucket, Key="ods/fr-se.zip")["Body"].read()
    assert body == export.read_bytes()
    with pytest.raises(PublicationError, match="upload failed"):
        deliver("s3", "s3://no-such-bucket-xyz/ods", export, "fr-se.zip", {"endpoint_url": s3_endpoint})
    target = deliver("file", str(tmp_path / "out"), export, "fr-se.zip", {})
    assert Path(target).read_bytes() == export.read_bytes()


def test_ods_archive_and_stop_area(export: Path, tmp_path: Path) -> None:
    info = OdsInfo("fr-se", "South-East", "ODbL", "https://opendatacommons.org/licenses/odbl/",
                   ValidityPeriod(date(2026, 1, 1), date(2026, 6, 30)), datetime(2026, 11, 2, tzinfo=UTC))
    archive = build_ods_archive(export, info, tmp_path / "fr-se.zip")
    with zipfile.ZipFile(archive) as ods:
        assert sorted(ods.namelist()) == ["fr-se.txt", "fr-se_GTFS.zip"]
        rows = list(csv.reader(io.StringIO(ods.read("fr-se.txt").decode())))
        assert ods.read("fr-se_GTFS.zip") == export.read_bytes()
    assert tuple(rows[0]) == ODS_COLUMNS
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Validity start date"] == "20260101" and record["Validity end date"] == "20260630"
    assert record["Format"] == "GTFS" and record["Size"] == str(export.stat().st_size)
    assert record["Licence"] == "ODbL" and record["Update date"] == "20261102"
    stops = stop_area_file(export, "fr-se", tmp_path)
    assert stops.name == "fr-se_stops.txt" and stops.read_bytes().startswith(b"stop_id")


def multipart_file(request: Request) -> tuple[str | None, bytes]:
    """The (file name, bytes) of the one file of a multipart/form-data POST, parsed by the stdlib."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.body, policy=email.policy.HTTP)
    part = next(iter(message.iter_parts()))  # type: ignore[attr-defined]
    return part.get_filename(), part.get_payload(decode=True)


def test_ods_metadata_received_over_ftp_and_http_is_tartares_csv(
    ftp: FtpServer, http_server: HttpServer, tmp_path: Path
) -> None:
    """Tartare's compute_ods.py + helper.dic_to_memory_csv: sorted columns, ',', '\\n', YYYYMMDD,
    ID `<coverage>-<FORMAT>`, Download the member name; checked on what the servers received."""
    http_server.route("POST", "/ods/upload", Response(200, b"ok"))
    (ftp.root / "ods").mkdir()
    feed = write_gtfs(tmp_path / "probe.zip")  # calendar 20260101..20260630
    catalog = parse_catalog(
        {
            "contributors": [{"id": "probe", "data_prefix": "P",
                              "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(feed)}}]}],
            "coverages": [{
                "id": "demo-west", "contributors": ["probe"],
                "license": {"name": "ODbL", "url": "https://opendatacommons.org/licenses/odbl/"},
                "preprocesses": [{"type": "ComputeODS", "params": {"description": "Demo West, probe"}}],
                "environments": {"production": {"publication_platforms": [
                    {"sequence": 0, "type": "ods", "protocol": "ftp", "url": f"{ftp.url}/ods"},
                    {"sequence": 1, "type": "ods", "protocol": "http", "url": f"{http_server.base_url}/ods/upload"},
                ]}},
            }],
        },
        "test",
    )
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    days = {datetime.now(UTC).strftime("%Y%m%d")}
    export_contributor(store, catalog, "probe", tmp_path / "w", date(2026, 1, 10))
    export_coverage(store, catalog, "demo-west", tmp_path / "w", date(2026, 1, 10))
    latest, _done = publish_coverage(store, catalog, "demo-west", tmp_path / "w")
    days.add(datetime.now(UTC).strftime("%Y%m%d"))
    exported = store.read_bytes(latest["keys"][0])

    http_name, http_bytes = multipart_file(http_server.requests[-1])
    assert http_name == "demo-west.zip"
    for received in ((ftp.root / "ods/demo-west.zip").read_bytes(), http_bytes):
        with zipfile.ZipFile(io.BytesIO(received)) as ods:
            assert sorted(ods.namelist()) == ["demo-west.txt", "demo-west_GTFS.zip"]
            size = len(ods.read("demo-west_GTFS.zip"))
            assert ods.read("demo-west_GTFS.zip") == exported  # the coverage export, unchanged
            metadata = ods.read("demo-west.txt")
        expected = {
            (
                "Description,Download,Format,ID,Licence,License link,Size,Update date,"
                "Validity end date,Validity start date\n"
                f'"Demo West, probe",demo-west_GTFS.zip,GTFS,demo-west-GTFS,ODbL,'
                f"https://opendatacommons.org/licenses/odbl/,{size},{day},20260630,20260101\n"
            ).encode()
            for day in days
        }
        assert metadata in expected


def test_ftp_platform_honours_options_directory_and_tartares_authent(ftp: FtpServer, tmp_path: Path) -> None:
    """Tartare's FtpProtocol: `options.directory` is the folder uploaded into; `options.authent` logs in."""
    (ftp.root / "incoming/navitia").mkdir(parents=True)
    feed = write_gtfs(tmp_path / "probe.zip")
    host = f"ftp://{ftp.host}:{ftp.port}"  # no credentials in the URL: they come from options.authent
    catalog = parse_catalog(
        {
            "contributors": [{"id": "probe", "data_prefix": "P",
                              "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(feed)}}]}],
            "coverages": [{"id": "cov", "contributors": ["probe"], "environments": {"production": {
                "publication_platforms": [{"type": "navitia", "protocol": "ftp", "url": host, "options": {
                    "directory": "incoming/navitia", "authent": {"username": ftp.user, "password": ftp.password}}}]}}}],
        },
        "test",
    )
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    export_contributor(store, catalog, "probe", tmp_path / "w", date(2026, 1, 10))
    export_coverage(store, catalog, "cov", tmp_path / "w", date(2026, 1, 10))
    _latest, done = publish_coverage(store, catalog, "cov", tmp_path / "w")
    assert done[0].target == f"{host}/incoming/navitia/cov.zip"
    exported = store.read_bytes(_latest["keys"][0])
    assert (ftp.root / "incoming/navitia/cov.zip").read_bytes() == exported
    assert not (ftp.root / "cov.zip").exists()


def test_stop_area_platform_sends_the_exports_stops_byte_for_byte(http_server: HttpServer, tmp_path: Path) -> None:
    """stop_area (not in Tartare): the coverage export's stops.txt, as `<coverage>_stops.txt`, as received."""
    http_server.route("POST", "/stops", Response(200, b"ok"))
    feed = write_gtfs(tmp_path / "probe.zip")  # stops S1 One 48.1 2.1, S2 Two 48.2 2.2
    catalog = parse_catalog(
        {
            "contributors": [{"id": "probe", "data_prefix": "P",
                              "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(feed)}}]}],
            "coverages": [{"id": "cov", "contributors": ["probe"], "environments": {"production": {
                "publication_platforms": [{"type": "stop_area", "protocol": "http", "url": f"{http_server.base_url}/stops"}]}}}],
        },
        "test",
    )
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    export_contributor(store, catalog, "probe", tmp_path / "w", date(2026, 1, 10))
    export_coverage(store, catalog, "cov", tmp_path / "w", date(2026, 1, 10))
    publish_coverage(store, catalog, "cov", tmp_path / "w")
    name, received = multipart_file(http_server.requests[-1])
    # The merged export's stops: ids prefixed with data_prefix `P:`, CSV rows ending in CRLF.
    assert name == "cov_stops.txt"
    assert received == b"stop_id,stop_name,stop_lat,stop_lon\r\nP:S1,One,48.1,2.1\r\nP:S2,Two,48.2,2.2\r\n"
