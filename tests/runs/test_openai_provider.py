"""The `openai` provider end to end: runs against `confide mock-llm` over real HTTP.

The agents file points at the mock LLM served by a real uvicorn (fault markers on), so every
request goes through the openai SDK, pydantic-ai's OpenAI model and a TCP connection. Failure
paths are driven by the mock's markers (`[[mock:error500]]`...) or by a closed port; each must end
the run as failed with a clear reason, keep the user's message, store nothing half-written and
leave the thread open for the next message.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from pydantic_ai.exceptions import ModelHTTPError

from confide.runs.model_step import upstream_detail
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.mockllm_server import closed_port, serve_mock_llm

MODEL = "confide-scripted"
DISPLAY_NAME = "Ada Lovelace"
SSE = "text/event-stream"
SETTLE_SECONDS = 30.0
# The per-agent time-out of the `impatient` agent, and the server-wide one some tests set.
SHORT_TIMEOUT = 0.5

AGENTS_TOML = """
[[agents]]
id = "remote"
name = "Remote model"
default = true
tools = ["add", "calculator", "current_time"]
system_prompt = "You are Confide's assistant, talking with {{user_name}}."

[agents.model]
provider = "openai"
name = "{model}"
base_url = "{base_url}"

[[agents]]
id = "impatient"
name = "Remote model with a short time-out"
tools = ["add", "calculator", "current_time"]

[agents.model]
provider = "openai"
name = "{model}"
base_url = "{base_url}"
timeout_seconds = {short_timeout}

[[agents]]
id = "offline"
name = "Model whose endpoint is down"
tools = ["add", "calculator", "current_time"]

[agents.model]
provider = "openai"
name = "{model}"
base_url = "http://127.0.0.1:{down_port}/v1"

[[agents]]
id = "misnamed"
name = "Model the endpoint does not serve"
tools = ["add", "calculator", "current_time"]

[agents.model]
provider = "openai"
name = "gpt-nothing"
base_url = "{base_url}"
"""


@pytest.fixture(scope="module")
def mock_llm() -> Iterator[str]:
    """The mock LLM's base URL (`http://127.0.0.1:PORT/v1`), fault markers honoured."""
    with serve_mock_llm(allow_faults=True) as base_url:
        yield base_url


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The events of an SSE body, each its JSON data; checks `id:` and `event:` agree with it."""
    events: list[dict[str, Any]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, sep, value = line.partition(":")
            assert sep, f"not an SSE field line: {line!r}"
            fields[name] = value.removeprefix(" ")
        data: dict[str, Any] = json.loads(fields["data"])
        assert data["id"] == int(fields["id"])
        assert data["type"] == fields["event"]
        events.append(data)
    return events


@dataclass
class Chat:
    """One signed-in user of one app, talking to it in-process."""

    app: FastAPI
    http: httpx.AsyncClient
    user: dict[str, Any]
    headers: dict[str, str]

    @property
    def data_dir(self) -> Path:
        path: Path = self.app.state.settings.data_dir
        return path

    async def new_thread(self, agent_id: str | None = None) -> str:
        body = {"agent_id": agent_id} if agent_id else {}
        response = await self.http.post("/api/threads", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def send(self, thread_id: str, content: str) -> httpx.Response:
        """Send without streaming: the response comes once the run has ended."""
        return await self.http.post(
            f"/api/threads/{thread_id}/messages", json={"content": content}, headers=self.headers
        )

    async def stream(self, thread_id: str, content: str) -> list[dict[str, Any]]:
        """Send with `Accept: text/event-stream`; every event until the terminal one."""
        async with self.http.stream(
            "POST",
            f"/api/threads/{thread_id}/messages",
            json={"content": content},
            headers={**self.headers, "Accept": SSE},
        ) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith(SSE)
            text = "".join([piece async for piece in response.aiter_text()])
        events = parse_sse(text)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["type"] == "run.started"
        assert events[-1]["type"] in ("run.completed", "run.failed", "run.cancelled")
        assert len({e["run_id"] for e in events}) == 1
        return events

    async def messages(self, thread_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(
            f"/api/threads/{thread_id}/messages", params={"limit": 100}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is None
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def thread(self, thread_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/threads/{thread_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def finished_run(self, run_id: str) -> dict[str, Any]:
        """The run once it has left `running` (bounded wait)."""
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while True:
            response = await self.http.get(f"/api/runs/{run_id}", headers=self.headers)
            assert response.status_code == 200, response.text
            run: dict[str, Any] = response.json()
            if run["status"] != "running":
                return run
            assert asyncio.get_running_loop().time() < deadline, f"run {run_id} never ended"
            await asyncio.sleep(0.02)

    def model_clients(self) -> list[AsyncOpenAI]:
        """The openai SDK client of each agent (the app builds each once and reuses it)."""
        catalog = self.app.state.runs.models
        return [catalog.for_agent(agent).client for agent in self.app.state.agents.agents]

    async def close(self) -> None:
        try:
            # Every run of this app has ended, not only been announced, before anything closes.
            tasks = list(self.app.state.runs.manager.tasks.values())
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=SETTLE_SECONDS)
                assert not pending, f"{len(pending)} run(s) still going at the end of the test"
        finally:
            await self.http.aclose()
            # The SDK clients behind the agents keep pooled connections to the mock LLM.
            for client in self.model_clients():
                await client.close()
            await self.app.state.database.dispose()


OpenChat = Callable[..., Awaitable[Chat]]


@pytest.fixture
async def open_chat(
    app_factory: Callable[..., FastAPI], mock_llm: str, tmp_path: Path
) -> AsyncIterator[OpenChat]:
    """Build an app on the agents file (settings overridable), sign a user in, return a Chat."""
    agents_file = tmp_path / "agents.toml"
    agents_file.write_text(
        AGENTS_TOML.format(
            model=MODEL, base_url=mock_llm, short_timeout=SHORT_TIMEOUT, down_port=closed_port()
        ),
        encoding="utf-8",
    )
    opened: list[Chat] = []

    async def open_(**settings: Any) -> Chat:
        app = app_factory(agents_file=agents_file, **settings)
        http = client_for(app)
        chat = Chat(app=app, http=http, user={}, headers={})
        opened.append(chat)
        chat.user, chat.headers = await signed_up(http, display_name=DISPLAY_NAME)
        return chat

    yield open_
    for chat in opened:
        await chat.close()


def summary(messages: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(m["role"], m["content"]) for m in messages]


def calls_of(message: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (call["function"]["name"], json.loads(call["function"]["arguments"]))
        for call in message["tool_calls"] or []
    ]


# Completed runs --------------------------------------------------------------------------------


async def test_tool_call_turn_without_streaming(open_chat: OpenChat) -> None:
    chat = await open_chat()
    thread_id = await chat.new_thread()

    response = await chat.send(thread_id, "add 5 and 3")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    run = body["run"]
    assert run["status"] == "completed"
    assert (run["agent_id"], run["model"], run["thread_id"]) == ("remote", MODEL, thread_id)
    assert (run["error_code"], run["error"]) == (None, None)
    assert run["finished_at"] is not None
    user, asked, answered, final = body["messages"]
    assert (user["role"], user["content"], user["tool_calls"]) == ("user", "add 5 and 3", None)
    assert asked["role"] == "assistant"
    assert asked["content"] is None
    assert calls_of(asked) == [("add", {"a": 5, "b": 3})]
    call_id = asked["tool_calls"][0]["id"]
    assert (answered["role"], answered["content"]) == ("tool", "8")
    assert (answered["tool_call_id"], answered["name"]) == (call_id, "add")
    assert final["role"] == "assistant"
    assert final["tool_calls"] is None
    assert final["content"] == "5 + 3 = 8."
    assert {m["run_id"] for m in body["messages"]} == {run["id"]}
    assert [m["seq"] for m in body["messages"]] == [1, 2, 3, 4]

    # What was stored is exactly what was answered.
    assert await chat.messages(thread_id) == body["messages"]
    assert (await chat.thread(thread_id))["message_count"] == 4
    assert (await chat.finished_run(run["id"])) == run


async def test_streamed_turn_with_two_tool_calls(open_chat: OpenChat) -> None:
    chat = await open_chat()
    thread_id = await chat.new_thread()

    events = await chat.stream(thread_id, "add 5 and 3 and what time is it in Tokyo")

    types = [e["type"] for e in events]
    assert types[0] == "run.started"
    assert events[0]["thread_id"] == thread_id
    assert events[0]["agent_id"] == "remote"
    assert types[-1] == "run.completed"
    assert events[-1]["status"] == "completed"
    completed = [e["message"] for e in events if e["type"] == "message.completed"]
    asked, *answers, final = completed
    # Both calls arrive in one assistant turn, before any tool runs.
    assert calls_of(asked) == [
        ("add", {"a": 5, "b": 3}),
        ("current_time", {"timezone": "Asia/Tokyo"}),
    ]
    assert types.index("tool.started") > types.index("message.completed")
    started = [e for e in events if e["type"] == "tool.started"]
    finished = {e["name"]: e for e in events if e["type"] == "tool.finished"}
    assert [(e["name"], json.loads(e["arguments"])) for e in started] == calls_of(asked)
    assert [e["tool_call_id"] for e in started] == [c["id"] for c in asked["tool_calls"]]
    assert finished.keys() == {"add", "current_time"}
    assert {e["status"] for e in finished.values()} == {"ok"}
    assert finished["add"]["result"] == "8"
    assert json.loads(finished["current_time"]["result"])["timezone"] == "Asia/Tokyo"
    assert sorted((m["role"], m["name"]) for m in answers) == [
        ("tool", "add"),
        ("tool", "current_time"),
    ]
    # The answer streamed as deltas, then arrived whole.
    deltas = [e["delta"] for e in events if e["type"] == "message.delta"]
    assert len(deltas) > 3
    assert "".join(deltas) == final["content"]
    assert types.index("message.delta") > max(
        i for i, t in enumerate(types) if t == "tool.finished"
    )
    assert re.fullmatch(r"5 \+ 3 = 8\. It is \d\d:\d\d in Tokyo \(Asia/Tokyo\)\.", final["content"])

    run = await chat.finished_run(events[0]["run_id"])
    assert run["status"] == "completed"
    stored = await chat.messages(thread_id)
    assert summary(stored) == [
        ("user", "add 5 and 3 and what time is it in Tokyo"),
        *summary(completed),
    ]
    assert stored[1:] == completed
    assert (await chat.thread(thread_id))["message_count"] == len(stored) == 5


async def test_follow_up_turn_sends_the_stored_history(open_chat: OpenChat) -> None:
    chat = await open_chat()
    thread_id = await chat.new_thread()
    first = await chat.send(thread_id, "add 5 and 3")
    assert first.status_code == 200, first.text
    first_call = first.json()["messages"][1]["tool_calls"][0]["id"]

    second = await chat.send(thread_id, "what is 10 plus 2")

    assert second.status_code == 200, second.text
    _, asked, answered, final = second.json()["messages"]
    assert calls_of(asked) == [("add", {"a": 10, "b": 2})]
    # The mock numbers a call after every call it sees in the conversation: a 2 proves the
    # first turn (its tool call and result) went back to the model from the database.
    assert first_call.startswith("call_1_")
    assert asked["tool_calls"][0]["id"].startswith("call_2_")
    assert answered["content"] == "12"
    assert final["content"] == "10 + 2 = 12."

    # The system prompt reaches the model too, rendered for this user.
    third = await chat.send(thread_id, "hello")
    assert third.status_code == 200, third.text
    assert third.json()["messages"][-1]["content"].startswith(f"Hello, {DISPLAY_NAME}!")
    stored = await chat.messages(thread_id)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"] * 2 + [
        "user",
        "assistant",
    ]
    assert (await chat.thread(thread_id))["message_count"] == 10


# The tool-call log -----------------------------------------------------------------------------


async def test_every_tool_execution_is_logged(open_chat: OpenChat) -> None:
    chat = await open_chat()
    thread_id = await chat.new_thread()

    events = await chat.stream(thread_id, "add 5 and 3 and what time is it in Tokyo")

    assert events[-1]["type"] == "run.completed"
    lines = (chat.data_dir / "tool_calls.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    records = sorted((json.loads(line) for line in lines), key=lambda r: r["tool_name"])
    run_id = events[0]["run_id"]
    for record in records:
        assert record["run_id"] == run_id
        assert record["thread_id"] == thread_id
        assert record["user_id"] == chat.user["id"]
        assert record["agent_id"] == "remote"
        assert record["model"] == MODEL
        assert record["status"] == "ok"
        assert isinstance(record["duration_ms"], int | float)
        assert record["duration_ms"] >= 0
    add, current_time = records
    assert (add["tool_name"], add["arguments"], add["result"]) == ("add", {"a": 5, "b": 3}, "8")
    assert current_time["tool_name"] == "current_time"
    assert current_time["arguments"] == {"timezone": "Asia/Tokyo"}
    assert json.loads(current_time["result"])["timezone"] == "Asia/Tokyo"
    text_lines = (chat.data_dir / "tool_calls.log").read_text(encoding="utf-8").splitlines()
    assert len(text_lines) == 2
    assert all(f"run={run_id}" in line for line in text_lines)


async def test_tool_log_off_writes_nothing(open_chat: OpenChat) -> None:
    chat = await open_chat(tool_log=False)
    thread_id = await chat.new_thread()

    response = await chat.send(thread_id, "add 5 and 3")

    assert response.status_code == 200, response.text
    assert response.json()["messages"][2]["content"] == "8"
    assert not (chat.data_dir / "tool_calls.jsonl").exists()
    assert not (chat.data_dir / "tool_calls.log").exists()


# Failures ---------------------------------------------------------------------------------------


async def assert_closed_cleanly(
    chat: Chat,
    thread_id: str,
    *,
    run_id: str,
    code: str,
    user_content: str,
    agent_id: str = "remote",
    partial: str | None = None,
) -> dict[str, Any]:
    """The run failed with `code` and a reason; the thread holds the user's message and, when
    some text was streamed, that text as an interrupted assistant message; a next message is
    accepted, and answered unless the model itself is unusable."""
    run = await chat.finished_run(run_id)
    assert run["status"] == "failed"
    assert run["error_code"] == code
    assert run["error"]
    assert run["finished_at"] is not None
    stored = await chat.messages(thread_id)
    before = [("user", user_content)]
    if partial is not None:
        before.append(("assistant", partial))
        assert stored[-1]["interrupted"] is True
    assert summary(stored) == before
    assert all(message["run_id"] == run_id for message in stored)
    assert (await chat.thread(thread_id))["message_count"] == len(before)

    follow_up = await chat.send(thread_id, "add 1 and 2")
    after = await chat.messages(thread_id)
    if agent_id in ("offline", "misnamed"):
        assert_problem(follow_up, 502, code)
        assert summary(after) == [*before, ("user", "add 1 and 2")]
    else:
        assert follow_up.status_code == 200, follow_up.text
        assert follow_up.json()["run"]["status"] == "completed"
        assert summary(after) == [
            *before,
            ("user", "add 1 and 2"),
            ("assistant", None),
            ("tool", "3"),
            ("assistant", "1 + 2 = 3."),
        ]
    assert after[: len(stored)] == stored
    assert (await chat.thread(thread_id))["message_count"] == len(after)
    return run


# The model is always streamed, JSON clients included: a stream that breaks off after some text
# keeps that text, whichever way the client asked.
FAILURES = [
    pytest.param("remote", "[[mock:error400]] hi", {}, "model_error", 502, False, id="http-400"),
    pytest.param("remote", "[[mock:error500]] hi", {}, "model_error", 502, False, id="http-500"),
    pytest.param(
        "remote",
        "[[mock:malformed]] tell me a long story",
        {},
        "model_error",
        502,
        True,
        id="malformed-stream",
    ),
    pytest.param(
        "remote",
        "[[mock:slow=5]] hello",
        {"model_timeout_seconds": SHORT_TIMEOUT},
        "model_timeout",
        504,
        False,
        id="server-timeout",
    ),
    pytest.param(
        "impatient", "[[mock:slow=5]] hello", {}, "model_timeout", 504, False, id="agent-timeout"
    ),
    pytest.param(
        "impatient",
        "[[mock:hang-stream]] tell me a long story",
        {},
        "model_timeout",
        504,
        True,
        id="stalled-stream",
    ),
    pytest.param("offline", "add 5 and 3", {}, "model_unreachable", 502, False, id="endpoint-down"),
    pytest.param("misnamed", "add 5 and 3", {}, "model_error", 502, False, id="unknown-model"),
]


@pytest.mark.parametrize(("agent_id", "content", "settings", "code", "status", "partial"), FAILURES)
async def test_failure_without_streaming(
    open_chat: OpenChat,
    agent_id: str,
    content: str,
    settings: dict[str, Any],
    code: str,
    status: int,
    partial: bool,
) -> None:
    chat = await open_chat(**settings)
    thread_id = await chat.new_thread(agent_id)

    response = await chat.send(thread_id, content)

    body = assert_problem(response, status, code)
    assert body["title"] == "The run failed"
    assert body["detail"]
    assert "mock" not in body["detail"]  # a generic reason, never what the endpoint said
    assert body["instance"] == f"/api/threads/{thread_id}/messages"
    assert body["run"]["status"] == "failed"
    assert body["run"]["error_code"] == code
    assert body["run"]["error"] == body["detail"]
    assert body["run"]["agent_id"] == agent_id
    kept = None
    if partial:
        *_, cut = body["messages"]
        assert cut["role"] == "assistant"
        assert cut["interrupted"] is True
        assert cut["content"].startswith("You said:")
        kept = cut["content"]
    assert summary(body["messages"]) == [("user", content), *([("assistant", kept)] * partial)]
    run = await assert_closed_cleanly(
        chat,
        thread_id,
        run_id=body["run"]["id"],
        code=code,
        user_content=content,
        agent_id=agent_id,
        partial=kept,
    )
    assert run["error"] == body["detail"]


STREAMED_FAILURES = [
    pytest.param(
        "remote", "[[mock:malformed]] tell me a long story", {}, "model_error", True, id="malformed"
    ),
    pytest.param(
        "impatient",
        "[[mock:hang-stream]] tell me a long story",
        {},
        "model_timeout",
        True,
        id="stalled-stream",
    ),
    pytest.param("remote", "[[mock:error400]] hi", {}, "model_error", False, id="http-400"),
    pytest.param("remote", "[[mock:error500]] hi", {}, "model_error", False, id="http-500"),
    pytest.param(
        "remote",
        "[[mock:slow=5]] hello",
        {"model_timeout_seconds": SHORT_TIMEOUT},
        "model_timeout",
        False,
        id="server-timeout",
    ),
    pytest.param("offline", "add 5 and 3", {}, "model_unreachable", False, id="endpoint-down"),
    pytest.param("misnamed", "add 5 and 3", {}, "model_error", False, id="unknown-model"),
]


@pytest.mark.parametrize(("agent_id", "content", "settings", "code", "partial"), STREAMED_FAILURES)
async def test_failure_while_streaming(
    open_chat: OpenChat,
    agent_id: str,
    content: str,
    settings: dict[str, Any],
    code: str,
    partial: bool,
) -> None:
    chat = await open_chat(**settings)
    thread_id = await chat.new_thread(agent_id)

    events = await chat.stream(thread_id, content)

    failed = events[-1]
    assert failed["type"] == "run.failed"
    assert failed["status"] == "failed"
    assert failed["code"] == code
    assert failed["reason"]
    assert "mock" not in failed["reason"]
    completed = [e["message"] for e in events if e["type"] == "message.completed"]
    deltas = [e["delta"] for e in events if e["type"] == "message.delta"]
    kept = None
    if partial:
        # Part of the answer was streamed before the model broke off, and it is kept: the
        # user saw it.
        assert deltas
        kept = "".join(deltas)
        assert kept.startswith("You said:")
        assert [(m["role"], m["content"], m["interrupted"]) for m in completed] == [
            ("assistant", kept, True)
        ]
    else:
        assert not deltas
        assert not completed
    await assert_closed_cleanly(
        chat,
        thread_id,
        run_id=failed["run_id"],
        code=code,
        user_content=content,
        agent_id=agent_id,
        partial=kept,
    )


# Shutdown --------------------------------------------------------------------------------------


async def test_shutdown_closes_the_model_clients(open_chat: OpenChat) -> None:
    chat = await open_chat()
    async with chat.app.router.lifespan_context(chat.app):
        thread_id = await chat.new_thread()
        response = await chat.send(thread_id, "add 5 and 3")
        assert response.status_code == 200, response.text
        assert not any(client.is_closed() for client in chat.model_clients())

    assert all(client.is_closed() for client in chat.model_clients())


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (500, {"error": {"message": "The mock model failed on purpose."}}, "failed on purpose."),
        (404, {"message": "model 'x' not found"}, "model 'x' not found"),
        (400, "plain   text\nerror", "plain text error"),
        (500, {"error": {"message": "y" * 1000}}, "y" * 499 + "…"),
    ],
)
def test_what_an_endpoint_said_is_kept_as_its_status_and_message(
    status: int, body: object, said: str
) -> None:
    # For the server log and admins only; users read a generic reason (see the review tests).
    detail = upstream_detail(ModelHTTPError(status, "remote-model", body))
    assert detail.startswith(f"HTTP {status}: ")
    assert detail.endswith(said)
    assert "{" not in detail
