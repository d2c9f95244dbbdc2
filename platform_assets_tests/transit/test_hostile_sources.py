"""Hostile sources and publication servers (issue 18 items 6, 7; issue 13 item 6), on loopback
servers built here: a download that is not a zip, a trickling or endless body, a slow upload.
Each ends in one FetchError / PublicationError line within the deadline, with the partial file
deleted and the last good data set and export kept."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path

import pytest

from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.transit.catalog import Catalog, parse_catalog
from platform_assets.transit.errors import FetchError, PublicationError
from platform_assets.transit.fetch import fetch
from platform_assets.transit.limits import TransferLimits, TransitLimits
from platform_assets.transit.publish import deliver
from platform_assets.transit.service import export_contributor, latest_contributor_export
from platform_assets.transit.store import read_state, state_key
from platform_assets_tests.servers import HttpServer, Response

TODAY = date(2018, 1, 1)
FAST = TransferLimits(connect_timeout=2, idle_timeout=2, deadline=1.5, max_bytes=1024 * 1024)
# pyftpdlib's throttle sends (or reads) in bursts about 2 s apart: a longer idle timeout.
FTP_LIMITS = TransferLimits(connect_timeout=2, idle_timeout=6, deadline=1.5, max_bytes=1024 * 1024)


# -- a raw TCP server whose connection handler the test writes ------------------------------------
@contextmanager
def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback TCP server running `handle(connection)` per connection; yields its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small receive window: a slow reader then takes bytes steadily instead of in rare bursts.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue

            def run(conn: socket.socket = connection) -> None:
                with closing(conn):
                    try:
                        handle(conn)
                    except OSError:
                        pass  # the client gave up: what the test wants

            threading.Thread(target=run, daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _read_request_head(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def trickle(conn: socket.socket) -> None:
    """200 with no length, then one byte every 0.1 s, for ever."""
    _read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n")
    for _ in range(10_000):
        conn.sendall(b"P")
        time.sleep(0.1)


def endless(conn: socket.socket) -> None:
    """200 with no length, then 64 KiB blocks as fast as the client reads, for ever."""
    _read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n")
    block = b"Z" * 65536
    for _ in range(1_000_000):
        conn.sendall(block)


def test_a_trickling_http_source_meets_the_total_deadline(tmp_path: Path) -> None:
    with raw_server(trickle) as base:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"/feed.zip: not finished within the 1.5 s deadline; aborted"):
            fetch(f"{base}/feed.zip", tmp_path / "dl", "x.zip", limits=FAST)
        elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 5, elapsed  # the idle timeout (2 s) never fires: bytes keep coming
    assert list((tmp_path / "dl").iterdir()) == []  # the partial file is deleted


def test_an_endless_http_body_stops_at_the_size_limit(tmp_path: Path) -> None:
    with raw_server(endless) as base:
        with pytest.raises(FetchError, match="larger than the 1048576 bytes download limit"):
            fetch(f"{base}/feed.zip", tmp_path / "dl", "x.zip", limits=TransferLimits(max_bytes=1024 * 1024))
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_declared_length_over_the_limit_is_refused_before_downloading(http_server: HttpServer, tmp_path: Path) -> None:
    http_server.route("GET", "/big.zip", Response(200, b"x" * 2_000_000))
    with pytest.raises(FetchError, match="larger than the 1048576 bytes download limit"):
        fetch(f"{http_server.base_url}/big.zip", tmp_path / "dl", "x.zip", limits=FAST)
    assert list((tmp_path / "dl").iterdir()) == []


@contextmanager
def throttled_ftp(root: Path, bytes_per_second: int) -> Iterator[str]:
    """A pyftpdlib server whose data connections move `bytes_per_second` each way."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user("user", "secret", str(root), perm="elradfmwMT")
    # Small buffers: the throttle then pauses often and briefly (never past the idle timeout).
    dtp = type("SlowDTP", (ThrottledDTPHandler,), {"read_limit": bytes_per_second, "write_limit": bytes_per_second,
                                                  "ac_out_buffer_size": 1024, "ac_in_buffer_size": 1024})
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "dtp_handler": dtp})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"ftp://user:secret@127.0.0.1:{server.address[1]}"
    finally:
        server.close_all()
        thread.join(timeout=5)


def test_a_trickling_ftp_source_meets_the_deadline_and_a_large_one_the_size_limit(tmp_path: Path) -> None:
    root = tmp_path / "ftp"
    root.mkdir()
    (root / "slow.zip").write_bytes(b"s" * 200_000)
    (root / "big.zip").write_bytes(b"b" * 3_000_000)
    with throttled_ftp(root, 16 * 1024) as base:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"slow.zip: not finished within the 1.5 s deadline"):
            fetch(f"{base}/slow.zip", tmp_path / "dl", "x.zip", limits=FTP_LIMITS)
        assert time.monotonic() - started < 5
    with throttled_ftp(root, 100 * 1024 * 1024) as base:
        with pytest.raises(FetchError, match="big.zip: larger than the 1048576 bytes download limit"):
            fetch(f"{base}/big.zip", tmp_path / "dl", "x.zip", limits=FTP_LIMITS)
    assert list((tmp_path / "dl").iterdir()) == []


# -- uploads -------------------------------------------------------------------------------------
def slow_reader(conn: socket.socket) -> None:
    """Reads the request 4 KiB every 0.1 s (each block is sent well within the idle timeout, the
    whole body would take minutes) and never answers."""
    for _ in range(100_000):
        if not conn.recv(4096):
            return
        time.sleep(0.1)


def test_a_slow_http_publication_server_meets_the_upload_deadline(tmp_path: Path) -> None:
    export = tmp_path / "export.zip"
    export.write_bytes(b"e" * 8 * 1024 * 1024)
    with raw_server(slow_reader) as base:
        started = time.monotonic()
        with pytest.raises(PublicationError, match=r"publishing north.zip: not finished within the 1.5 s deadline"):
            deliver("http", f"{base}/tyr", export, "north.zip", {}, FAST)
        assert time.monotonic() - started < 6


def test_a_slow_ftp_publication_server_meets_the_upload_deadline(tmp_path: Path) -> None:
    root = tmp_path / "ftp"
    root.mkdir()
    export = tmp_path / "export.zip"
    export.write_bytes(b"e" * 1_500_000)
    with throttled_ftp(root, 64 * 1024) as base:
        started = time.monotonic()
        with pytest.raises(PublicationError, match=r"north.zip: not finished within the 1.5 s deadline"):
            deliver("ftp", f"{base}/", export, "north.zip", {}, FTP_LIMITS)
        assert time.monotonic() - started < 5


def test_http_publication_still_sends_the_same_multipart_body(http_server: HttpServer, tmp_path: Path) -> None:
    export = tmp_path / "export.zip"
    export.write_bytes(b"PK\x03\x04 some bytes \r\n--not-a-boundary")
    http_server.route("POST", "/tyr", Response(200, b"ok"))
    deliver("http", f"{http_server.base_url}/tyr", export, "north.zip", {}, FAST)
    request = http_server.requests[-1]
    boundary = request.headers["Content-Type"].split("boundary=", 1)[1]
    expected = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="north.zip"\r\n\r\n'.encode()
        + export.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    )
    assert request.body == expected and request.headers["Content-Length"] == str(len(expected))


# -- issue 13 item 6: a download that is not a zip is refused before it is saved ------------------
def _catalog(url: str) -> Catalog:
    return parse_catalog(
        {"contributors": [{"id": "alpha", "data_prefix": "A", "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": url}}]}],
         "coverages": []},
        "test",
    )


@pytest.mark.parametrize(
    ("body", "content_type", "looks_like"),
    [
        (b"<!DOCTYPE html><html><body><h1>Maintenance</h1>Back soon</body></html>", "text/html", "it looks like an HTML page"),
        (b'{"error": "quota exceeded", "status": 429}', "application/json", "it looks like JSON"),
    ],
)
def test_a_download_that_is_not_a_zip_is_never_saved(
    http_server: HttpServer, shared_data: Path, tmp_path: Path, body: bytes, content_type: str, looks_like: str
) -> None:
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    catalog = _catalog(f"{http_server.base_url}/feed.zip")
    # Three good versions: retention is full, so a wrongly saved data set would delete the oldest.
    for version in (1, 2, 3):
        http_server.serve_file("/feed.zip", shared_data / f"gtfs/history/gtfs-{version}.zip")
        assert export_contributor(store, catalog, "alpha", tmp_path / f"w{version}", TODAY).exported
    before = sorted(info.key for info in store.list("transit/"))
    last_export = latest_contributor_export(store, "alpha")

    http_server.route("GET", "/feed.zip", Response(200, body, {"Content-Type": content_type}))
    with pytest.raises(FetchError) as raised:
        export_contributor(store, catalog, "alpha", tmp_path / "bad", TODAY)
    message = str(raised.value)
    assert "\n" not in message and "/feed.zip: download refused, no data set saved (the last one stays)" in message
    assert f"alpha/gtfs/feed.zip: not a zip archive ({looks_like})" in message

    after = sorted(info.key for info in store.list("transit/"))
    assert [k for k in after if "/state/" not in k] == [k for k in before if "/state/" not in k]  # nothing saved or deleted
    assert latest_contributor_export(store, "alpha") == last_export
    state = read_state(store, state_key("data_sources", "alpha", "gtfs"))
    assert len(state["versions"]) == 3 and state["last_failure"]["error"] == message
    assert not list((tmp_path / "bad").rglob("feed.zip"))  # the refused download is not kept locally either


def test_an_oversized_download_keeps_the_last_data_set(shared_data: Path, tmp_path: Path) -> None:
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    with raw_server(endless) as base:
        served = HttpServer()
        with served.running():
            served.serve_file("/feed.zip", shared_data / "gtfs/history/gtfs-1.zip")
            catalog = _catalog(f"{served.base_url}/feed.zip")
            assert export_contributor(store, catalog, "alpha", tmp_path / "w1", TODAY).exported
        before = sorted(info.key for info in store.list("transit/"))
        limits = TransitLimits(fetch=TransferLimits(max_bytes=512 * 1024))
        with pytest.raises(FetchError, match="larger than the 524288 bytes download limit"):
            export_contributor(store, _catalog(f"{base}/feed.zip"), "alpha", tmp_path / "w2", TODAY, limits=limits)
    assert sorted(info.key for info in store.list("transit/")) == before
    assert not [p for p in (tmp_path / "w2").rglob("*") if p.is_file()]


def test_a_gzip_encoded_bomb_counts_its_inflated_bytes(tmp_path: Path) -> None:
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    body = b"".join(compressor.compress(bytes(1 << 20)) for _ in range(300)) + compressor.flush()

    def gzip_bomb(conn: socket.socket) -> None:
        _read_request_head(conn)
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode() + body)

    assert len(body) < 1024 * 1024  # the wire size is under the limit: only inflated bytes exceed it
    with raw_server(gzip_bomb) as base:
        with pytest.raises(FetchError, match="larger than the 1048576 bytes download limit"):
            fetch(f"{base}/feed.zip", tmp_path / "dl", "x.zip", limits=FAST)
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_zip_slip_download_is_never_saved_nor_exported(http_server: HttpServer, shared_data: Path, tmp_path: Path) -> None:
    import zipfile

    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    catalog = _catalog(f"{http_server.base_url}/feed.zip")
    http_server.serve_file("/feed.zip", shared_data / "gtfs/history/gtfs-1.zip")
    assert export_contributor(store, catalog, "alpha", tmp_path / "w1", TODAY).exported
    before = sorted(info.key for info in store.list("transit/") if "/state/" not in info.key)
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(shared_data / "gtfs/history/gtfs-2.zip") as source, zipfile.ZipFile(hostile, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info))
        out.writestr("../../x.bin", b"outside")
    http_server.serve_file("/feed.zip", hostile)
    with pytest.raises(FetchError, match=r"alpha/gtfs/feed.zip/\.\./\.\./x.bin: unsafe member name"):
        export_contributor(store, catalog, "alpha", tmp_path / "w2", TODAY)
    assert sorted(info.key for info in store.list("transit/") if "/state/" not in info.key) == before


def test_trickling_headers_meet_the_deadline_too(tmp_path: Path) -> None:
    def slow_headers(conn: socket.socket) -> None:
        _read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(10_000):
            conn.sendall(b"X-Slow: a\r\n")  # each header line well within the idle timeout
            time.sleep(0.1)

    with raw_server(slow_headers) as base:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"/feed.zip: not finished within the 1.5 s deadline"):
            fetch(f"{base}/feed.zip", tmp_path / "dl", "x.zip", limits=FAST)
        assert time.monotonic() - started < 4
