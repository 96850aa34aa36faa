"""One `RunService` under three adapters: JSON, SSE and the WebSocket refuse the same input
with the same code, and store nothing of it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.invariant import TERMINAL
from tests.runs.test_websocket import bearer, new_thread, sign_in, ticket

BAD_BODIES = [
    {"content": ""},
    {"content": "   "},
    {"content": "\n\t "},
    {},
    {"content": None},
    {"content": 5},
    {"content": ["hi"]},
    {"content": "hi", "role": "system"},
    {"content": "hi", "agent_id": "calculator"},
    {"content": "x" * 100_001},
]


@pytest.fixture
def sync_client(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(app_factory(), base_url="http://testserver") as client:
        yield client


def _field(errors: list[dict[str, Any]]) -> set[str]:
    """The fields the errors name (the last part of each `loc`)."""
    return {str(error["loc"][-1]) for error in errors}


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: json.dumps(b)[:40])
def test_the_same_bad_input_is_refused_the_same_way_by_every_adapter(
    sync_client: TestClient, body: dict[str, Any]
) -> None:
    tokens = sign_in(sync_client)
    headers = bearer(tokens)
    thread_id = new_thread(sync_client, headers)
    url = f"/api/threads/{thread_id}/messages"

    as_json = sync_client.post(url, json=body, headers=headers)
    as_sse = sync_client.post(url, json=body, headers={**headers, "Accept": "text/event-stream"})
    with sync_client.websocket_connect(f"/api/ws?ticket={ticket(sync_client, tokens)}") as ws:
        ws.send_json({"type": "send", "thread_id": thread_id, **body})
        over_ws = ws.receive_json()

    for response in (as_json, as_sse):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "validation_error"
    assert over_ws["type"] == "error"
    assert over_ws["code"] == "validation_error"
    http_fields = _field(as_json.json()["errors"])
    assert http_fields == _field(as_sse.json()["errors"])
    assert http_fields == _field(over_ws["errors"])  # the same fields named, the same way
    assert over_ws["detail"]
    listed = sync_client.get(f"/api/threads/{thread_id}/messages", headers=headers)
    assert listed.json()["items"] == []  # nothing stored, whichever way it came


def test_a_message_the_adapters_accept_starts_the_same_run(sync_client: TestClient) -> None:
    tokens = sign_in(sync_client)
    headers = bearer(tokens)
    thread_id = new_thread(sync_client, headers)
    url = f"/api/threads/{thread_id}/messages"

    as_json = sync_client.post(url, json={"content": "add 5 and 3"}, headers=headers).json()
    with sync_client.stream(
        "POST",
        url,
        json={"content": "add 5 and 3"},
        headers={**headers, "Accept": "text/event-stream"},
    ) as response:
        sse = [
            json.loads(line.removeprefix("data: "))
            for line in response.iter_lines()
            if line.startswith("data: ")
        ]
    with sync_client.websocket_connect(f"/api/ws?ticket={ticket(sync_client, tokens)}") as ws:
        ws.send_json({"type": "send", "thread_id": thread_id, "content": "add 5 and 3"})
        over_ws = []
        while not over_ws or over_ws[-1]["type"] not in TERMINAL:
            over_ws.append(ws.receive_json())

    def shape(events: list[dict[str, Any]]) -> list[str]:
        return [e["type"] for e in events if e["type"] != "message.delta"]

    assert as_json["run"]["status"] == "completed"
    assert [m["content"] for m in as_json["messages"]][-1] == "5 + 3 = 8."
    assert shape(sse) == shape(over_ws)
    assert shape(sse)[0] == "run.started"
    assert shape(sse)[-1] == "run.completed"
