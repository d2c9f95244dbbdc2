"""The object store: where every file the platform makes lives. One interface, one class per
backend (`LocalObjectStore` here, `S3ObjectStore` in `core/objectstore_s3.py`: dagster-aws, boto3 and
their dependencies load only where S3 is used); `core/resources.py` chooses (PLATFORM_OBJECT_STORE).

Files are streamed in and out (never read whole into memory) and each write reports its size and
sha256, which assets return as materialization metadata. Writes are atomic: a failed upload
leaves the previous object with the same key untouched.

Faults (issue 18 item 14): an upload in progress logs its progress every few seconds (so a frozen
endpoint is visible, not silent); S3 calls have connect and read timeouts; runs keep their
temporary files in `work_folder()`s under PLATFORM_WORK_DIR, and whatever a killed run left
behind (its work folder, `.part` files, incomplete S3 multipart uploads) is removed when the
store is next set up for a run (`setup_for_execution`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, ClassVar

from dagster import ConfigurableResource, InitResourceContext, get_dagster_logger

from platform_assets.core.errors import ObjectStoreError
from platform_assets.core.settings import fill_default, setting

CHUNK_SIZE = 1024 * 1024
MIB = 1024 * 1024
# The file in each work folder naming the process that owns it (core/run_liveness.ProcessOwner).
OWNER_FILE = ".owner"
# The folder of PLATFORM_WORK_DIR holding one marker per S3 upload in progress (its process and key).
UPLOADS_FOLDER = "uploads"


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
        # Bytes the backend reports sent (S3's transfer callback), for progress logs.
        self.sent = 0

    def count_sent(self, count: int) -> None:
        self.sent += count

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

    work_dir: str = setting(
        "PLATFORM_WORK_DIR", "{data_dir}/work", "Folder of runs' temporary files: one folder per run step, removed "
        "when it ends; a killed run's is removed when the object store is next set up for a run."
    )
    progress_seconds: int = setting(
        "PLATFORM_OBJECT_STORE_PROGRESS_SECONDS", "30", "Seconds between progress log lines of an upload to the "
        "object store (bytes sent so far), so a slow or frozen store is visible in the run's logs.", minimum=1,
    )

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

    def _clean_incomplete_uploads(self) -> list[str]:
        """Remove what killed uploads left in the store; return what was removed."""
        return []

    # -- lifecycle: leftovers of killed runs ------------------------------------------------------
    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Dagster calls this when a run (or step) starts with this store: remove what killed
        runs left behind. Best effort: a store that cannot be reached fails the write, not this."""
        try:
            removed = self.clean_leftovers()
        except Exception as error:  # the run's own use of the store reports an unreachable store
            get_dagster_logger("platform_assets.object_store").warning(f"leftover cleanup skipped: {error}"[:500])
            return
        if removed:
            get_dagster_logger("platform_assets.object_store").info(
                f"removed {len(removed)} leftover(s) of killed runs: {', '.join(removed)[:1000]}"
            )

    def work_root(self) -> Path:
        """PLATFORM_WORK_DIR, absolute (`{data_dir}` filled in when the store was built directly)."""
        return Path(fill_default(self.work_dir)).absolute()

    def clean_leftovers(self) -> list[str]:
        """Remove the work folders of processes that are gone and the store's incomplete uploads
        (killed runs); return what was removed (folder paths, upload keys)."""
        from platform_assets.core.run_liveness import ProcessOwner, owned_by_dead_process

        removed: list[str] = []
        root = self.work_root()
        if root.is_dir():
            for folder in root.iterdir():
                try:
                    owner = ProcessOwner.parse(json.loads((folder / OWNER_FILE).read_text())["owner"])
                except (OSError, ValueError, KeyError, TypeError):
                    owner = None
                if owner is not None and owned_by_dead_process(owner):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(str(folder))
        with self._errors("clean up", ""):
            removed.extend(self._clean_incomplete_uploads())
        return removed

    @contextmanager
    def work_folder(self, prefix: str) -> Iterator[Path]:
        """A fresh folder under PLATFORM_WORK_DIR for a step's temporary files, removed on exit;
        if the process is killed, the next `clean_leftovers` removes it."""
        from platform_assets.core.run_liveness import this_process

        root = self.work_root()
        root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        try:
            (folder / OWNER_FILE).write_text(json.dumps({"owner": this_process().tag()}))
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def _progress(self, key: str, sent: Callable[[], int]) -> Iterator[None]:
        """Log `sent()` every `progress_seconds` while the block runs (a thread, so a frozen
        endpoint that blocks the upload still shows in the log)."""
        stop = threading.Event()
        started = time.monotonic()
        log = get_dagster_logger("platform_assets.object_store")

        def report() -> None:
            last = 0
            while not stop.wait(self.progress_seconds):
                now = sent()
                log.info(
                    f"uploading {key!r} to {self._where()}: {now / MIB:.1f} MiB sent in "
                    f"{time.monotonic() - started:.0f} s ({(now - last) / MIB:.1f} MiB in the last {self.progress_seconds} s)"
                )
                last = now

        thread = threading.Thread(target=report, name=f"progress-{key[-40:]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

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
        with self._errors("write", key), self._progress(key, self._sent_counter(reader)):
            self._write(key, reader, content_type)
        return StoredObject(key, self.uri(key), reader.size, reader.sha256.hexdigest())

    def _sent_counter(self, reader: _HashingReader) -> Callable[[], int]:
        """Bytes sent so far by a write of `reader` (a backend that knows better overrides this)."""
        return lambda: reader.size

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

    def _clean_incomplete_uploads(self) -> list[str]:
        # A write is a `.part` file renamed into place: one older than a day was left by a killed
        # process (a live write keeps touching its file, so it is never that old).
        removed: list[str] = []
        root = self._root()
        cutoff = time.time() - 86400
        if root.is_dir():
            for part in root.rglob(".*.part"):
                try:
                    if part.is_file() and part.stat().st_mtime < cutoff:
                        part.unlink()
                        removed.append(part.relative_to(root).as_posix())
                except OSError:
                    continue
        return removed


def __getattr__(name: str) -> Any:
    # `S3ObjectStore` lives in its own module so that loading the code location (every queued run)
    # does not import dagster-aws (its package imports all its components, boto3 among them).
    if name == "S3ObjectStore":
        from platform_assets.core.objectstore_s3 import S3ObjectStore

        return S3ObjectStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
