"""Real parts for the channel tests: a local server speaking Slack's Web API (uvicorn in the
test's loop), the SMTP test server (aiosmtpd), an agent whose `add` needs approval, and
helpers that sign interaction payloads the way Slack does."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import update

from confide.auth.models import User
from tests.conftest import client_for, settle_jobs
from tests.factories import bearer, login, register
from tests.invariant import settle
from tests.live_server import serve
from tests.notify.servers import Inbox, smtp_server

BOT_TOKEN = "xoxb-test-bot-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MEMBER_ID = "U0TESTUSER1"
SETTLE_ROUNDS = 50

AGENTS = """\
[[agents]]
id = "careful"
name = "Careful"
description = "Asks before it adds."
default = true
tools = ["add", "ask_user"]
requires_approval = ["add"]
system_prompt = "You help {user_name}."
[agents.model]
provider = "scripted"
"""


@dataclass
class FakeSlack:
    """The local Slack: messages posted (by ts) and every call, in order."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # When set, chat.postMessage answers `ok: false` with this error (as Slack does: HTTP 200).
    post_error: str | None = None

    def posted(self) -> list[dict[str, Any]]:
        return [body for method, body in self.calls if method == "chat.postMessage"]

    def updates(self) -> list[dict[str, Any]]:
        return [body for method, body in self.calls if method == "chat.update"]


def slack_app(state: FakeSlack) -> FastAPI:
    """chat.postMessage and chat.update as Slack's Web API answers them: bearer bot token,
    JSON (or form) arguments, `{"ok": true, ...}` or `{"ok": false, "error": ...}`."""
    app = FastAPI()

    async def arguments(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            body: dict[str, Any] = await request.json()
            return body
        return {k: str(v) for k, v in (await request.form()).items()}

    def refuse(error: str) -> JSONResponse:
        return JSONResponse({"ok": False, "error": error})

    async def call(method: str, request: Request) -> dict[str, Any] | None:
        """The call's arguments (recorded), or None when the bot token is wrong."""
        if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            return None
        body = await arguments(request)
        state.calls.append((method, body))
        return body

    @app.post("/api/chat.postMessage")
    async def post_message(request: Request) -> JSONResponse:
        body = await call("chat.postMessage", request)
        if body is None:
            return refuse("invalid_auth")
        if state.post_error is not None:
            return refuse(state.post_error)
        if not str(body.get("channel", "")).startswith(("U", "W", "C", "D")):
            return refuse("channel_not_found")
        ts = f"{time.time():.6f}"
        channel = "D" + str(body["channel"])[1:]
        state.messages[ts] = {**body, "channel": channel}
        return JSONResponse({"ok": True, "channel": channel, "ts": ts, "message": body})

    @app.post("/api/chat.update")
    async def update_message(request: Request) -> JSONResponse:
        body = await call("chat.update", request)
        if body is None:
            return refuse("invalid_auth")
        message = state.messages.get(str(body.get("ts")))
        if message is None or message["channel"] != body.get("channel"):
            return refuse("message_not_found")
        message.update(text=body.get("text"), blocks=body.get("blocks"))
        return JSONResponse({"ok": True, "channel": body["channel"], "ts": body["ts"]})

    return app


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    """The local Slack and its Web API's base URL."""
    state = FakeSlack()
    async with serve(slack_app(state)) as address:
        yield state, f"http://{address}/api/"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as (inbox, port):
        yield inbox, port


@pytest.fixture
def channel_app(
    app_factory: Callable[..., FastAPI],
    tmp_path: Path,
    slack: tuple[FakeSlack, str],
    smtp: tuple[Inbox, int],
) -> Callable[..., FastAPI]:
    """An app whose default agent asks before `add`, with Slack and SMTP set up."""
    agents = tmp_path / "agents.toml"
    agents.write_text(AGENTS, encoding="utf-8")

    def make(**overrides: Any) -> FastAPI:
        values: dict[str, Any] = {
            "agents_file": agents,
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack[1],
            "email_channel": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "smtp_security": "none",
            "public_url": "https://chat.example.org",
            **overrides,
        }
        return app_factory(**values)

    return make


async def verified_user(
    app: FastAPI, client: httpx.AsyncClient
) -> tuple[dict[str, Any], dict[str, str]]:
    """A user whose email is verified (email links go to verified addresses only)."""
    user = await register(client)
    async with app.state.database.begin() as conn:
        await conn.execute(
            update(User)
            .where(User.id == uuid.UUID(user["id"]))
            .values(email_verified_at=User.created_at)
        )
    tokens = await login(client, email=user["email"])
    return user, bearer(tokens["access_token"])


async def settled(app: FastAPI) -> None:
    """Every run this process has in progress, and every job queued so far, done."""
    for _ in range(SETTLE_ROUNDS):
        await settle(app)
        await settle_jobs(app)
        if not app.state.runs.manager.tasks and not app.state.jobs.tasks:
            return
    raise AssertionError("runs and jobs did not settle")


async def wait_for_approval(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], content: str
) -> dict[str, Any]:
    """Send `content` in a new thread; the approval its run waits on (jobs settled)."""
    thread = await client.post("/api/threads", json={}, headers=headers)
    assert thread.status_code == 201, thread.text
    sent = await client.post(
        f"/api/threads/{thread.json()['id']}/messages", json={"content": content}, headers=headers
    )
    assert sent.status_code in (200, 201, 202), sent.text
    await settled(app)
    pending = await client.get("/api/me/approvals", params={"status": "pending"}, headers=headers)
    assert pending.status_code == 200, pending.text
    (approval,) = pending.json()["items"]
    return dict(approval)


async def choose(client: httpx.AsyncClient, headers: dict[str, str], order: list[str]) -> None:
    chosen = await client.put(
        "/api/me/channels", json={"order": order, "slack_user_id": MEMBER_ID}, headers=headers
    )
    assert chosen.status_code == 200, chosen.text


@dataclass
class Waiting:
    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]
    approval: dict[str, Any]

    async def now(self) -> dict[str, Any]:
        """The approval as it is stored now."""
        return await approval_of(self.client, self.headers, self.approval["id"])


@contextlib.asynccontextmanager
async def waiting_run(
    make: Callable[..., FastAPI], order: list[str], content: str, **settings: Any
) -> AsyncIterator[Waiting]:
    """An app (`make(**settings)`), a client, a verified user who chose `order` (Slack as
    MEMBER_ID), and the approval their message's run waits on."""
    app = make(**settings)
    async with client_for(app) as client:
        _, headers = await verified_user(app, client)
        await choose(client, headers, order)
        approval = await wait_for_approval(app, client, headers, content)
        yield Waiting(app, client, headers, approval)


async def approval_of(
    client: httpx.AsyncClient, headers: dict[str, str], approval_id: str
) -> dict[str, Any]:
    found = await client.get("/api/me/approvals", headers=headers)
    assert found.status_code == 200, found.text
    (approval,) = [a for a in found.json()["items"] if a["id"] == approval_id]
    return dict(approval)


def signed(
    payload: dict[str, Any], *, secret: str = SIGNING_SECRET, at: int | None = None
) -> tuple[str, dict[str, str]]:
    """A body and headers as Slack sends an interaction: form field `payload`, signed."""
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def button_press(approval_id: str, action: str, *, member: str = MEMBER_ID) -> dict[str, Any]:
    """A block_actions payload like Slack's for a button of the approval's message."""
    return {
        "type": "block_actions",
        "user": {"id": member, "username": "ada", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "example"},
        "api_app_id": "A0APP",
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "container": {"type": "message", "channel_id": "D0TESTUSER1"},
        "actions": [
            {
                "type": "button",
                "action_id": f"confide:{action}",
                "block_id": f"confide-approval-{approval_id}",
                "value": approval_id,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


async def press(client: httpx.AsyncClient, payload: dict[str, Any], **sign: Any) -> httpx.Response:
    body, headers = signed(payload, **sign)
    return await client.post("/api/slack/interactions", content=body, headers=headers)


def approval_mails(inbox: Inbox) -> list[str]:
    """The plain-text bodies of the approval mails received (not the verification mails)."""
    texts = []
    for envelope in inbox.envelopes:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = str(body.get_content())
        if "/approvals/respond/" in text:
            texts.append(text)
    return texts


def mail_link(inbox: Inbox) -> str:
    """The path of the answer link in the one approval mail received."""
    (text,) = approval_mails(inbox)
    (link,) = [word for word in text.split() if "/approvals/respond/" in word]
    assert link.startswith("https://chat.example.org/approvals/respond/")
    return link.removeprefix("https://chat.example.org")
