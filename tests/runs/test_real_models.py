"""Runs against behaviour real models have (slow, silent, long, empty, erroring answers), over
real HTTP to `confide mock-llm`, whose record of what it received and how each stream ended
lets a test see the far side: what Confide sent, and whether it hung up."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from confide.agents.mockllm import DRIP_TEXT
from tests.conftest import client_for
from tests.factories import assert_problem, grant_role, login, register
from tests.mockllm_server import serve_mock_llm_app
from tests.runs.conftest import serve_live
from tests.runs.test_openai_provider import SETTLE_SECONDS, Chat, parse_sse

MODEL = "confide-scripted"
SSE = "text/event-stream"
# Silence allowed by the `patient` agent: far longer than the gap between two drip words,
# far shorter than the whole drip answer (one word every DRIP_MS).
SILENCE = 2.0
DRIP_MS = 100
DRIP_WORDS = len(DRIP_TEXT.split())

AGENTS = """
[[agents]]
id = "patient"
name = "Streams long answers"
default = true
tools = ["add", "calculator", "current_time"]

[agents.model]
provider = "openai"
name = "{model}"
base_url = "{base_url}"
timeout_seconds = {silence}

[agents.generation]
max_tokens = 77

[[agents]]
id = "capped"
name = "A whole request may last one second"
tools = ["add"]

[agents.model]
provider = "openai"
name = "{model}"
base_url = "{base_url}"
timeout_seconds = {silence}
max_duration_seconds = 1

[[agents]]
id = "newer"
name = "Sends max_completion_tokens"
tools = ["add"]

[agents.model]
provider = "openai"
name = "{model}"
base_url = "{base_url}"
max_tokens_field = "max_completion_tokens"

[agents.generation]
max_tokens = 55

[[agents]]
id = "small"
name = "A small context window"
tools = ["add"]

[agents.model]
provider = "openai"
name = "{model}"
base_url = "{base_url}"
context_tokens = 1400

[agents.generation]
max_tokens = 100
"""


@pytest.fixture(scope="module")
def mock() -> Iterator[tuple[str, Starlette]]:
    with serve_mock_llm_app(allow_faults=True) as served:
        yield served


@dataclass
class Talk(Chat):
    """A `Chat` whose agents answer from `mock`, which records what it received."""

    mock: Starlette | None = None

    async def thread(self, agent_id: str = "patient") -> str:
        return await self.new_thread(agent_id)

    async def received(self, tag: str, **match: Any) -> Any:
        """The mock's record of the request whose last user message holds `tag` (waiting for
        it to match `match`, e.g. outcome="disconnected")."""
        assert self.mock is not None

        def matches(record: Any) -> bool:
            body = record.body or {}
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            return (
                bool(users)
                and tag in str(users[-1].get("content"))
                and all(getattr(record, key) == value for key, value in match.items())
            )

        return await asyncio.to_thread(self.mock.state.wait_for, matches, SETTLE_SECONDS)


OpenTalk = Callable[..., Awaitable[Talk]]


@pytest.fixture
async def open_talk(
    app_factory: Callable[..., FastAPI], mock: tuple[str, Starlette], tmp_path: Path
) -> AsyncIterator[OpenTalk]:
    base_url, mock_app = mock
    agents_file = tmp_path / "agents.toml"
    agents_file.write_text(
        AGENTS.format(model=MODEL, base_url=base_url, silence=SILENCE), encoding="utf-8"
    )
    opened: list[Talk] = []

    async def open_(*, admin: bool = False, **settings: Any) -> Talk:
        app = app_factory(agents_file=agents_file, **settings)
        talk = Talk(app=app, http=client_for(app), user={}, headers={}, mock=mock_app)
        opened.append(talk)
        user = await register(talk.http)
        if admin:
            await grant_role(app, user["id"])
        tokens = await login(talk.http, email=user["email"])
        talk.headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        return talk

    yield open_
    for talk in opened:
        await talk.close()


def tag() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


# Time-outs measure silence, not length ---------------------------------------------------------


async def test_a_long_steady_stream_completes_past_the_silence_limit(open_talk: OpenTalk) -> None:
    talk = await open_talk()
    thread_id = await talk.thread()
    label = tag()

    response = await talk.send(thread_id, f"{label} [[mock:drip={DRIP_MS}]]")

    assert response.status_code == 200, response.text
    answer = response.json()["messages"][-1]
    assert answer["role"] == "assistant"
    assert answer["interrupted"] is False
    assert answer["content"] == DRIP_TEXT
    # The whole answer took longer than the silence limit: only silence is timed.
    assert DRIP_WORDS * DRIP_MS / 1000 > SILENCE
    record = await talk.received(label, outcome="completed")
    assert record.stream is True  # always streamed from the model, JSON client or not


async def test_a_whole_request_is_capped_by_max_duration(open_talk: OpenTalk) -> None:
    talk = await open_talk()
    thread_id = await talk.thread("capped")
    label = tag()

    response = await talk.send(thread_id, f"{label} [[mock:drip={DRIP_MS}]]")

    body = assert_problem(response, 504, "model_timeout")
    assert "max_duration_seconds" in body["detail"]  # which limit was hit
    cut = body["messages"][-1]
    assert (cut["role"], cut["interrupted"]) == ("assistant", True)
    assert cut["content"]  # what streamed within the second is kept
    await talk.received(label, outcome="disconnected")  # and the upstream was hung up


async def test_silence_fails_the_run_naming_the_limit(open_talk: OpenTalk) -> None:
    talk = await open_talk(model_timeout_seconds=0.5)
    thread_id = await talk.thread("newer")  # no timeout of its own: the server's applies

    response = await talk.send(thread_id, f"{tag()} [[mock:slow=5]] hello")

    body = assert_problem(response, 504, "model_timeout")
    assert "CONFIDE_MODEL_TIMEOUT_SECONDS" in body["detail"]


# Giving up or cancelling closes the upstream request --------------------------------------------


async def test_a_json_time_out_hangs_up_on_the_model(open_talk: OpenTalk) -> None:
    talk = await open_talk()
    thread_id = await talk.thread()
    label = tag()

    response = await talk.send(thread_id, f"{label} [[mock:hang-stream=20]] a long story")

    assert_problem(response, 504, "model_timeout")
    record = await talk.received(label, outcome="disconnected")
    assert record.stream is True
    follow_up = await talk.send(thread_id, "add 2 and 2")  # the next turn works
    assert follow_up.status_code == 200, follow_up.text
    assert follow_up.json()["messages"][-1]["content"] == "2 + 2 = 4."


async def test_cancel_keeps_the_text_and_hangs_up_on_the_model(open_talk: OpenTalk) -> None:
    talk = await open_talk()
    thread_id = await talk.thread()
    label = tag()
    events: list[dict[str, Any]] = []
    async with (
        serve_live(talk.app) as live,
        live.stream(
            "POST",
            f"/api/threads/{thread_id}/messages",
            json={"content": f"{label} [[mock:drip=200]]"},
            headers={**talk.headers, "Accept": SSE},
        ) as response,
    ):
        buffer = ""
        async for piece in response.aiter_text():
            buffer += piece
            *blocks, buffer = buffer.split("\n\n")
            for block in blocks:
                (event,) = parse_sse(block + "\n\n")
                events.append(event)
                deltas = [e for e in events if e["type"] == "message.delta"]
                if len(deltas) == 3:
                    cancel = await live.post(
                        f"/api/runs/{event['run_id']}/cancel", headers=talk.headers
                    )
                    assert cancel.status_code == 200, cancel.text
                    assert cancel.json()["status"] == "cancelled"

    assert events[-1]["type"] == "run.cancelled"
    seen = "".join(e["delta"] for e in events if e["type"] == "message.delta")
    (kept,) = [e["message"] for e in events if e["type"] == "message.completed"]
    assert kept["role"] == "assistant"
    assert kept["interrupted"] is True
    assert kept["content"] == seen  # exactly what the user saw
    stored = await talk.messages(thread_id)
    assert [(m["role"], m["interrupted"]) for m in stored] == [("user", False), ("assistant", True)]
    record = await talk.received(label, outcome="disconnected")
    assert record.chunks_sent < DRIP_WORDS  # the model stopped before the end of its answer

    follow_up = await talk.send(thread_id, "add 1 and 2")  # roles alternate; the next turn works
    assert follow_up.status_code == 200, follow_up.text
    sent = (await talk.received("add 1 and 2")).body["messages"]
    roles = [m["role"] for m in sent if m["role"] != "system"]
    assert roles == ["user", "assistant", "user"]


# What reaches the model --------------------------------------------------------------------------


async def test_max_tokens_reaches_servers_that_ignore_max_completion_tokens(
    open_talk: OpenTalk,
) -> None:
    talk = await open_talk()
    label = tag()
    assert (await talk.send(await talk.thread(), f"{label} hi")).status_code == 200
    body = (await talk.received(label)).body
    assert body["max_tokens"] == 77
    assert "max_completion_tokens" not in body

    newer = tag()
    assert (await talk.send(await talk.thread("newer"), f"{newer} hi")).status_code == 200
    body = (await talk.received(newer)).body
    assert body["max_completion_tokens"] == 55
    assert "max_tokens" not in body


async def test_only_the_newest_messages_that_fit_are_sent(open_talk: OpenTalk) -> None:
    talk = await open_talk()
    thread_id = await talk.thread("small")
    for turn in range(12):  # each turn: user, assistant call, tool result, answer
        response = await talk.send(thread_id, f"turn {turn}: add {turn} and 100 " + "x" * 400)
        assert response.status_code == 200, response.text
    label = tag()
    assert (await talk.send(thread_id, f"{label} add 1 and 1")).status_code == 200

    sent = [m for m in (await talk.received(label)).body["messages"] if m["role"] != "system"]
    stored = await talk.messages(thread_id)
    assert 1 < len(sent) < len(stored)  # older messages were left out...
    assert sent[0]["role"] == "user"  # ...at the start of a turn
    assert sent[-1]["content"].startswith(label)
    calls = {c["id"] for m in sent for c in m.get("tool_calls") or ()}
    results = {m["tool_call_id"] for m in sent if m["role"] == "tool"}
    assert calls == results  # no call without its result, no result without its call
    assert sum(len(str(m.get("content") or "")) for m in sent) // 4 < 1400


# Answers that are not answers --------------------------------------------------------------------


async def test_an_empty_answer_fails_the_run_and_is_not_stored(open_talk: OpenTalk) -> None:
    talk = await open_talk()
    thread_id = await talk.thread()

    response = await talk.send(thread_id, "[[mock:empty]] hello")

    assert_problem(response, 502, "empty_answer")
    assert [m["role"] for m in await talk.messages(thread_id)] == ["user"]
    events = await talk.stream(thread_id, "[[mock:empty]] again")
    assert events[-1]["type"] == "run.failed"
    assert events[-1]["code"] == "empty_answer"
    assert "message.completed" not in [e["type"] for e in events]

    label = tag()
    follow_up = await talk.send(thread_id, f"{label} add 3 and 4")
    assert follow_up.status_code == 200, follow_up.text
    sent = [m for m in (await talk.received(label)).body["messages"] if m["role"] != "system"]
    # Three user messages in a row are sent as one: no server sees two user turns in a row.
    assert [m["role"] for m in sent] == ["user"]
    assert sent[0]["content"].endswith(f"{label} add 3 and 4")


# What users, admins and the log are told ---------------------------------------------------------


async def test_an_endpoint_error_reaches_users_as_a_generic_reason(
    open_talk: OpenTalk, caplog: pytest.LogCaptureFixture
) -> None:
    said = "The mock model failed on purpose."
    talk = await open_talk()
    thread_id = await talk.thread()

    with caplog.at_level(logging.WARNING, logger="confide.runs"):
        response = await talk.send(thread_id, "[[mock:error500]] hi")
        events = await talk.stream(thread_id, "[[mock:error500]] again")

    body = assert_problem(response, 502, "model_error")
    assert body["detail"] == "The model endpoint answered with HTTP 500."
    assert said not in response.text
    assert said not in events[-1]["reason"]
    run = (await talk.http.get(f"/api/runs/{body['run']['id']}", headers=talk.headers)).json()
    assert said not in str(run)
    assert run["error_detail"] is None  # not an admin
    ended = [r for r in caplog.records if r.name == "confide.runs" and hasattr(r, "run_id")]
    assert {r.run_id for r in ended} == {body["run"]["id"], events[-1]["run_id"]}
    for record in ended:  # one line per run: run id, agent, code, duration, what was said
        assert record.agent_id == "patient"
        assert record.status == "failed"
        assert record.error == "model_error"
        assert record.duration_ms >= 0
        assert said in record.upstream

    admin = await open_talk(admin=True)
    admin_thread = await admin.thread()
    failed = await admin.send(admin_thread, "[[mock:error500]] hi")
    run_id = failed.json()["run"]["id"]
    seen = (await admin.http.get(f"/api/runs/{run_id}", headers=admin.headers)).json()
    assert seen["error_detail"] == f"HTTP 500: {said}"


async def test_a_streamed_request_is_logged_with_its_runs_outcome(
    open_talk: OpenTalk, caplog: pytest.LogCaptureFixture
) -> None:
    talk = await open_talk()
    thread_id = await talk.thread()

    with caplog.at_level(logging.INFO, logger="confide.http"):
        failed = await talk.stream(thread_id, "[[mock:error500]] hi")
        completed = await talk.stream(thread_id, "add 2 and 3")
        as_json = await talk.send(thread_id, "[[mock:empty]] hi")

    lines = [
        r
        for r in caplog.records
        if r.name == "confide.http" and getattr(r, "path", "").endswith("/messages")
    ]
    assert [(r.status, r.run_status, getattr(r, "run_error", None)) for r in lines] == [
        (200, "failed", "model_error"),  # a 200 that started a stream, and how its run ended
        (200, "completed", None),
        (502, "failed", "empty_answer"),
    ]
    assert [r.run_id for r in lines] == [
        failed[-1]["run_id"],
        completed[-1]["run_id"],
        as_json.json()["run"]["id"],
    ]
