"""Create, read, cancel, the run's claim, stale and the log lines they write, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from platform_assets.trip_exports.errors import ExportNotFound, ExportStateError, InvalidExportRequest
from platform_assets.trip_exports.service import (
    ExportRequest,
    ExportRules,
    cancel_export,
    create_export,
    fail_stale,
    get_export,
    list_exports,
    pending_exports,
    set_status,
    start_processing,
)
from platform_assets.trip_exports.tables import Export, Log, Recipient
from platform_assets_tests.trip_exports.conftest import (
    OPERATOR_1_ADMIN,
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    TODAY,
)


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Export.__table__, Recipient.__table__, Log.__table__)
        )


def test_create_writes_a_pending_export_with_recipients_and_a_log(engine: Engine) -> None:
    view = create_export(
        engine,
        REGISTRY_USER,
        ExportRequest(
            "2025-03-01", "2025-03-31", operator_ids=[2, "1"], geo_selector={"dep": ["69"], "com": ["38185"]},
            recipients=["Ana Lopez <ana@example.org>", "Bo <BO@Example.org>"], message="for the board",
        ),
        RULES,
        today=TODAY,
    )
    assert view.status == "pending" and view.progress == 0 and view.type == "registry"
    assert view.params["operator_ids"] == [1, 2]
    assert view.params["geo_selector"] == {"dep": ["69"], "com": ["38185"]}
    assert view.recipients == ("Ana Lopez <ana@example.org>", "Bo <bo@example.org>")
    assert [log[1] for log in view.logs] == ["created"]
    assert counts(engine) == (1, 2, 1)


def test_creator_is_the_recipient_when_none_is_given(engine: Engine) -> None:
    view = create_export(engine, OPERATOR_1_ADMIN, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    assert view.recipients == ("Op One Admin <admin@op1.example>",)
    assert view.type == "operator" and view.params["bound"] == {"operator_id": 1}


def test_invalid_request_lists_every_problem_and_writes_nothing(engine: Engine) -> None:
    request = ExportRequest(
        start_date="2021-01-01",  # more than 3 years before TODAY
        end_date="2025-06-14",  # less than 5 days before TODAY
        operator_ids=list(range(1, 130)) + ["x"],
        geo_selector={"com": ["99999"], "planet": ["earth"]},
        recipients=["no-brackets@example.org"] + [f"N{i} <n{i}@example.org>" for i in range(24)],
        tz="Mars/Olympus",
    )
    with pytest.raises(InvalidExportRequest) as caught:
        create_export(engine, REGISTRY_ADMIN, request, RULES, today=TODAY)
    problems = caught.value.problems
    expected = [
        "start_date: 2021-01-01 is more than 1095 days ago",
        "end_date: 2025-06-14 must be at least 5 days ago",
        "operator_ids: 'x' is not an operator id",
        "operator_ids: 129 operators, at most 128",
        "geo_selector.com: unknown INSEE code(s) 99999",
        "geo_selector: unknown level 'planet'",
        "recipients: 'no-brackets@example.org' is not formatted 'Name <email>'",
        "recipients: 25 recipients, at most 24",
        "tz: 'Mars/Olympus' is not a time zone",
    ]
    for text in expected:
        assert any(problem.startswith(text) for problem in problems), (text, problems)
    assert len(problems) == len(expected)
    assert str(caught.value).count(";") == len(expected) - 1  # one line
    assert counts(engine) == (0, 0, 0)


def test_too_many_territories_and_reversed_dates(engine: Engine) -> None:
    rules = ExportRules(max_territories=2)
    with pytest.raises(InvalidExportRequest) as caught:
        create_export(
            engine, REGISTRY_ADMIN,
            ExportRequest("2025-03-10", "2025-03-01", geo_selector={"com": ["69123", "69266", "38185"]}),
            rules, today=TODAY,
        )
    assert caught.value.problems == [
        "end_date: 2025-03-01 is before start_date 2025-03-10",
        "geo_selector: 3 territories, at most 2",
    ]
    assert counts(engine) == (0, 0, 0)


def test_date_rules_are_configurable(engine: Engine) -> None:
    request = ExportRequest("2025-06-01", "2025-06-14")
    with pytest.raises(InvalidExportRequest):
        create_export(engine, REGISTRY_ADMIN, request, RULES, today=TODAY)
    view = create_export(engine, REGISTRY_ADMIN, request, ExportRules(min_end_age_days=1), today=TODAY)
    assert view.status == "pending"


def test_cancel_only_pending(engine: Engine) -> None:
    view = create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    cancelled = cancel_export(engine, REGISTRY_USER, view.uuid)
    assert cancelled.status == "cancelled"
    with pytest.raises(ExportStateError, match="only pending exports can be cancelled"):
        cancel_export(engine, REGISTRY_USER, view.uuid)
    assert pending_exports(engine) == []
    assert [log[1] for log in get_export(engine, REGISTRY_USER, view.uuid).logs] == ["created", "cancelled"]


def test_pending_exports_are_listed_not_claimed_and_the_run_claims_each_once(engine: Engine) -> None:
    uuids = [
        create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY).uuid
        for _ in range(5)
    ]
    assert pending_exports(engine, limit=3) == uuids[:3]
    assert pending_exports(engine) == uuids  # listing changes nothing
    start_processing(engine, uuids[0])
    with pytest.raises(ExportStateError, match="taken by another worker"):
        start_processing(engine, uuids[0])
    assert pending_exports(engine) == uuids[1:]
    view = get_export(engine, REGISTRY_USER, uuids[0])
    assert view.status == "processing"
    assert [log[1] for log in view.logs] == ["created", "processing"]


def test_stale_exports_become_error(engine: Engine) -> None:
    view = create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    started_at = datetime.now(UTC) - timedelta(hours=5)
    start_processing(engine, view.uuid, now=started_at)
    fresh = create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    start_processing(engine, fresh.uuid)
    set_status(engine, fresh.uuid, "uploading", "uploading")
    assert fail_stale(engine, timedelta(hours=4)) == [view.uuid]
    stale = get_export(engine, REGISTRY_USER, view.uuid)
    assert stale.status == "error" and stale.error.startswith("stale: processing since")
    assert stale.logs[-1][1] == "error"
    assert get_export(engine, REGISTRY_USER, fresh.uuid).status == "uploading"


def test_unknown_export_is_not_found(engine: Engine) -> None:
    with pytest.raises(ExportNotFound, match="export nope: not found"):
        get_export(engine, REGISTRY_ADMIN, "nope")
    assert list_exports(engine, REGISTRY_ADMIN) == []


def test_a_run_cannot_move_an_export_failed_as_stale(engine: Engine) -> None:
    view = create_export(engine, REGISTRY_USER, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    start_processing(engine, view.uuid)
    assert fail_stale(engine, timedelta(hours=4), now=datetime.now(UTC) + timedelta(hours=5)) == [view.uuid]
    with pytest.raises(ExportStateError, match="expected processing, found error"):
        set_status(engine, view.uuid, "uploading", "late run", expected="processing")
    assert get_export(engine, REGISTRY_USER, view.uuid).status == "error"
