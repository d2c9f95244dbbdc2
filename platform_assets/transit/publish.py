"""Publishing a coverage export: what is sent (navitia, ods, stop_area) and how (http, ftp, s3, file).

- navitia: the coverage export zip, multipart POST to the Tyr-style URL; anything but 200 fails.
- ods: a zip holding `<coverage>.txt` (metadata) and one `<coverage>_<FORMAT>.zip` per input.
- stop_area: the merged stops.txt, published as `<coverage_id>_stops.txt`.
"""

from __future__ import annotations

import csv
import ftplib
import io
import posixpath
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from platform_assets.lib.deferred import requests
from platform_assets.lib.gtfs.reader import read_member
from platform_assets.lib.gtfs.validity import ValidityPeriod
from platform_assets.transit.errors import PublicationError
from platform_assets.transit.limits import Deadline, DeadlineExceeded, TransferLimits

# Tartare's ComputeODS (tartare/processes/coverage/compute_ods.py) writes its metadata with
# tartare/helper.py dic_to_memory_csv: a csv.DictWriter whose columns are *sorted* alphabetically,
# ',' separated, '\n' line ends, dates as YYYYMMDD, one row per published format.
ODS_COLUMNS = (
    "Description",
    "Download",
    "Format",
    "ID",
    "Licence",
    "License link",
    "Size",
    "Update date",
    "Validity end date",
    "Validity start date",
)
ODS_DATE_FORMAT = "%Y%m%d"


@dataclass(frozen=True)
class OdsInfo:
    coverage_id: str
    description: str
    licence_name: str
    licence_url: str
    validity: ValidityPeriod
    updated: datetime


def ods_metadata(inputs: dict[str, Path], info: OdsInfo, download_url: str = "") -> bytes:
    """`<coverage>.txt`: one row per format; `Download` is the member name unless a portal URL is given."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ODS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for data_format, path in inputs.items():
        writer.writerow(
            {
                "Description": info.description,
                "Download": download_url or ods_member_name(info.coverage_id, data_format),
                "Format": data_format,
                "ID": f"{info.coverage_id}-{data_format}",
                "Licence": info.licence_name,
                "License link": info.licence_url,
                "Size": path.stat().st_size,
                "Update date": info.updated.strftime(ODS_DATE_FORMAT),
                "Validity end date": info.validity.end_date.strftime(ODS_DATE_FORMAT),
                "Validity start date": info.validity.start_date.strftime(ODS_DATE_FORMAT),
            }
        )
    return buffer.getvalue().encode("utf-8")


def ods_member_name(coverage_id: str, data_format: str) -> str:
    return f"{coverage_id}_{data_format}.zip"


def build_ods_archive(
    inputs: dict[str, Path] | Path, info: OdsInfo, destination: Path, download_url: str = ""
) -> Path:
    """The ODS archive: `<coverage>.txt` metadata and one `<coverage>_<FORMAT>.zip` per input.

    `inputs` maps an upper-case format (GTFS, NTFS...) to its file; a bare path is the GTFS export.
    """
    if isinstance(inputs, Path):
        inputs = {"GTFS": inputs}
    metadata = ods_metadata(inputs, info, download_url)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{info.coverage_id}.txt", metadata)
        for data_format, path in inputs.items():
            archive.write(path, ods_member_name(info.coverage_id, data_format))
    return destination


def stop_area_file(export_zip: Path, coverage_id: str, destination_dir: Path) -> Path:
    target = destination_dir / f"{coverage_id}_stops.txt"
    target.write_bytes(read_member(export_zip, "stops.txt"))
    return target


def expand_url(url: str, replacements: dict[str, str]) -> str:
    for name, value in replacements.items():
        url = url.replace("{" + name + "}", value)
    return url


def deliver(
    protocol: str, url: str, file: Path, remote_name: str, options: dict[str, Any], limits: TransferLimits | None = None
) -> str:
    """Send `file` as `remote_name` to `url` by `protocol`; return where it went (PublicationError on
    failure). Network uploads have connect and idle timeouts and a total deadline (`limits`)."""
    limits = limits or TransferLimits()
    if protocol in ("http", "https"):
        return _deliver_http(url, file, remote_name, options, limits)
    if protocol == "ftp":
        return _deliver_ftp(url, file, remote_name, options, limits)
    if protocol == "s3":
        return _deliver_s3(url, file, remote_name, options, limits)
    if protocol == "file":
        return _deliver_file(url, file, remote_name)
    raise PublicationError(f"{url}: unsupported protocol {protocol!r}")


class _PacedReader:
    """The upload body read block by block, the deadline checked before each block: a server that
    reads one byte a second cannot hold the run past the deadline (each block's send is bounded by
    the idle timeout)."""

    def __init__(self, parts: list[bytes | Path], deadline: Deadline, where: str) -> None:
        self._sizes = [len(p) if isinstance(p, bytes) else p.stat().st_size for p in parts]
        self._parts = parts
        self._deadline = deadline
        self._where = where
        self._index = 0
        self._stream: Any = None

    def __len__(self) -> int:
        return sum(self._sizes)

    def read(self, size: int = -1) -> bytes:
        self._deadline.check(self._where)
        size = 64 * 1024 if size is None or size < 0 else size
        while self._index < len(self._parts):
            part = self._parts[self._index]
            if self._stream is None:
                self._stream = io.BytesIO(part) if isinstance(part, bytes) else open(part, "rb")  # noqa: SIM115
            data = self._stream.read(size)
            if data:
                return data
            self._stream.close()
            self._stream = None
            self._index += 1
        return b""

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def _multipart_frame(field: str, remote_name: str) -> tuple[bytes, bytes, str]:
    """The bytes before and after the file in requests' multipart body for `files={field: (name, f)}`
    (the same framing, so receivers see no difference), and the content type."""
    from urllib3 import encode_multipart_formdata
    from urllib3.fields import RequestField

    part = RequestField(name=field, data=b"", filename=remote_name)
    part.make_multipart(content_type=None)
    body, content_type = encode_multipart_formdata([part])
    closing = body[body.rindex(b"\r\n--"):]
    return body[: len(body) - len(closing)], closing, content_type


def _deliver_http(url: str, file: Path, remote_name: str, options: dict[str, Any], limits: TransferLimits) -> str:
    auth = (options["username"], options.get("password", "")) if options.get("username") else None
    where = f"{url}: publishing {remote_name}"
    head, tail, content_type = _multipart_frame(options.get("field", "file"), remote_name)
    body = _PacedReader([head, file, tail], limits.clock(), where)
    try:
        response = requests.post(
            url, data=body, headers={"Content-Type": content_type}, auth=auth,
            timeout=(limits.connect_timeout, limits.idle_timeout),
        )
    except DeadlineExceeded as error:
        raise PublicationError(str(error)) from None
    except requests.RequestException as error:
        raise PublicationError(f"{url}: cannot publish {remote_name}: {type(error).__name__}: {error}") from None
    finally:
        body.close()
    if response.status_code != 200:
        raise PublicationError(f"{url}: publishing {remote_name} got HTTP {response.status_code} (200 required)")
    return url


def _deliver_ftp(url: str, file: Path, remote_name: str, options: dict[str, Any], limits: TransferLimits) -> str:
    parts = urlsplit(url)
    # Tartare's FtpProtocol changes to `options.directory`; here it is taken below the URL's own path.
    directory = posixpath.join(unquote(parts.path) or "/", options.get("directory", "")).rstrip("/") or "/"
    where = f"ftp://{parts.hostname}:{parts.port or 21}{directory.rstrip('/')}/{remote_name}"
    client = ftplib.FTP(timeout=limits.connect_timeout)
    deadline = limits.clock()
    body = _PacedReader([file], deadline, where)
    try:
        client.connect(parts.hostname or "", parts.port or 21)
        client.timeout = limits.idle_timeout  # data connections, and every wait from here on
        client.sock.settimeout(limits.idle_timeout)
        client.login(
            unquote(parts.username or options.get("username", "anonymous")),
            unquote(parts.password or options.get("password", "")),
        )
        if directory not in ("", "/"):
            client.cwd(directory)
        client.voidcmd("TYPE I")
        with client.transfercmd(f"STOR {remote_name}") as connection:
            while block := body.read(8192):
                connection.sendall(block)
        # The last bytes may sit in socket buffers: wait for the server's reply no longer than the
        # deadline leaves.
        client.sock.settimeout(min(limits.idle_timeout, max(deadline.remaining(), 0.05)))
        try:
            client.voidresp()
        except TimeoutError:
            deadline.check(where)
            raise
        client.quit()
    except DeadlineExceeded as error:
        raise PublicationError(str(error)) from None
    except (ftplib.Error, OSError, EOFError) as error:
        raise PublicationError(f"{where}: ftp upload failed: {error}") from None
    finally:
        body.close()
        client.close()
    return where


def _deliver_s3(url: str, file: Path, remote_name: str, options: dict[str, Any], limits: TransferLimits) -> str:
    import boto3
    from boto3.exceptions import S3UploadFailedError
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    parts = urlsplit(url)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    key = f"{prefix}/{remote_name}" if prefix else remote_name
    client = boto3.client(
        "s3",
        endpoint_url=options.get("endpoint_url") or None,
        region_name=options.get("region", "us-east-1"),
        config=Config(connect_timeout=limits.connect_timeout, read_timeout=limits.idle_timeout),
    )
    deadline = limits.clock()
    try:
        # The progress callback runs between parts: past the deadline it stops the upload.
        client.upload_file(str(file), bucket, key, Callback=lambda _sent: deadline.check(f"s3://{bucket}/{key}"))
    except DeadlineExceeded as error:
        raise PublicationError(str(error)) from None
    except (BotoCoreError, ClientError, S3UploadFailedError) as error:
        raise PublicationError(f"s3://{bucket}/{key}: upload failed: {error}") from None
    return f"s3://{bucket}/{key}"


def _deliver_file(url: str, file: Path, remote_name: str) -> str:
    folder = Path(unquote(urlsplit(url).path) if url.startswith("file://") else url)
    target = folder / remote_name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{remote_name}.part"
        shutil.copyfile(file, tmp)
        tmp.replace(target)
    except OSError as error:
        raise PublicationError(f"{target}: cannot copy the publication: {error}") from None
    return str(target)
