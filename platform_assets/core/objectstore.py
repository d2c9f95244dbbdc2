"""The object store: where every file the platform makes lives (a local folder or S3).

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
from typing import IO, Any

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from platform_assets.core.errors import ObjectStoreError

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
    """Local folder (`kind="local"`) or S3 bucket (`kind="s3"`, through dagster-aws's S3Resource)."""

    kind: str = Field(default="local", description="local | s3")
    local_dir: str = Field(default="var/data/objects", description="Root folder when kind=local.")
    bucket: str = Field(default="", description="S3 bucket when kind=s3.")
    prefix: str = Field(default="", description="Key prefix inside the bucket.")
    s3: S3Resource = Field(default_factory=S3Resource, description="S3 client configuration.")

    _client: Any = PrivateAttr(default=None)

    # -- helpers -------------------------------------------------------------------------------
    def _s3_client(self) -> Any:
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def _s3_key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def _local_path(self, key: str) -> Path:
        return Path(self.local_dir).absolute() / key

    def _where(self) -> str:
        if self.kind == "s3":
            endpoint = self.s3.endpoint_url or "AWS"
            return f"S3 bucket {self.bucket!r} at {endpoint} (PLATFORM_S3_ENDPOINT_URL / PLATFORM_S3_BUCKET)"
        return f"local folder {self.local_dir} (PLATFORM_OBJECT_STORE_DIR)"

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

    def check_kind(self) -> None:
        if self.kind not in ("local", "s3"):
            raise ObjectStoreError(f"PLATFORM_OBJECT_STORE: {self.kind!r} is not one of: local, s3")

    # -- API -----------------------------------------------------------------------------------
    def uri(self, key: str) -> str:
        """A stable URI naming the object: `file:///...` locally, `s3://bucket/key` on S3."""
        key = _check_key(key)
        if self.kind == "s3":
            return f"s3://{self.bucket}/{self._s3_key(key)}"
        return self._local_path(key).as_uri()

    def put_stream(self, key: str, stream: IO[bytes], content_type: str | None = None) -> StoredObject:
        """Stream `stream` to `key`; the previous object stays until the new one is complete."""
        self.check_kind()
        key = _check_key(key)
        reader = _HashingReader(stream)
        with self._errors("write", key):
            if self.kind == "s3":
                extra = {"ContentType": content_type} if content_type else None
                self._s3_client().upload_fileobj(reader, self.bucket, self._s3_key(key), ExtraArgs=extra)
            else:
                target = self._local_path(key)
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
                try:
                    with os.fdopen(fd, "wb") as out:
                        shutil.copyfileobj(reader, out, CHUNK_SIZE)  # type: ignore[arg-type]
                    os.replace(tmp_name, target)
                except BaseException:
                    Path(tmp_name).unlink(missing_ok=True)
                    raise
        return StoredObject(key, self.uri(key), reader.size, reader.sha256.hexdigest())

    def put_file(self, key: str, path: str | os.PathLike[str], content_type: str | None = None) -> StoredObject:
        with open(path, "rb") as stream:
            return self.put_stream(key, stream, content_type)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> StoredObject:
        import io

        return self.put_stream(key, io.BytesIO(data), content_type)

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        """A readable binary stream of the object (streamed from S3, not buffered whole)."""
        self.check_kind()
        key = _check_key(key)
        with self._errors("read", key):
            if self.kind == "s3":
                body = self._s3_client().get_object(Bucket=self.bucket, Key=self._s3_key(key))["Body"]
                try:
                    yield body
                finally:
                    body.close()
                return
            stream = open(self._local_path(key), "rb")
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
        self.check_kind()
        key = _check_key(key)
        if self.kind == "local":
            return self._local_path(key).is_file()
        from botocore.exceptions import ClientError

        try:
            with self._errors("stat", key):
                self._s3_client().head_object(Bucket=self.bucket, Key=self._s3_key(key))
        except ObjectStoreError as error:
            if isinstance(error.__cause__, ClientError):
                return False
            raise
        return True

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with `prefix`, sorted by key."""
        self.check_kind()
        found: list[ObjectInfo] = []
        with self._errors("list", prefix):
            if self.kind == "s3":
                strip = len(self._s3_key(""))
                paginator = self._s3_client().get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=self.bucket, Prefix=self._s3_key(prefix)):
                    for item in page.get("Contents", []):
                        found.append(ObjectInfo(item["Key"][strip:], item["Size"], item["LastModified"]))
            else:
                root = Path(self.local_dir).absolute()
                if root.is_dir():
                    for path in root.rglob("*"):
                        if not path.is_file() or path.name.endswith(".part"):
                            continue
                        key = path.relative_to(root).as_posix()
                        if key.startswith(prefix):
                            stat = path.stat()
                            modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
                            found.append(ObjectInfo(key, stat.st_size, modified))
        return sorted(found, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        self.check_kind()
        key = _check_key(key)
        with self._errors("delete", key):
            if self.kind == "s3":
                self._s3_client().delete_object(Bucket=self.bucket, Key=self._s3_key(key))
            else:
                self._local_path(key).unlink(missing_ok=True)

    def presigned_url(self, key: str, expires_in: int = 3600) -> str:
        """A URL anyone can GET for `expires_in` seconds on S3; the `file://` URI locally."""
        self.check_kind()
        key = _check_key(key)
        if self.kind == "local":
            if not self._local_path(key).is_file():
                raise ObjectStoreError(f"cannot link {key!r}: no such object in {self._where()}")
            return self.uri(key)
        with self._errors("link", key):
            return self._s3_client().generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._s3_key(key)}, ExpiresIn=expires_in
            )

    def key_from_uri(self, uri: str) -> str:
        """Inverse of `uri()` for URIs of this store."""
        if self.kind == "s3":
            head = f"s3://{self.bucket}/{self._s3_key('')}"
        else:
            head = Path(self.local_dir).absolute().as_uri() + "/"
        if not uri.startswith(head):
            raise ObjectStoreError(f"{uri!r} is not an object of {self._where()}")
        return uri[len(head) :]

    def ping(self) -> None:
        """Fail with a one-line ObjectStoreError when the store cannot be reached."""
        self.check_kind()
        with self._errors("reach", ""):
            if self.kind == "s3":
                self._s3_client().head_bucket(Bucket=self.bucket)
            else:
                Path(self.local_dir).absolute().mkdir(parents=True, exist_ok=True)
