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
    REGISTRY_ADMIN,
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


# What infrastructure failures may never show a user: bucket, endpoint, setting names, SMTP host.
SECRETS_OF_THE_PLATFORM = ("no-such-bucket", "PLATFORM_", "127.0.0.1", "S3", "SMTP", "moto", "http://")


def test_smtp_outage_sets_error_and_removes_the_uploaded_file(sqlite_engine: Engine, store: ObjectStore) -> None:
    export_uuid = new_export(sqlite_engine)
    dead_smtp = Mailer(smtp_url=f"smtp://127.0.0.1:{free_port()}", timeout_seconds=2)
    with pytest.raises(MailDeliveryError, match="none of 1 recipient"):
        run_export(sqlite_engine, export_uuid, store, dead_smtp, CampaignConfig(), RULES)
    view = get_export(sqlite_engine, REGISTRY_USER, export_uuid)
    # Nobody could be reached: error, and the file goes (nobody has its link).
    assert view.status == "error" and view.error == "no recipient could be reached by mail; the technical team has been told"
    assert view.download_url is None
    assert store.list() == []
    types = [log[1] for log in view.logs]
    assert types[-1] == "notify_failed" and "uploading" in types and "error_detail" not in types
    assert not any(secret in message for _, _, message in view.logs for secret in SECRETS_OF_THE_PLATFORM)
    # Registry admins see the details in the internal log line.
    admin_view = get_export(sqlite_engine, REGISTRY_ADMIN, export_uuid)
    (detail,) = [message for _, type_, message in admin_view.logs if type_ == "error_detail"]
    assert "cannot reach SMTP server 127.0.0.1" in detail and "deleted file://" in detail
    # Four tries of the one recipient (3 waits of backoff), then one try per later mail.
    assert sum(1 for _, type_, _ in admin_view.logs if type_ == "mail_failed") == 2  # link + failure notice


def test_s3_outage_sets_error_and_mails_recipients_and_admins(
    sqlite_engine: Engine, s3_endpoint: str, smtp: SmtpServer
) -> None:
    export_uuid = new_export(sqlite_engine)
    missing_bucket = S3ObjectStore(bucket="no-such-bucket", s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1")
    )
    with pytest.raises(ObjectStoreError, match="no-such-bucket"):
        run_export(sqlite_engine, export_uuid, missing_bucket, Mailer(smtp_url=smtp.url), CampaignConfig(), RULES)
    view = get_export(sqlite_engine, REGISTRY_USER, export_uuid)
    assert view.status == "error"
    assert view.error == "the export file could not be stored; the technical team has been told"
    assert view.logs[-1][1] == "notified"
    mails = smtp.wait_for(2)
    by_recipient = {tuple(mail.recipients): mail.message for mail in mails}
    assert sorted(by_recipient) == [("ana@example.org",), ("tech@registry.example",)]
    to_user = by_recipient[("ana@example.org",)]
    user_text = to_user.get_body(("plain",)).get_content() + to_user.get_body(("html",)).get_content()
    assert "n'a pas pu être produit" in user_text and export_uuid in user_text
    assert not any(secret in user_text + to_user["Subject"] for secret in SECRETS_OF_THE_PLATFORM)
    to_admin = by_recipient[("tech@registry.example",)].get_body(("plain",)).get_content()
    assert "no-such-bucket" in to_admin and view.error in to_admin


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
    sqlite_engine: Engine, store: ObjectStore, platform_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_TRIP_EXPORT_MAIL_ATTEMPTS", "2")
    monkeypatch.setenv("PLATFORM_TRIP_EXPORT_MAIL_RETRY_SECONDS", "0.1")
    from dagster import instance_for_test, materialize

    from platform_assets.core.alerts import PlatformInfo
    from platform_assets.core.database import PlatformDatabase
    from platform_assets.core.settings import configure
    from platform_assets.core.tags import SUBJECT_TAG
    from platform_assets.trip_exports.assets import trip_export
    from platform_assets.trip_exports.resources import TripExportPolicy

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
                "trip_exports": configure(TripExportPolicy),
            },
        )
        assert not result.success
        (failure,) = result.get_step_failure_events()
        assert failure.event_specific_data.error.cause.cls_name == "NobodyReached"
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
