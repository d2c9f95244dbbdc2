"""Publishing over real protocols: HTTP (navitia), FTP (pyftpdlib), S3 (moto) and local files."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import pytest

from platform_assets.lib.gtfs.validity import ValidityPeriod
from platform_assets.transit.errors import PublicationError
from platform_assets.transit.publish import ODS_COLUMNS, OdsInfo, build_ods_archive, deliver, stop_area_file
from platform_assets_tests.servers import FtpServer, HttpServer, Response


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
        rows = list(csv.reader(io.StringIO(ods.read("fr-se.txt").decode()), delimiter=";"))
        assert ods.read("fr-se_GTFS.zip") == export.read_bytes()
    assert tuple(rows[0]) == ODS_COLUMNS
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Validity start"] == "2026-01-01" and record["Validity end"] == "2026-06-30"
    assert record["Format"] == "GTFS" and record["Size"] == str(export.stat().st_size)
    assert record["Licence"] == "ODbL" and record["Update date"] == "2026-11-02"
    stops = stop_area_file(export, "fr-se", tmp_path)
    assert stops.name == "fr-se_stops.txt" and stops.read_bytes().startswith(b"stop_id")
