"""Telling a waiting run's user on their channels, and showing an answer everywhere.

`Feedback` is the approvals listener (approvals/hooks.py). `requested` queues one
`send_approval_notice` job per approval (key `approval-notice:<id>`); the job walks the user's
channels in their order and stops at the first that delivers:

- Slack delivers at once or not at all (chat.postMessage answers `ok` or an error), so a
  refusal or an unreachable API moves on to the next channel at once.
- Email goes through the notification outbox (notify/), whose delivery is asynchronous and
  retried. Its notice waits in `queued`; the `sweep_approval_notices` cron job (every minute)
  reads the outbox message's attempts: one delivered makes the notice `sent`, one failed
  makes it `failed` and queues the job again, which tries the next channel (the outbox keeps
  retrying the email meanwhile: if it arrives later, its link still answers, or says the
  approval was answered).

Each channel's notice is a row of `approval_notices`, unique per (approval, channel), inserted
before anything is sent: a job run twice (at once or later) sends once. `resolved` queues
`resolve_approval_notices` (key `approval-resolved:<id>`), which edits the Slack message to
"Approved on email" and the like; an email's link page reads the approval and says it was
answered.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from confide.approvals import repository as approvals_repository
from confide.approvals.models import PENDING
from confide.approvals.schemas import ApprovalOut, approval_out
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.feedback import repository
from confide.feedback.models import FAILED, QUEUED, SENDING, SENT
from confide.feedback.service import Channels, channels_of, email_available
from confide.feedback.slack import PostedMessage, SlackMessages
from confide.jobs import JobQueue
from confide.notify import repository as notify_repository
from confide.notify.service import Notifications
from confide.storage.codec import Vault

if TYPE_CHECKING:
    from confide.approvals.service import ApprovalService
    from confide.config import Settings

log = logging.getLogger("confide.feedback")

SEND_JOB = "send_approval_notice"
RESOLVE_JOB = "resolve_approval_notices"
SWEEP_JOB = "sweep_approval_notices"
SWEEP_CRON = "* * * * *"
SWEEP_BATCH = 200
TOKEN_BYTES = 32  # 256 bits
EMAIL_PURPOSE = "approval_request"


def token_hash(token: str) -> str:
    """What is stored of an email link's token (SHA-256, hex): the token is only in the mail."""
    return hashlib.sha256(token.encode()).hexdigest()


def public_base(settings: Settings) -> str:
    """Where links point: CONFIDE_PUBLIC_URL, else the address Confide listens on (a job has
    no request to take an address from)."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


@dataclass(frozen=True, slots=True)
class _Pending:
    approval: ApprovalOut
    user_id: uuid.UUID
    channels: Channels
    email: str | None
    notices: dict[str, str]  # channel -> status


class Feedback:
    """The feedback feature's service: the approvals listener, its jobs, and the Slack and
    email answers' checks (app.state.feedback)."""

    def __init__(
        self,
        *,
        database: Database,
        vault: Vault,
        notify: Notifications,
        public_url: str,
        slack: SlackMessages | None = None,
        slack_signing_secret: str | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.notify = notify
        self.public_url = public_url
        self.slack = slack
        self.slack_signing_secret = slack_signing_secret
        # Set by create_app once they exist (the queue runs our jobs; approvals call us).
        self.jobs: JobQueue | None = None
        self.approvals: ApprovalService | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, database: Database, vault: Vault, notify: Notifications
    ) -> Feedback:
        """Slack is a channel only with both the bot token and the signing secret."""
        public_url = public_base(settings)
        slack = None
        secret = None
        if settings.slack_bot_token is not None and settings.slack_signing_secret is not None:
            slack = SlackMessages(
                token=settings.slack_bot_token.get_secret_value(),
                api_url=settings.slack_api_url,
                public_url=public_url,
            )
            secret = settings.slack_signing_secret.get_secret_value()
        return cls(
            database=database, vault=vault, notify=notify, public_url=public_url,
            slack=slack, slack_signing_secret=secret,
        )  # fmt: skip

    @property
    def slack_available(self) -> bool:
        return self.slack is not None

    # The listener (approvals/hooks.py) -------------------------------------------------------

    async def requested(self, approvals: list[ApprovalOut]) -> None:
        """Queue the notices of a run's new approvals (never raises: the run is paused)."""
        for approval in approvals:
            await self._enqueue(SEND_JOB, f"approval-notice:{approval.id}", approval.id)

    async def resolved(self, approval: ApprovalOut) -> None:
        """Queue the edit of the approval's Slack message (never raises)."""
        await self._enqueue(RESOLVE_JOB, f"approval-resolved:{approval.id}", approval.id)

    async def _enqueue(self, job: str, key: str, approval_id: uuid.UUID) -> None:
        if self.jobs is None:
            return
        try:
            await self.jobs.enqueue(job, key=key, approval_id=str(approval_id))
        except Exception:
            log.exception(
                "could not queue an approval notice", extra={"approval_id": str(approval_id)}
            )

    # The jobs --------------------------------------------------------------------------------

    async def send(self, approval_id: uuid.UUID) -> str | None:
        """Tell the user on the first of their channels that delivers (the
        `send_approval_notice` job); the channel that took it, or None. Safe to run twice:
        a channel with a notice is never sent to again, one that failed is skipped."""
        pending = await self._pending(approval_id)
        if pending is None:
            return None
        for channel in pending.channels.order:
            status = pending.notices.get(channel)
            if status == FAILED:
                continue
            if status is not None:  # sent, queued or being sent: nothing more to do
                return channel
            if channel == "slack" and await self._send_slack(pending):
                return channel
            if channel == "email" and await self._send_email(pending):
                return channel
        return None

    async def _pending(self, approval_id: uuid.UUID) -> _Pending | None:
        async with self.database.session() as session:
            row = await approvals_repository.get(session, approval_id, user_id=None)
            if row is None or row.status != PENDING or row.expires_at <= utcnow():
                return None
            codec = await self.vault.codec(session, row.user_id)
            return _Pending(
                approval=approval_out(codec, row),
                user_id=row.user_id,
                channels=await channels_of(session, codec, row.user_id),
                email=await email_available(session, row.user_id),
                notices={
                    n.channel: n.status for n in await repository.notices_of(session, approval_id)
                },
            )

    async def _send_slack(self, pending: _Pending) -> bool:
        member = pending.channels.slack_user_id
        if self.slack is None or member is None:
            return False
        approval = pending.approval
        async with self.database.session() as session:
            notice_id = await repository.claim_notice(
                session, approval_id=approval.id, user_id=pending.user_id, channel="slack",
                status=SENDING,
            )  # fmt: skip
        if notice_id is None:  # another run of the job has it
            return True
        try:
            posted = await self.slack.post(member, approval)
        except Exception as exc:
            log.warning(
                f"slack notice failed: {type(exc).__name__}",
                extra={"approval_id": str(approval.id)},
            )
            async with self.database.session() as session:
                await repository.set_notice(
                    session, notice_id, status=FAILED, error=_slack_error(exc)
                )
            return False
        async with self.database.session() as session:
            await repository.set_notice(session, notice_id, status=SENT, ref=posted.ref)
        # Answered while the message was on its way: the resolve job found nothing to edit.
        await self._edit_if_answered(approval.id, posted)
        return True

    async def _send_email(self, pending: _Pending) -> bool:
        if pending.email is None:
            return False
        approval = pending.approval
        token = secrets.token_urlsafe(TOKEN_BYTES)
        async with self.database.session() as session:
            notice_id = await repository.claim_notice(
                session, approval_id=approval.id, user_id=pending.user_id, channel="email",
                status=QUEUED, token_hash=token_hash(token),
            )  # fmt: skip
            if notice_id is None:
                return True
            subject, text = email_text(
                approval, link=f"{self.public_url}/approvals/respond/{token}",
                thread_link=f"{self.public_url}/chat/{approval.thread_id}",
            )  # fmt: skip
            message_id = await self.notify.email(
                session, to=pending.email, subject=subject, text=text, purpose=EMAIL_PURPOSE,
                user_id=pending.user_id,
            )  # fmt: skip
            await repository.set_notice(session, notice_id, status=QUEUED, ref=str(message_id))
        return True

    async def sweep(self) -> int:
        """Settle queued email notices from their outbox message's attempts (the
        `sweep_approval_notices` cron job): delivered -> `sent`; failed -> `failed`, and the
        next channel is tried. Returns how many fell back."""
        fell_back: list[uuid.UUID] = []
        async with self.database.session() as session:
            for notice in await repository.queued_emails(session, limit=SWEEP_BATCH):
                if notice.ref is None:
                    continue
                attempts = await notify_repository.attempts_of(session, uuid.UUID(notice.ref))
                statuses = {attempt.status for attempt in attempts}
                if "sent" in statuses:
                    await repository.set_notice(session, notice.id, status=SENT, only_if=QUEUED)
                elif statuses & {"retry", "failed"} and await repository.set_notice(
                    session, notice.id, status=FAILED, error="email not delivered",
                    only_if=QUEUED,
                ):  # fmt: skip
                    fell_back.append(notice.approval_id)
        for approval_id in fell_back:
            await self._enqueue(
                SEND_JOB, f"approval-notice:{approval_id}:email-failed", approval_id
            )
        return len(fell_back)

    async def resolve(self, approval_id: uuid.UUID) -> bool:
        """Edit the approval's Slack message to show its answer (the
        `resolve_approval_notices` job); whether a message was edited."""
        async with self.database.session() as session:
            notice = await repository.slack_notice(session, approval_id)
        if notice is None or notice.status != SENT or notice.ref is None:
            return False
        return await self._edit_if_answered(approval_id, PostedMessage.from_ref(notice.ref))

    async def _edit_if_answered(self, approval_id: uuid.UUID, posted: PostedMessage) -> bool:
        if self.slack is None:
            return False
        async with self.database.session() as session:
            row = await approvals_repository.get(session, approval_id, user_id=None)
            if row is None or row.status == PENDING:
                return False
            approval = approval_out(await self.vault.codec(session, row.user_id), row)
        try:
            await self.slack.resolve(posted, approval)
        except Exception as exc:
            log.warning(
                f"slack message not updated: {type(exc).__name__}",
                extra={"approval_id": str(approval_id)},
            )
            return False
        return True


def _slack_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    error = response.get("error") if response is not None else None
    return str(error or type(exc).__name__)


def email_text(approval: ApprovalOut, *, link: str, thread_link: str) -> tuple[str, str]:
    """The mail: what waits, and the link; not the arguments or the question (they are on the
    link's page: a mail passes through servers, and stays in mailboxes)."""
    expires = _when(approval.expires_at)
    if approval.kind == "question":
        subject = "Confide: an agent asks you a question"
        what = "An agent in Confide asks you a question and waits for your answer."
    else:
        subject = "Confide: an agent waits for your approval"
        what = f"An agent in Confide waits for your approval to call the tool {approval.tool}."
    text = (
        f"{what}\n\n"
        f"See what it asks and answer (the link works once, until {expires}):\n{link}\n\n"
        f"Or answer in the conversation: {thread_link}\n\n"
        "Not expecting this? Ignore it: without an answer the request is denied when it "
        "expires.\n"
    )
    return subject, text


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")
