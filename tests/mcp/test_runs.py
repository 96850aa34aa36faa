"""A chat turn through the app calling MCP tools (the scripted model's `call TOOL with {json}`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.conftest import client_for
from tests.factories import signed_up
from tests.mcp.conftest import agent_file, stdio_server


@pytest.fixture
async def run_app(app_factory: Callable[..., FastAPI], tmp_path: Path) -> AsyncIterator[FastAPI]:
    path = tmp_path / "agents.toml"
    path.write_text(
        agent_file(
            stdio_server("t", extra='tools = ["echo", "picture", "hang"]\ntimeout_seconds = 0.5')
        )
    )
    app = app_factory(agents_file=path)
    app.state.mcp.start()
    manager = app.state.mcp
    await manager.wait_until(lambda: manager.servers["t"].state == "ready")
    try:
        yield app
    finally:
        await manager.aclose()


async def test_a_turn_calls_mcp_tools_and_stores_their_results(
    run_app: FastAPI, tmp_path: Path
) -> None:
    async with client_for(run_app) as client:
        _, headers = await signed_up(client)
        thread = (await client.post("/api/threads", json={}, headers=headers)).json()["id"]
        response = await client.post(
            f"/api/threads/{thread}/messages",
            json={
                "content": 'call t_echo with {"text": "over MCP"}. call t_picture with {}. '
                "call t_hang with {}"
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
    assert body["run"]["status"] == "completed"
    results = {m["name"]: m["content"] for m in body["messages"] if m["role"] == "tool"}
    assert results == {
        "t_echo": "over MCP",
        "t_picture": "a picture\n[image: image/png, 32 bytes]",
        "t_hang": "Error: tool timed out after 0.5 s",
    }
    log = [
        json.loads(line)
        for line in (tmp_path / "data" / "tool_calls.jsonl").read_text().splitlines()
    ]
    assert sorted((e["tool_name"], e["server_id"], e["status"]) for e in log) == [
        ("t_echo", "t", "ok"),
        ("t_hang", "t", "timeout"),
        ("t_picture", "t", "ok"),
    ]
