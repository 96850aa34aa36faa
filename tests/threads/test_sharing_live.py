"""A recipient follows a shared thread's runs live: over SSE (a real uvicorn, so the stream is
read as it comes) and over the WebSocket; and never starts or stops one."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from confide.access.models import Role, RolePermission
from confide.access.permissions import THREADS_READ_ANY
from confide.audit.models import AuditEvent
from tests.factories import PASSWORD, assert_problem, grant_role, signed_up, unique_email
from tests.invariant import sse_events
from tests.runs.conftest import Gate, gated, serve_live
from tests.threads.test_sharing import new_thread, shared_ok, shares_of

THREADS = "/api/threads"
RUNS = "/api/runs"


@pytest.fixture
def gate(app: FastAPI) -> Iterator[Gate]:
    held = gated(app)
    yield held
    held.open()  # a failed test must not leave its run waiting


@pytest.fixture
async def live_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_live(app) as client:
        yield client


async def test_a_recipient_follows_a_run_live_and_cannot_stop_it(
    live_client: httpx.AsyncClient, gate: Gate
) -> None:
    client = live_client
    _, owner_headers = await signed_up(client)
    recipient, headers = await signed_up(client)
    thread_id = await new_thread(client, owner_headers)
    await shared_ok(client, owner_headers, thread_id, recipient["email"])

    sent = asyncio.create_task(
        client.post(
            f"{THREADS}/{thread_id}/messages",
            json={"content": "add 5 and 3"},
            headers=owner_headers,
        )
    )
    await gate.wait_entered()  # the run is in its tool call, held there
    thread = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
    run_id = thread["active_run_id"]
    assert run_id is not None
    assert_problem(await client.post(f"{RUNS}/{run_id}/cancel", headers=headers), 403, "read_only")
    busy = await client.post(
        f"{THREADS}/{thread_id}/messages", json={"content": "me too"}, headers=headers
    )
    assert_problem(busy, 403, "read_only")
    assert (await client.get(f"{RUNS}/{run_id}", headers=headers)).json()["status"] == "running"

    followed: list[dict[str, Any]] = []
    async with client.stream("GET", f"{RUNS}/{run_id}/events", headers=headers) as response:
        assert response.status_code == 200
        async for event in sse_events(response):
            followed.append(event)
            if event["type"] == "tool.started":
                gate.open()  # live: what follows is sent as the run makes it
    result = await sent
    assert result.status_code == 200, result.text
    assert followed[0]["type"] == "run.started"
    assert followed[-1]["type"] == "run.completed"
    assert "tool.finished" in [e["type"] for e in followed]
    assert all(e["run_id"] == run_id for e in followed)


# The WebSocket ---------------------------------------------------------------------------------


@pytest.fixture
def sync_client(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(app_factory(), base_url="http://testserver") as client:
        yield client


def sign_in(client: TestClient, **register: Any) -> tuple[dict[str, Any], dict[str, str]]:
    body = {"email": unique_email("ws"), "password": PASSWORD, **register}
    user = client.post("/api/auth/register", json=body)
    assert user.status_code == 201, user.text
    tokens = client.post("/api/auth/login", json={"email": body["email"], "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return user.json(), {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def socket_url(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/api/auth/ws-ticket", headers=headers)
    assert response.status_code == 200, response.text
    return f"/api/ws?ticket={response.json()['ticket']}"


def until_end(ws: Any) -> list[dict[str, Any]]:
    events = []
    while True:
        event = ws.receive_json()
        events.append(event)
        if event["type"] in ("run.completed", "run.failed", "run.cancelled", "error"):
            return events


def owner_run(client: TestClient, headers: dict[str, str], thread_id: str) -> str:
    response = client.post(
        f"{THREADS}/{thread_id}/messages", json={"content": "add 5 and 3"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["run"]["id"])


def test_a_recipient_subscribes_over_the_socket_and_cannot_send(sync_client: TestClient) -> None:
    client = sync_client
    _, owner_headers = sign_in(client)
    recipient, headers = sign_in(client)
    _, stranger_headers = sign_in(client)
    thread_id = client.post(THREADS, json={}, headers=owner_headers).json()["id"]
    shared = client.post(
        f"{THREADS}/{thread_id}/shares", json={"email": recipient["email"]}, headers=owner_headers
    )
    assert shared.status_code == 202
    run_id = owner_run(client, owner_headers, thread_id)

    with client.websocket_connect(socket_url(client, headers)) as ws:
        ws.send_json({"type": "subscribe", "run_id": run_id, "after": 0})
        events = until_end(ws)
        assert events[0]["type"] == "run.started"
        assert events[-1]["type"] == "run.completed"
        ws.send_json({"type": "send", "thread_id": thread_id, "content": "hello"})
        refused = ws.receive_json()
        assert (refused["type"], refused["code"]) == ("error", "read_only")
    messages = client.get(f"{THREADS}/{thread_id}/messages", headers=owner_headers).json()
    assert "hello" not in [m["content"] for m in messages["items"]]

    with client.websocket_connect(socket_url(client, stranger_headers)) as ws:
        ws.send_json({"type": "subscribe", "run_id": run_id, "after": 0})
        assert ws.receive_json()["code"] == "run_not_found"
        ws.send_json({"type": "send", "thread_id": thread_id, "content": "hello"})
        assert ws.receive_json()["code"] == "thread_not_found"

    # Revoked: the recipient's next subscription is refused, on a socket opened before.
    (share,) = client.get(f"{THREADS}/{thread_id}/shares", headers=owner_headers).json()["items"]
    with client.websocket_connect(socket_url(client, headers)) as ws:
        ws.send_json({"type": "subscribe", "run_id": run_id, "after": 0})
        assert until_end(ws)[-1]["type"] == "run.completed"
        revoked = client.delete(
            f"{THREADS}/{thread_id}/shares/{share['id']}", headers=owner_headers
        )
        assert revoked.status_code == 204
        ws.send_json({"type": "subscribe", "run_id": run_id, "after": 0})
        assert ws.receive_json()["code"] == "run_not_found"


async def _auditor_role(app: FastAPI, user_id: str) -> None:
    async with app.state.database.begin() as conn:
        role_id = uuid.uuid4()
        await conn.execute(insert(Role).values(id=role_id, name="auditor", description=""))
        await conn.execute(
            insert(RolePermission).values(role_id=role_id, permission=THREADS_READ_ANY)
        )
    await grant_role(app, user_id, role="auditor")


async def _read_any_rows(app: FastAPI) -> list[AuditEvent]:
    async with app.state.database.sessionmaker() as db:
        stmt = select(AuditEvent).where(AuditEvent.action == "threads.read_any")
        return list((await db.execute(stmt)).scalars())


def test_a_read_any_subscription_is_audited(sync_client: TestClient) -> None:
    client = sync_client
    app: Any = client.app
    _, owner_headers = sign_in(client)
    thread_id = client.post(THREADS, json={}, headers=owner_headers).json()["id"]
    run_id = owner_run(client, owner_headers, thread_id)
    reader, _ = sign_in(client)
    portal = client.portal  # the app's event loop, for the database
    assert portal is not None
    portal.call(functools.partial(_auditor_role, app, reader["id"]))
    tokens = client.post("/api/auth/login", json={"email": reader["email"], "password": PASSWORD})
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}

    with client.websocket_connect(socket_url(client, headers)) as ws:
        ws.send_json({"type": "subscribe", "run_id": run_id, "after": 0})
        assert until_end(ws)[-1]["type"] == "run.completed"
    (row,) = portal.call(_read_any_rows, app)
    assert (str(row.actor_id), row.target_type, row.target_id) == (
        reader["id"],
        "thread",
        thread_id,
    )
    assert row.ip is not None


async def test_shares_of_a_thread_shown_only_to_its_owner(client: httpx.AsyncClient) -> None:
    """What the recipient asks about the thread's shares tells nothing (the live tests above
    cover the rest; this one pins the owner-only listing with several recipients)."""
    _, owner_headers = await signed_up(client)
    first, first_headers = await signed_up(client)
    second, _ = await signed_up(client)
    thread_id = await new_thread(client, owner_headers)
    for recipient in (first, second):
        await shared_ok(client, owner_headers, thread_id, recipient["email"])
    assert len(await shares_of(client, owner_headers, thread_id)) == 2
    response = await client.get(f"{THREADS}/{thread_id}/shares", headers=first_headers)
    body = assert_problem(response, 403, "read_only")
    assert second["email"] not in response.text
    assert "items" not in body
