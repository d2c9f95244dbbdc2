"""Delivery that survives failures, on a real aiosmtpd server that misbehaves on purpose: it stops
between two recipients, answers 451 once, refuses one address for good. Every reachable recipient
ends up mailed once, the file stays, and users never read the platform's internals."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.delivery import resend_link
from platform_assets.trip_exports.errors import (
    ExportStateError,
    InvalidExportRequest,
    PermissionDenied,
    SendLimitReached,
)
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.service import ExportRequest, ExportRules, create_export, get_export
from platform_assets.trip_exports.tables import Export, Recipient
from platform_assets_tests.servers import free_port
from platform_assets_tests.trip_exports.conftest import (
    OPERATOR_1_ADMIN,
    OPERATOR_1_USER,
    REGISTRY_ADMIN,
    REGISTRY_USER,
    TODAY,
    insert_trips,
    trip,
)

ANA, BO, CARLA = "ana@op1.example", "bo@op1.example", "carla@op1.example"
RECIPIENTS = [f"Ana Lopez <{ANA}>", f"Bo Chen <{BO}>", f"Carla Diaz <{CARLA}>"]
ADMIN = "tech@registry.example"
# A reply slower than the client's timeout counts as a failure and the mail is sent again (a
# duplicate, as with any SMTP client): on a loaded CI host loopback replies have taken seconds,
# so the client waits long enough that only the faults staged here cause retries.
SMTP_TIMEOUT_SECONDS = 30
# Backoff 0.2, 0.4, 0.8, 1.6, 3.2 s: long enough to outlive the 1 s the server is away.
RULES = ExportRules(technical_admins=(ADMIN,), mail_retry_seconds=0.2, mail_attempts=6)


@dataclass
class FlakySmtp:
    """An aiosmtpd server on one port that can stop listening after a given mail (and come back
    after `down_seconds`), answer 451 once to some recipients, drop the connection once in the
    middle of others' DATA, and answer 550 to others for good."""

    port: int
    stop_after_first: bool = False
    down_seconds: float = 1.0
    busy_once: set[str] = field(default_factory=set)
    dropped_once: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    on_delivered: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def delivered_to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]


@contextmanager
def flaky_smtp(**options: object) -> Iterator[FlakySmtp]:
    from aiosmtpd.controller import Controller

    server = FlakySmtp(free_port(), **options)  # type: ignore[arg-type]
    controllers: list[Controller] = []
    restarted = threading.Event()

    def restart_later(old: Controller) -> None:
        time.sleep(server.down_seconds)
        old.stop()
        controller = Controller(Handler(), hostname="127.0.0.1", port=server.port)
        controller.start()
        controllers.append(controller)
        restarted.set()

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):  # type: ignore[no-untyped-def]
            rcpt = list(envelope.rcpt_tos)
            if set(rcpt) & server.refused:
                server.answers.append(f"550 {rcpt}")
                return "550 5.1.1 mailbox unavailable"
            dropped = set(rcpt) & server.dropped_once
            if dropped:
                # Hang up after the message was sent, before answering: the client sees the
                # connection drop (SMTPServerDisconnected) and must not count it as delivered.
                server.dropped_once -= dropped
                server.answers.append(f"dropped {rcpt}")
                _server.transport.close()
                return "421 4.3.2 closing"
            busy = set(rcpt) & server.busy_once
            if busy:
                server.busy_once -= busy
                server.answers.append(f"451 {rcpt}")
                return "451 4.3.0 try again later"
            raw = (envelope.original_content or envelope.content).replace(b"\r\n", b"\n")
            server.received.append((rcpt, message_from_bytes(raw, policy=policy.default)))
            server.answers.append(f"250 {rcpt}")
            for callback in server.on_delivered:
                callback(rcpt)
            if server.stop_after_first and len(server.received) == 1:
                # Stop listening now, before the client's next connection: the next recipient
                # finds the server gone (connection refused) until it comes back.
                controllers[0].server.close()
                threading.Thread(target=restart_later, args=(controllers[0],), daemon=True).start()
            return "250 Message accepted"

    controller = Controller(Handler(), hostname="127.0.0.1", port=server.port)
    controller.start()
    controllers.append(controller)
    try:
        yield server
    finally:
        if server.stop_after_first and controllers[0].server is None:
            restarted.wait(10)
        for running in controllers[1:] if restarted.is_set() else controllers:
            running.stop(no_assert=True)


def new_export(engine: Engine, recipients: list[str] = RECIPIENTS, trips: bool = True, **request: object) -> str:
    if trips:
        insert_trips(engine, [trip(journey_id) for journey_id in range(1, 6)])
    return create_export(
        engine, OPERATOR_1_ADMIN, ExportRequest("2025-03-01", "2025-03-31", recipients=recipients, **request),  # type: ignore[arg-type]
        RULES, today=TODAY,
    ).uuid


def test_server_stopped_between_two_recipients_and_a_451_once(sqlite_engine: Engine, store: ObjectStore) -> None:
    export_uuid = new_export(sqlite_engine)
    with flaky_smtp(stop_after_first=True, busy_once={CARLA}) as smtp:
        outcome = run_export(sqlite_engine, export_uuid, store, Mailer(smtp_url=smtp.url, timeout_seconds=SMTP_TIMEOUT_SECONDS),
                             CampaignConfig(), RULES)
        # Ana before the stop; Bo once the server is back; Carla after her one 451.
        assert outcome.sent_to == (ANA, BO, CARLA) and outcome.failed_recipients == ()
        assert [len(smtp.delivered_to(address)) for address in (ANA, BO, CARLA)] == [1, 1, 1], smtp.answers
        assert f"451 {[CARLA]}" in smtp.answers and smtp.answers[-1] == f"250 {[CARLA]}"
        assert smtp.delivered_to(ADMIN) == []  # nothing to report
    view = get_export(sqlite_engine, OPERATOR_1_ADMIN, export_uuid)
    assert view.status == "success" and view.error is None
    delivery = view.stats["delivery"]
    assert delivery[ANA] == {"status": "sent", "attempts": 1}
    assert delivery[BO]["status"] == "sent" and delivery[BO]["attempts"] >= 2
    assert delivery[CARLA] == {"status": "sent", "attempts": 2}
    assert [info.key for info in store.list(f"trip_exports/{export_uuid}/")] == [outcome.stored.key]  # kept
    mailed = [message for _, type_, message in view.logs if type_ == "mailed"]
    assert mailed[0] == f"link mailed to {ANA}" and mailed[2] == f"link mailed to {CARLA} after 2 attempts"


def test_a_recipient_refused_for_good_is_logged_and_the_others_keep_their_file(
    sqlite_engine: Engine, store: ObjectStore
) -> None:
    export_uuid = new_export(sqlite_engine)
    with flaky_smtp(refused={BO}) as smtp:
        outcome = run_export(sqlite_engine, export_uuid, store, Mailer(smtp_url=smtp.url), CampaignConfig(), RULES)
        assert outcome.sent_to == (ANA, CARLA) and outcome.failed_recipients == (BO,)
        assert smtp.answers.count(f"550 {[BO]}") == 1  # permanent: not retried
        (report,) = smtp.delivered_to(ADMIN)
        admin_text = report.get_body(("plain",)).get_content()
        assert BO in admin_text and "550" in admin_text
    view = get_export(sqlite_engine, OPERATOR_1_ADMIN, export_uuid)
    assert view.status == "success" and view.stats["delivery"][BO] == {"status": "failed", "attempts": 1}
    assert store.exists(outcome.stored.key)
    assert f"link to {BO}: failed after 1 attempt(s)" in [message for _, type_, message in view.logs if type_ == "mail_failed"]
    # The SMTP answer is for the registry's admins, not for the export's own organisation.
    assert not any("550" in message for _, _, message in view.logs)
    admin_view = get_export(sqlite_engine, REGISTRY_ADMIN, export_uuid)
    assert any("550" in message for _, type_, message in admin_view.logs if type_ == "mail_detail")


def test_a_run_failing_after_a_recipient_got_the_link_keeps_the_file(sqlite_engine: Engine, store: ObjectStore) -> None:
    """The export is failed as stale under the run's feet once Ana has the link: the run ends in
    error, but the file every recipient has a link to stays, and nobody holding a working link is
    told the export failed (the technical admins get the details)."""
    export_uuid = new_export(sqlite_engine)

    def fail_as_stale(rcpt: list[str]) -> None:
        if rcpt == [ANA]:
            with sqlite_engine.begin() as connection:
                connection.execute(update(Export).where(Export.uuid == export_uuid).values(status="error"))

    with flaky_smtp() as smtp:
        smtp.on_delivered.append(fail_as_stale)
        with pytest.raises(ExportStateError, match="changed by someone else"):
            run_export(sqlite_engine, export_uuid, store, Mailer(smtp_url=smtp.url), CampaignConfig(), RULES)
        for address in (ANA, BO, CARLA):
            (link_mail,) = smtp.delivered_to(address)  # the link only, no failure notice
            assert "prêt" in link_mail["Subject"]
        (report,) = smtp.delivered_to(ADMIN)
        assert "changed by someone else" in report.get_body(("plain",)).get_content()
    keys = [info.key for info in store.list(f"trip_exports/{export_uuid}/")]
    assert len(keys) == 1  # kept: the recipients have its link
    admin_view = get_export(sqlite_engine, REGISTRY_ADMIN, export_uuid)
    (detail,) = [message for _, type_, message in admin_view.logs if type_ == "error_detail"]
    assert "kept file://" in detail and "3 recipient(s) already have its link" in detail


def test_a_connection_dropped_during_a_mail_is_retried(sqlite_engine: Engine, store: ObjectStore) -> None:
    export_uuid = new_export(sqlite_engine, [f"Ana Lopez <{ANA}>", f"Bo Chen <{BO}>"])
    with flaky_smtp(dropped_once={ANA}) as smtp:
        outcome = run_export(sqlite_engine, export_uuid, store, Mailer(smtp_url=smtp.url, timeout_seconds=SMTP_TIMEOUT_SECONDS),
                             CampaignConfig(), RULES)
        assert outcome.sent_to == (ANA, BO) and outcome.failed_recipients == ()
        assert smtp.answers == [f"dropped {[ANA]}", f"250 {[ANA]}", f"250 {[BO]}"]
        assert [len(smtp.delivered_to(address)) for address in (ANA, BO)] == [1, 1]
    view = get_export(sqlite_engine, OPERATOR_1_ADMIN, export_uuid)
    assert view.status == "success" and view.stats["delivery"][ANA] == {"status": "sent", "attempts": 2}


@pytest.mark.parametrize(
    ("recipients", "message", "problem"),
    [
        (["Ana\r\nBcc: all@evil.example <ana@op1.example>"], None, "carriage return, newline"),
        (["Ana\x00Lopez <ana@op1.example>"], None, "NUL"),
        ([], "see you\nBcc: all@evil.example", "message: contains control character(s) newline"),
    ],
)
def test_control_characters_are_refused_at_create(
    sqlite_engine: Engine, recipients: list[str], message: str | None, problem: str
) -> None:
    with pytest.raises(InvalidExportRequest, match=re.escape(problem)):
        create_export(sqlite_engine, OPERATOR_1_ADMIN,
                      ExportRequest("2025-03-01", "2025-03-31", recipients=recipients, message=message), RULES, today=TODAY)


def test_control_characters_are_refused_at_send_even_in_old_rows(sqlite_engine: Engine, store: ObjectStore,
                                                                  tmp_path: Path) -> None:
    export_uuid = new_export(sqlite_engine, [f"Ana Lopez <{ANA}>", f"Bo Chen <{BO}>"])
    outbox = tmp_path / "outbox"
    # A row written before the rule existed: Bo's name carries a header of its own.
    with sqlite_engine.begin() as connection:
        connection.execute(update(Recipient).where(Recipient.email == BO).values(fullname="Bo\r\nBcc: all@evil.example"))
    outcome = run_export(sqlite_engine, export_uuid, store, Mailer(outbox_dir=str(outbox)), CampaignConfig(), RULES)
    assert outcome.sent_to == (ANA,) and outcome.failed_recipients == (BO,)
    assert len(list(outbox.glob("*.eml"))) == 2  # Ana's link and the admins' report, nothing for Bo
    assert all(b"all@evil.example" not in path.read_bytes() for path in outbox.glob("*.eml") if ANA.encode() in path.read_bytes())
    with pytest.raises(InvalidExportRequest, match="carriage return, newline"):
        resend_link(sqlite_engine, OPERATOR_1_ADMIN, export_uuid, store, Mailer(outbox_dir=str(outbox)), RULES)
    with pytest.raises(InvalidExportRequest, match="recipients: .*control character"):
        resend_link(sqlite_engine, OPERATOR_1_ADMIN, export_uuid, store, Mailer(outbox_dir=str(outbox)), RULES,
                    recipients=["Eve\nX <eve@op1.example>"])


def test_send_is_bounded_logged_and_mails_only_allowed_addresses(sqlite_engine: Engine, store: ObjectStore,
                                                                  tmp_path: Path) -> None:
    rules = ExportRules(technical_admins=(ADMIN,), send_max_per_export=2, send_max_per_day=3)
    mailer = Mailer(outbox_dir=str(tmp_path / "outbox"))
    first = new_export(sqlite_engine, [f"Ana Lopez <{ANA}>"])
    second = new_export(sqlite_engine, [f"Ana Lopez <{ANA}>"], trips=False)
    for export_uuid in (first, second):
        run_export(sqlite_engine, export_uuid, store, mailer, CampaignConfig(), rules)

    # Who may be mailed: the export's recipients, the caller, (admins) the caller's domain.
    with pytest.raises(PermissionDenied, match="eve@elsewhere.example not allowed"):
        resend_link(sqlite_engine, OPERATOR_1_ADMIN, first, store, mailer, rules, recipients=["Eve <eve@elsewhere.example>"])
    user_export = create_export(sqlite_engine, OPERATOR_1_USER, ExportRequest("2025-03-01", "2025-03-31"), rules,
                                today=TODAY).uuid
    run_export(sqlite_engine, user_export, store, mailer, CampaignConfig(), rules)
    with pytest.raises(PermissionDenied, match="only the export's recipients or yourself"):
        resend_link(sqlite_engine, OPERATOR_1_USER, user_export, store, mailer, rules, recipients=[f"Ana <{ANA}>"])
    assert resend_link(sqlite_engine, OPERATOR_1_USER, user_export, store, mailer, rules).sent == ("user@op1.example",)

    # Per export: 2 sends; per caller and day: 3 (the refusals above count for nothing).
    assert resend_link(sqlite_engine, OPERATOR_1_ADMIN, first, store, mailer, rules,
                       recipients=["Dan <dan@op1.example>"]).sent == ("dan@op1.example",)  # same domain, admin
    assert resend_link(sqlite_engine, OPERATOR_1_ADMIN, first, store, mailer, rules).sent == (ANA,)
    with pytest.raises(SendLimitReached, match="already sent again 2 time"):
        resend_link(sqlite_engine, OPERATOR_1_ADMIN, first, store, mailer, rules)
    resend_link(sqlite_engine, OPERATOR_1_ADMIN, second, store, mailer, rules)
    with pytest.raises(SendLimitReached, match="admin@op1.example already sent 3 link"):
        resend_link(sqlite_engine, OPERATOR_1_ADMIN, second, store, mailer, rules)
    sent_lines = [message for _, type_, message in get_export(sqlite_engine, OPERATOR_1_ADMIN, first).logs if type_ == "sent"]
    assert sent_lines == ["link sent again to 1 recipient(s) by admin@op1.example"] * 2


def test_mails_are_french_by_default_english_on_request_html_escaped(sqlite_engine: Engine, store: ObjectStore) -> None:
    french = new_export(sqlite_engine, [f"Ana Lopez <{ANA}>"], message="<b>urgent</b> & merci")
    english = create_export(sqlite_engine, REGISTRY_USER, ExportRequest(
        "2025-03-01", "2025-03-31", recipients=[f"Bo Chen <{BO}>"], language="en"), RULES, today=TODAY).uuid
    with flaky_smtp() as smtp:
        for export_uuid in (french, english):
            run_export(sqlite_engine, export_uuid, store, Mailer(smtp_url=smtp.url), CampaignConfig(), RULES)
        (to_ana,) = smtp.delivered_to(ANA)
        (to_bo,) = smtp.delivered_to(BO)
    assert to_ana["Subject"] == "[local] Votre export de trajets est prêt (5 trajets)"
    assert to_bo["Subject"] == "[local] Your trip export is ready (5 trips)"
    assert to_ana.get_content_type() == "multipart/alternative"
    plain, html = to_ana.get_body(("plain",)).get_content(), to_ana.get_body(("html",)).get_content()
    assert "Bonjour Ana Lopez," in plain and "<b>urgent</b> & merci" in plain
    assert "&lt;b&gt;urgent&lt;/b&gt; &amp; merci" in html and "<b>urgent" not in html
    assert "Hello Bo Chen," in to_bo.get_body(("plain",)).get_content()


def test_the_failure_notice_follows_the_request_language(sqlite_engine: Engine, tmp_path: Path) -> None:
    """An English request gets its failure notice in English, plain text and HTML, with nothing of
    the platform's internals; French stays the default (test_failures.py)."""
    from platform_assets.core.errors import PlatformError
    from platform_assets.core.objectstore import LocalObjectStore

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be", encoding="utf-8")
    export_uuid = new_export(sqlite_engine, [f"Bo Chen <{BO}>"], language="en")
    outbox = tmp_path / "outbox"
    with pytest.raises(PlatformError):
        run_export(sqlite_engine, export_uuid, LocalObjectStore(local_dir=str(blocked)), Mailer(outbox_dir=str(outbox)),
                   CampaignConfig(), RULES)
    notices = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(outbox.glob("*.eml"))]
    (to_bo,) = [notice for notice in notices if BO in notice["To"]]
    plain, html = to_bo.get_body(("plain",)).get_content(), to_bo.get_body(("html",)).get_content()
    assert "Hello Bo Chen," in plain and f"The trip export {export_uuid}" in plain and "could not be produced" in plain
    assert "could not be produced" in html and "Bonjour" not in plain + html
    assert str(blocked) not in plain + html + to_bo["Subject"]
