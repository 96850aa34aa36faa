"""The SMTP channel against a real SMTP server (aiosmtpd): plain, STARTTLS, TLS, AUTH."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from confide.notify.channels import DeliveryFailed, OutgoingMessage
from confide.notify.smtp import SmtpChannel, SmtpSecurity
from tests.notify.servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    Certificate,
    free_port,
    self_signed,
    smtp_server,
)

SENDER = "Confide <confide@example.org>"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(tmp_path_factory.mktemp("tls"))


def _message() -> OutgoingMessage:
    return OutgoingMessage(
        kind="email", to="ada@example.org", subject="Verify your email",
        text="https://chat.example.org/verify?token=t0k3n\n", purpose="verify_email",
        message_id=uuid.uuid4(),
    )  # fmt: skip


def _channel(port: int, security: SmtpSecurity, **kwargs: object) -> SmtpChannel:
    return SmtpChannel(
        host="127.0.0.1", port=port, sender=SENDER, security=security, timeout_seconds=5,
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_plain_smtp_delivers_the_email() -> None:
    message = _message()
    with smtp_server() as (inbox, port):
        sent = await _channel(port, "none").send(message)

    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "confide@example.org"
    assert envelope.rcpt_tos == ["ada@example.org"]
    assert inbox.tls == [False]
    assert isinstance(envelope.content, bytes)
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"] == "Verify your email"
    assert received["Message-ID"] == sent.provider_ref == f"<{message.message_id}@example.org>"
    assert "verify?token=t0k3n" in envelope.content.decode()


async def test_starttls_with_auth(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate, auth=True) as (inbox, port):
        channel = _channel(
            port, "starttls", username=SMTP_USER, password=SMTP_PASSWORD,
            tls_context=certificate.client_context(),
        )  # fmt: skip
        await channel.send(_message())

    assert inbox.tls == [True]
    assert inbox.logins == [SMTP_USER]
    assert inbox.envelopes[0].rcpt_tos == ["ada@example.org"]


async def test_implicit_tls(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate, implicit_tls=True) as (inbox, port):
        await _channel(port, "tls", tls_context=certificate.client_context()).send(_message())

    assert len(inbox.envelopes) == 1


async def test_an_untrusted_certificate_is_refused(certificate: Certificate) -> None:
    # The system's trust store does not know the test's certificate: no delivery, and a
    # failure worth retrying (the server's certificate may be fixed).
    with (
        smtp_server(certificate=certificate) as (inbox, port),
        pytest.raises(DeliveryFailed) as failed,
    ):
        await _channel(port, "starttls").send(_message())
    assert failed.value.retryable
    assert inbox.envelopes == []


async def test_wrong_credentials_fail_and_may_be_retried(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate, auth=True) as (inbox, port):
        channel = _channel(
            port, "starttls", username=SMTP_USER, password="wrong",
            tls_context=certificate.client_context(),
        )  # fmt: skip
        with pytest.raises(DeliveryFailed) as failed:
            await channel.send(_message())
    assert failed.value.retryable
    assert "authentication failed" in failed.value.reason
    assert inbox.envelopes == []


async def test_a_server_that_requires_auth_refuses_without() -> None:
    with smtp_server(auth=True) as (inbox, port), pytest.raises(DeliveryFailed) as failed:
        await _channel(port, "none").send(_message())
    assert "530" in failed.value.reason
    assert not failed.value.retryable  # a 5xx reply
    assert inbox.envelopes == []


async def test_a_server_that_is_down_is_a_retryable_failure() -> None:
    with pytest.raises(DeliveryFailed) as failed:
        await _channel(free_port(), "starttls").send(_message())
    assert failed.value.retryable


def test_certificate_helper_writes_files(certificate: Certificate) -> None:
    assert Path(certificate.cert_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
