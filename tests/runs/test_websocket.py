"""`/api/ws`: run events over a WebSocket, authenticated by cookie or single-use ticket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.factories import PASSWORD, unique_email


@pytest.fixture
def sync_client(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    # Starlette's TestClient speaks WebSocket; it runs the app (and its database) on its own
    # event loop, so these tests are synchronous end to end.
    with TestClient(app_factory(), base_url="http://testserver") as client:
        yield client


def sign_in(client: TestClient, *, cookie: bool = False) -> dict[str, Any]:
    email = unique_email("ws")
    assert (
        client.post("/api/auth/register", json={"email": email, "password": PASSWORD}).status_code
        == 201
    )
    params = {"mode": "cookie"} if cookie else {}
    response = client.post(
        "/api/auth/login", params=params, json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def ticket(client: TestClient, tokens: dict[str, Any]) -> str:
    response = client.post("/api/auth/ws-ticket", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 30
    return str(response.json()["ticket"])


def new_thread(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/api/threads", json={}, headers=headers)
    assert response.status_code == 201
    return str(response.json()["id"])


def until_terminal(ws: Any) -> list[dict[str, Any]]:
    events = []
    while True:
        event = ws.receive_json()
        events.append(event)
        if event["type"] in ("run.completed", "run.failed", "run.cancelled", "error"):
            return events


def test_bearer_client_sends_and_follows_a_run(sync_client: TestClient) -> None:
    tokens = sign_in(sync_client)
    thread_id = new_thread(sync_client, bearer(tokens))
    with sync_client.websocket_connect(f"/api/ws?ticket={ticket(sync_client, tokens)}") as ws:
        ws.send_json({"type": "send", "thread_id": thread_id, "content": "add 5 and 3"})
        events = until_terminal(ws)
    types = [e["type"] for e in events]
    assert types[0] == "run.started"
    assert types[-1] == "run.completed"
    assert {"tool.started", "tool.finished", "message.delta", "message.completed"} <= set(types)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    run_id = events[0]["run_id"]
    assert all(e["run_id"] == run_id for e in events)
    finished = next(e for e in events if e["type"] == "tool.finished")
    assert finished["name"] == "add"
    assert finished["result"] == "8"

    # The same events can be followed again from any id, on a new socket.
    with sync_client.websocket_connect(f"/api/ws?ticket={ticket(sync_client, tokens)}") as ws:
        ws.send_json({"type": "subscribe", "run_id": run_id, "after": 3})
        replay = until_terminal(ws)
    assert [e["id"] for e in replay] == [e["id"] for e in events[3:]]


def test_a_ticket_is_single_use(sync_client: TestClient) -> None:
    tokens = sign_in(sync_client)
    once = ticket(sync_client, tokens)
    with sync_client.websocket_connect(f"/api/ws?ticket={once}"):
        pass
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        sync_client.websocket_connect(f"/api/ws?ticket={once}"),
    ):
        pass
    assert refused.value.code == 4401


@pytest.mark.parametrize("query", ["", "?ticket=forged", "?ticket=a.b.c.d.e"])
def test_unauthenticated_connections_are_refused(sync_client: TestClient, query: str) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        sync_client.websocket_connect(f"/api/ws{query}"),
    ):
        pass
    assert refused.value.code == 4401


def test_a_ticket_of_an_ended_session_is_refused(sync_client: TestClient) -> None:
    tokens = sign_in(sync_client)
    unused = ticket(sync_client, tokens)
    assert sync_client.post("/api/auth/logout", headers=bearer(tokens)).status_code == 204
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        sync_client.websocket_connect(f"/api/ws?ticket={unused}"),
    ):
        pass
    assert refused.value.code == 4401


def test_browser_cookie_works_same_origin_and_is_refused_cross_origin(
    sync_client: TestClient,
) -> None:
    sign_in(sync_client, cookie=True)  # the client keeps the HttpOnly cookies
    with sync_client.websocket_connect("/api/ws", headers={"Origin": "http://testserver"}) as ws:
        ws.send_json({"type": "nonsense"})
        assert ws.receive_json()["code"] == "validation_error"
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        sync_client.websocket_connect("/api/ws", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert refused.value.code == 4403


def test_another_users_run_and_thread_are_not_found(sync_client: TestClient) -> None:
    alice = sign_in(sync_client)
    thread_id = new_thread(sync_client, bearer(alice))
    sent = sync_client.post(
        f"/api/threads/{thread_id}/messages", json={"content": "hello"}, headers=bearer(alice)
    )
    run_id = sent.json()["run"]["id"]
    bob = sign_in(sync_client)
    with sync_client.websocket_connect(f"/api/ws?ticket={ticket(sync_client, bob)}") as ws:
        ws.send_json({"type": "subscribe", "run_id": run_id})
        assert ws.receive_json() == {
            "type": "error",
            "code": "run_not_found",
            "detail": "No such run",
        }
        ws.send_json({"type": "send", "thread_id": thread_id, "content": "mine now"})
        assert ws.receive_json()["code"] == "thread_not_found"
