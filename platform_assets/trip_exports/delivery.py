"""Mail delivery of trip exports: per recipient, retried, and telling each audience what it needs.

- Each recipient gets its own message and its own outcome (sent / failed / refused). A temporary
  SMTP answer (4xx) or a dropped or refused connection is retried with exponential backoff; a
  permanent answer (5xx) is not. One failing recipient never undoes what another received.
- Recipients get a generic message when an export fails; the technical admins get the details
  (as the registry does: NotificationService.error to recipients, .support to the support team,
  betagouv/preuve-covoiturage api/src/pdc/services/export/services/NotificationService.ts).
  Bucket names, endpoints and setting names stay in admin mails and internal log lines.
- Names, emails and messages are checked for control characters again right before sending.
- `send` (mail a fresh link again) is bounded per export and per caller per day, logged, and
  mails only the export's recipients, the caller, or (admins) addresses of the caller's domain.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from email.utils import formataddr
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from platform_assets.core.errors import MailDeliveryError, PlatformError
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.addresses import parse_recipients, text_problem
from platform_assets.trip_exports.errors import (
    ExportGone,
    ExportNotFound,
    ExportStateError,
    InvalidExportRequest,
    PermissionDenied,
    SendLimitReached,
)
from platform_assets.trip_exports.lifecycle import add_log
from platform_assets.trip_exports.records import load_export, new_session, now_utc, visible_export, write_log
from platform_assets.trip_exports.rules import MAIL_LANGUAGES, ExportRules
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.tables import Log

if TYPE_CHECKING:
    from jinja2 import Environment



@lru_cache(maxsize=1)
def mail_templates() -> Environment:
    """The mail templates (made on first use: jinja2 is imported by a mail, not by every load of
    the code location)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
    )


# Presigned S3 URLs live 7 days at most (SigV4).
MAX_LINK_SECONDS = 7 * 24 * 3600

SUBJECTS: dict[str, dict[str, str]] = {
    "fr": {
        "ready": "[{platform}] Votre export de trajets est prêt ({rows} trajets)",
        "failed": "[{platform}] L'export de trajets {short} a échoué",
        "incident": "[{platform}] Export de trajets {short} : {headline}",
    },
    "en": {
        "ready": "[{platform}] Your trip export is ready ({rows} trips)",
        "failed": "[{platform}] Trip export {short} failed",
        "incident": "[{platform}] Trip export {short}: {headline}",
    },
}
HEADLINES: dict[str, dict[str, str]] = {
    "fr": {"failed": "échec", "undelivered": "mail non remis à {count} destinataire(s)"},
    "en": {"failed": "failed", "undelivered": "mail not delivered to {count} recipient(s)"},
}

# What users read in the API's `error` field and in failure mails, per kind of failure: never
# the underlying message, which names buckets, endpoints and settings.
PUBLIC_ERRORS = {
    "storage": "the export file could not be stored; the technical team has been told",
    "mail": "no recipient could be reached by mail; the technical team has been told",
    "internal": "an internal error stopped the export; the technical team has been told",
}
# Errors about the request or the data themselves: their message is the user's to read.
_USER_FACING = (InvalidExportRequest, PermissionDenied, ExportNotFound, ExportStateError)


@dataclass(frozen=True)
class MailTarget:
    fullname: str
    email: str
    message: str | None = None

    @property
    def address(self) -> str:
        return formataddr((self.fullname, self.email))


@dataclass(frozen=True)
class RecipientOutcome:
    email: str
    status: str  # sent | failed | refused (never handed to SMTP)
    attempts: int
    detail: str | None = None  # technical: admins and internal logs only


@dataclass(frozen=True)
class DeliveryReport:
    outcomes: tuple[RecipientOutcome, ...]

    @property
    def sent(self) -> tuple[str, ...]:
        return tuple(outcome.email for outcome in self.outcomes if outcome.status == "sent")

    @property
    def failed(self) -> tuple[RecipientOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.status != "sent")

    def as_stats(self) -> dict[str, dict[str, Any]]:
        """Per recipient state kept with the export (no technical detail)."""
        return {outcome.email: {"status": outcome.status, "attempts": outcome.attempts} for outcome in self.outcomes}


class NobodyReached(MailDeliveryError):
    """Not one recipient of the export could be mailed."""


def public_error(error: BaseException) -> str:
    """The one line a user may read about `error`."""
    if isinstance(error, _USER_FACING):
        return str(error)
    if type(error).__name__ == "XlsxValueError":  # a value of the data the workbook cannot hold
        return str(error).strip().splitlines()[0]
    if isinstance(error, MailDeliveryError):
        return PUBLIC_ERRORS["mail"]
    if type(error).__name__ == "ObjectStoreError":
        return PUBLIC_ERRORS["storage"]
    return PUBLIC_ERRORS["internal"]


def technical_detail(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, PlatformError) else f"{type(error).__name__}: {text}"


def is_transient(error: BaseException) -> bool:
    """A temporary SMTP answer (4xx) or a connection that failed or dropped: worth another try."""
    cause: BaseException | None = error.__cause__ if isinstance(error, MailDeliveryError) else error
    if cause is None:
        return isinstance(error, MailDeliveryError) and "outbox" in str(error)
    if isinstance(cause, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(cause, smtplib.SMTPRecipientsRefused):
        return bool(cause.recipients) and all(400 <= code < 500 for code, _ in cause.recipients.values())
    if isinstance(cause, smtplib.SMTPResponseException):
        return 400 <= cause.smtp_code < 500
    if isinstance(cause, smtplib.SMTPException):
        return False
    return isinstance(cause, OSError)  # refused, reset, timed out: the server may be back soon


def _target_problems(target: MailTarget) -> list[str]:
    checks = (("name", target.fullname), ("email", target.email), ("message", target.message))
    return [problem for field, text in checks if (problem := text_problem(field, text))]


def deliver(
    mailer: Mailer,
    target: MailTarget,
    subject: str,
    text: str,
    html: str | None,
    attempts: int,
    retry_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> RecipientOutcome:
    """One message to one recipient, retried on temporary failures (waits retry_seconds, then
    twice that, ...)."""
    problems = _target_problems(target)
    if problems:
        return RecipientOutcome(target.email, "refused", 0, "; ".join(problems))
    for attempt in range(1, max(1, attempts) + 1):
        try:
            mailer.send([target.address], subject, text, html)
            return RecipientOutcome(target.email, "sent", attempt)
        except MailDeliveryError as error:
            if attempt >= attempts or not is_transient(error):
                return RecipientOutcome(target.email, "failed", attempt, str(error))
            sleep(retry_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


def language_of(params: Mapping[str, Any], rules: ExportRules) -> str:
    language = params.get("language") or rules.mail_language
    return language if language in MAIL_LANGUAGES else "fr"


def render(name: str, language: str, **values: Any) -> tuple[str, str]:
    """(plain text, HTML) of template `name` in `language`."""
    text = mail_templates().get_template(f"{name}.{language}.txt.j2").render(**values)
    html = mail_templates().get_template(f"{name}.{language}.html.j2").render(**values)
    return text, html


def _mail_each(
    engine: Engine, export_uuid: str, targets: Sequence[MailTarget], subject: str,
    body: Callable[[MailTarget], tuple[str, str]], mailer: Mailer, rules: ExportRules, what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    outcomes: list[RecipientOutcome] = []
    attempts = rules.mail_attempts
    for target in targets:
        problems = _target_problems(target)
        text, html = body(target) if not problems else ("", "")
        outcome = deliver(mailer, target, subject, text, html, attempts, rules.mail_retry_seconds, sleep)
        if outcome.status == "failed" and outcome.attempts >= rules.mail_attempts > 1:
            # The server stayed unreachable through a whole backoff: the next recipients get one
            # try each instead of waiting as long again (a dead server must not hold the run).
            attempts = 1
        elif outcome.status == "sent":
            attempts = rules.mail_attempts
        outcomes.append(outcome)
        if outcome.status == "sent":
            retried = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
            add_log(engine, export_uuid, "mailed", f"{what} mailed to {target.email}{retried}")
        else:
            reason = "refused before sending" if outcome.status == "refused" else f"failed after {outcome.attempts} attempt(s)"
            add_log(engine, export_uuid, "mail_failed", f"{what} to {target.email}: {reason}")
            add_log(engine, export_uuid, "mail_detail", f"{what} to {target.email}: {outcome.detail}")
    return DeliveryReport(tuple(outcomes))


def notify_ready(
    engine: Engine, export_uuid: str, export_type: str, params: Mapping[str, Any], targets: Sequence[MailTarget],
    rows: int | None, size: int | None, link: str, expires_at: datetime | None, mailer: Mailer, rules: ExportRules,
    platform: str, sleep: Callable[[float], None] = time.sleep, what: str = "link",
) -> DeliveryReport:
    """Mail the download link to each target; one outcome per target."""
    language = language_of(params, rules)
    expires = f"{expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if expires_at else "-"
    subject = SUBJECTS[language]["ready"].format(platform=platform, rows=rows if rows is not None else "?")

    def body(target: MailTarget) -> tuple[str, str]:
        return render(
            "export_ready", language, fullname=target.fullname, uuid=export_uuid, type=export_type,
            start_date=params.get("start_date"), end_date=params.get("end_date"), rows=rows, size=size,
            download_url=link, expires_at=expires, message=target.message, platform=platform,
        )

    return _mail_each(engine, export_uuid, targets, subject, body, mailer, rules, what, sleep)


def notify_admins(
    engine: Engine, export_uuid: str, export_type: str, params: Mapping[str, Any], created_by: str, headline_key: str,
    details: Sequence[str], public: str, mailer: Mailer, rules: ExportRules, platform: str,
    sleep: Callable[[float], None] = time.sleep, count: int = 0,
) -> DeliveryReport:
    """The technical admins get the details (one message each)."""
    language = rules.mail_language if rules.mail_language in MAIL_LANGUAGES else "fr"
    headline = HEADLINES[language][headline_key].format(count=count)
    subject = SUBJECTS[language]["incident"].format(platform=platform, short=export_uuid[:8], headline=headline)
    text, html = render(
        "admin_incident", language, uuid=export_uuid, headline=headline, type=export_type,
        start_date=params.get("start_date"), end_date=params.get("end_date"), created_by=created_by,
        platform=platform, details=list(details), public_error=public,
    )
    targets = [MailTarget(admin, admin) for admin in rules.technical_admins]
    outcomes = [deliver(mailer, target, subject, text, html, rules.mail_attempts, rules.mail_retry_seconds, sleep)
                for target in targets]
    report = DeliveryReport(tuple(outcomes))
    if targets:
        add_log(engine, export_uuid, "admins_notified" if report.sent else "notify_failed",
                f"details mailed to {len(report.sent)} of {len(targets)} technical admin(s)")
    return report


def notify_failure(
    engine: Engine, export_uuid: str, export_type: str, params: Mapping[str, Any], created_by: str,
    targets: Sequence[MailTarget], error: BaseException, mailer: Mailer, rules: ExportRules, platform: str,
    notes: Sequence[str] = (), sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Recipients: a generic failure message; technical admins: what went wrong."""
    language = language_of(params, rules)
    subject = SUBJECTS[language]["failed"].format(platform=platform, short=export_uuid[:8])

    def body(target: MailTarget) -> tuple[str, str]:
        return render("export_failed", language, fullname=target.fullname, uuid=export_uuid, type=export_type,
                      start_date=params.get("start_date"), end_date=params.get("end_date"), platform=platform)

    recipients = _mail_each(engine, export_uuid, targets, subject, body, mailer, rules, "failure notice", sleep)
    admins = notify_admins(engine, export_uuid, export_type, params, created_by, "failed",
                           [technical_detail(error), *notes], public_error(error), mailer, rules, platform, sleep)
    reached = len(recipients.sent) + len(admins.sent)
    total = len(targets) + len(rules.technical_admins)
    add_log(engine, export_uuid, "notified" if reached else "notify_failed",
            f"failure mailed to {reached} of {total} address(es)")


# -- send: the link again ---------------------------------------------------------------------------
def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_targets(actor: Actor, own_recipients: set[str], targets: Sequence[MailTarget]) -> None:
    """The export's recipients and the caller always; other addresses of the caller's own domain
    for admins of an organisation (or of the registry); nobody else."""
    domain = actor.user.rpartition("@")[2]
    refused = [
        target.email for target in targets
        if target.email not in own_recipients and target.email != actor.user
        and not (actor.is_admin and target.email.rpartition("@")[2] == domain)
    ]
    if refused:
        who = f"addresses of {domain}" if actor.is_admin else "yourself"
        raise PermissionDenied(
            f"send: {', '.join(refused)} not allowed: only the export's recipients or {who}"
        )


def resend_link(
    engine: Engine, actor: Actor, export_uuid: str, store: ObjectStore, mailer: Mailer,
    rules: ExportRules | None = None, platform: str = "local", recipients: list[str] | None = None,
    sleep: Callable[[float], None] = time.sleep, now: datetime | None = None,
) -> DeliveryReport:
    """Mail a fresh link of a successful export again: to its recipients, or to `recipients`
    ('Name <email>', all checked first). Bounded per export and per caller per UTC day; logged."""
    rules = rules or ExportRules()
    now = now or now_utc()
    targets: list[MailTarget] = []
    if recipients:
        parsed, problems = parse_recipients(recipients, rules.max_recipients)
        if problems:
            raise InvalidExportRequest(problems)
        targets = [MailTarget(name, email) for name, email in parsed]
    day_start = datetime.combine(now.astimezone(UTC).date(), day_time(0), tzinfo=UTC)
    with new_session(engine) as session, session.begin():
        export = visible_export(session, actor, export_uuid)
        if export.status == "expired":
            raise ExportGone(f"export {export_uuid}: expired, its files were deleted")
        if export.status != "success" or not export.file_key:
            raise ExportStateError(f"export {export_uuid}: nothing to send (it is {export.status})")
        stored = [MailTarget(r.fullname or r.email, r.email, r.message) for r in export.recipients]
        _check_targets(actor, {r.email for r in stored}, targets)
        if not targets:
            targets = stored
        problems = [f"recipient {target.email}: {problem}" for target in targets for problem in _target_problems(target)]
        if problems:
            raise InvalidExportRequest(problems)
        per_export = session.execute(
            select(func.count()).select_from(Log).where(Log.export_id == export.id, Log.type == "sent")
        ).scalar_one()
        if per_export >= rules.send_max_per_export:
            raise SendLimitReached(
                f"export {export_uuid}: its link was already sent again {per_export} time(s), "
                f"at most {rules.send_max_per_export}"
            )
        per_day = session.execute(
            select(func.count()).select_from(Log).where(
                Log.type == "sent", Log.created_at >= day_start,
                Log.message.like(f"% by {_like_escape(actor.user)}", escape="\\"),
            )
        ).scalar_one()
        if per_day >= rules.send_max_per_day:
            raise SendLimitReached(f"send: {actor.user} already sent {per_day} link(s) today, at most {rules.send_max_per_day}")
        # Counted before mailing, so a send that fails still counts against the bounds.
        write_log(session, export, "sent", f"link sent again to {len(targets)} recipient(s) by {actor.user}")
        export = load_export(session, export_uuid)
        file_key, export_type, params = export.file_key, export.type, dict(export.params)
        stats, expires_at = dict(export.stats or {}), export.expires_at
    link = store.presigned_url(file_key, min(rules.expiry_days * 86400, MAX_LINK_SECONDS))
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    report = notify_ready(
        engine, export_uuid, export_type, params, targets, stats.get("rows"), stats.get("bytes"), link,
        expires_at, mailer, rules, platform, sleep, what="link (send)",
    )
    if not report.sent:
        raise NobodyReached(f"export {export_uuid}: none of {len(targets)} recipient(s) could be mailed")
    return report


def expiry_of(rules: ExportRules, now: datetime | None = None) -> datetime:
    return (now or now_utc()) + timedelta(days=rules.expiry_days)
