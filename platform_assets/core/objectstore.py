"""The object store: where every file the platform makes lives. One interface, one class per
backend (`LocalObjectStore`, `S3ObjectStore`); `core/resources.py` chooses (PLATFORM_OBJECT_STORE).

Files are streamed in and out (never read whole into memory) and each write reports its size and
sha256, which assets return as materialization metadata. Writes are atomic: a failed upload
leaves the previous object with the same key untouched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, ClassVar

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from platform_assets.core.errors import ObjectStoreError
from platform_assets.core.settings import setting

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """What a write produced: enough for metadata and for finding the object again."""

    key: str
    uri: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime


class _HashingReader:
    """Wraps a binary stream, counting bytes and hashing them as they are read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _check_key(key: str) -> str:
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or key.endswith("/"):
        raise ObjectStoreError(f"invalid object key {key!r}: use a relative path like 'transit/a/b.zip'")
    return str(path)


class ObjectStore(ConfigurableResource):
    """What every backend offers: streamed, atomic, hashed writes and streamed reads by key.

    Subclasses implement the `_` primitives; the public methods check keys and turn backend
    exceptions into one-line ObjectStoreErrors that say where and what.
    """

    # Named in errors so an operator knows which setting to look at.
    setting_hint: ClassVar[str] = ""

    # -- what a backend implements --------------------------------------------------------------
    def _where(self) -> str:
        raise NotImplementedError

    def uri(self, key: str) -> str:
        """A stable URI naming the object."""
        raise NotImplementedError

    def _uri_head(self) -> str:
        raise NotImplementedError

    def _write(self, key: str, reader: _HashingReader, content_type: str | None) -> None:
        raise NotImplementedError

    def _open(self, key: str) -> IO[bytes]:
        raise NotImplementedError

    def _exists(self, key: str) -> bool:
        raise NotImplementedError

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        raise NotImplementedError

    def _link(self, key: str, expires_in: int) -> str:
        raise NotImplementedError

    def _ping(self) -> None:
        raise NotImplementedError

    # -- the interface --------------------------------------------------------------------------
    @contextmanager
    def _errors(self, action: str, key: str = "") -> Iterator[None]:
        """Turn backend exceptions into one-line ObjectStoreErrors that say where and what."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ObjectStoreError:
            raise
        except FileNotFoundError as error:
            raise ObjectStoreError(f"cannot {action} {key!r}: no such object in {self._where()}") from error
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectStoreError(f"cannot {action} {key!r}: no such object in {self._where()}") from error
            raise ObjectStoreError(f"cannot {action} {key!r} in {self._where()}: {code} {error}") from error
        except (BotoCoreError, OSError) as error:
            raise ObjectStoreError(f"cannot {action} {key!r}: {self._where()} failed: {error}") from error

    def put_stream(self, key: str, stream: IO[bytes], content_type: str | None = None) -> StoredObject:
        """Stream `stream` to `key`; the previous object stays until the new one is complete."""
        key = _check_key(key)
        reader = _HashingReader(stream)
        with self._errors("write", key):
            self._write(key, reader, content_type)
        return StoredObject(key, self.uri(key), reader.size, reader.sha256.hexdigest())

    def put_file(self, key: str, path: str | os.PathLike[str], content_type: str | None = None) -> StoredObject:
        with open(path, "rb") as stream:
            return self.put_stream(key, stream, content_type)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> StoredObject:
        import io

        return self.put_stream(key, io.BytesIO(data), content_type)

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        """A readable binary stream of the object (streamed, not buffered whole)."""
        key = _check_key(key)
        with self._errors("read", key):
            stream = self._open(key)
        try:
            yield stream
        finally:
            stream.close()

    def download(self, key: str, destination: str | os.PathLike[str]) -> Path:
        """Stream the object into a local file and return its path."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with self.open(key) as source, open(destination, "wb") as out:
            with self._errors("read", key):
                shutil.copyfileobj(source, out, CHUNK_SIZE)
        return destination

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream, self._errors("read", key):
            return stream.read()

    def exists(self, key: str) -> bool:
        key = _check_key(key)
        with self._errors("stat", key):
            return self._exists(key)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with `prefix`, sorted by key."""
        with self._errors("list", prefix):
            found = list(self._list(prefix))
        return sorted(found, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        key = _check_key(key)
        with self._errors("delete", key):
            self._delete(key)

    def presigned_url(self, key: str, expires_in: int = 3600) -> str:
        """A URL anyone can GET for `expires_in` seconds (S3); the `file://` URI locally."""
        key = _check_key(key)
        with self._errors("link", key):
            return self._link(key, expires_in)

    def key_from_uri(self, uri: str) -> str:
        """Inverse of `uri()` for URIs of this store."""
        head = self._uri_head()
        if not uri.startswith(head):
            raise ObjectStoreError(f"{uri!r} is not an object of {self._where()}")
        return uri[len(head) :]

    def ping(self) -> None:
        """Fail with a one-line ObjectStoreError when the store cannot be reached."""
        with self._errors("reach", ""):
            self._ping()


class LocalObjectStore(ObjectStore):
    """A folder on local disk (the embedded default). Writes go to a `.part` file renamed into
    place, so readers never see half an object."""

    local_dir: str = setting("PLATFORM_OBJECT_STORE_DIR", "{data_dir}/objects", "Folder of the local object store.")

    def _root(self) -> Path:
        return Path(self.local_dir).absolute()

    def _path(self, key: str) -> Path:
        return self._root() / key

    def _where(self) -> str:
        return f"local folder {self.local_dir} (PLATFORM_OBJECT_STORE_DIR)"

    def uri(self, key: str) -> str:
        return self._path(_check_key(key)).as_uri()

    def _uri_head(self) -> str:
        return self._root().as_uri() + "/"

    def local_path(self, key: str) -> Path:
        """The file holding the object (an HTTP server on the embedded default serves it)."""
        return self._path(_check_key(key))

    def _write(self, key: str, reader: _HashingReader, content_type: str | None) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(reader, out, CHUNK_SIZE)  # type: ignore[arg-type]
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def _open(self, key: str) -> IO[bytes]:
        return open(self._path(key), "rb")

    def _exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        root = self._root()
        if not root.is_dir():
            return
        for path in root.rglob("*"):
            if not path.is_file() or path.name.endswith(".part"):
                continue
            key = path.relative_to(root).as_posix()
            if key.startswith(prefix):
                stat = path.stat()
                yield ObjectInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, tz=UTC))

    def _delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _link(self, key: str, expires_in: int) -> str:
        if not self._path(key).is_file():
            raise ObjectStoreError(f"cannot link {key!r}: no such object in {self._where()}")
        return self.uri(key)

    def _ping(self) -> None:
        self._root().mkdir(parents=True, exist_ok=True)


class S3ObjectStore(ObjectStore):
    """An S3 bucket (AWS, MinIO, moto...) through dagster-aws's S3Resource. Uploads are multipart
    and only visible once complete, so a failed upload leaves the previous object in place."""

    bucket: str = setting("PLATFORM_S3_BUCKET", "", "S3 bucket (required when PLATFORM_OBJECT_STORE=s3).")
    prefix: str = setting("PLATFORM_S3_PREFIX", "", "Key prefix inside the bucket.")
    s3: S3Resource = Field(default_factory=S3Resource, description="S3 client configuration.")

    _client: Any = PrivateAttr(default=None)

    def _s3_client(self) -> Any:
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def _s3_key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def _where(self) -> str:
        endpoint = self.s3.endpoint_url or "AWS"
        return f"S3 bucket {self.bucket!r} at {endpoint} (PLATFORM_S3_ENDPOINT_URL / PLATFORM_S3_BUCKET)"

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._s3_key(_check_key(key))}"

    def _uri_head(self) -> str:
        return f"s3://{self.bucket}/{self._s3_key('')}"

    def _write(self, key: str, reader: _HashingReader, content_type: str | None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        self._s3_client().upload_fileobj(reader, self.bucket, self._s3_key(key), ExtraArgs=extra)

    def _open(self, key: str) -> IO[bytes]:
        return self._s3_client().get_object(Bucket=self.bucket, Key=self._s3_key(key))["Body"]

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3_client().head_object(Bucket=self.bucket, Key=self._s3_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        strip = len(self._s3_key(""))
        paginator = self._s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._s3_key(prefix)):
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"][strip:], item["Size"], item["LastModified"])

    def _delete(self, key: str) -> None:
        self._s3_client().delete_object(Bucket=self.bucket, Key=self._s3_key(key))

    def _link(self, key: str, expires_in: int) -> str:
        return self._s3_client().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._s3_key(key)}, ExpiresIn=expires_in
        )

    def _ping(self) -> None:
        self._s3_client().head_bucket(Bucket=self.bucket)
