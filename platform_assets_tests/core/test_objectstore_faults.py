"""Issue 18 item 14: a frozen S3 endpoint is visible and bounded (connect/read timeouts, progress
lines while an upload waits), and what killed runs leave behind (work folders, `.part` files,
incomplete multipart uploads) is removed when the store is next set up for a run, through
Dagster's resource lifecycle (`build_resources` calls `setup_for_execution`)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from dagster import build_resources
from dagster_aws.s3 import S3Resource

from platform_assets.core.errors import ObjectStoreError
from platform_assets.core.objectstore import OWNER_FILE, UPLOADS_FOLDER, LocalObjectStore, S3ObjectStore
from platform_assets.core.run_liveness import ProcessOwner, this_process
from platform_assets_tests import servers


@pytest.fixture
def frozen_endpoint() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    with servers.silent_port() as url:
        yield url


def test_an_upload_to_a_frozen_endpoint_logs_progress_and_fails_at_the_read_timeout(
    frozen_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = S3ObjectStore(
        bucket="frozen", connect_timeout=1, read_timeout=2, max_attempts=1, progress_seconds=1,
        s3=S3Resource(endpoint_url=frozen_endpoint, aws_access_key_id="k", aws_secret_access_key="s"),
    )
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    with pytest.raises(ObjectStoreError) as raised:
        store.put_bytes("transit/alpha.zip", b"x" * 1000)
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert "\n" not in message and f"S3 bucket 'frozen' at {frozen_endpoint}" in message
    assert "Read timeout" in message
    # botocore's default is 60 s per attempt and dagster-aws's 6 attempts; here one attempt: about
    # 1 s waiting for "100 Continue", then the 2 s read timeout (slack for a loaded machine).
    assert 1.9 < elapsed < 10, elapsed
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("uploading 'transit/alpha.zip'")]
    assert progress, "no progress line while the upload waited"
    assert progress[0].startswith(f"uploading 'transit/alpha.zip' to S3 bucket 'frozen' at {frozen_endpoint}")
    assert re.search(r": 0\.0 MiB sent in \d+ s \(0\.0 MiB in the last 1 s\)$", progress[0]), progress[0]


def test_incomplete_multipart_uploads_of_killed_runs_are_aborted_at_setup(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = S3ObjectStore(bucket=s3_bucket, prefix="platform", work_dir=str(tmp_path / "work"),
                          s3=S3Resource(endpoint_url=s3_endpoint))

    def start_upload(key: str) -> None:
        upload_id = client.create_multipart_upload(Bucket=s3_bucket, Key=key)["UploadId"]
        client.upload_part(Bucket=s3_bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"p" * 1024)

    # A run killed mid-upload: its marker names a process of this machine that has exited.
    start_upload("platform/transit/killed.zip")
    finished = subprocess.Popen(["true"])
    finished.wait()
    here = this_process()
    (tmp_path / "work" / UPLOADS_FOLDER).mkdir(parents=True)
    (tmp_path / "work" / UPLOADS_FOLDER / f"k-{finished.pid}.json").write_text(json.dumps({
        "owner": ProcessOwner(here.host, here.boot, finished.pid, "1").tag(), "bucket": s3_bucket,
        "key": "platform/transit/killed.zip",
    }))
    # An unmarked upload (another machine's or older than markers): judged by age. moto reports
    # every upload as initiated in 2010, far past the 2 h default.
    start_upload("platform/transit/orphan.zip")
    # Outside the store's prefix: never touched.
    start_upload("elsewhere/other.zip")
    # A live upload of this process (also "2010" for moto): its marker keeps it.
    start_upload("platform/transit/live.zip")
    with store.upload_marker("transit/live.zip"):
        with build_resources({"object_store": store}):
            pass
        left = sorted(upload["Key"] for upload in client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []))
        assert left == ["elsewhere/other.zip", "platform/transit/live.zip"]
        # The dead process's marker is gone, the live one stays until its upload ends.
        markers = [json.loads(p.read_text())["key"] for p in (tmp_path / "work" / UPLOADS_FOLDER).iterdir()]
        assert markers == ["platform/transit/live.zip"]
    assert list((tmp_path / "work" / UPLOADS_FOLDER).iterdir()) == []


def test_work_folders_of_dead_processes_and_old_part_files_are_removed_at_setup(platform_env: Path, tmp_path: Path) -> None:
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"), work_dir=str(tmp_path / "work"))
    # A killed run's folder: its owner is a process of this machine that has exited.
    finished = subprocess.Popen(["true"])
    finished.wait()
    here = this_process()
    dead = tmp_path / "work" / "transit-alpha-dead"
    (dead / "export").mkdir(parents=True)
    (dead / "export" / "alpha.zip").write_bytes(b"z" * 4096)
    (dead / OWNER_FILE).write_text(json.dumps({"owner": ProcessOwner(here.host, here.boot, finished.pid, "1").tag()}))
    # Another machine's folder (a shared data dir) is that machine's to judge: kept.
    remote = tmp_path / "work" / "transit-beta-remote"
    remote.mkdir()
    (remote / OWNER_FILE).write_text(json.dumps({"owner": ProcessOwner("other-host", "b", 1, "1").tag()}))
    # A `.part` file a killed local write left a day ago, and one being written now.
    (tmp_path / "objects" / "transit").mkdir(parents=True)
    old_part = tmp_path / "objects" / "transit" / ".alpha.zip.abc.part"
    old_part.write_bytes(b"half")
    os.utime(old_part, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    new_part = tmp_path / "objects" / "transit" / ".beta.zip.def.part"
    new_part.write_bytes(b"half")

    with store.work_folder("transit-gamma-") as live:
        assert live.parent == tmp_path / "work" and (live / OWNER_FILE).is_file()
        with build_resources({"object_store": store}):
            pass
        assert live.is_dir()  # this process is alive: its folder stays
        assert not dead.exists() and remote.is_dir()
        assert not old_part.exists() and new_part.exists()
    assert not live.exists()  # removed when the step ends
