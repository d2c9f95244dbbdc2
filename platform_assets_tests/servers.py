"""Real servers on loopback for the tests: S3 (moto), SMTP (aiosmtpd), FTP (pyftpdlib), HTTP,
and throwaway PostgreSQL databases. Test modules of every system import these helpers.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def free_port() -> int:
    """A TCP port nobody listens on right now (servers that cannot bind port 0 need one)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- PostgreSQL ----------------------------------------------------------------------------------
@contextmanager
def postgres_database(prefix: str = "pa_test") -> Iterator[str]:
    """Create a uniquely named database on the local server; yield its SQLAlchemy URL; drop it."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_ADMIN_DSN)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        from platform_assets.core.database import dispose_engine

        dispose_engine(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}")
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# -- S3 ------------------------------------------------------------------------------------------
@contextmanager
def moto_s3_server() -> Iterator[str]:
    """moto in server mode on a free loopback port; yields the endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def create_bucket(endpoint_url: str, name: str | None = None) -> str:
    import boto3

    name = name or f"bucket-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1").create_bucket(Bucket=name)
    return name


# -- SMTP ----------------------------------------------------------------------------------------
@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)


@contextmanager
def smtp_server(auth: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    """An aiosmtpd server on loopback (a free port picked first: Controller(port=0) cannot work)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):  # type: ignore[no-untyped-def]
            raw = (envelope.original_content or envelope.content).replace(b"\r\n", b"\n")  # wire CRLF -> text
            message = message_from_bytes(raw, policy=policy.default)
            server.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
            return "250 Message accepted"

    def authenticator(_server, _session, _envelope, _mechanism, data):  # type: ignore[no-untyped-def]
        ok = isinstance(data, LoginPassword) and auth is not None and (
            data.login.decode(), data.password.decode()) == auth
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    kwargs = {}
    if auth is not None:
        kwargs = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(Handler(), hostname=server.host, port=server.port, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# -- FTP -----------------------------------------------------------------------------------------
@dataclass
class FtpServer:
    host: str
    port: int
    root: Path
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"ftp://{self.user}:{self.password}@{self.host}:{self.port}"


@contextmanager
def ftp_server(root: Path, user: str = "user", password: str = "secret") -> Iterator[FtpServer]:
    """A pyftpdlib server on loopback serving and receiving files under `root`."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(root), perm="elradfmwMT")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "passive_ports": None})
    port = free_port()
    server = ThreadedFTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.1}, daemon=True)
    thread.start()
    try:
        yield FtpServer("127.0.0.1", port, root, user, password)
    finally:
        server.close_all()
        thread.join(timeout=5)


# -- HTTP ----------------------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request], Response]


class HttpServer:
    """A local HTTP server whose routes tests declare; it records every request it gets."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Request] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def route(self, method: str, path: str, handler: Route | Response) -> None:
        self.routes[(method.upper(), path)] = handler if callable(handler) else (lambda _r, h=handler: h)

    def serve_file(self, path: str, file: Path, headers: dict[str, str] | None = None) -> None:
        self.route("GET", path, lambda _r: Response(200, file.read_bytes(), dict(headers or {})))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                outer.requests.append(request)
                route = outer.routes.get((self.command, self.path.split("?", 1)[0]))
                response = route(request) if route else Response(404, b"not found")
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _dispatch

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[HttpServer]:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


@contextmanager
def silent_port() -> Iterator[str]:
    """`http://127.0.0.1:PORT` of a loopback port that accepts connections (the kernel's backlog)
    and never answers: a frozen endpoint or source."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
