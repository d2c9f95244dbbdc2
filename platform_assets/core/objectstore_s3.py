"""The S3 object store (AWS, MinIO, moto...), apart from `core/objectstore.py` so that only a
deployment with PLATFORM_OBJECT_STORE=s3 imports dagster-aws and boto3."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from platform_assets.core.objectstore import (
    UPLOADS_FOLDER,
    ObjectInfo,
    ObjectStore,
    _check_key,
    _HashingReader,
)
from platform_assets.core.settings import setting


class S3ObjectStore(ObjectStore):
    """An S3 bucket (AWS, MinIO, moto...) through dagster-aws's S3Resource. Uploads are multipart
    and only visible once complete, so a failed upload leaves the previous object in place."""

    bucket: str = setting("PLATFORM_S3_BUCKET", "", "S3 bucket (required when PLATFORM_OBJECT_STORE=s3).")
    prefix: str = setting("PLATFORM_S3_PREFIX", "", "Key prefix inside the bucket.")
    connect_timeout: int = setting(
        "PLATFORM_S3_CONNECT_TIMEOUT", "10", "Seconds to open a connection to the S3 endpoint.", minimum=1
    )
    read_timeout: int = setting(
        "PLATFORM_S3_READ_TIMEOUT", "60", "Seconds to wait for the S3 endpoint's answer to one request attempt.",
        minimum=1,
    )
    max_attempts: int = setting(
        "PLATFORM_S3_MAX_ATTEMPTS", "3", "Attempts of one S3 request, the first included (a frozen endpoint fails a "
        "request after about this many read timeouts).", minimum=1,
    )
    stale_upload_seconds: int = setting(
        "PLATFORM_S3_STALE_UPLOAD_SECONDS", "7200", "Age past which an incomplete multipart upload under the "
        "prefix is a killed run's leftover, aborted when the store is next set up for a run.", minimum=1,
    )
    s3: S3Resource = Field(default_factory=S3Resource, description="S3 client configuration.")

    _client: Any = PrivateAttr(default=None)

    def _s3_client(self) -> Any:
        """dagster-aws's S3Resource settings, with connect and read timeouts and a total number of
        attempts (its own client has botocore's 60 s timeouts, no way to set them, and retries
        `max_attempts` times after the first: 6 x 60 s on a frozen endpoint)."""
        if self._client is None:
            import boto3
            from botocore import UNSIGNED
            from botocore.config import Config

            config = Config(
                connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                retries={"total_max_attempts": self.max_attempts, "mode": "standard"},
                signature_version=UNSIGNED if self.s3.use_unsigned_session else None,
            )
            session = boto3.session.Session(profile_name=self.s3.profile_name)
            self._client = session.client(
                "s3", region_name=self.s3.region_name, endpoint_url=self.s3.endpoint_url, use_ssl=self.s3.use_ssl,
                verify=self.s3.verify, aws_access_key_id=self.s3.aws_access_key_id,
                aws_secret_access_key=self.s3.aws_secret_access_key, aws_session_token=self.s3.aws_session_token,
                config=config,
            )
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

    def _sent_counter(self, reader: _HashingReader) -> Callable[[], int]:
        # Bytes the endpoint took (upload_fileobj's callback), not bytes read ahead from the source.
        return lambda: reader.sent

    def _write(self, key: str, reader: _HashingReader, content_type: str | None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        with self.upload_marker(key):
            self._s3_client().upload_fileobj(
                reader, self.bucket, self._s3_key(key), ExtraArgs=extra, Callback=reader.count_sent
            )

    @contextmanager
    def upload_marker(self, key: str) -> Iterator[None]:
        """A file under PLATFORM_WORK_DIR/uploads naming this process and the S3 key it uploads,
        while it uploads: an incomplete upload of a key whose process is gone is a killed run's."""
        from platform_assets.core.run_liveness import this_process

        owner = this_process()
        folder = self.work_root() / UPLOADS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        s3_key = self._s3_key(key)
        marker = folder / f"{hashlib.sha256(f'{self.bucket}/{s3_key}'.encode()).hexdigest()[:24]}-{owner.pid}.json"
        marker.write_text(json.dumps({"owner": owner.tag(), "bucket": self.bucket, "key": s3_key}))
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def _upload_owners(self) -> tuple[set[str], set[str]]:
        """(keys some live process of this machine is uploading, keys a dead one was uploading);
        the markers of dead processes are removed."""
        from platform_assets.core.run_liveness import ProcessOwner, owned_by_dead_process

        live: set[str] = set()
        dead: set[str] = set()
        folder = self.work_root() / UPLOADS_FOLDER
        for marker in folder.glob("*.json") if folder.is_dir() else ():
            try:
                entry = json.loads(marker.read_text())
                owner = ProcessOwner.parse(entry["owner"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if owner is None or entry.get("bucket") != self.bucket:
                continue
            if owned_by_dead_process(owner):
                dead.add(entry["key"])
                marker.unlink(missing_ok=True)
            else:
                live.add(entry["key"])
        return live, dead

    def _clean_incomplete_uploads(self) -> list[str]:
        # An incomplete upload is a killed run's when its process (known from its marker on this
        # machine) is gone, or, with no marker (another machine's, or from before), once it is
        # older than PLATFORM_S3_STALE_UPLOAD_SECONDS. Uploads of live processes are never touched.
        client = self._s3_client()
        cutoff = datetime.now(UTC) - timedelta(seconds=self.stale_upload_seconds)
        live, dead = self._upload_owners()
        aborted: list[str] = []
        paginator = client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._s3_key("")):
            for upload in page.get("Uploads", []):
                if upload["Key"] in live:
                    continue
                if upload["Key"] in dead or upload["Initiated"] < cutoff:
                    client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                    aborted.append(f"s3://{self.bucket}/{upload['Key']} (upload {upload['UploadId'][:12]})")
        return aborted

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
