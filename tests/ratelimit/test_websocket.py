"""Channels: the user's runs over HTTP and over the WebSocket have budgets of their own, and a
WebSocket past its budget hears it as the protocol's error frame (the socket stays open)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.factories import PASSWORD, unique_email


def sign_in(client: TestClient) -> dict[str, str]:
    email = unique_email("wsrl")
    assert (
        client.post("/api/auth/register", json={"email": email, "password": PASSWORD}).status_code
        == 201
    )
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def until_terminal(ws: Any) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = ws.receive_json()
        if event["type"] in ("run.completed", "run.failed", "run.cancelled", "error"):
            return event


def test_http_and_websocket_runs_have_budgets_of_their_own(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(rate_limit_runs_per_channel="2/minute")
    with TestClient(app, base_url="http://testserver") as client:
        headers = sign_in(client)
        thread = client.post("/api/threads", json={}, headers=headers).json()["id"]
        for _ in range(2):
            sent = client.post(
                f"/api/threads/{thread}/messages", json={"content": "hi"}, headers=headers
            )
            assert sent.status_code == 200, sent.text
        refused = client.post(
            f"/api/threads/{thread}/messages", json={"content": "hi"}, headers=headers
        )
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"

        ticket = client.post("/api/auth/ws-ticket", headers=headers).json()["ticket"]
        with client.websocket_connect(f"/api/ws?ticket={ticket}") as ws:
            for _ in range(2):  # the WebSocket's own budget is untouched
                ws.send_json({"type": "send", "thread_id": thread, "content": "hi"})
                assert until_terminal(ws)["type"] == "run.completed"
            ws.send_json({"type": "send", "thread_id": thread, "content": "hi"})
            error = until_terminal(ws)
            assert error["type"] == "error"
            assert error["code"] == "rate_limited"
            assert "WebSocket" in error["detail"]
            assert 1 <= error["retry_after"] <= 60
            # The socket stays open: following a run still works.
            ws.send_json({"type": "subscribe", "run_id": _last_run(client, headers, thread)})
            assert until_terminal(ws)["type"] == "run.completed"
        page = client.get(f"/api/threads/{thread}/messages", headers=headers).json()
        assert [m["role"] for m in page["items"]].count("user") == 4


def _last_run(client: TestClient, headers: dict[str, str], thread: str) -> str:
    page = client.get(f"/api/threads/{thread}/messages", headers=headers).json()
    run_ids = [m["run_id"] for m in page["items"] if m.get("run_id")]
    assert run_ids
    return str(run_ids[-1])
