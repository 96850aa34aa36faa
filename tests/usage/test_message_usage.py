"""Usage stored with each message: an answer's tokens (as the provider counted them) and
latency, a tool call's status and duration; shown by the run's answer, its events and history.

The HTTP path runs against `confide mock-llm` over real HTTP (tests/mockllm_server.py), which
records the usage it reported for each request: what the thread stores must be exactly that.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from tests.conftest import client_for
from tests.factories import signed_up
from tests.mockllm_server import serve_mock_llm_app
from tests.runs.conftest import serve_live

MODEL = "confide-scripted"  # the name the mock LLM serves

AGENTS_TOML = """
[[agents]]
id = "remote"
name = "Remote model"
default = true
tools = ["add", "calculator"]

[agents.model]
provider = "openai"
name = "{model}"
base_url = "{base_url}"

[[agents]]
id = "local"
name = "Scripted model"
tools = ["add", "calculator"]

[agents.model]
provider = "scripted"
"""


@pytest.fixture(scope="module")
def mock_llm() -> Iterator[tuple[str, Starlette]]:
    with serve_mock_llm_app(allow_faults=True) as served:  # `[[mock:drip=...]]`
        yield served


@pytest.fixture
async def chat_app(
    app_factory: Callable[..., FastAPI], mock_llm: tuple[str, Starlette], tmp_path: Path
) -> AsyncIterator[FastAPI]:
    agents_file = tmp_path / "agents.toml"
    agents_file.write_text(AGENTS_TOML.format(model=MODEL, base_url=mock_llm[0]), "utf-8")
    app = app_factory(agents_file=agents_file)
    yield app
    await app.state.runs.models.aclose()  # the SDK clients' pooled connections


async def turn(
    http: httpx.AsyncClient, headers: dict[str, str], content: str, *, agent_id: str = "remote"
) -> tuple[str, dict[str, Any]]:
    created = await http.post("/api/threads", json={"agent_id": agent_id}, headers=headers)
    assert created.status_code == 201, created.text
    thread_id = created.json()["id"]
    sent = await http.post(
        f"/api/threads/{thread_id}/messages", json={"content": content}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    body: dict[str, Any] = sent.json()
    assert body["run"]["status"] == "completed", body["run"]
    return thread_id, body


async def history(
    http: httpx.AsyncClient, headers: dict[str, str], thread_id: str
) -> list[dict[str, Any]]:
    page = await http.get(
        f"/api/threads/{thread_id}/messages", params={"limit": 100}, headers=headers
    )
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def test_an_answer_stores_the_tokens_the_provider_reported(
    chat_app: FastAPI, mock_llm: tuple[str, Starlette]
) -> None:
    received: list[Any] = mock_llm[1].state.received
    async with client_for(chat_app) as http:
        _, headers = await signed_up(http)
        before = max((r.number for r in received), default=0)
        thread_id, body = await turn(http, headers, "add 5 and 3")
        requests = [r for r in received if r.number > before]

        user, asked, result, final = body["messages"]
        assert len(requests) == 2  # the call, then the answer to its result
        for message, request in zip((asked, final), requests, strict=True):
            assert request.stream  # a streamed answer tells its usage only when asked to
            usage = message["usage"]
            assert (usage["input_tokens"], usage["output_tokens"]) == (
                request.usage["prompt_tokens"],
                request.usage["completion_tokens"],
            )
            assert usage["model"] == MODEL
            assert usage["model_ms"] > 0
            assert (
                usage["first_token_ms"] is None or 0 < usage["first_token_ms"] <= usage["model_ms"]
            )
        assert final["usage"]["first_token_ms"] is not None  # a text answer: its first piece
        assert user["usage"] is None
        assert user["tool"] is None
        assert result["usage"] is None
        assert result["tool"]["status"] == "ok"
        assert result["tool"]["duration_ms"] >= 0

        stored = {m["id"]: m for m in await history(http, headers, thread_id)}
        for message in body["messages"]:  # history shows what the run's answer showed
            assert stored[message["id"]]["usage"] == message["usage"]
            assert stored[message["id"]]["tool"] == message["tool"]


async def test_a_failed_tool_call_is_stored_as_an_error(chat_app: FastAPI) -> None:
    async with client_for(chat_app) as http:
        _, headers = await signed_up(http)
        thread_id, body = await turn(http, headers, "calculate 1/0", agent_id="local")
        tool = next(m for m in body["messages"] if m["role"] == "tool")
        assert tool["tool"]["status"] == "error"
        assert tool["tool"]["duration_ms"] >= 0
        stored = next(m for m in await history(http, headers, thread_id) if m["role"] == "tool")
        assert stored["tool"] == tool["tool"]


async def test_the_scripted_model_reports_its_estimate(chat_app: FastAPI) -> None:
    async with client_for(chat_app) as http:
        _, headers = await signed_up(http)
        _, body = await turn(http, headers, "hello there", agent_id="local")
        answer = body["messages"][-1]
        assert answer["role"] == "assistant"
        usage = answer["usage"]
        # About four characters a token (agents/models/factory.py), at least one each way.
        assert usage["input_tokens"] >= 1
        assert usage["output_tokens"] == max(1, len(answer["content"]) // 4)
        assert usage["model"] == "confide-scripted"


async def test_the_stream_carries_the_usage(chat_app: FastAPI) -> None:
    async with client_for(chat_app) as http:
        _, headers = await signed_up(http)
        created = await http.post("/api/threads", json={}, headers=headers)
        thread_id = created.json()["id"]
        async with http.stream(
            "POST",
            f"/api/threads/{thread_id}/messages",
            json={"content": "add 2 and 2"},
            headers={**headers, "Accept": "text/event-stream"},
        ) as response:
            assert response.status_code == 200
            text = "".join([piece async for piece in response.aiter_text()])
        events = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
        completed = [e["message"] for e in events if e["type"] == "message.completed"]
        assert [m["role"] for m in completed] == ["assistant", "tool", "assistant"]
        asked, result, final = completed
        assert asked["usage"]["output_tokens"] >= 1
        assert final["usage"]["output_tokens"] >= 1
        assert result["tool"]["status"] == "ok"
        finished = next(e for e in events if e["type"] == "tool.finished")
        assert result["tool"]["duration_ms"] == finished["duration_ms"]


async def test_a_stopped_answer_keeps_the_time_it_streamed(chat_app: FastAPI) -> None:
    async with client_for(chat_app) as http:
        _, headers = await signed_up(http)
        created = await http.post("/api/threads", json={}, headers=headers)
        thread_id = created.json()["id"]
    events: list[dict[str, Any]] = []
    async with (
        serve_live(chat_app) as live,
        live.stream(
            "POST",
            f"/api/threads/{thread_id}/messages",
            json={"content": "tell me something long [[mock:drip=200]]"},
            headers={**headers, "Accept": "text/event-stream"},
        ) as response,
    ):
        buffer = ""
        async for piece in response.aiter_text():
            buffer += piece
            *blocks, buffer = buffer.split("\n\n")
            for block in blocks:
                data = next(line for line in block.split("\n") if line.startswith("data:"))
                events.append(json.loads(data[5:]))
                deltas = [e for e in events if e["type"] == "message.delta"]
                if len(deltas) == 2 and events[-1]["type"] == "message.delta":
                    cancel = await live.post(
                        f"/api/runs/{events[-1]['run_id']}/cancel", headers=headers
                    )
                    assert cancel.status_code == 200, cancel.text

    assert events[-1]["type"] == "run.cancelled"
    (kept,) = [e["message"] for e in events if e["type"] == "message.completed"]
    assert kept["interrupted"] is True
    usage = kept["usage"]
    # Tokens come at a stream's end, which a cut answer never reaches; its time is known.
    assert (usage["input_tokens"], usage["output_tokens"]) == (None, None)
    assert 0 < usage["first_token_ms"] <= usage["model_ms"]
    async with client_for(chat_app) as http:
        (stored,) = [m for m in await history(http, headers, thread_id) if m["role"] == "assistant"]
    assert stored["usage"] == usage
