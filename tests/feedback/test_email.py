"""Approvals over email, with the real SMTP test server: the mail, its single-use link's
confirmation page (GET changes nothing), the answer (POST), and what a spent, unknown or
expired link shows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select, update

from confide.approvals.models import Approval
from confide.db.base import utcnow
from confide.feedback.models import ApprovalNotice
from confide.feedback.notices import token_hash
from tests.feedback.conftest import (
    MEMBER_ID,
    FakeSlack,
    approval_mails,
    button_press,
    mail_link,
    press,
    settled,
    waiting_run,
)
from tests.notify.servers import Inbox, free_port

ADD = 'call add with {"a": 2, "b": 3}'


async def test_the_mail_link_shows_the_call_and_answers_once(
    channel_app: Callable[..., FastAPI], smtp: tuple[Inbox, int], slack: tuple[FakeSlack, str]
) -> None:
    async with waiting_run(channel_app, ["email"], ADD) as run:
        assert slack[0].posted() == []  # email only

        (mail,) = approval_mails(smtp[0])
        assert "add" in mail
        assert '"a"' not in mail  # the arguments stay on the page, out of mailboxes
        path = mail_link(smtp[0])
        token = path.rsplit("/", 1)[1]
        assert len(token) >= 43  # 32 random bytes

        for _ in range(2):  # previews and scanners open links: nothing changes
            page = await run.client.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-store"
            assert page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["referrer-policy"] == "no-referrer"
            csp = page.headers["content-security-policy"]
            assert "default-src 'none'" in csp
            assert "form-action 'self'" in csp
            assert "script-src" not in csp
            assert "<script" not in page.text
            assert "<pre>{\n  &quot;a&quot;: 2,\n  &quot;b&quot;: 3\n}</pre>" in page.text
            assert 'value="approve"' in page.text
            assert 'value="deny"' in page.text
        assert (await run.now())["status"] == "pending"

        answered = await run.client.post(path, data={"decision": "approve", "reason": "fine"})
        assert answered.status_code == 200, answered.text
        assert "Approved on email" in answered.text
        await settled(run.app)
        decided = await run.now()
        assert (decided["status"], decided["channel"]) == ("approved", "email")
        assert decided["reason"] == "fine"

        again = await run.client.post(path, data={"decision": "deny"})
        assert again.status_code == 410
        assert "Already answered" in again.text
        shown = await run.client.get(path)
        assert shown.status_code == 410
        assert "Approved on email" in shown.text
        assert (await run.now())["status"] == "approved"

        async with run.app.state.database.begin() as conn:
            stored = (
                await conn.execute(select(ApprovalNotice.token_hash, ApprovalNotice.used_at))
            ).one()
        assert stored.token_hash == token_hash(token) != token
        assert stored.used_at is not None


async def test_a_denial_by_link_takes_its_reason(
    channel_app: Callable[..., FastAPI], smtp: tuple[Inbox, int]
) -> None:
    async with waiting_run(channel_app, ["email"], ADD) as run:
        bad = await run.client.post(mail_link(smtp[0]), data={"decision": "maybe"})
        assert bad.status_code == 422
        assert (await run.now())["status"] == "pending"
        denied = await run.client.post(
            mail_link(smtp[0]), data={"decision": "deny", "reason": "wrong numbers"}
        )
        assert denied.status_code == 200
        assert "Denied on email" in denied.text
        await settled(run.app)
        decided = await run.now()
        assert (decided["status"], decided["reason"]) == ("denied", "wrong numbers")


async def test_a_question_by_link_is_answered_with_a_choice(
    channel_app: Callable[..., FastAPI], smtp: tuple[Inbox, int]
) -> None:
    ask = 'call ask_user with {"question": "Which <b>colour</b>?", "choices": ["red", "blue"]}'
    async with waiting_run(channel_app, ["email"], ask) as run:
        path = mail_link(smtp[0])
        page = await run.client.get(path)
        assert "Which &lt;b&gt;colour&lt;/b&gt;?" in page.text
        assert 'type="radio" name="answer" value="blue"' in page.text
        wrong = await run.client.post(path, data={"decision": "approve", "answer": "green"})
        assert wrong.status_code == 422
        answered = await run.client.post(path, data={"decision": "approve", "answer": "blue"})
        assert answered.status_code == 200, answered.text
        await settled(run.app)
        decided = await run.now()
        assert (decided["status"], decided["answer"], decided["channel"]) == (
            "answered",
            "blue",
            "email",
        )


async def test_unknown_and_expired_links_say_so(
    channel_app: Callable[..., FastAPI], smtp: tuple[Inbox, int]
) -> None:
    async with waiting_run(channel_app, ["email"], ADD) as run:
        path = mail_link(smtp[0])

        for unknown in (
            path + "x",
            "/approvals/respond/" + "A" * 43,
            "/approvals/respond/" + "A" * 200,
        ):
            missing = await run.client.get(unknown)
            assert missing.status_code == 404
            assert "This link is not valid" in missing.text
            posted = await run.client.post(unknown, data={"decision": "approve"})
            assert posted.status_code == 404

        async with run.app.state.database.begin() as conn:
            await conn.execute(
                update(Approval)
                .where(Approval.id == uuid.UUID(run.approval["id"]))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        late = await run.client.get(path)
        assert late.status_code == 410
        assert "expired" in late.text
        assert (await run.client.post(path, data={"decision": "approve"})).status_code == 410
        assert await run.app.state.approvals.expire() == 1
        await settled(run.app)
        shown = await run.client.get(path)
        assert shown.status_code == 410
        assert "This request has expired" in shown.text
        assert (await run.now())["status"] == "expired"


async def test_two_channels_answering_at_once_resolve_it_once(
    channel_app: Callable[..., FastAPI], smtp: tuple[Inbox, int], slack: tuple[FakeSlack, str]
) -> None:
    """Slack refuses, so the email goes out; then the Slack button (posted by hand here) and
    the email link answer at the same moment: one wins, the other hears it was answered."""
    state, _ = slack
    state.post_error = "ratelimited"
    async with waiting_run(channel_app, ["slack", "email"], ADD) as run:
        path = mail_link(smtp[0])
        by_slack, by_email = await asyncio.gather(
            press(run.client, button_press(run.approval["id"], "approve")),
            run.client.post(path, data={"decision": "deny"}),
        )
        await settled(run.app)
        decided = await run.now()
        outcomes = {by_slack.json()["outcome"], by_email.status_code}
        if decided["channel"] == "slack":
            assert decided["status"] == "approved"
            assert outcomes == {"answered", 410}
        else:
            assert (decided["status"], decided["channel"]) == ("denied", "email")
            assert outcomes == {"already_answered", 200}
        shown = await run.client.get(path)
        assert shown.status_code == 410


async def test_an_email_that_cannot_be_delivered_falls_back_to_slack(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str]
) -> None:
    """SMTP is down: the email's first attempt fails (the outbox keeps retrying it), the
    sweep sees it and Slack is tried next."""
    state, _ = slack
    async with waiting_run(channel_app, ["email", "slack"], ADD, smtp_port=free_port()) as run:
        assert state.posted() == []
        assert await run.app.state.feedback.sweep() == 1
        await settled(run.app)
        (posted,) = state.posted()
        assert posted["channel"] == MEMBER_ID
        assert posted["blocks"][-1]["elements"][0]["value"] == run.approval["id"]
        assert await run.app.state.feedback.sweep() == 0  # settled: nothing falls back twice
        async with run.app.state.database.begin() as conn:
            rows = dict(
                (await conn.execute(select(ApprovalNotice.channel, ApprovalNotice.status))).all()
            )
        assert rows == {"email": "failed", "slack": "sent"}


async def test_a_delivered_email_is_marked_sent_by_the_sweep(
    channel_app: Callable[..., FastAPI], smtp: tuple[Inbox, int]
) -> None:
    async with waiting_run(channel_app, ["email", "slack"], ADD) as run:
        assert await run.app.state.feedback.sweep() == 0
        async with run.app.state.database.begin() as conn:
            status = (await conn.execute(select(ApprovalNotice.status))).scalar_one()
        assert status == "sent"
