"""Fetching data sources: http/https (basic auth, redirects, ETag/Last-Modified), ftp and file paths.

A fetch streams to a local file while hashing it (sha256); the file name comes from the
Content-Disposition header, else the final URL after redirects, else the source id.
"""

from __future__ import annotations

import ftplib
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from platform_assets.transit.errors import FetchError

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


def _stream_to(stream_chunks: object, destination: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(destination, "wb") as out:
        for chunk in stream_chunks:  # type: ignore[attr-defined]
            if chunk:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    return digest.hexdigest(), size


def fetch(
    url: str,
    destination_dir: Path,
    fallback_name: str,
    username: str = "",
    password: str = "",
    etag: str = "",
    last_modified: str = "",
    timeout: float = 60.0,
) -> Fetched:
    """Fetch `url` (http, https, ftp, file:// or a plain path) into `destination_dir`."""
    destination_dir.mkdir(parents=True, exist_ok=True)
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_http(url, destination_dir, fallback_name, username, password, etag, last_modified, timeout)
    if scheme == "ftp":
        return _fetch_ftp(url, destination_dir, fallback_name, username, password, timeout)
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
    timeout: float,
) -> Fetched:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    auth = (username, password) if username else None
    try:
        with requests.get(url, headers=headers, auth=auth, stream=True, timeout=timeout) as response:
            if response.status_code == 304:
                return Fetched(None, "", "", 0, etag, last_modified)
            if response.status_code == 401:
                raise FetchError(f"{url}: HTTP 401 unauthorized (check the data source's auth)")
            if response.status_code != 200:
                raise FetchError(f"{url}: HTTP {response.status_code} {response.reason}")
            name = name_from_content_disposition(response.headers.get("Content-Disposition", ""))
            name = _safe_name(name or _name_from_url(response.url), fallback_name)
            target = destination_dir / name
            sha256, size = _stream_to(response.iter_content(CHUNK_SIZE), target)
            return Fetched(
                target,
                name,
                sha256,
                size,
                response.headers.get("ETag", ""),
                response.headers.get("Last-Modified", ""),
            )
    except requests.RequestException as error:
        raise FetchError(f"{url}: cannot fetch: {type(error).__name__}: {error}") from None


def _fetch_ftp(
    url: str, destination_dir: Path, fallback_name: str, username: str, password: str, timeout: float
) -> Fetched:
    parts = urlsplit(url)
    name = _safe_name(_name_from_url(url), fallback_name)
    target = destination_dir / name
    digest = hashlib.sha256()
    size = 0
    try:
        with ftplib.FTP(timeout=timeout) as client:
            client.connect(parts.hostname or "", parts.port or 21)
            client.login(unquote(parts.username or username or "anonymous"), unquote(parts.password or password))
            with open(target, "wb") as out:

                def write(chunk: bytes) -> None:
                    nonlocal size
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)

                client.retrbinary(f"RETR {unquote(parts.path)}", write)
    except (ftplib.Error, OSError) as error:
        target.unlink(missing_ok=True)
        raise FetchError(f"{parts.scheme}://{parts.hostname}{parts.path}: ftp fetch failed: {error}") from None
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
