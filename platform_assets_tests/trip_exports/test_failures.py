"""Outages: SMTP or S3 down -> status error with the message, no file left, people told."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from dagster_aws.s3 import S3Resource
from sqlalchemy import Engine

from platform_assets.core.errors import MailDeliveryError, ObjectStoreError
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore, S3ObjectStore
from platform_assets.lib.xlsx.writer import XlsxValueError
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.errors import ExportStateError
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.service import ExportRequest, create_export, get_export
from platform_assets_tests.servers import SmtpServer, free_port
from platform_assets_tests.trip_exports.conftest import (
    MONTH_START,
    REGISTRY_USER,
    RULES,
    TODAY,
    insert_trips,
    trip,
)


def new_export(engine: Engine) -> str:
    insert_trips(engine, [trip(journey_id) for journey_id in range(1, 6)])
    return create_export(
        engine, REGISTRY_USER,
        ExportRequest("2025-03-01", "2025-03-31", recipients=["Ana Lopez <ana@example.org>"]),
        RULES, today=TODAY,
    ).uuid


def test_smtp_outage_sets_error_and_removes_the_uploaded_file(sqlite_engine: Engine, store: ObjectStore) -> None:
    export_uuid = new_export(sqlite_engine)
    dead_smtp = Mailer(smtp_url=f"smtp://127.0.0.1:{free_port()}", timeout_seconds=2)
    with pytest.raises(MailDeliveryError, match="cannot reach SMTP server 127.0.0.1"):
        run_export(sqlite_engine, export_uuid, store, dead_smtp, CampaignConfig(), RULES)
    view = get_export(sqlite_engine, REGISTRY_USER, export_uuid)
    assert view.status == "error" and view.error.startswith("cannot reach SMTP server")
    assert view.download_url is None
    assert store.list() == []  # uploaded, then deleted: no half-delivered export
    types = [log[1] for log in view.logs]
    assert types[-2:] == ["error", "notify_failed"] and "uploading" in types
    assert "deleted file://" in view.logs[-2][2]


def test_s3_outage_sets_error_and_mails_recipients_and_admins(
    sqlite_engine: Engine, s3_endpoint: str, smtp: SmtpServer
) -> None:
    export_uuid = new_export(sqlite_engine)
    missing_bucket = S3ObjectStore(bucket="no-such-bucket", s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1")
    )
    with pytest.raises(ObjectStoreError, match="no-such-bucket"):
        run_export(sqlite_engine, export_uuid, missing_bucket, Mailer(smtp_url=smtp.url), CampaignConfig(), RULES)
    view = get_export(sqlite_engine, REGISTRY_USER, export_uuid)
    assert view.status == "error" and "no-such-bucket" in view.error
    assert view.logs[-1][1] == "notified"
    (mail,) = smtp.wait_for(1)
    assert sorted(mail.recipients) == ["ana@example.org", "tech@registry.example"]
    assert "failed" in mail.message["Subject"] and "no-such-bucket" in mail.message.get_content()


def test_an_export_in_error_can_be_retried_but_a_success_is_not_rerun(
    sqlite_engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    export_uuid = new_export(sqlite_engine)
    with pytest.raises(MailDeliveryError):
        run_export(sqlite_engine, export_uuid, store, Mailer(smtp_url=f"smtp://127.0.0.1:{free_port()}"),
                   CampaignConfig(), RULES)
    outcome = run_export(sqlite_engine, export_uuid, store, outbox_mailer, CampaignConfig(), RULES)
    assert outcome.rows == 5
    assert get_export(sqlite_engine, REGISTRY_USER, export_uuid).status == "success"
    with pytest.raises(ExportStateError, match="cannot process an export that is success"):
        run_export(sqlite_engine, export_uuid, store, outbox_mailer, CampaignConfig(), RULES)


def test_a_failing_run_fails_in_dagster_and_leaves_the_export_in_error(
    sqlite_engine: Engine, store: ObjectStore, platform_env: object
) -> None:
    from dagster import instance_for_test, materialize

    from platform_assets.core.alerts import PlatformInfo
    from platform_assets.core.database import PlatformDatabase
    from platform_assets.core.tags import SUBJECT_TAG
    from platform_assets.trip_exports.assets import trip_export

    export_uuid = new_export(sqlite_engine)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("trip_export", [export_uuid])
        result = materialize(
            [trip_export], instance=instance, partition_key=export_uuid, tags={SUBJECT_TAG: export_uuid},
            raise_on_error=False,
            resources={
                "database": PlatformDatabase(url=str(sqlite_engine.url)), "object_store": store,
                "mailer": Mailer(smtp_url=f"smtp://127.0.0.1:{free_port()}", timeout_seconds=2),
                "platform": PlatformInfo(deployment="test"),
            },
        )
        assert not result.success
        (failure,) = result.get_step_failure_events()
        assert failure.event_specific_data.error.cause.cls_name == "MailDeliveryError"
    view = get_export(sqlite_engine, REGISTRY_USER, export_uuid)
    assert view.status == "error" and store.list() == []


def test_a_value_the_workbook_refuses_fails_the_export_with_nothing_stored(
    sqlite_engine: Engine, store: ObjectStore, tmp_path: Path
) -> None:
    """A 16-digit journey id cannot be an exact Excel number: the streaming writer refuses it
    mid-sheet; the export is in error naming the row and column and no (half) zip is stored."""
    late = MONTH_START + timedelta(days=20)  # after the two good trips: the sheet is under way
    insert_trips(sqlite_engine, [trip(1), trip(2), trip(10**15, start_datetime=late)])
    export_uuid = create_export(
        sqlite_engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY
    ).uuid
    with pytest.raises(XlsxValueError, match="column 'journey_id'"):
        run_export(sqlite_engine, export_uuid, store, Mailer(outbox_dir=str(tmp_path / "outbox")), CampaignConfig(), RULES)
    view = get_export(sqlite_engine, REGISTRY_USER, export_uuid)
    assert view.status == "error" and "row 4 column 'journey_id'" in view.error and "15 digits" in view.error
    assert store.list() == [] and "uploading" not in [log[1] for log in view.logs]
