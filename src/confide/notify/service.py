"""Queue a message in the caller's transaction; deliver it from a job, with retries.

`email` and `sms` only insert a row of the outbox; once the caller's transaction commits, a
`deliver_notification` job is queued for it. Sending never happens on a request's path, so a
slow or dead mail server never slows a sign-in, and a message is not lost by a restart: the
`sweep_notifications` cron job (every minute) queues every message that is due, whether its
job was lost with a process, never queued (a transaction outside a request), or waiting out a
back-off.

An SMS Telesign takes is only "in progress": it waits in status `accepted` (its body kept, for
the fallback email) while the `check_sms_status` job asks Telesign how it fared, queued by the
sweep when a check is due (30 s after sending, then 30 s, 1, 2, 4, 4, 4 min: about 16 minutes
in all, after which the outcome is recorded as "unknown"). An undelivered SMS then goes to its
fallback email, once: of two checks that read the same final status, one closes the message.

The `purge_notifications` cron job (daily) deletes sent and given-up messages, their attempts
and the outbox channel's files once they are older than CONFIDE_NOTIFICATION_RETENTION_DAYS.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.emails import email_key
from confide.db.base import utcnow
from confide.db.engine import Database, on_commit
from confide.notify import repository
from confide.notify.channels import (
    Channel,
    DeliveryFailed,
    DeliveryReport,
    MessageKind,
    OutgoingMessage,
    ReportingChannel,
)
from confide.notify.models import NotificationAttempt, OutboxMessage
from confide.notify.outbox import OutboxChannel, purge_outbox_files
from confide.notify.smtp import SmtpChannel
from confide.notify.telesign import TelesignChannel, phone_digits

if TYPE_CHECKING:
    from confide.config import Settings
    from confide.jobs import JobQueue

T = TypeVar("T")
log = logging.getLogger("confide.notify")

DELIVER_JOB = "deliver_notification"
SWEEP_JOB = "sweep_notifications"
SWEEP_CRON = "* * * * *"
# A delivery holds its message this long: past it (its process died mid-send), the sweep
# hands the message to another. Longer than the deliver job may run (DELIVER_TIMEOUT_SECONDS).
CLAIM_SECONDS = 300
DELIVER_TIMEOUT_SECONDS = 120.0
# Back-off after a failure that may pass: 30 s, doubling, at most an hour.
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
SWEEP_BATCH = 500
STATUS_JOB = "check_sms_status"
# Delivery reports: first asked this long after sending, then after as long again as the
# message has waited (30 s, 1, 2, 4 min...), at most 4 minutes apart; given up ("unknown")
# once the message has waited this long (Telesign keeps a status 12 hours; an SMS that has
# not arrived in a quarter of an hour is not worth waiting for).
STATUS_FIRST_CHECK_SECONDS = 30
STATUS_MAX_DELAY_SECONDS = 240
STATUS_GIVE_UP_SECONDS = 900
STATUS_TIMEOUT_SECONDS = 60.0
PURGE_JOB = "purge_notifications"
PURGE_CRON = "41 3 * * *"  # daily, 03:41 UTC
PURGE_BATCH = 1000


def recipient_hash(kind: str, recipient: str) -> str:
    """SHA-256 (hex) of the normalised recipient: an email's uniqueness key (auth.emails), a
    phone number's digits."""
    normal = email_key(recipient) if kind == "email" else phone_digits(recipient)
    return hashlib.sha256(normal.encode()).hexdigest()


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    )


def status_delay(waited: timedelta) -> timedelta:
    """How long to wait for the next status check of a message accepted `waited` ago."""
    seconds = max(waited.total_seconds(), STATUS_FIRST_CHECK_SECONDS)
    return timedelta(seconds=min(seconds, STATUS_MAX_DELAY_SECONDS))


def fallback_subject(purpose: str) -> str:
    return f"Confide: {purpose.replace('_', ' ')}"


class Notifications:
    """The notify feature's service: what other features call to send email and SMS."""

    def __init__(
        self,
        *,
        database: Database,
        email_channel: Channel,
        sms_channel: Channel,
        max_attempts: int = 8,
        jobs: JobQueue | None = None,
        retention_days: int = 30,
        outbox_dir: Path | None = None,
    ) -> None:
        self.database = database
        self.email_channel = email_channel
        self.sms_channel = sms_channel
        self.max_attempts = max_attempts
        self.retention = timedelta(days=retention_days)
        # The outbox channel's files, purged with the messages (whatever the channels are now:
        # a server may have used the outbox before mail was set up).
        self.outbox_dir = outbox_dir
        # Set by create_app once the queue exists (the queue's jobs call this service).
        self.jobs = jobs
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings, *, database: Database) -> Notifications:
        """The channels the settings choose (CONFIDE_EMAIL_CHANNEL, CONFIDE_SMS_CHANNEL)."""
        return cls(
            database=database,
            email_channel=email_channel(settings),
            sms_channel=sms_channel(settings),
            max_attempts=settings.notify_max_attempts,
            retention_days=settings.notification_retention_days,
            outbox_dir=settings.data_dir / "outbox",
        )

    # Queueing (in the caller's transaction) ---------------------------------------------------

    async def email(
        self,
        session: AsyncSession,
        *,
        to: str,
        subject: str,
        text: str,
        purpose: str,
        user_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue an email; it is sent by a job once the caller's transaction commits."""
        _check_header("subject", subject)
        return await self._queue(
            session, kind="email", to=to, subject=subject, text=text, purpose=purpose,
            user_id=user_id, fallback_email=None,
        )  # fmt: skip

    async def sms(
        self,
        session: AsyncSession,
        *,
        to: str,
        text: str,
        purpose: str,
        user_id: uuid.UUID | None = None,
        fallback_email: str | None = None,
    ) -> uuid.UUID:
        """Queue an SMS; if it cannot be delivered, it goes to `fallback_email` as an email."""
        if fallback_email is not None:
            _check_recipient(fallback_email)
        return await self._queue(
            session, kind="sms", to=to, subject="", text=text, purpose=purpose,
            user_id=user_id, fallback_email=fallback_email,
        )  # fmt: skip

    async def _queue(
        self,
        session: AsyncSession,
        *,
        kind: MessageKind,
        to: str,
        subject: str,
        text: str,
        purpose: str,
        user_id: uuid.UUID | None,
        fallback_email: str | None,
    ) -> uuid.UUID:
        to = to.strip()
        _check_recipient(to)
        message = OutboxMessage(
            id=uuid.uuid4(),
            kind=kind,
            recipient=to,
            recipient_hash=recipient_hash(kind, to),
            subject=subject,
            body=text,
            purpose=purpose,
            user_id=user_id,
            status="queued",
            attempts=0,
            next_attempt_at=utcnow(),
            fallback_email=fallback_email,
        )
        session.add(message)
        await session.flush()
        message_id = message.id
        on_commit(session, lambda: self._enqueue_soon(message_id))
        return message_id

    def _enqueue_soon(self, message_id: uuid.UUID) -> None:
        # on_commit callbacks are plain functions: the enqueue is a task of its own (kept
        # referenced until done).
        task = asyncio.get_running_loop().create_task(self._enqueue(message_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _enqueue(self, message_id: uuid.UUID, *, job: str = DELIVER_JOB) -> None:
        if self.jobs is None:
            return
        key = str(message_id) if job == DELIVER_JOB else f"{job}:{message_id}"
        try:
            await self.jobs.enqueue(job, key=key, message_id=str(message_id))
        except Exception:
            # Stored all the same: the next sweep queues it.
            log.warning("notification not queued", extra={"message_id": str(message_id)})

    async def drain(self) -> None:
        """Wait for the enqueues started by commits so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # Delivery (the jobs) -------------------------------------------------------------------

    async def deliver(self, message_id: uuid.UUID) -> None:
        """Try to deliver one message (the `deliver_notification` job). Safe to run twice, at
        once or later: the message is claimed first, and a sent one is never sent again."""
        now = utcnow()
        async with self.database.session() as session:
            message = await repository.claim(
                session, message_id, now=now, until=now + timedelta(seconds=CLAIM_SECONDS)
            )
            if message is None:  # sent, given up, not due yet, or being delivered elsewhere
                return
            outgoing = OutgoingMessage(
                kind="email" if message.kind == "email" else "sms",
                to=message.recipient,
                subject=message.subject,
                text=message.body,
                purpose=message.purpose,
                message_id=message.id,
            )
            attempts, fallback = message.attempts, message.fallback_email
            hashed, user_id = message.recipient_hash, message.user_id
        channel = self.email_channel if outgoing.kind == "email" else self.sms_channel
        sent, failure = await _attempt(channel.send(outgoing), "send", message_id)
        done = utcnow()
        async with self.database.session() as session:
            if sent is not None and sent.pending and isinstance(channel, ReportingChannel):
                status = "sent"  # taken; the attempt gets its outcome from check_status
                await repository.accept(
                    session, message_id, at=done,
                    check_at=done + timedelta(seconds=STATUS_FIRST_CHECK_SECONDS),
                )  # fmt: skip
            elif sent is not None:
                status = "sent"
                await repository.finish(session, message_id, status="sent", at=done)
            elif failure is not None and failure.retryable and attempts < self.max_attempts:
                status = "retry"
                await repository.retry_at(session, message_id, at=done + backoff(attempts))
            else:
                status = "failed"
                await repository.finish(session, message_id, status="failed", at=done)
                if outgoing.kind == "sms" and fallback:
                    await self._fall_back(
                        session, to=fallback, text=outgoing.text, purpose=outgoing.purpose,
                        user_id=user_id,
                    )  # fmt: skip
            await repository.add_attempt(
                session,
                NotificationAttempt(
                    message_id=message_id,
                    at=done,
                    channel=channel.name,
                    recipient_hash=hashed,
                    status=status,
                    provider_ref=sent.provider_ref[:200] if sent is not None else None,
                    error=_scrub(failure.reason, outgoing) if failure is not None else None,
                ),
            )
        log.info(
            "notification %s",
            status,
            extra={
                "message_id": str(message_id),
                "kind": outgoing.kind,
                "purpose": outgoing.purpose,
                "channel": channel.name,
                "recipient_hash": hashed,
                "attempt": attempts,
            },
        )

    async def _fall_back(
        self, session: AsyncSession, *, to: str, text: str, purpose: str,
        user_id: uuid.UUID | None,
    ) -> None:  # fmt: skip
        # Queued once the caller's transaction commits (on_commit), like any other email.
        await self._queue(
            session, kind="email", to=to, subject=fallback_subject(purpose), text=text,
            purpose=purpose, user_id=user_id, fallback_email=None,
        )  # fmt: skip

    async def check_status(self, message_id: uuid.UUID) -> None:
        """Ask the SMS channel whether an accepted message was delivered (the
        `check_sms_status` job); record the outcome on its attempt, or check again later.
        Safe to run twice: the check is claimed, and only one check closes the message."""
        channel = self.sms_channel
        if not isinstance(channel, ReportingChannel):
            return
        now = utcnow()
        async with self.database.session() as session:
            message = await repository.claim_check(
                session, message_id, now=now, until=now + timedelta(seconds=CLAIM_SECONDS)
            )
            if message is None:  # closed, not due yet, or being checked elsewhere
                return
            provider_ref = await repository.delivered_ref(session, message_id)
            accepted_at = message.sent_at or message.created_at
            fallback, text, purpose = message.fallback_email, message.body, message.purpose
            hashed, user_id = message.recipient_hash, message.user_id
        report: DeliveryReport | None = None
        failure: DeliveryFailed | None = None
        if provider_ref is None:
            failure = DeliveryFailed("no provider reference", retryable=False)
        else:
            report, failure = await _attempt(channel.report(provider_ref), "report", message_id)
        done = utcnow()
        outcome = report.outcome if report is not None else "pending"
        may_wait = failure is None or failure.retryable
        if (
            outcome == "pending"
            and may_wait
            and done - accepted_at < _seconds(STATUS_GIVE_UP_SECONDS)
        ):
            async with self.database.session() as session:
                await repository.check_again_at(
                    session, message_id, at=done + status_delay(done - accepted_at)
                )
            return
        status = "unknown" if outcome == "pending" else outcome
        detail = report.detail if report is not None else (failure.reason if failure else None)
        async with self.database.session() as session:
            if not await repository.settle_report(
                session, message_id, status="failed" if status == "failed" else "sent"
            ):
                return  # another check closed it first
            if provider_ref is not None:
                await repository.report_on_attempt(
                    session, message_id, provider_ref=provider_ref, status=status,
                    error=None if status == "delivered" else (detail or "")[:500] or None,
                )  # fmt: skip
            if status == "failed" and fallback:
                await self._fall_back(
                    session, to=fallback, text=text, purpose=purpose, user_id=user_id
                )
        log.info(
            "sms %s",
            status,
            extra={
                "message_id": str(message_id),
                "purpose": purpose,
                "channel": channel.name,
                "recipient_hash": hashed,
            },
        )

    async def sweep(self) -> None:
        """Queue a delivery for every message that is due (the `sweep_notifications` cron
        job): after a restart, a lost job, or a back-off; and a status check for every
        accepted SMS whose check is due."""
        async with self.database.session() as session:
            due = await repository.due_ids(session, now=utcnow(), limit=SWEEP_BATCH)
            checks = await repository.check_ids(session, now=utcnow(), limit=SWEEP_BATCH)
        for message_id in due:
            await self._enqueue(message_id)
        for message_id in checks:
            await self._enqueue(message_id, job=STATUS_JOB)

    async def purge(self) -> int:
        """Delete sent and given-up messages older than the retention, with their attempts,
        in batches, and the outbox channel's files as old (the `purge_notifications` cron
        job). A queued or accepted message is never deleted. Returns the messages deleted."""
        cutoff = utcnow() - self.retention
        deleted = 0
        while True:
            async with self.database.session() as session:
                batch = await repository.finished_before(session, cutoff=cutoff, limit=PURGE_BATCH)
                if batch:
                    await repository.delete_messages(session, batch)
            deleted += len(batch)
            if len(batch) < PURGE_BATCH:
                break
        if self.outbox_dir is not None:
            await asyncio.to_thread(purge_outbox_files, self.outbox_dir, before=cutoff)
        return deleted


async def _attempt(
    call: Awaitable[T], what: str, message_id: uuid.UUID
) -> tuple[T | None, DeliveryFailed | None]:
    """A channel's answer, or how it failed: its DeliveryFailed, or any other exception as a
    retryable failure (a channel's bug must not leave the message claimed)."""
    try:
        return await call, None
    except DeliveryFailed as exc:
        return None, exc
    except Exception as exc:
        log.exception("notification channel %s failed", what, extra={"message_id": str(message_id)})
        return None, DeliveryFailed(type(exc).__name__, retryable=True)


def email_channel(settings: Settings) -> Channel:
    """The channel emails go through."""
    if settings.email_channel == "smtp":
        assert settings.smtp_host is not None  # the settings' validator says so
        return SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    return OutboxChannel(settings.data_dir / "outbox", sender=settings.mail_from)


def sms_channel(settings: Settings) -> Channel:
    """The channel SMS go through."""
    if settings.sms_channel == "sms":
        assert settings.telesign_customer_id is not None
        assert settings.telesign_api_key is not None
        return TelesignChannel(
            base_url=settings.telesign_base_url,
            customer_id=settings.telesign_customer_id,
            api_key=settings.telesign_api_key.get_secret_value(),
        )
    return OutboxChannel(settings.data_dir / "outbox", sender=settings.mail_from)


def _seconds(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def _check_recipient(value: str) -> None:
    if not value.strip():
        raise ValueError("a message needs a recipient")
    _check_header("recipient", value)


def _check_header(what: str, value: str) -> None:
    # A line break in a header would let a value add headers of its own.
    if "\r" in value or "\n" in value:
        raise ValueError(f"a message's {what} cannot contain a line break")


def _scrub(reason: str, message: OutgoingMessage) -> str:
    """The failure's text without the recipient (a server's reply may quote it)."""
    return reason.replace(message.to, "<recipient>")[:500]
