"""The mock LLM over real HTTP, driven by the official openai SDK and by pydantic-ai."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from starlette.applications import Starlette

from confide.agents.mockllm import DRIP_TEXT, ReceivedRequest, create_mock_llm_app
from tests.mockllm_server import free_port, serve_mock_llm_app

MODEL = "confide-scripted"
STARTUP_SECONDS = 20
WAIT_SECONDS = 30
ADD_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
}
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "current_time",
        "description": "The current time in an IANA time zone.",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string"}},
            "required": ["timezone"],
        },
    },
}


def wait_for_models(base_url: str, alive: Any) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not alive():
            pytest.fail("the mock LLM stopped before answering")
        try:
            httpx.get(f"{base_url}/models", timeout=2).raise_for_status()
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        return
    pytest.fail(f"the mock LLM did not answer within {STARTUP_SECONDS}s")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Starlette]]:
    """A real uvicorn serving the mock LLM, fault markers on, in a background thread."""
    with serve_mock_llm_app() as (url, app):
        yield url, app


@pytest.fixture(scope="module")
def base_url(served: tuple[str, Starlette]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def mock_app(served: tuple[str, Starlette]) -> Starlette:
    return served[1]


def client(base_url: str, **options: Any) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0, **options)


async def drain(stream: Any, *, into: list[Any]) -> None:
    async for chunk in stream:
        into.append(chunk)


def tool_message(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def root(base_url: str) -> str:
    return base_url.removesuffix("/v1")


def in_process(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


async def ended(app: Starlette, tag: str) -> ReceivedRequest:
    """The record of the request whose body mentions `tag`, once its answer has ended."""

    def matches(record: ReceivedRequest) -> bool:
        mentioned = record.body is not None and tag in json.dumps(record.body)
        return mentioned and record.outcome not in ("pending", "streaming")

    record: ReceivedRequest = await asyncio.to_thread(app.state.wait_for, matches, WAIT_SECONDS)
    return record


# Models ----------------------------------------------------------------------------------------


async def test_models_list_and_retrieve(base_url: str) -> None:
    async with client(base_url) as llm:
        models = await llm.models.list()
        assert [(m.id, m.owned_by) for m in models.data] == [(MODEL, "confide")]
        assert (await llm.models.retrieve(MODEL)).id == MODEL
        with pytest.raises(openai.NotFoundError):
            await llm.models.retrieve("gpt-nothing")


# Chat completions ------------------------------------------------------------------------------


async def test_tool_call_round_trip_without_streaming(base_url: str) -> None:
    async with client(base_url) as llm:
        messages: list[Any] = [{"role": "user", "content": "add 5 and 3"}]
        first = await llm.chat.completions.create(
            model=MODEL, messages=messages, tools=[ADD_TOOL, TIME_TOOL]
        )
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        calls = choice.message.tool_calls or []
        assert len(calls) == 1
        call = calls[0]
        assert call.type == "function"
        assert call.function.name == "add"
        assert json.loads(call.function.arguments) == {"a": 5, "b": 3}

        messages.append(choice.message.model_dump(exclude_none=True))
        messages.append(tool_message(call.id, "8"))
        second = await llm.chat.completions.create(
            model=MODEL, messages=messages, tools=[ADD_TOOL, TIME_TOOL]
        )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "5 + 3 = 8."
    assert second.choices[0].message.tool_calls is None
    assert second.usage is not None
    assert second.usage.total_tokens == second.usage.prompt_tokens + second.usage.completion_tokens
    assert second.id.startswith("chatcmpl-")
    assert second.model == MODEL


async def test_streamed_text_matches_the_plain_answer(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello"}]
    async with client(base_url) as llm:
        plain = await llm.chat.completions.create(model=MODEL, messages=messages)
        stream = await llm.chat.completions.create(model=MODEL, messages=messages, stream=True)
        chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) > 3
    assert "".join(pieces) == plain.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.usage is None for c in chunks)


async def test_streamed_parallel_tool_calls_assemble(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "add 5 and 3 and tell me the time in Tokyo"}]
    async with client(base_url) as llm:
        stream = await llm.chat.completions.create(
            model=MODEL, messages=messages, tools=[ADD_TOOL, TIME_TOOL], stream=True
        )
        calls: dict[int, dict[str, str]] = {}
        finish = None
        async for chunk in stream:
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            assert not choice.delta.content
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += delta.id or ""
                if delta.function:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("add", {"a": 5, "b": 3}),
        ("current_time", {"timezone": "Asia/Tokyo"}),
    ]
    assert len({c["id"] for c in calls.values()}) == 2


async def test_stream_options_include_usage_adds_a_usage_chunk(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello"}]
    async with client(base_url) as llm:
        stream = await llm.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


async def test_tool_choice_none_hides_the_tools(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "add 5 and 3"}]
    async with client(base_url) as llm:
        reply = await llm.chat.completions.create(
            model=MODEL, messages=messages, tools=[ADD_TOOL], tool_choice="none"
        )
    assert reply.choices[0].message.tool_calls is None
    assert "isn't available" in (reply.choices[0].message.content or "")


async def test_unknown_model_is_not_found(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello"}]
    async with client(base_url) as llm:
        with pytest.raises(openai.NotFoundError) as caught:
            await llm.chat.completions.create(model="gpt-nothing", messages=messages)
    assert caught.value.code == "model_not_found"


async def test_a_file_path_model_id_is_served_as_llama_cpp_reports_it() -> None:
    model = "/models/qwen2.5-0.5b-instruct-q4_k_m.gguf"
    async with (
        in_process(create_mock_llm_app(model_name=model)) as http,
        AsyncOpenAI(base_url="http://mock/v1", api_key="x", http_client=http) as llm,
    ):
        assert (await llm.models.retrieve(model)).id == model
        messages: Any = [{"role": "user", "content": "hello"}]
        reply = await llm.chat.completions.create(model=model, messages=messages)
    assert reply.model == model


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"model": "confide-scripted"}',
        b'{"model": "confide-scripted", "messages": []}',
        b'{"model": "confide-scripted", "messages": [{"role": "robot", "content": "hi"}]}',
    ],
)
async def test_malformed_request_is_an_openai_style_400(base_url: str, body: bytes) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]


# Unknown paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing"),
        ("POST", "/v1/completions"),
        ("POST", "/v1/embeddings"),
        ("DELETE", "/"),
        ("PATCH", "/v2/chat/completions"),
    ],
)
async def test_unknown_path_is_an_openai_style_404(base_url: str, method: str, path: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.request(method, root(base_url) + path, json={})
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": f"Invalid URL ({method} {path}).",
            "type": "invalid_request_error",
            "param": None,
            "code": "unknown_url",
        }
    }


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/chat/completions", {"POST"}),
        ("DELETE", "/v1/models", {"GET", "HEAD"}),
        ("POST", f"/v1/models/{MODEL}", {"GET", "HEAD"}),
    ],
)
async def test_wrong_method_is_an_openai_style_405(
    base_url: str, method: str, path: str, allowed: set[str]
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.request(method, root(base_url) + path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        None,
        "method_not_allowed",
    )
    assert f"{method} {path}" in error["message"]


async def test_sdk_sees_endpoints_the_mock_lacks_as_not_found(base_url: str) -> None:
    async with client(base_url) as llm:
        with pytest.raises(openai.NotFoundError) as embeddings:
            await llm.embeddings.create(model=MODEL, input="hello")
        with pytest.raises(openai.NotFoundError) as completions:
            await llm.completions.create(model=MODEL, prompt="hello")
    assert embeddings.value.code == completions.value.code == "unknown_url"


# Fault markers ---------------------------------------------------------------------------------


async def test_error500_marker(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:error500]]"}]
    async with client(base_url) as llm:
        with pytest.raises(openai.InternalServerError) as caught:
            await llm.chat.completions.create(model=MODEL, messages=messages)
    assert caught.value.status_code == 500


async def test_error400_marker(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "[[mock:error400]] hello"}]
    async with client(base_url) as llm:
        with pytest.raises(openai.BadRequestError):
            await llm.chat.completions.create(model=MODEL, messages=messages, stream=True)


async def test_markers_only_count_in_the_last_user_message(base_url: str) -> None:
    messages: Any = [
        {"role": "user", "content": "hello [[mock:error500]]"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "hello"},
    ]
    async with client(base_url) as llm:
        reply = await llm.chat.completions.create(model=MODEL, messages=messages)
    assert (reply.choices[0].message.content or "").startswith("Hello!")


async def test_malformed_marker_breaks_the_stream_after_good_chunks(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:malformed]]"}]
    received: list[Any] = []
    async with client(base_url) as llm:
        stream = await llm.chat.completions.create(model=MODEL, messages=messages, stream=True)
        with pytest.raises(json.JSONDecodeError):
            await drain(stream, into=received)
    assert len(received) == 3
    assert received[1].choices[0].delta.content == "Hello! "


async def test_malformed_marker_without_streaming_is_not_json(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:malformed]]"}]
    async with client(base_url) as llm:
        with pytest.raises(json.JSONDecodeError):
            await llm.chat.completions.create(model=MODEL, messages=messages)


async def test_slow_marker_outlasts_a_client_timeout(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:slow=5]]"}]
    async with client(base_url, timeout=0.5) as llm:
        with pytest.raises(openai.APITimeoutError):
            await llm.chat.completions.create(model=MODEL, messages=messages)


async def test_slow_marker_answers_after_the_delay(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "add 5 and 3 [[mock:slow=0.2]]"}]
    async with client(base_url) as llm:
        reply = await llm.chat.completions.create(model=MODEL, messages=messages, tools=[ADD_TOOL])
    calls = reply.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["add"]


async def test_hang_stream_marker_stalls_after_a_few_chunks(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:hang-stream]]"}]
    received: list[Any] = []
    async with client(base_url, timeout=0.5) as llm:
        stream = await llm.chat.completions.create(model=MODEL, messages=messages, stream=True)
        with pytest.raises(openai.APITimeoutError):
            await drain(stream, into=received)
    assert len(received) == 3


async def test_markers_are_ignored_unless_faults_are_allowed() -> None:
    app = create_mock_llm_app()
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi [[mock:error500]]"}]}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
        response = await http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("Hello!")


async def test_drip_marker_streams_a_long_answer_one_word_per_chunk(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:drip=1]]"}]
    async with client(base_url) as llm:
        plain = await llm.chat.completions.create(model=MODEL, messages=messages)
        stream = await llm.chat.completions.create(model=MODEL, messages=messages, stream=True)
        pieces = [c.choices[0].delta.content async for c in stream if c.choices[0].delta.content]
    assert plain.choices[0].message.content == DRIP_TEXT
    assert "".join(pieces) == DRIP_TEXT
    assert len(pieces) == len(DRIP_TEXT.split()) >= 40
    assert all(len(piece.split()) == 1 for piece in pieces)


async def test_empty_marker_answers_nothing(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "add 5 and 3 [[mock:empty]]"}]
    async with client(base_url) as llm:
        reply = await llm.chat.completions.create(model=MODEL, messages=messages, tools=[ADD_TOOL])
    choice = reply.choices[0]
    assert (choice.message.content, choice.message.tool_calls) == (None, None)
    assert choice.finish_reason == "stop"


async def test_empty_marker_streams_a_role_then_stop(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "add 5 and 3 [[mock:empty]]"}]
    async with client(base_url) as llm:
        stream = await llm.chat.completions.create(
            model=MODEL, messages=messages, tools=[ADD_TOOL], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert [c.choices[0].delta.role for c in chunks] == ["assistant", None]
    assert [c.choices[0].finish_reason for c in chunks] == [None, "stop"]
    assert all(not c.choices[0].delta.content for c in chunks)
    assert all(not c.choices[0].delta.tool_calls for c in chunks)


async def test_hang_stream_marker_with_seconds_resumes_after_the_silence(base_url: str) -> None:
    async with client(base_url) as llm:
        plain = await llm.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hello"}]
        )
        stream = await llm.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "[[mock:hang-stream=0.2]] hello"}],
            stream=True,
        )
        pieces = [c.choices[0].delta.content or "" async for c in stream]
    assert "".join(pieces) == plain.choices[0].message.content


async def test_hang_stream_seconds_can_outlast_a_client_timeout(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:hang-stream=20]]"}]
    received: list[Any] = []
    async with client(base_url, timeout=2) as llm:
        stream = await llm.chat.completions.create(model=MODEL, messages=messages, stream=True)
        with pytest.raises(openai.APITimeoutError):
            await drain(stream, into=received)
    assert len(received) == 3


async def test_the_first_marker_counts(base_url: str) -> None:
    messages: Any = [{"role": "user", "content": "hello [[mock:empty]] [[mock:error500]]"}]
    async with client(base_url) as llm:
        reply = await llm.chat.completions.create(model=MODEL, messages=messages)
    assert reply.choices[0].message.content is None


# What the server received ----------------------------------------------------------------------


async def test_received_records_a_completed_stream(base_url: str, mock_app: Starlette) -> None:
    tag = "record-completed"
    messages: Any = [{"role": "user", "content": f"hello {tag}"}]
    async with client(base_url) as llm:
        stream = await llm.chat.completions.create(
            model=MODEL, messages=messages, stream=True, temperature=0.5
        )
        chunks = [chunk async for chunk in stream]
    record = await ended(mock_app, tag)
    assert record.body == {"model": MODEL, "messages": messages, "stream": True, "temperature": 0.5}
    assert (record.stream, record.outcome, record.status) == (True, "completed", 200)
    assert record.chunks_sent == len(chunks) + 1  # and `data: [DONE]`


async def test_received_records_a_stream_the_client_left(
    base_url: str, mock_app: Starlette
) -> None:
    tag = "record-disconnected"
    content = f"{tag} [[mock:drip=250]]"
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": content}]}
    events: list[str] = []
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream("POST", f"{base_url}/chat/completions", json=body) as response,
    ):
        async for line in response.aiter_lines():
            events += [line] if line.startswith("data: ") else []
            if len(events) == 2:
                break
    record = await ended(mock_app, tag)
    assert record.outcome == "disconnected"
    assert 2 <= record.chunks_sent < len(DRIP_TEXT.split())


async def test_received_records_a_request_abandoned_while_slow(
    base_url: str, mock_app: Starlette
) -> None:
    tag = "record-abandoned"
    messages: Any = [{"role": "user", "content": f"{tag} [[mock:slow=20]]"}]
    async with client(base_url, timeout=1) as llm:
        with pytest.raises(openai.APITimeoutError):
            await llm.chat.completions.create(model=MODEL, messages=messages)
    record = await ended(mock_app, tag)
    assert (record.stream, record.outcome, record.chunks_sent) == (False, "disconnected", 0)


async def test_received_records_answers_and_errors() -> None:
    app = create_mock_llm_app(allow_faults=True)
    ok = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}
    failing = {**ok, "messages": [{"role": "user", "content": "hi [[mock:error500]]"}]}
    async with in_process(app) as http:
        await http.post("/v1/chat/completions", json=ok)
        await http.post("/v1/chat/completions", json=failing)
        await http.post("/v1/chat/completions", content=b"{not json")
        await http.post("/v1/chat/completions", json={**ok, "model": "gpt-nothing"})
        await http.post("/v1/chat/completions", json={**ok, "stream": True})
    records = app.state.received
    assert [(r.number, r.stream, r.outcome, r.status) for r in records] == [
        (1, False, "completed", 200),
        (2, False, "error", 500),
        (3, False, "error", 400),
        (4, False, "error", 404),
        (5, True, "completed", 200),
    ]
    assert [records[0].body, records[1].body, records[2].body] == [ok, failing, None]
    assert records[0].chunks_sent == 0
    assert records[4].chunks_sent > 3


async def test_received_keeps_the_last_100() -> None:
    app = create_mock_llm_app()
    async with in_process(app) as http:
        for number in range(105):
            body = {"model": MODEL, "messages": [{"role": "user", "content": f"hi {number}"}]}
            await http.post("/v1/chat/completions", json=body)
    records = app.state.received
    assert [record.number for record in records] == list(range(6, 106))
    assert records[-1].body["messages"][0]["content"] == "hi 104"


def test_wait_for_gives_up_saying_what_it_saw() -> None:
    app = create_mock_llm_app()
    with pytest.raises(TimeoutError, match="no request matched"):
        app.state.wait_for(lambda record: True, timeout=0.01)


async def test_mock_requests_lists_what_was_received(base_url: str) -> None:
    tag = "record-listed"
    messages: Any = [{"role": "user", "content": f"hello {tag}"}]
    async with client(base_url) as llm:
        answer = await llm.chat.completions.create(model=MODEL, messages=messages)
    async with httpx.AsyncClient() as http:
        listed = (await http.get(f"{root(base_url)}/mock/requests")).json()
    mine = [record for record in listed["data"] if tag in json.dumps(record["body"])]
    assert len(mine) == 1
    assert answer.usage is not None
    assert mine[0] == {
        "number": mine[0]["number"],
        "body": {"model": MODEL, "messages": messages},
        "stream": False,
        "outcome": "completed",
        "chunks_sent": 0,
        "status": 200,
        "usage": answer.usage.model_dump(exclude_none=True),
    }


async def test_mock_requests_is_only_served_with_faults() -> None:
    async with in_process(create_mock_llm_app()) as http:
        response = await http.get("/mock/requests")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"


# pydantic-ai's own OpenAI model ---------------------------------------------------------------


async def test_pydantic_ai_agent_calls_tools_through_the_mock(base_url: str) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.models import override_allow_model_requests
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    llm = client(base_url)  # closed at the end; a provider-made client would outlive the test
    agent = Agent(OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=llm)))
    called: list[tuple[str, Any]] = []

    @agent.tool_plain
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        called.append(("add", (a, b)))
        return a + b

    @agent.tool_plain
    def current_time(timezone: str) -> dict[str, str]:
        """The current time in an IANA time zone."""
        called.append(("current_time", timezone))
        return {"timezone": timezone, "iso": "2025-06-03T14:05:00+09:00", "display": "14:05"}

    # The suite may forbid model requests; this one goes to our own local server.
    async with llm:
        with override_allow_model_requests(True):
            result = await agent.run("add 5 and 3")
            assert "8" in result.output
            assert called == [("add", (5, 3))]

            called.clear()
            async with agent.run_stream("add 5 and 3 and tell me the time in Tokyo") as streamed:
                output = await streamed.get_output()
    assert output == "5 + 3 = 8. It is 14:05 in Tokyo (Asia/Tokyo)."
    assert sorted(name for name, _ in called) == ["add", "current_time"]


# The command -----------------------------------------------------------------------------------


def test_command_serves_the_named_model(tmp_path: Any) -> None:
    port = free_port()
    log = (tmp_path / "mock-llm.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "confide.agents.mockllm", "--port", str(port), "--model", "m1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}/v1"
        wait_for_models(base, lambda: process.poll() is None)
        assert [m["id"] for m in httpx.get(f"{base}/models").json()["data"]] == ["m1"]
        body = {"model": "m1", "messages": [{"role": "user", "content": "hi [[mock:error500]]"}]}
        assert httpx.post(f"{base}/chat/completions", json=body).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.seek(0)
        output = log.read()
        log.close()
    assert f"http://127.0.0.1:{port}/v1" in output
    assert "Traceback" not in output
