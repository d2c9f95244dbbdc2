"""Stuck runs: every transit job carries `dagster/max_runtime` from PLATFORM_TRANSIT_MAX_RUNTIME
(Tartare: 4 h), and the instance's run monitoring fails a run that passes it."""

from __future__ import annotations

import email
import email.policy
import logging
import time
from pathlib import Path

import pytest
from dagster import DagsterRunStatus, Definitions, build_run_status_sensor_context, instance_for_test
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._daemon.monitoring.run_monitoring import check_run_timeout

from platform_assets.core.alerts import PlatformInfo, run_failure_email
from platform_assets.core.database import PlatformDatabase, upgrade_database
from platform_assets.core.defs import core_definitions
from platform_assets.core.mailer import Mailer
from platform_assets.transit.defs import transit_definitions
from platform_assets.transit.get_file import GET_FILE_JOB
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB, COVERAGE_PUBLICATION_JOB
from platform_assets.transit.update_now import UPDATE_NOW_JOB


def test_transit_jobs_carry_the_max_runtime_and_a_stuck_run_is_failed(
    platform_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def transit_defs() -> Definitions:
        return Definitions.merge(transit_definitions(), core_definitions())

    defs = transit_defs()
    for name in (CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB, COVERAGE_PUBLICATION_JOB, UPDATE_NOW_JOB, GET_FILE_JOB):
        assert defs.resolve_job_def(name).tags["dagster/max_runtime"] == "14400"  # 4 hours

    monkeypatch.setenv("PLATFORM_TRANSIT_MAX_RUNTIME", "1")
    job = transit_defs().resolve_job_def(CONTRIBUTOR_EXPORT_JOB)
    with instance_for_test() as instance:
        run = instance.create_run_for_job(job, tags=dict(job.tags), status=DagsterRunStatus.STARTED)
        instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=job.name), run.run_id)
        time.sleep(1.5)
        record = instance.get_run_records()[0]
        check_run_timeout(instance, record, logging.getLogger("test"), 0)
        failed = instance.get_run_by_id(run.run_id)
        assert failed is not None and failed.status == DagsterRunStatus.FAILURE
        messages = [entry.dagster_event.message or "" for entry in instance.all_logs(run.run_id) if entry.dagster_event]
        assert any("maximum runtime of 1 seconds" in m for m in messages), messages
        # ...and reported by email like any failure (Tartare mails its canceled jobs).
        database = PlatformDatabase(url=f"sqlite:///{platform_env}/platform.db")
        upgrade_database(database.url)
        run_failed = next(
            entry.dagster_event for entry in instance.all_logs(run.run_id)
            if entry.dagster_event and entry.dagster_event.event_type == DagsterEventType.RUN_FAILURE
        )
        outbox = platform_env / "outbox"
        run_failure_email(build_run_status_sensor_context(
            sensor_name="run_failure_email", dagster_instance=instance, dagster_run=failed, dagster_event=run_failed,
            resources={"mailer": Mailer(outbox_dir=str(outbox), sender="platform@example.org"),
                       "platform": PlatformInfo(deployment="prod", alert_emails_text="ops@example.org"),
                       "database": database},
        ).for_run_failure())
        [mail] = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in outbox.glob("*.eml")]
        assert mail["Subject"].startswith("[prod] contributor_export failed: ")
        assert "Canceling due to exceeding maximum runtime of 1 seconds. This job is being forcibly marked as failed." in mail.get_content()

    monkeypatch.setenv("PLATFORM_TRANSIT_MAX_RUNTIME", "four hours")
    with pytest.raises(Exception, match="PLATFORM_TRANSIT_MAX_RUNTIME"):
        transit_definitions()
