"""Approvals over Slack, against a local server speaking Slack's Web API: the message with its
buttons, a verified button press answering, the edit once answered, and what is refused."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tests.conftest import client_for
from tests.factories import assert_problem
from tests.feedback.conftest import (
    MEMBER_ID,
    FakeSlack,
    approval_mails,
    button_press,
    mail_link,
    press,
    settled,
    signed,
    verified_user,
    waiting_run,
)
from tests.notify.servers import Inbox

ADD = 'call add with {"a": 2, "b": 3}'


async def test_a_waiting_run_posts_buttons_and_a_press_approves(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str], smtp: tuple[Inbox, int]
) -> None:
    state, _ = slack
    async with waiting_run(channel_app, ["slack", "email"], ADD) as run:
        (posted,) = state.posted()
        assert posted["channel"] == MEMBER_ID
        blocks: list[dict[str, Any]] = posted["blocks"]
        buttons = blocks[-1]["elements"]
        assert [b["action_id"] for b in buttons[:2]] == ["confide:approve", "confide:deny"]
        assert {b.get("value") for b in buttons[:2]} == {run.approval["id"]}
        assert '"a": 2' in blocks[1]["text"]["text"]
        assert approval_mails(smtp[0]) == []  # Slack delivered: no email

        pressed = await press(run.client, button_press(run.approval["id"], "approve"))
        assert pressed.status_code == 200, pressed.text
        assert pressed.json() == {"outcome": "answered"}
        await settled(run.app)

        decided = await run.now()
        assert decided["status"] == "approved"
        assert decided["channel"] == "slack"
        (edit,) = state.updates()
        assert edit["text"] == "Approved on slack"
        assert edit["ts"] in state.messages
        assert all(block["type"] != "actions" for block in edit["blocks"])


async def test_a_refused_slack_message_falls_back_to_email(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str], smtp: tuple[Inbox, int]
) -> None:
    state, _ = slack
    state.post_error = "channel_not_found"
    async with waiting_run(channel_app, ["slack", "email"], ADD) as run:
        assert len(state.posted()) == 1  # tried once, refused
        (mail,) = approval_mails(smtp[0])
        assert "add" in mail
        page = await run.client.get(mail_link(smtp[0]))
        assert page.status_code == 200
        assert run.approval["tool"] in page.text

        # The job again (a retry, a second worker): nothing is sent twice.
        assert await run.app.state.feedback.send(_uuid(run.approval["id"])) == "email"
        await settled(run.app)
        assert len(state.posted()) == 1
        assert len(approval_mails(smtp[0])) == 1


async def test_a_job_run_twice_posts_once(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str]
) -> None:
    state, _ = slack
    async with waiting_run(channel_app, ["slack", "email"], ADD) as run:
        assert await run.app.state.feedback.send(_uuid(run.approval["id"])) == "slack"
        assert len(state.posted()) == 1


async def test_an_answer_on_the_web_edits_the_message_and_a_later_press_is_too_late(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str]
) -> None:
    state, _ = slack
    async with waiting_run(channel_app, ["slack", "email"], ADD) as run:
        web = await run.client.post(
            f"/api/runs/{run.approval['run_id']}/approvals/{run.approval['id']}",
            json={"decision": "deny", "reason": "not now"},
            headers=run.headers,
        )
        assert web.status_code == 200, web.text
        await settled(run.app)
        (edit,) = state.updates()
        assert edit["text"] == "Denied on web"

        late = await press(run.client, button_press(run.approval["id"], "approve"))
        assert late.status_code == 200
        assert late.json() == {"outcome": "already_answered"}
        await settled(run.app)
        decided = await run.now()
        assert (decided["status"], decided["channel"]) == ("denied", "web")
        # The message still (again) says how it was answered.
        assert [u["text"] for u in state.updates()] == ["Denied on web", "Denied on web"]
        (message,) = state.messages.values()
        assert message["text"] == "Denied on web"


async def test_a_bad_signature_or_an_old_timestamp_is_refused(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str]
) -> None:
    async with waiting_run(channel_app, ["slack", "email"], ADD) as run:
        payload = button_press(run.approval["id"], "approve")

        forged = await press(run.client, payload, secret="not-the-signing-secret")
        assert_problem(forged, 401, "slack_signature_invalid")
        stale = await press(run.client, payload, at=int(time.time()) - 6 * 60)
        assert_problem(stale, 401, "slack_signature_invalid")
        body, signed_headers = signed(payload)
        tampered = await run.client.post(
            "/api/slack/interactions",
            content=body.replace("approve", "deny"),
            headers=signed_headers,
        )
        assert_problem(tampered, 401, "slack_signature_invalid")
        unsigned = await run.client.post(
            "/api/slack/interactions",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_problem(unsigned, 401, "slack_signature_invalid")
        genuine = await press(run.client, payload)
        assert genuine.status_code == 200  # the same payload, properly signed, is taken
        await settled(run.app)
        assert (await run.now())["status"] == "approved"


async def test_a_press_by_another_slack_member_is_refused(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str]
) -> None:
    async with waiting_run(channel_app, ["slack", "email"], ADD) as run:
        stranger = await press(
            run.client, button_press(run.approval["id"], "approve", member="U0SOMEONE")
        )
        assert_problem(stranger, 403, "slack_user_mismatch")
        unknown = await press(run.client, button_press(str(uuid.uuid4()), "approve"))
        assert_problem(unknown, 403, "slack_user_mismatch")
        assert (await run.now())["status"] == "pending"


async def test_a_question_gets_a_button_per_choice(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str]
) -> None:
    state, _ = slack
    ask = 'call ask_user with {"question": "Which colour?", "choices": ["red", "blue"]}'
    async with waiting_run(channel_app, ["slack", "email"], ask) as run:
        assert run.approval["kind"] == "question"
        (posted,) = state.posted()
        buttons = posted["blocks"][-1]["elements"]
        assert [b["text"]["text"] for b in buttons] == ["red", "blue", "Open in Confide"]
        assert buttons[-1]["url"] == f"https://chat.example.org/chat/{run.approval['thread_id']}"
        assert "Which colour?" in posted["blocks"][1]["text"]["text"]

        link = await press(run.client, button_press(run.approval["id"], "open"))
        assert link.json() == {"outcome": "ignored"}
        out_of_range = await press(run.client, button_press(run.approval["id"], "choice:7"))
        assert_problem(out_of_range, 400, "slack_payload_invalid")
        chosen = await press(run.client, button_press(run.approval["id"], "choice:1"))
        assert chosen.json() == {"outcome": "answered"}
        await settled(run.app)
        decided = await run.now()
        assert (decided["status"], decided["answer"]) == ("answered", "blue")
        assert state.updates()[-1]["text"] == "Answered on slack"


async def test_slack_arguments_cannot_mention_or_link(
    channel_app: Callable[..., FastAPI], slack: tuple[FakeSlack, str]
) -> None:
    state, _ = slack
    ask = 'call ask_user with {"question": "<!channel> see <http://x|y>"}'
    async with waiting_run(channel_app, ["slack", "email"], ask):
        text = state.posted()[0]["blocks"][1]["text"]["text"]
        assert "<!channel>" not in text
        assert "&lt;!channel&gt;" in text


async def test_without_slack_the_endpoint_and_the_channel_are_unavailable(
    channel_app: Callable[..., FastAPI],
) -> None:
    app = channel_app(slack_bot_token=None, slack_signing_secret=None)
    async with client_for(app) as client:
        _, headers = await verified_user(app, client)
        got = await client.get("/api/me/channels", headers=headers)
        assert got.json()["slack_available"] is False
        refused = await client.put(
            "/api/me/channels",
            json={"order": ["slack"], "slack_user_id": MEMBER_ID},
            headers=headers,
        )
        assert_problem(refused, 422, "channel_unavailable")
        pressed = await press(client, button_press(str(uuid.uuid4()), "approve"))
        assert_problem(pressed, 404, "slack_not_configured")


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)
