"""Delivery reports of SMS (check_sms_status) and the retention purge (purge_notifications)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from confide.db.base import utcnow
from confide.db.engine import Database
from confide.notify import service as notify_service
from confide.notify.models import NotificationAttempt, OutboxMessage
from confide.notify.outbox import TIME_FORMAT, read_outbox
from confide.notify.service import Notifications, status_delay
from tests.conftest import client_for
from tests.notify.conftest import add_test_routes, as_uuid, settle
from tests.notify.servers import TELESIGN_CUSTOMER, TELESIGN_KEY, FakeTelesign, telesign_server
from tests.notify.test_service import _attempts, _make_due, _message, _no_secret_in

CODE = "Code: 482913"


@asynccontextmanager
async def _sms_app(
    app_factory: Callable[..., FastAPI],
) -> AsyncIterator[tuple[FastAPI, FakeTelesign]]:
    async with telesign_server() as (telesign, base_url):
        app = app_factory(
            sms_channel="sms", telesign_base_url=base_url,
            telesign_customer_id=TELESIGN_CUSTOMER, telesign_api_key=TELESIGN_KEY,
        )  # fmt: skip
        add_test_routes(app)
        yield app, telesign
        await app.state.database.dispose()


async def _send_sms(app: FastAPI, *, fallback_email: str | None = "ada@e.org") -> uuid.UUID:
    async with client_for(app) as client:
        response = await client.post(
            "/test/notify/sms",
            json={"to": "+44 7700 900123", "text": CODE, "fallback_email": fallback_email},
        )
    assert response.status_code == 200, response.text
    await settle(app)
    return as_uuid(response.text)


async def _emails(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "email"))
        return list(rows.scalars())


async def test_an_accepted_sms_waits_for_its_report_and_is_then_delivered(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with _sms_app(app_factory) as (app, telesign):
        telesign.statuses = [(290, "Message in progress"), (200, "Delivered to handset")]
        database: Database = app.state.database
        notify: Notifications = app.state.notify
        sms_id = await _send_sms(app)

        accepted = await _message(database, sms_id)
        assert (accepted.status, accepted.body) == ("accepted", CODE)  # kept for the fallback
        assert accepted.next_attempt_at is not None
        assert accepted.next_attempt_at > utcnow() + timedelta(seconds=20)
        (attempt,) = await _attempts(database, sms_id)
        assert attempt.status == "sent"

        await notify.check_status(sms_id)  # not due yet: Telesign is not asked
        assert telesign.status_queries == []

        await _make_due(database, sms_id)
        await notify.check_status(sms_id)  # still in progress: asked again later
        still = await _message(database, sms_id)
        assert still.status == "accepted"
        assert still.next_attempt_at is not None
        assert still.next_attempt_at > utcnow()

        await _make_due(database, sms_id)
        await notify.check_status(sms_id)
        delivered = await _message(database, sms_id)
        (attempt,) = await _attempts(database, sms_id)

    assert telesign.status_queries == [attempt.provider_ref] * 2
    assert (delivered.status, delivered.body) == ("sent", "")
    assert (attempt.status, attempt.error) == ("delivered", None)
    assert await _emails(database) == []


async def test_an_undelivered_sms_falls_back_to_email_once(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    async with _sms_app(app_factory) as (app, telesign):
        telesign.statuses = [(210, "Temporary phone error")]
        database: Database = app.state.database
        notify: Notifications = app.state.notify
        sms_id = await _send_sms(app)
        await _make_due(database, sms_id)
        # Two workers executing the same check at once.
        await asyncio.gather(notify.check_status(sms_id), notify.check_status(sms_id))
        await settle(app)
        # A check whose claim ran out, after the message was closed: nothing more.
        await _make_due(database, sms_id)
        await notify.check_status(sms_id)
        await settle(app)

        sms = await _message(database, sms_id)
        (attempt,) = await _attempts(database, sms_id)
        emails = await _emails(database)

    assert len(telesign.status_queries) == 1
    assert (sms.status, sms.body) == ("failed", "")
    assert attempt.status == "failed"
    assert attempt.error == "Telesign 210: Temporary phone error"
    _no_secret_in([attempt], "482913")
    assert [(e.recipient, e.status) for e in emails] == [("ada@e.org", "sent")]
    (entry,) = read_outbox(tmp_path / "data" / "outbox")
    assert (entry.kind, entry.recipient, entry.text.strip()) == ("email", "ada@e.org", CODE)


async def test_a_check_that_lost_the_race_to_close_the_message_does_nothing(
    app_factory: Callable[..., FastAPI],
) -> None:
    """Two checks both read the final status (the first one's claim ran out while it asked):
    only the one that closes the message queues the fallback."""
    async with _sms_app(app_factory) as (app, telesign):
        telesign.statuses = [(210, "Temporary phone error")]
        database: Database = app.state.database
        notify: Notifications = app.state.notify
        sms_id = await _send_sms(app)
        await _make_due(database, sms_id)
        release = telesign.hold_status = asyncio.Event()
        first = asyncio.create_task(notify.check_status(sms_id))
        await telesign.status_asked.wait()
        async with database.session() as session:  # the first check's claim runs out
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == sms_id)
                .values(claimed_until=utcnow() - timedelta(seconds=1))
            )
        await notify.check_status(sms_id)  # the second check closes it
        release.set()
        await first
        await settle(app)
        emails = await _emails(database)

    assert len(telesign.status_queries) == 2
    assert len(emails) == 1


async def test_an_sms_with_no_report_in_time_is_recorded_unknown(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with _sms_app(app_factory) as (app, telesign):
        telesign.statuses = [(290, "Message in progress")]
        database: Database = app.state.database
        sms_id = await _send_sms(app)
        async with database.session() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == sms_id)
                .values(sent_at=utcnow() - timedelta(minutes=16))
            )
        await _make_due(database, sms_id)
        await app.state.notify.check_status(sms_id)
        sms = await _message(database, sms_id)
        (attempt,) = await _attempts(database, sms_id)
        emails = await _emails(database)

    assert (sms.status, sms.body) == ("sent", "")
    assert attempt.status == "unknown"
    assert attempt.error == "Telesign 290: Message in progress"
    assert emails == []


async def test_the_sweep_queues_a_due_status_check(app_factory: Callable[..., FastAPI]) -> None:
    async with _sms_app(app_factory) as (app, telesign):
        database: Database = app.state.database
        sms_id = await _send_sms(app, fallback_email=None)
        await _make_due(database, sms_id)
        await app.state.notify.sweep()
        await settle(app)
        (attempt,) = await _attempts(database, sms_id)

    assert len(telesign.status_queries) == 1
    assert attempt.status == "delivered"


def test_status_checks_back_off_from_30_seconds_to_4_minutes() -> None:
    waited, checks = timedelta(seconds=30), [30]
    while waited < timedelta(seconds=notify_service.STATUS_GIVE_UP_SECONDS):
        waited += status_delay(waited)
        checks.append(int(waited.total_seconds()))
    assert checks == [30, 60, 120, 240, 480, 720, 960]


async def test_the_status_and_purge_jobs_are_registered(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory()
    jobs = app.state.jobs.jobs
    assert jobs["check_sms_status"].cron is None
    assert jobs["purge_notifications"].cron == "41 3 * * *"
    await app.state.database.dispose()


# Retention ---------------------------------------------------------------------------------


async def _age(database: Database, message_id: uuid.UUID, days: int) -> None:
    async with database.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(created_at=utcnow() - timedelta(days=days))
        )


async def _count(database: Database, model: type[OutboxMessage | NotificationAttempt]) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_the_purge_deletes_old_finished_messages_and_outbox_files_only(
    app_factory: Callable[..., FastAPI], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify_service, "PURGE_BATCH", 2)  # several batches
    app = app_factory(notification_retention_days=30, smtp_port=1)
    add_test_routes(app)
    database: Database = app.state.database
    notify: Notifications = app.state.notify
    ids = []
    async with client_for(app) as client:
        for n in range(6):
            response = await client.post(
                "/test/notify/email", json={"to": f"u{n}@e.org", "subject": "Hi", "text": "t"}
            )
            ids.append(as_uuid(response.text))
    await settle(app)
    old_sent = ids[:4]
    new_sent = ids[4]
    old_queued = ids[5]
    async with database.session() as session:  # one never delivered (the mail server down)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == old_queued)
            .values(status="queued", sent_at=None, next_attempt_at=utcnow() + timedelta(hours=1))
        )
    for message_id in [*old_sent, old_queued]:
        await _age(database, message_id, days=31)
    outbox = tmp_path / "data" / "outbox"
    files = sorted(p.name for p in outbox.iterdir())
    assert len(files) == 6
    old_stamp = (datetime.now(UTC) - timedelta(days=31)).strftime(TIME_FORMAT)
    old_file = outbox / f"{old_stamp}-email-{uuid.uuid4()}.eml"
    os.replace(outbox / files[0], old_file)
    stray = outbox / "notes.txt"  # not the outbox channel's: left alone
    stray.write_text("kept")

    assert await notify.purge() == 4

    async with database.session() as session:
        left = set((await session.execute(select(OutboxMessage.id))).scalars())
        attempts_left = {
            a.message_id for a in (await session.execute(select(NotificationAttempt))).scalars()
        }
    assert left == {new_sent, old_queued}
    assert attempts_left == {new_sent, old_queued}
    remaining = {p.name for p in outbox.iterdir()}
    assert old_file.name not in remaining
    assert remaining == {*files[1:], "notes.txt"}
    assert await notify.purge() == 0  # safe to run again
    await database.dispose()
