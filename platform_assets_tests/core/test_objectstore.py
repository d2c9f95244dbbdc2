import io
from pathlib import Path

import pytest
import requests
from dagster_aws.s3 import S3Resource

from platform_assets.core.errors import ObjectStoreError
from platform_assets.core.objectstore import LocalObjectStore, ObjectStore, S3ObjectStore
from platform_assets_tests.servers import free_port


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(local_dir=str(tmp_path / "objects"))
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return S3ObjectStore(bucket=bucket, prefix="platform", s3=S3Resource(endpoint_url=endpoint))


def test_upload_download_list_delete(store: ObjectStore, tmp_path: Path) -> None:
    payload = b"stop_id,stop_name\n1,Gare\n" * 50_000  # ~1.2 MB: several read chunks
    source = tmp_path / "stops.txt"
    source.write_bytes(payload)

    stored = store.put_file("transit/exports/a/stops.txt", source)
    store.put_bytes("transit/exports/b/other.txt", b"x")
    store.put_bytes("trip_exports/one.zip", b"zip")

    import hashlib

    assert stored.size == len(payload)
    assert stored.sha256 == hashlib.sha256(payload).hexdigest()
    assert store.key_from_uri(stored.uri) == "transit/exports/a/stops.txt"
    assert [info.key for info in store.list("transit/")] == ["transit/exports/a/stops.txt", "transit/exports/b/other.txt"]
    assert store.list("transit/exports/a/")[0].size == len(payload)

    copy = store.download("transit/exports/a/stops.txt", tmp_path / "copy" / "stops.txt")
    assert copy.read_bytes() == payload
    with store.open("transit/exports/b/other.txt") as stream:
        assert stream.read() == b"x"

    store.delete("transit/exports/a/stops.txt")
    store.delete("transit/exports/a/stops.txt")  # deleting twice is fine
    assert not store.exists("transit/exports/a/stops.txt")
    assert store.exists("transit/exports/b/other.txt")
    with pytest.raises(ObjectStoreError, match="no such object"):
        store.read_bytes("transit/exports/a/stops.txt")


def test_failed_write_keeps_previous_object(store: ObjectStore) -> None:
    store.put_bytes("exports/latest.zip", b"good export")

    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = False

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if not self.sent:
                self.sent = True
                return b"half"
            raise OSError("disk went away")

    with pytest.raises(ObjectStoreError, match="cannot write 'exports/latest.zip'"):
        store.put_stream("exports/latest.zip", Broken())
    assert store.read_bytes("exports/latest.zip") == b"good export"
    assert [info.key for info in store.list()] == ["exports/latest.zip"]


def test_presigned_url_is_fetchable_over_http(s3_endpoint: str, s3_bucket: str) -> None:
    store = S3ObjectStore(bucket=s3_bucket, s3=S3Resource(endpoint_url=s3_endpoint))
    store.put_bytes("exports/x.zip", b"PK\x03\x04 payload", "application/zip")
    url = store.presigned_url("exports/x.zip", expires_in=60)
    assert "Signature" in url or "X-Amz-Signature" in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"PK\x03\x04 payload"
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403  # unsigned: refused


def test_local_links_are_file_uris(tmp_path: Path) -> None:
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    store.put_bytes("a/b.txt", b"hello")
    url = store.presigned_url("a/b.txt")
    assert url == (tmp_path / "objects" / "a" / "b.txt").as_uri()
    assert Path(url.removeprefix("file://")).read_bytes() == b"hello"


@pytest.mark.parametrize("key", ["/etc/passwd", "../outside", "a/../../b", ""])
def test_keys_cannot_escape_the_store(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(local_dir=str(tmp_path))
    with pytest.raises(ObjectStoreError, match="invalid object key"):
        store.put_bytes(key, b"x")


def test_unreachable_s3_endpoint_is_one_clear_line() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    store = S3ObjectStore(bucket="exports", s3=S3Resource(endpoint_url=endpoint, max_attempts=1))
    with pytest.raises(ObjectStoreError) as raised:
        store.ping()
    message = str(raised.value)
    assert "\n" not in message
    assert endpoint in message and "PLATFORM_S3_ENDPOINT_URL" in message

