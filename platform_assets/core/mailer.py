"""The mailer: SMTP (plain, STARTTLS or SSL, optional login) or `.eml` files in an outbox folder."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from platform_assets.core.errors import MailDeliveryError
from platform_assets.core.settings import parse_smtp_url, setting


class Mailer(ConfigurableResource):
    """Sends email through `smtp_url`, or writes it to `outbox_dir` when `smtp_url` is empty."""

    smtp_url: str = setting(
        "PLATFORM_SMTP_URL",
        "",
        "SMTP server: smtp://[user@]host[:25], smtp+starttls://user@host:587, smtps://user@host:465."
        " Empty: mail is written as .eml files to PLATFORM_OUTBOX_DIR.",
    )
    password: str = setting(
        "PLATFORM_SMTP_PASSWORD", "", "SMTP password (read through Dagster EnvVar, never shown).", secret=True
    )
    sender: str = setting("PLATFORM_MAIL_FROM", "platform@localhost", "Sender address of every email.")
    outbox_dir: str = setting(
        "PLATFORM_OUTBOX_DIR", "{data_dir}/outbox", "Folder of .eml files when no SMTP server is set."
    )
    timeout_seconds: float = Field(default=30.0, description="SMTP connection timeout.")

    def build_message(
        self,
        to: Sequence[str],
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[tuple[str, bytes, str]] = (),
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or "localhost")
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
        for filename, data, mime in attachments:
            maintype, _, subtype = mime.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
        return message

    def send(
        self,
        to: Sequence[str],
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[tuple[str, bytes, str]] = (),
    ) -> str:
        """Send one message to `to`; return where it went (SMTP host or .eml path)."""
        recipients = [address for address in to if address]
        if not recipients:
            raise MailDeliveryError(f"cannot send {subject!r}: no recipient")
        message = self.build_message(recipients, subject, text, html, attachments)
        if not self.smtp_url:
            return self._write_outbox(message)
        return self._send_smtp(message, recipients)

    def _write_outbox(self, message: EmailMessage) -> str:
        outbox = Path(self.outbox_dir).absolute()
        try:
            outbox.mkdir(parents=True, exist_ok=True)
            # Microseconds: mails written in the same second still sort in the order they were sent.
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.as_bytes())
        except OSError as error:
            raise MailDeliveryError(f"cannot write to outbox {outbox} (PLATFORM_OUTBOX_DIR): {error}") from error
        return str(path)

    def _send_smtp(self, message: EmailMessage, recipients: list[str]) -> str:
        target = parse_smtp_url(self.smtp_url)
        where = f"SMTP server {target.host}:{target.port} (PLATFORM_SMTP_URL)"
        password = self.password or target.password
        try:
            if target.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    target.host, target.port, timeout=self.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(target.host, target.port, timeout=self.timeout_seconds)
            with client:
                client.ehlo()
                if target.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                # Relays without authentication are common inside a network: log in only when asked.
                if target.username:
                    client.login(target.username, password or "")
                refused = client.send_message(message, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as error:
            raise MailDeliveryError(f"{where} refused the login of {target.username!r}: {error.smtp_code}") from error
        except smtplib.SMTPException as error:
            raise MailDeliveryError(f"{where} did not accept the message: {error}") from error
        except OSError as error:
            raise MailDeliveryError(f"cannot reach {where}: {error.strerror or error}") from error
        if refused:
            raise MailDeliveryError(f"{where} refused recipients: {', '.join(sorted(refused))}")
        return f"{target.host}:{target.port}"

    def ping(self) -> None:
        """Fail with a one-line MailDeliveryError when the SMTP server cannot be reached."""
        if not self.smtp_url:
            Path(self.outbox_dir).absolute().mkdir(parents=True, exist_ok=True)
            return
        target = parse_smtp_url(self.smtp_url)
        try:
            cls = smtplib.SMTP_SSL if target.security == "ssl" else smtplib.SMTP
            with cls(target.host, target.port, timeout=self.timeout_seconds) as client:
                client.noop()
        except (OSError, smtplib.SMTPException) as error:
            raise MailDeliveryError(
                f"cannot reach SMTP server {target.host}:{target.port} (PLATFORM_SMTP_URL): {error}"
            ) from error
