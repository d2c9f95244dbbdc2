"""Fetching data sources: http/https (basic auth, redirects, ETag/Last-Modified), ftp and file paths.

A fetch streams to a local file while hashing it (sha256); the file name comes from the
Content-Disposition header, else the final URL after redirects, else the source id.
Every network fetch is bounded (`TransferLimits`): connect and idle timeouts, a total deadline and a
maximum size. Past one, the fetch stops, the partial file is deleted and a FetchError says why.
"""

from __future__ import annotations

import ftplib
import hashlib
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from platform_assets.lib.deferred import requests, urllib3
from platform_assets.transit.errors import FetchError
from platform_assets.transit.limits import Deadline, DeadlineExceeded, TransferLimits

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """The outcome of one fetch: a local file (None when the server said 304 Not Modified)."""

    path: Path | None
    file_name: str
    sha256: str
    size: int
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.path is None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_name(name: str, fallback: str) -> str:
    name = Path(unquote(name).replace("\\", "/")).name.strip()
    return name if name and name not in (".", "..") else fallback


def name_from_content_disposition(header: str) -> str:
    """The file name in a Content-Disposition header (RFC 6266 `filename*` first), or ''."""
    if not header:
        return ""
    extended = re.search(r"filename\*\s*=\s*(?:[\w-]+)''([^;]+)", header, re.IGNORECASE)
    if extended:
        return unquote(extended.group(1).strip().strip('"'))
    plain = re.search(r'filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)', header, re.IGNORECASE)
    if plain:
        return (plain.group(1) or plain.group(2) or "").strip()
    return ""


def _name_from_url(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def _too_large(where: str, limits: TransferLimits) -> FetchError:
    return FetchError(f"{where}: larger than the {limits.max_bytes} bytes download limit; aborted and the partial file deleted")


def _stream_to(chunks: Iterator[bytes], destination: Path, where: str, limits: TransferLimits, deadline: Deadline) -> tuple[str, int]:
    """Write `chunks` to `destination` while hashing; past the size limit or the deadline the
    partial file is deleted and FetchError raised."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(destination, "wb") as out:
            for chunk in chunks:
                if chunk:
                    size += len(chunk)
                    if limits.max_bytes and size > limits.max_bytes:
                        raise _too_large(where, limits)
                    digest.update(chunk)
                    out.write(chunk)
                deadline.check(where)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def _headers_within(get: Callable[[], requests.Response], deadline: Deadline, where: str) -> requests.Response:
    """`get()` (which returns once the status line and headers are in: redirects, auth) bounded by
    the deadline: a server trickling its headers a byte at a time meets each idle timeout but not
    the deadline. The request runs in a helper thread; when abandoned it closes its own response."""
    outcome: dict[str, Any] = {}
    done = threading.Event()
    abandoned = threading.Event()

    def run() -> None:
        try:
            outcome["response"] = get()
        except BaseException as error:  # noqa: BLE001 - handed to the caller below
            outcome["error"] = error
        done.set()
        if abandoned.is_set() and "response" in outcome:
            outcome["response"].close()

    threading.Thread(target=run, name="transit-fetch-headers", daemon=True).start()
    if not done.wait(deadline.remaining()):
        abandoned.set()
        if done.is_set() and "response" in outcome:
            outcome["response"].close()
        deadline.check(where)
        raise DeadlineExceeded(f"{where}: not finished within the {deadline.seconds:g} s deadline; aborted")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


def _arriving(raw: object) -> Iterator[bytes]:
    """The body as it arrives: `read1` returns whatever bytes are there (at least one) instead of
    waiting for a full chunk, so a trickling server meets the deadline check between reads."""
    while chunk := raw.read1(CHUNK_SIZE, decode_content=True):  # type: ignore[attr-defined]
        yield chunk


def fetch(
    url: str,
    destination_dir: Path,
    fallback_name: str,
    username: str = "",
    password: str = "",
    etag: str = "",
    last_modified: str = "",
    limits: TransferLimits | None = None,
) -> Fetched:
    """Fetch `url` (http, https, ftp, file:// or a plain path) into `destination_dir`."""
    limits = limits or TransferLimits()
    destination_dir.mkdir(parents=True, exist_ok=True)
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_http(url, destination_dir, fallback_name, username, password, etag, last_modified, limits)
    if scheme == "ftp":
        return _fetch_ftp(url, destination_dir, fallback_name, username, password, limits)
    if scheme in ("", "file") or (len(scheme) == 1 and url[1:3] == ":\\"):
        path = Path(unquote(urlsplit(url).path) if scheme == "file" else url)
        return _fetch_file(path, destination_dir, fallback_name)
    raise FetchError(f"{url}: unsupported protocol {scheme!r} (use http, https, ftp or a file path)")


def _fetch_http(
    url: str,
    destination_dir: Path,
    fallback_name: str,
    username: str,
    password: str,
    etag: str,
    last_modified: str,
    limits: TransferLimits,
) -> Fetched:
    deadline = limits.clock()
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    auth = (username, password) if username else None
    try:
        timeouts = (limits.connect_timeout, limits.idle_timeout)
        get = partial(requests.get, url, headers=headers, auth=auth, stream=True, timeout=timeouts)
        with _headers_within(get, deadline, url) as response:
            if response.status_code == 304:
                return Fetched(None, "", "", 0, etag, last_modified)
            if response.status_code == 401:
                raise FetchError(f"{url}: HTTP 401 unauthorized (check the data source's auth)")
            if response.status_code != 200:
                raise FetchError(f"{url}: HTTP {response.status_code} {response.reason}")
            name = name_from_content_disposition(response.headers.get("Content-Disposition", ""))
            name = _safe_name(name or _name_from_url(response.url), fallback_name)
            declared = response.headers.get("Content-Length", "")
            if limits.max_bytes and declared.isdigit() and int(declared) > limits.max_bytes:
                raise _too_large(url, limits)
            target = destination_dir / name
            sha256, size = _stream_to(_arriving(response.raw), target, url, limits, deadline)
            return Fetched(
                target,
                name,
                sha256,
                size,
                response.headers.get("ETag", ""),
                response.headers.get("Last-Modified", ""),
            )
    except DeadlineExceeded as error:
        raise FetchError(str(error)) from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        raise FetchError(f"{url}: cannot fetch: {type(error).__name__}: {error}") from None


def _fetch_ftp(
    url: str, destination_dir: Path, fallback_name: str, username: str, password: str, limits: TransferLimits
) -> Fetched:
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.hostname}{parts.path}"
    name = _safe_name(_name_from_url(url), fallback_name)
    target = destination_dir / name
    deadline = limits.clock()
    digest = hashlib.sha256()
    size = 0
    client = ftplib.FTP(timeout=limits.connect_timeout)
    try:
        client.connect(parts.hostname or "", parts.port or 21)
        # From here on every wait (control and data connections) is bounded by the idle timeout.
        client.timeout = limits.idle_timeout
        client.sock.settimeout(limits.idle_timeout)
        client.login(unquote(parts.username or username or "anonymous"), unquote(parts.password or password))
        with open(target, "wb") as out:

            def write(chunk: bytes) -> None:
                # retrbinary hands over each block as it arrives: the deadline is checked between them.
                nonlocal size
                size += len(chunk)
                if limits.max_bytes and size > limits.max_bytes:
                    raise _too_large(where, limits)
                digest.update(chunk)
                out.write(chunk)
                deadline.check(where)

            client.retrbinary(f"RETR {unquote(parts.path)}", write)
        client.quit()
    except DeadlineExceeded as error:
        target.unlink(missing_ok=True)
        raise FetchError(str(error)) from None
    except FetchError:
        target.unlink(missing_ok=True)
        raise
    except (ftplib.Error, OSError, EOFError) as error:
        target.unlink(missing_ok=True)
        raise FetchError(f"{where}: ftp fetch failed: {error}") from None
    finally:
        client.close()
    return Fetched(target, name, digest.hexdigest(), size)


def _fetch_file(path: Path, destination_dir: Path, fallback_name: str) -> Fetched:
    if not path.is_file():
        raise FetchError(f"{path}: no such file")
    name = _safe_name(path.name, fallback_name)
    target = destination_dir / name
    try:
        shutil.copyfile(path, target)
    except OSError as error:
        raise FetchError(f"{path}: cannot copy: {error}") from None
    return Fetched(target, name, file_sha256(target), target.stat().st_size)
