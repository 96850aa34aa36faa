"""Mail through the real job queue: `confide serve` (CONFIDE_JOBS=external) queues on Redis
(SAQ), a separate `confide worker` delivers to a real SMTP server (aiosmtpd). A message asked
for while no worker runs waits in the queue, and is delivered once one starts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest
from aiosmtpd.smtp import Envelope

from tests.multihost.conftest import Cluster, Process, sign_up
from tests.notify.servers import Inbox, smtp_server

# A bound on a wait for something that happens, never a measure of speed.
DEADLINE_SECONDS = 90.0


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as served:
        yield served


@pytest.fixture(scope="module")
def mail_env(smtp: tuple[Inbox, int]) -> dict[str, str]:
    return {
        "CONFIDE_JOBS": "external",
        "CONFIDE_EMAIL_CHANNEL": "smtp",
        "CONFIDE_SMTP_HOST": "127.0.0.1",
        "CONFIDE_SMTP_PORT": str(smtp[1]),
        "CONFIDE_SMTP_SECURITY": "none",
    }


@pytest.fixture(scope="module")
def web(cluster: Cluster, mail_env: dict[str, str]) -> Process:
    return cluster.serve("mail-web", **mail_env)


def body(envelope: Envelope) -> str:
    assert isinstance(envelope.content, bytes)
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def mails_to(inbox: Inbox, address: str) -> list[str]:
    with inbox.changed:
        return [body(e) for e in inbox.envelopes if e.rcpt_tos == [address]]


async def arrival(inbox: Inbox, address: str, containing: str) -> str:
    """The body of the first mail to `address` containing `containing`, once it arrived."""

    def match(envelope: Envelope) -> bool:
        return envelope.rcpt_tos == [address] and containing in body(envelope)

    return body(await asyncio.to_thread(inbox.wait_for, match, DEADLINE_SECONDS))


async def test_a_reset_asked_for_with_no_worker_running_is_mailed_once_one_starts(
    cluster: Cluster, web: Process, smtp: tuple[Inbox, int], mail_env: dict[str, str]
) -> None:
    inbox, _ = smtp
    async with httpx.AsyncClient(base_url=web.base_url, timeout=DEADLINE_SECONDS) as client:
        account = await sign_up(client)
        asked = await client.post("/api/auth/password/forgot", json={"email": account.email})
        assert asked.status_code == 202, asked.text
        # The web process sends nothing itself (its jobs are external): nothing has arrived,
        # the verification mail of the sign-up and the reset wait in the queue.
        assert mails_to(inbox, account.email) == []
        cluster.worker("mail-worker", **mail_env)
        await arrival(inbox, account.email, "/verify-email?token=")
        reset = await arrival(inbox, account.email, "/reset-password?token=")
        token = reset.split("/reset-password?token=", 1)[1].split()[0]
        # The link works: the worker wrote the token the web process reads.
        done = await client.post(
            "/api/auth/password/reset",
            json={"token": token, "new_password": "a brand new passphrase 42"},
        )
        assert done.status_code == 204, done.text
        assert len([m for m in mails_to(inbox, account.email) if "reset-password" in m]) == 1
