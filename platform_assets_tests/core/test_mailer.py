from email import message_from_bytes, policy
from pathlib import Path

import pytest

from platform_assets.core.errors import MailDeliveryError
from platform_assets.core.mailer import Mailer
from platform_assets_tests import servers


def test_message_reaches_smtp_server_with_headers_and_body(smtp: servers.SmtpServer) -> None:
    mailer = Mailer(smtp_url=smtp.url, sender="Platform <platform@example.org>")
    where = mailer.send(
        ["ops@example.org", "lead@example.org"],
        "Export ready",
        "Your export is ready: https://example.org/x.zip\n",
        html="<p>Your export is <b>ready</b></p>",
        attachments=[("stats.csv", b"rows;bytes\n10;200\n", "text/csv")],
    )
    assert where == f"127.0.0.1:{smtp.port}"
    [mail] = smtp.wait_for(1)
    assert mail.sender == "platform@example.org"
    assert mail.recipients == ["ops@example.org", "lead@example.org"]
    message = mail.message
    assert message["Subject"] == "Export ready"
    assert message["From"] == "Platform <platform@example.org>"
    assert message["To"] == "ops@example.org, lead@example.org"
    assert message["Message-ID"].endswith("@example.org>")
    assert message.get_body(("plain",)).get_content() == "Your export is ready: https://example.org/x.zip\n"
    assert "<b>ready</b>" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "stats.csv"
    assert attachment.get_content() == "rows;bytes\n10;200\n"


def test_login_when_the_url_names_a_user() -> None:
    with servers.smtp_server(auth=("robot", "s3cret")) as smtp:
        Mailer(smtp_url=f"smtp://robot@127.0.0.1:{smtp.port}", password="s3cret").send(["a@b.org"], "hi", "body")
        assert len(smtp.wait_for(1)) == 1
        with pytest.raises(MailDeliveryError, match="refused the login of 'robot'"):
            Mailer(smtp_url=f"smtp://robot@127.0.0.1:{smtp.port}", password="wrong").send(["a@b.org"], "hi", "x")


def test_outbox_writes_parseable_eml(tmp_path: Path) -> None:
    mailer = Mailer(outbox_dir=str(tmp_path / "outbox"), sender="platform@localhost")
    path = Path(mailer.send(["ops@example.org"], "Run failed", "details\n"))
    assert path.parent == tmp_path / "outbox" and path.suffix == ".eml"
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "ops@example.org"
    assert message["Subject"] == "Run failed"
    assert message.get_content() == "details\n"


def test_unreachable_smtp_server_is_one_clear_line() -> None:
    port = servers.free_port()
    mailer = Mailer(smtp_url=f"smtp://127.0.0.1:{port}", timeout_seconds=5)
    with pytest.raises(MailDeliveryError) as raised:
        mailer.send(["ops@example.org"], "x", "y")
    message = str(raised.value)
    assert message.startswith(f"cannot reach SMTP server 127.0.0.1:{port} (PLATFORM_SMTP_URL)")
    assert "\n" not in message
    with pytest.raises(MailDeliveryError, match="PLATFORM_SMTP_URL"):
        mailer.ping()


def test_no_recipient_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MailDeliveryError, match="no recipient"):
        Mailer(outbox_dir=str(tmp_path)).send([], "x", "y")
