"""Fetching data sources from a real local HTTP server, a pyftpdlib server and file paths."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from platform_assets.transit.errors import FetchError
from platform_assets.transit.fetch import fetch, name_from_content_disposition
from platform_assets.transit.limits import TransferLimits
from platform_assets_tests.servers import FtpServer, HttpServer, Request, Response


def conditional_feed(feed: bytes, etag: str, modified: str):  # type: ignore[no-untyped-def]
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(304)
        return Response(200, feed, {"ETag": etag, "Last-Modified": modified})

    return handler


def test_http_etag_short_cut(http_server: HttpServer, shared_data: Path, tmp_path: Path) -> None:
    feed = (shared_data / "gtfs/google-sample-feed-1.zip").read_bytes()
    http_server.route("GET", "/feeds/google.zip", conditional_feed(feed, '"v1"', "Mon, 02 Nov 2026 10:00:00 GMT"))
    first = fetch(f"{http_server.base_url}/feeds/google.zip", tmp_path, "fallback.zip")
    assert first.file_name == "google.zip" and first.path and first.path.read_bytes() == feed
    assert first.etag == '"v1"' and first.last_modified.startswith("Mon")
    second = fetch(f"{http_server.base_url}/feeds/google.zip", tmp_path, "fallback.zip", etag=first.etag,
                   last_modified=first.last_modified)
    assert second.not_modified
    assert http_server.requests[-1].headers["If-Modified-Since"] == first.last_modified


def test_http_basic_auth_redirect_and_content_disposition(http_server: HttpServer, shared_data: Path, tmp_path: Path) -> None:
    feed = (shared_data / "gtfs/sample_gtfs.zip").read_bytes()
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()

    def protected(request: Request) -> Response:
        if request.headers.get("Authorization") != expected:
            return Response(401, b"no", {"WWW-Authenticate": 'Basic realm="feeds"'})
        return Response(200, feed, {"Content-Disposition": 'attachment; filename="export-2026.zip"'})

    http_server.route("GET", "/download", protected)
    http_server.route("GET", "/latest", Response(302, b"", {"Location": "/files/network.zip"}))
    http_server.serve_file("/files/network.zip", shared_data / "gtfs/sample_gtfs_2.zip")
    got = fetch(f"{http_server.base_url}/download?id=3", tmp_path / "a", "x.zip", username="alice", password="s3cret")
    assert got.file_name == "export-2026.zip" and got.size == len(feed)
    with pytest.raises(FetchError, match="HTTP 401"):
        fetch(f"{http_server.base_url}/download", tmp_path / "b", "x.zip", username="alice", password="wrong")
    redirected = fetch(f"{http_server.base_url}/latest", tmp_path / "c", "x.zip")
    assert redirected.file_name == "network.zip"


def test_http_errors_are_one_line(http_server: HttpServer, tmp_path: Path) -> None:
    http_server.route("GET", "/broken", Response(500, b"boom"))
    with pytest.raises(FetchError, match=r"/broken: HTTP 500"):
        fetch(f"{http_server.base_url}/broken", tmp_path, "x.zip")
    with pytest.raises(FetchError, match="cannot fetch"):
        fetch("http://127.0.0.1:9/none.zip", tmp_path, "x.zip", limits=TransferLimits(connect_timeout=2))


def test_ftp_and_file(ftp: FtpServer, shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "gtfs/google-sample-feed-1.zip"
    (ftp.root / "pub").mkdir()
    (ftp.root / "pub/google.zip").write_bytes(source.read_bytes())
    got = fetch(f"{ftp.url}/pub/google.zip", tmp_path / "ftp", "x.zip")
    assert got.file_name == "google.zip" and got.path and got.path.read_bytes() == source.read_bytes()
    with pytest.raises(FetchError, match="ftp fetch failed"):
        fetch(f"{ftp.url}/pub/missing.zip", tmp_path / "ftp2", "x.zip")
    local = fetch(str(source), tmp_path / "file", "x.zip")
    assert local.sha256 == got.sha256
    assert fetch(source.as_uri(), tmp_path / "uri", "x.zip").sha256 == got.sha256
    with pytest.raises(FetchError, match="no such file"):
        fetch(str(tmp_path / "nothing.zip"), tmp_path, "x.zip")


def test_content_disposition_forms() -> None:
    assert name_from_content_disposition('attachment; filename="a b.zip"') == "a b.zip"
    assert name_from_content_disposition("attachment; filename=plain.zip") == "plain.zip"
    assert name_from_content_disposition("attachment; filename*=UTF-8''r%C3%A9seau.zip") == "réseau.zip"
    assert name_from_content_disposition("inline") == ""
