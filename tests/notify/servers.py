"""Real servers for the notification tests: an SMTP server (aiosmtpd, in its own thread) and
a local server speaking Telesign's Messaging API wire format (uvicorn in the test's loop)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import secrets
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.live_server import serve

SMTP_USER = "mailer"
SMTP_PASSWORD = "correct horse battery staple"
TELESIGN_CUSTOMER = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"
TELESIGN_KEY = base64.b64encode(b"telesign-test-api-key").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Certificate:
    """A self-signed certificate for localhost and 127.0.0.1."""

    cert_file: Path
    key_file: Path
    pem: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this certificate (verification stays on)."""
        return ssl.create_default_context(cadata=self.pem)


def self_signed(directory: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_text(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file=cert_file, key_file=key_file, pem=pem)


@dataclass
class Inbox:
    """What the SMTP server received, and what it saw of each session."""

    envelopes: list[Envelope] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    # The server runs on a thread of its own: a test thread waits on this for a message.
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.changed:
            self.envelopes.append(envelope)
            self.tls.append(session.ssl is not None)
            self.changed.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, match: Callable[[Envelope], bool], timeout: float) -> Envelope:
        """The first message `match` accepts, once it has arrived (blocking: call it through
        asyncio.to_thread from a test's loop); AssertionError past `timeout`."""
        with self.changed:
            found: list[Envelope] = []

            def arrived() -> bool:
                found[:] = [e for e in self.envelopes if match(e)][:1]
                return bool(found)

            assert self.changed.wait_for(arrived, timeout), "no such message arrived"
            return found[0]


def _authenticator(inbox: Inbox) -> Any:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = data.login.decode() == SMTP_USER and secrets.compare_digest(
            data.password, SMTP_PASSWORD.encode()
        )
        if ok:
            inbox.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    return authenticate


@contextlib.contextmanager
def smtp_server(
    *,
    port: int | None = None,
    certificate: Certificate | None = None,
    implicit_tls: bool = False,
    auth: bool = False,
) -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on 127.0.0.1: plain; with `certificate`, STARTTLS (required) or, with
    `implicit_tls`, TLS from the start; with `auth`, AUTH (PLAIN, LOGIN) required."""
    inbox = Inbox()
    port = port or free_port()
    kwargs: dict[str, Any] = {}
    if certificate is not None and implicit_tls:
        kwargs["ssl_context"] = certificate.server_context()
    elif certificate is not None:
        kwargs.update(tls_context=certificate.server_context(), require_starttls=True)
    if auth:
        kwargs.update(
            authenticator=_authenticator(inbox),
            auth_required=True,
            auth_require_tls=True,
        )
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class FakeTelesign:
    """State of the local Telesign: messages sent, by reference_id."""

    sent: dict[str, dict[str, str]] = field(default_factory=dict)
    auth_headers: list[str] = field(default_factory=list)
    # Numbers that the fake refuses the way Telesign refuses an invalid phone_number.
    invalid_numbers: set[str] = field(default_factory=set)
    # When set, answer every request with this HTTP status (an outage: 503).
    outage: int | None = None
    # The statuses GET /v1/messaging/{reference_id} answers, in turn (the last one repeats;
    # none: 200 "Delivered to handset"), and the reference_ids it was asked about.
    statuses: list[tuple[int, str]] = field(default_factory=list)
    status_queries: list[str] = field(default_factory=list)
    # When set, a status query waits for it before answering (`status_asked` says one came).
    hold_status: asyncio.Event | None = None
    status_asked: asyncio.Event = field(default_factory=asyncio.Event)

    def next_status(self) -> tuple[int, str]:
        if not self.statuses:
            return 200, "Delivered to handset"
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


def telesign_app(state: FakeTelesign) -> FastAPI:
    """Telesign's Messaging API as its reference documents it: form-encoded POST
    /v1/messaging with Basic auth, JSON answers with reference_id and status {code,
    description, updated_on}, errors [{code, description}]; GET /v1/messaging/{reference_id}."""
    app = FastAPI()
    expected = "Basic " + base64.b64encode(f"{TELESIGN_CUSTOMER}:{TELESIGN_KEY}".encode()).decode()

    def now() -> str:
        return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")

    def refuse(status: int, code: int, description: str) -> JSONResponse:
        return JSONResponse(
            {
                "reference_id": secrets.token_hex(16).upper(),
                "status": {"code": code, "description": description, "updated_on": now()},
                "errors": [{"code": code, "description": description}],
            },
            status_code=status,
        )

    @app.post("/v1/messaging")
    async def send(request: Request) -> JSONResponse:
        state.auth_headers.append(request.headers.get("authorization", ""))
        if state.outage is not None:
            return JSONResponse({"errors": []}, status_code=state.outage)
        if request.headers.get("authorization") != expected:
            return refuse(401, -30000, "Invalid Customer ID.")
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return refuse(400, 11000, "Invalid value for parameter phone_number.")
        form = await request.form()
        fields = {k: str(v) for k, v in form.items()}
        for name, code in (("phone_number", 12000), ("message", 12009), ("message_type", 12017)):
            if not fields.get(name):
                return refuse(400, code, f"Missing Required Parameter {name}")
        if fields["message_type"] not in ("OTP", "ARN", "MKT"):
            return refuse(400, 11017, "Invalid value for parameter message_type.")
        phone = fields["phone_number"]
        if not phone.isdigit() or phone in state.invalid_numbers:
            return refuse(400, 11000, "Invalid value for parameter phone_number.")
        reference_id = secrets.token_hex(16).upper()
        state.sent[reference_id] = fields
        return JSONResponse(
            {
                "reference_id": reference_id,
                "external_id": fields.get("external_id"),
                "status": {"code": 290, "description": "Message in progress", "updated_on": now()},
            }
        )

    @app.get("/v1/messaging/{reference_id}")
    async def status(reference_id: str, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != expected:
            return refuse(401, -30000, "Invalid Customer ID.")
        state.status_queries.append(reference_id)
        if reference_id not in state.sent:
            return refuse(404, -10001, "Reference ID not found.")
        code, description = state.next_status()
        state.status_asked.set()
        if state.hold_status is not None:
            hold, state.hold_status = state.hold_status, None  # the first query only
            await hold.wait()
        return JSONResponse(
            {
                "reference_id": reference_id,
                "status": {"code": code, "description": description, "updated_on": now()},
            }
        )

    return app


@contextlib.asynccontextmanager
async def telesign_server() -> AsyncIterator[tuple[FakeTelesign, str]]:
    """The local Telesign; yields its state and base URL."""
    state = FakeTelesign()
    async with serve(telesign_app(state)) as address:
        yield state, f"http://{address}"
