"""The outbox queue: messages queued in a request, delivered by jobs, retried with back-off."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.db.base import utcnow
from confide.db.engine import Database
from confide.notify import repository
from confide.notify.models import NotificationAttempt, OutboxMessage
from confide.notify.outbox import read_outbox
from confide.notify.service import Notifications, backoff, recipient_hash
from tests.conftest import client_for
from tests.notify.conftest import add_test_routes, as_uuid, settle
from tests.notify.servers import (
    TELESIGN_CUSTOMER,
    TELESIGN_KEY,
    free_port,
    smtp_server,
    telesign_server,
)

LINK = "https://chat.example.org/reset?token=s3cr3t-t0k3n"


async def _message(database: Database, message_id: uuid.UUID) -> OutboxMessage:
    async with database.session() as session:
        return (
            await session.execute(select(OutboxMessage).where(OutboxMessage.id == message_id))
        ).scalar_one()


async def _attempts(database: Database, message_id: uuid.UUID) -> list[NotificationAttempt]:
    async with database.session() as session:
        return await repository.attempts_of(session, message_id)


async def _make_due(database: Database, message_id: uuid.UUID) -> None:
    """Move the message's next attempt into the past (time, without waiting for it)."""
    async with database.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def _no_secret_in(attempts: list[NotificationAttempt], *secrets: str) -> None:
    for attempt in attempts:
        stored = " ".join(
            str(getattr(attempt, column.key)) for column in NotificationAttempt.__table__.columns
        )
        for secret in secrets:
            assert secret not in stored


async def _queue_email(app: FastAPI, **body: object) -> uuid.UUID:
    async with client_for(app) as client:
        response = await client.post(
            "/test/notify/email",
            json={"to": "Ada@Example.org", "subject": "Reset your password", "text": LINK, **body},
        )
    assert response.status_code == 200, response.text
    return as_uuid(response.text)


async def test_a_message_queued_in_a_request_is_delivered_by_the_job(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    app = app_factory()
    add_test_routes(app)
    database: Database = app.state.database

    message_id = await _queue_email(app)
    await settle(app)

    (entry,) = read_outbox(tmp_path / "data" / "outbox")
    assert entry.recipient == "Ada@Example.org"
    assert entry.subject == "Reset your password"
    assert entry.text.strip() == LINK
    message = await _message(database, message_id)
    assert message.status == "sent"
    assert message.sent_at is not None
    assert message.attempts == 1
    assert message.body == ""  # the link is gone from the database once sent
    assert message.recipient_hash == hashlib.sha256(b"ada@example.org").hexdigest()
    (attempt,) = await _attempts(database, message_id)
    assert attempt.status == "sent"
    assert attempt.channel == "outbox"
    assert attempt.provider_ref == entry.path.name
    assert attempt.recipient_hash == message.recipient_hash
    _no_secret_in([attempt], LINK, "s3cr3t", "Ada@Example.org")
    await database.dispose()


async def test_a_failed_request_sends_nothing(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    app = app_factory()
    add_test_routes(app)
    async with client_for(app) as client:
        response = await client.post(
            "/test/notify/email",
            json={"to": "ada@example.org", "subject": "s", "text": LINK, "fail": True},
        )
    assert response.status_code == 409
    await settle(app)

    assert read_outbox(tmp_path / "data" / "outbox") == []
    async with app.state.database.session() as session:
        assert (await session.execute(select(OutboxMessage))).first() is None
    await app.state.database.dispose()


async def test_a_mail_server_that_is_down_is_retried_with_back_off_until_it_is_back(
    app_factory: Callable[..., FastAPI],
) -> None:
    port = free_port()
    app = app_factory(
        email_channel="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        smtp_timeout_seconds=5,
    )  # fmt: skip
    add_test_routes(app)
    database: Database = app.state.database
    notify: Notifications = app.state.notify

    message_id = await _queue_email(app)
    await settle(app)  # the first try: nothing listens on the port

    message = await _message(database, message_id)
    assert (message.status, message.attempts) == ("queued", 1)
    (first,) = await _attempts(database, message_id)
    assert first.status == "retry"
    assert first.channel == "smtp"
    assert first.error
    assert message.next_attempt_at == first.at + timedelta(seconds=30)

    await notify.sweep()  # not due yet: the sweep leaves it
    await settle(app)
    assert (await _message(database, message_id)).attempts == 1

    await _make_due(database, message_id)
    await notify.sweep()  # due, still down: the back-off doubles
    await settle(app)
    message = await _message(database, message_id)
    second = (await _attempts(database, message_id))[1]
    assert (message.status, message.attempts, second.status) == ("queued", 2, "retry")
    assert message.next_attempt_at == second.at + timedelta(seconds=60)
    assert message.body == LINK  # still needed for the next try

    with smtp_server(port=port) as (inbox, _):
        await _make_due(database, message_id)
        await notify.sweep()
        await settle(app)

    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == ["Ada@Example.org"]
    assert isinstance(envelope.content, bytes)
    assert LINK in envelope.content.decode()
    message = await _message(database, message_id)
    assert (message.status, message.attempts, message.body) == ("sent", 3, "")
    attempts = await _attempts(database, message_id)
    assert [a.status for a in attempts] == ["retry", "retry", "sent"]
    assert attempts[-1].provider_ref == f"<{message_id}@localhost>"
    _no_secret_in(attempts, LINK, "s3cr3t", "Ada@Example.org")
    await database.dispose()


async def test_a_message_is_given_up_after_the_last_attempt(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(
        email_channel="smtp", smtp_host="127.0.0.1", smtp_port=free_port(),
        smtp_security="none", notify_max_attempts=2,
    )  # fmt: skip
    add_test_routes(app)
    database: Database = app.state.database
    message_id = await _queue_email(app)
    await settle(app)
    await _make_due(database, message_id)
    await app.state.notify.sweep()
    await settle(app)

    message = await _message(database, message_id)
    assert (message.status, message.attempts, message.body) == ("failed", 2, "")
    assert message.next_attempt_at is None
    assert [a.status for a in await _attempts(database, message_id)] == ["retry", "failed"]
    await app.state.notify.deliver(message_id)  # a failed message is not tried again
    assert len(await _attempts(database, message_id)) == 2
    await database.dispose()


async def test_deliver_twice_sends_once(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    app = app_factory()
    database: Database = app.state.database
    notify: Notifications = app.state.notify
    async with database.session() as session:
        first = await notify.email(
            session, to="ada@example.org", subject="One", text=LINK, purpose="test"
        )
        second = await notify.email(
            session, to="ada@example.org", subject="Two", text=LINK, purpose="test"
        )

    await notify.deliver(first)
    await notify.deliver(first)  # after: already sent
    await asyncio.gather(notify.deliver(second), notify.deliver(second))  # at once: one claims
    await settle(app)  # and the jobs the commit queued (on_commit) for both, racing these

    assert sorted(e.subject for e in read_outbox(tmp_path / "data" / "outbox")) == ["One", "Two"]
    assert len(await _attempts(database, first)) == 1
    assert len(await _attempts(database, second)) == 1
    await database.dispose()


async def test_the_sweep_delivers_a_message_whose_job_was_never_queued(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    # Stored but never queued, as after a crash between the commit and the enqueue (or a
    # queue that could not be reached): the minute's sweep finds it.
    app = app_factory()
    database: Database = app.state.database
    message_id = uuid.uuid4()
    async with database.session() as session:
        session.add(
            OutboxMessage(
                id=message_id, kind="email", recipient="ada@example.org",
                recipient_hash=recipient_hash("email", "ada@example.org"), subject="Hello",
                body="text", purpose="test", status="queued", attempts=0,
                next_attempt_at=utcnow(),
            )
        )  # fmt: skip
    await settle(app)
    assert (await _message(database, message_id)).status == "queued"

    await app.state.notify.sweep()
    await settle(app)

    assert (await _message(database, message_id)).status == "sent"
    assert [e.subject for e in read_outbox(tmp_path / "data" / "outbox")] == ["Hello"]
    await database.dispose()


async def test_an_sms_goes_through_telesign(app_factory: Callable[..., FastAPI]) -> None:
    async with telesign_server() as (telesign, base_url):
        app = app_factory(
            sms_channel="sms", telesign_base_url=base_url,
            telesign_customer_id=TELESIGN_CUSTOMER, telesign_api_key=TELESIGN_KEY,
        )  # fmt: skip
        add_test_routes(app)
        async with client_for(app) as client:
            response = await client.post(
                "/test/notify/sms", json={"to": "+44 7700 900123", "text": "Code: 482913"}
            )
        message_id = as_uuid(response.text)
        await settle(app)

    (reference_id,) = telesign.sent
    assert telesign.sent[reference_id]["phone_number"] == "447700900123"
    database: Database = app.state.database
    message = await _message(database, message_id)
    # In progress (290): it waits for its delivery report (test_status.py).
    assert (message.status, message.body) == ("accepted", "Code: 482913")
    (attempt,) = await _attempts(database, message_id)
    assert (attempt.channel, attempt.provider_ref) == ("telesign", reference_id)
    assert attempt.status == "sent"
    assert attempt.recipient_hash == hashlib.sha256(b"447700900123").hexdigest()
    _no_secret_in([attempt], "482913")
    await database.dispose()


async def test_a_failed_sms_falls_back_to_email(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    async with telesign_server() as (telesign, base_url):
        telesign.invalid_numbers.add("15550100")
        app = app_factory(
            sms_channel="sms", telesign_base_url=base_url,
            telesign_customer_id=TELESIGN_CUSTOMER, telesign_api_key=TELESIGN_KEY,
        )  # fmt: skip
        add_test_routes(app)
        async with client_for(app) as client:
            response = await client.post(
                "/test/notify/sms",
                json={"to": "+1 5550100", "text": "Code: 482913", "fallback_email": "ada@e.org"},
            )
        sms_id = as_uuid(response.text)
        await settle(app)

    assert telesign.sent == {}
    database: Database = app.state.database
    sms = await _message(database, sms_id)
    assert (sms.status, sms.body) == ("failed", "")
    (attempt,) = await _attempts(database, sms_id)
    assert (attempt.channel, attempt.status) == ("telesign", "failed")
    assert "11000" in (attempt.error or "")
    (entry,) = read_outbox(tmp_path / "data" / "outbox")
    assert (entry.kind, entry.recipient, entry.purpose) == ("email", "ada@e.org", "mfa_code")
    assert entry.text.strip() == "Code: 482913"
    async with database.session() as session:
        email = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "email"))
        ).scalar_one()
    assert (email.status, email.body, email.recipient) == ("sent", "", "ada@e.org")
    await database.dispose()


def test_back_off_doubles_from_30_seconds_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip


async def test_both_jobs_are_registered(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory()
    jobs = app.state.jobs.jobs
    assert jobs["deliver_notification"].cron is None
    assert jobs["sweep_notifications"].cron == "* * * * *"
    await app.state.database.dispose()


async def test_a_line_break_in_a_header_is_refused(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory()
    notify: Notifications = app.state.notify
    async with app.state.database.session() as session:
        with pytest.raises(ValueError, match="line break"):
            await notify.email(
                session, to="ada@example.org", subject="Hi\r\nBcc: eve@example.org", text="t",
                purpose="test",
            )  # fmt: skip
        with pytest.raises(ValueError, match="line break"):
            await notify.email(
                session, to="ada@example.org\nBcc: eve@example.org", subject="Hi", text="t",
                purpose="test",
            )  # fmt: skip
        assert (await session.execute(select(OutboxMessage))).first() is None
    await app.state.database.dispose()
