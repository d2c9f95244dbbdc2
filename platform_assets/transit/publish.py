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

import requests

from platform_assets.lib.gtfs.reader import read_member
from platform_assets.lib.gtfs.validity import ValidityPeriod
from platform_assets.transit.errors import PublicationError

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


def deliver(protocol: str, url: str, file: Path, remote_name: str, options: dict[str, Any], timeout: float = 120.0) -> str:
    """Send `file` as `remote_name` to `url` by `protocol`; return where it went (PublicationError on failure)."""
    if protocol in ("http", "https"):
        return _deliver_http(url, file, remote_name, options, timeout)
    if protocol == "ftp":
        return _deliver_ftp(url, file, remote_name, options, timeout)
    if protocol == "s3":
        return _deliver_s3(url, file, remote_name, options)
    if protocol == "file":
        return _deliver_file(url, file, remote_name)
    raise PublicationError(f"{url}: unsupported protocol {protocol!r}")


def _deliver_http(url: str, file: Path, remote_name: str, options: dict[str, Any], timeout: float) -> str:
    auth = (options["username"], options.get("password", "")) if options.get("username") else None
    try:
        with open(file, "rb") as stream:
            response = requests.post(
                url, files={options.get("field", "file"): (remote_name, stream)}, auth=auth, timeout=timeout
            )
    except requests.RequestException as error:
        raise PublicationError(f"{url}: cannot publish {remote_name}: {type(error).__name__}: {error}") from None
    if response.status_code != 200:
        raise PublicationError(f"{url}: publishing {remote_name} got HTTP {response.status_code} (200 required)")
    return url


def _deliver_ftp(url: str, file: Path, remote_name: str, options: dict[str, Any], timeout: float) -> str:
    parts = urlsplit(url)
    # Tartare's FtpProtocol changes to `options.directory`; here it is taken below the URL's own path.
    directory = posixpath.join(unquote(parts.path) or "/", options.get("directory", "")).rstrip("/") or "/"
    where = f"ftp://{parts.hostname}:{parts.port or 21}{directory.rstrip('/')}/{remote_name}"
    try:
        with ftplib.FTP(timeout=timeout) as client:
            client.connect(parts.hostname or "", parts.port or 21)
            client.login(
                unquote(parts.username or options.get("username", "anonymous")),
                unquote(parts.password or options.get("password", "")),
            )
            if directory not in ("", "/"):
                client.cwd(directory)
            with open(file, "rb") as stream:
                client.storbinary(f"STOR {remote_name}", stream)
    except (ftplib.Error, OSError) as error:
        raise PublicationError(f"{where}: ftp upload failed: {error}") from None
    return where


def _deliver_s3(url: str, file: Path, remote_name: str, options: dict[str, Any]) -> str:
    import boto3
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    parts = urlsplit(url)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    key = f"{prefix}/{remote_name}" if prefix else remote_name
    client = boto3.client(
        "s3",
        endpoint_url=options.get("endpoint_url") or None,
        region_name=options.get("region", "us-east-1"),
    )
    try:
        client.upload_file(str(file), bucket, key)
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
