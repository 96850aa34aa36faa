"""Runs through the HTTP API: send a message, stream it, replay and resume it, cancel it.

Every thread these tests leave behind is checked against the tool-call invariant (conftest).
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.runs import bus as run_bus
from confide.runs.store import INTERRUPTED_TOOL_RESULT
from confide.threads.service import NewMessage
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.invariant import (
    Event,
    assert_run_stream_valid,
    parse_sse,
    settle,
    sse_events,
)
from tests.runs.conftest import Gate, LeftRunning, open_call_turn

THREADS = "/api/threads"
RUNS = "/api/runs"
SSE = {"Accept": "text/event-stream"}
TWO_TOOLS = "add 5 and 3 and what time is it in Tokyo"
POLL_ROUNDS = 500


# Helpers ---------------------------------------------------------------------------------------


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(THREADS, json={}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, content: str
) -> httpx.Response:
    return await client.post(
        f"{THREADS}/{thread_id}/messages", json={"content": content}, headers=headers
    )


async def send_streamed(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, content: str
) -> list[Event]:
    """Send a message with `Accept: text/event-stream`; the whole run's events."""
    response = await client.post(
        f"{THREADS}/{thread_id}/messages", json={"content": content}, headers={**headers, **SSE}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    return parse_sse(response.text)


async def stored_messages(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{THREADS}/{thread_id}/messages", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def replay(
    client: httpx.AsyncClient, headers: dict[str, str], run_id: str, **params: Any
) -> list[Event]:
    response = await client.get(f"{RUNS}/{run_id}/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


async def wait_for_run(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str
) -> dict[str, Any]:
    """The run in progress on a thread, once its first message is stored (polled, bounded)."""
    for _ in range(POLL_ROUNDS):
        items = await stored_messages(client, headers, thread_id)
        if items and items[0]["run_id"]:
            run = await client.get(f"{RUNS}/{items[0]['run_id']}", headers=headers)
            body: dict[str, Any] = run.json()
            return body
        await asyncio.sleep(0.01)
    raise AssertionError("no run started")


def completed_messages(events: list[Event]) -> list[dict[str, Any]]:
    return [e["message"] for e in events if e["type"] == "message.completed"]


def by_type(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e["type"] == kind]


def tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = message["tool_calls"] or []
    return calls


def strip(response: httpx.Response) -> dict[str, Any]:
    """A problem body without what differs between any two requests."""
    return {k: v for k, v in response.json().items() if k not in ("instance", "request_id")}


def agents_toml(base_url: str, *, timeout_seconds: float | None = None) -> str:
    """An agents file whose default agent talks to an OpenAI-compatible server at base_url."""
    timeout = f"timeout_seconds = {timeout_seconds}\n" if timeout_seconds else ""
    return f"""\
[[agents]]
id = "remote"
name = "Remote"
description = "The scripted model behind an OpenAI-compatible HTTP API."
default = true
tools = ["add", "calculator", "current_time"]
system_prompt = "You help {{user_name}}."
[agents.model]
provider = "openai"
name = "confide-scripted"
base_url = "{base_url}"
{timeout}"""


def remote_app(
    make_app: Callable[..., FastAPI], tmp_path: Path, base_url: str, **agent: Any
) -> FastAPI:
    path = tmp_path / "agents.toml"
    path.write_text(agents_toml(base_url, **agent), encoding="utf-8")
    return make_app(agents_file=path)


# Sending a message -----------------------------------------------------------------------------


async def test_add_calls_the_tool_then_answers(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    response = await send(client, headers, thread_id, "add 5 and 3")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    run = body["run"]
    assert run["status"] == "completed"
    assert run["thread_id"] == thread_id
    assert run["agent_id"] == "assistant"
    assert run["error_code"] is None
    assert run["finished_at"] is not None

    user, turn, result, answer = body["messages"]
    assert (user["role"], user["content"]) == ("user", "add 5 and 3")
    assert turn["role"] == "assistant"
    (call,) = tool_calls(turn)
    assert call["type"] == "function"
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 5, "b": 3}
    assert result["role"] == "tool"
    assert (result["content"], result["tool_call_id"], result["name"]) == ("8", call["id"], "add")
    assert answer["role"] == "assistant"
    assert answer["tool_calls"] is None
    assert "8" in answer["content"]
    assert [m["seq"] for m in body["messages"]] == [1, 2, 3, 4]
    assert {m["run_id"] for m in body["messages"]} == {run["id"]}

    assert await stored_messages(client, headers, thread_id) == body["messages"]
    thread = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
    assert thread["title"] == "add 5 and 3"
    assert thread["message_count"] == 4
    fetched = await client.get(f"{RUNS}/{run['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == run


async def test_two_tool_calls_in_one_turn(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    response = await send(client, headers, thread_id, TWO_TOOLS)
    assert response.status_code == 200, response.text
    messages = response.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "assistant"]
    calls = tool_calls(messages[1])
    assert [c["function"]["name"] for c in calls] == ["add", "current_time"]
    assert json.loads(calls[1]["function"]["arguments"]) == {"timezone": "Asia/Tokyo"}
    answers = {m["tool_call_id"]: m for m in messages[2:4]}
    assert answers.keys() == {c["id"] for c in calls}
    assert answers[calls[0]["id"]]["content"] == "8"
    assert "Asia/Tokyo" in answers[calls[1]["id"]]["content"]
    assert "8" in messages[4]["content"]
    assert "Tokyo" in messages[4]["content"]
    assert await stored_messages(client, headers, thread_id) == messages


async def test_a_second_message_continues_the_thread(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    first = (await send(client, headers, thread_id, "hello")).json()
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert first["messages"][1]["content"].startswith("Hello")
    second = (await send(client, headers, thread_id, "add 2 and 2")).json()
    assert second["run"]["id"] != first["run"]["id"]
    assert [m["seq"] for m in second["messages"]] == [3, 4, 5, 6]
    assert "4" in second["messages"][-1]["content"]
    everything = await stored_messages(client, headers, thread_id)
    assert everything == first["messages"] + second["messages"]
    thread = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
    assert thread["title"] == "hello"  # the first message's, kept
    assert thread["message_count"] == 6


async def test_messages_are_stored_as_they_complete(client: httpx.AsyncClient, gate: Gate) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    sending = asyncio.create_task(send(client, headers, thread_id, "add 5 and 3"))
    await gate.wait_entered()
    # The run is inside its tool call: the user's message and the call are already stored.
    so_far = await stored_messages(client, headers, thread_id)
    assert [m["role"] for m in so_far] == ["user", "assistant"]
    run = (await client.get(f"{RUNS}/{so_far[0]['run_id']}", headers=headers)).json()
    assert run["status"] == "running"
    assert run["finished_at"] is None
    gate.open()
    response = await sending
    assert response.json()["run"]["status"] == "completed"
    assert response.json()["messages"][:2] == so_far


# Streaming -------------------------------------------------------------------------------------


async def test_a_streamed_tool_run_follows_the_protocol(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    events = await send_streamed(client, headers, thread_id, "add 5 and 3")
    assert_run_stream_valid(events)
    assert [e["type"] for e in events if e["type"] != "message.delta"] == [
        "run.started",
        "message.completed",  # the assistant's call
        "tool.started",
        "tool.finished",
        "message.completed",  # the tool's result
        "message.completed",  # the answer
        "run.completed",
    ]
    started = events[0]
    assert started["thread_id"] == thread_id
    assert started["agent_id"] == "assistant"
    (call,) = tool_calls(completed_messages(events)[0])
    (tool_started,) = by_type(events, "tool.started")
    assert tool_started["tool_call_id"] == call["id"]
    assert tool_started["name"] == "add"
    assert json.loads(tool_started["arguments"]) == {"a": 5, "b": 3}
    (finished,) = by_type(events, "tool.finished")
    assert (finished["status"], finished["result"]) == ("ok", "8")
    deltas = by_type(events, "message.delta")
    assert len(deltas) > 1  # token by token
    answer = completed_messages(events)[-1]
    assert "".join(d["delta"] for d in deltas) == answer["content"]
    assert "8" in answer["content"]
    assert events[-1]["status"] == "completed"

    stored = await stored_messages(client, headers, thread_id)
    assert stored[1:] == completed_messages(events)
    assert stored[0]["role"] == "user"
    assert {m["run_id"] for m in stored} == {started["run_id"]}


async def test_a_streamed_turn_with_two_tool_calls(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    events = await send_streamed(client, headers, thread_id, TWO_TOOLS)
    assert_run_stream_valid(events)
    turn = completed_messages(events)[0]
    ids = [c["id"] for c in tool_calls(turn)]
    assert len(ids) == 2
    assert sorted(e["tool_call_id"] for e in by_type(events, "tool.started")) == sorted(ids)
    assert sorted(e["tool_call_id"] for e in by_type(events, "tool.finished")) == sorted(ids)
    assert [m["role"] for m in completed_messages(events)] == [
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    stored = await stored_messages(client, headers, thread_id)
    assert stored[1:] == completed_messages(events)


async def test_a_streamed_plain_answer_is_the_sum_of_its_deltas(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    events = await send_streamed(client, headers, thread_id, "hello there")
    assert_run_stream_valid(events)
    assert [e["type"] for e in events if e["type"] != "message.delta"] == [
        "run.started",
        "message.completed",
        "run.completed",
    ]
    (answer,) = completed_messages(events)
    text = "".join(e["delta"] for e in by_type(events, "message.delta"))
    assert text == answer["content"]
    assert text.startswith("Hello")


# Replaying and resuming ------------------------------------------------------------------------


async def test_replay_from_memory_after_any_id(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    events = await send_streamed(client, headers, thread_id, "add 5 and 3")
    run_id = events[0]["run_id"]
    last = events[-1]["id"]
    for after in sorted({0, 1, 2, 5, last - 1, last}):
        assert await replay(client, headers, run_id, after=after) == events[after:]
        by_header = await replay(client, {**headers, "Last-Event-ID": str(after)}, run_id)
        assert by_header == events[after:]
    # `?after=` wins over the header; a header that is not a number replays everything.
    both = await replay(client, {**headers, "Last-Event-ID": "1"}, run_id, after=last - 1)
    assert both == events[-1:]
    garbled = await replay(client, {**headers, "Last-Event-ID": "three"}, run_id)
    assert garbled == events
    assert await replay(client, headers, run_id, after=last + 10) == []


async def test_finished_runs_leave_memory_after_a_while_or_beyond_a_count(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = app.state.runs.bus
    monkeypatch.setattr(run_bus, "CHANNEL_KEEP_MAX", 2)
    _, headers = await signed_up(client)
    threads = [await new_thread(client, headers) for _ in range(3)]
    runs = []
    for thread_id in threads:
        runs.append((await send(client, headers, thread_id, "hi")).json()["run"]["id"])
        await settle(app)
    kept = {str(run_id) for run_id in bus.channels}
    assert kept == set(runs[1:])  # the oldest finished run left once a third finished
    monkeypatch.setattr(run_bus, "CHANNEL_KEEP_SECONDS", -1.0)  # as if a minute had passed
    bus.forget_old()
    assert bus.channels == {}
    stored = await replay(client, headers, runs[2])  # still replayed, from the database
    assert stored[-1]["type"] == "run.completed"


async def test_replay_from_the_database_once_the_run_has_left_memory(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    events = await send_streamed(client, headers, thread_id, TWO_TOOLS)
    run_id = events[0]["run_id"]
    await settle(app)
    app.state.runs.bus.channels.clear()  # as after CHANNEL_KEEP_SECONDS, or on another worker

    kept = [e for e in events if e["type"] != "message.delta"]  # deltas are not stored
    assert [e["type"] for e in kept][-1] == "run.completed"
    for after in [0, 1, *[e["id"] for e in kept]]:
        replayed = await replay(client, headers, run_id, after=after)
        # A stored replay always ends with how the run ended, even past its last id.
        assert replayed == ([e for e in kept if e["id"] > after] or kept[-1:])
    ids = [e["id"] for e in await replay(client, headers, run_id)]
    assert ids == sorted(set(ids))  # in order, no duplicates
    by_header = await replay(client, {**headers, "Last-Event-ID": str(kept[2]["id"])}, run_id)
    assert by_header == kept[3:]


async def test_resuming_mid_run_misses_nothing_and_repeats_nothing(
    live_client: httpx.AsyncClient, gate: Gate
) -> None:
    client = live_client
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    url = f"{THREADS}/{thread_id}/messages"
    first: list[Event] = []
    async with client.stream(
        "POST", url, json={"content": "add 5 and 3"}, headers={**headers, **SSE}
    ) as response:
        async for event in sse_events(response):
            first.append(event)
            if len(first) == 2:
                break  # the connection drops here, mid-run
    assert [e["id"] for e in first] == [1, 2]
    run_id = first[0]["run_id"]
    await gate.wait_entered()  # the run goes on without its client, into its tool call
    assert (await client.get(f"{RUNS}/{run_id}", headers=headers)).json()["status"] == "running"

    resumed: list[Event] = []
    async with client.stream(
        "GET", f"{RUNS}/{run_id}/events", headers={**headers, "Last-Event-ID": "2"}
    ) as response:
        async for event in sse_events(response):
            resumed.append(event)
            if event["type"] == "tool.started":
                gate.open()  # live: later events are sent as the run makes them
    assert resumed[0]["id"] == 3
    assert resumed[-1]["type"] == "run.completed"
    whole = first + resumed
    assert_run_stream_valid(whole)
    assert await replay(client, headers, run_id) == whole
    stored = await stored_messages(client, headers, thread_id)
    assert stored[1:] == completed_messages(whole)


@pytest.mark.parametrize("after", ["-1", "x"])
async def test_a_bad_after_is_a_validation_error(client: httpx.AsyncClient, after: str) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = (await send(client, headers, thread_id, "hi")).json()["run"]["id"]
    response = await client.get(f"{RUNS}/{run_id}/events?after={after}", headers=headers)
    assert_problem(response, 422, "validation_error")


# Cancelling ------------------------------------------------------------------------------------


async def test_cancel_during_a_tool_call_answers_it_as_cancelled(
    client: httpx.AsyncClient, gate: Gate
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    streaming = asyncio.create_task(send_streamed(client, headers, thread_id, "add 5 and 3"))
    await gate.wait_entered()
    run = await wait_for_run(client, headers, thread_id)
    cancelled = await client.post(f"{RUNS}/{run['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["error_code"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None

    events = await streaming
    assert_run_stream_valid(events)
    assert events[-1]["type"] == "run.cancelled"
    assert events[-1]["status"] == "cancelled"
    (finished,) = by_type(events, "tool.finished")
    assert finished["status"] == "cancelled"
    assert finished["result"] == INTERRUPTED_TOOL_RESULT
    stored = await stored_messages(client, headers, thread_id)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool"]
    assert stored[2]["content"].startswith("Cancelled")
    assert stored[2]["tool_call_id"] == tool_calls(stored[1])[0]["id"]
    assert stored[1:] == completed_messages(events)

    # Cancelled is final: a second cancel changes nothing, the thread takes new messages.
    again = await client.post(f"{RUNS}/{run['id']}/cancel", headers=headers)
    assert again.json() == cancelled.json()
    after = await send(client, headers, thread_id, "hello")
    assert after.json()["run"]["status"] == "completed"


async def test_cancel_keeps_the_tool_results_that_came_in(
    live_client: httpx.AsyncClient, gate: Gate
) -> None:
    client = live_client
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    events: list[Event] = []
    async with client.stream(
        "POST",
        f"{THREADS}/{thread_id}/messages",
        json={"content": TWO_TOOLS},
        headers={**headers, **SSE},
    ) as response:
        async for event in sse_events(response):
            events.append(event)
            done = event["type"] == "message.completed" and event["message"]["role"] == "tool"
            if done:  # current_time has answered; add is held at the gate
                await gate.wait_entered()
                cancel = await client.post(f"{RUNS}/{event['run_id']}/cancel", headers=headers)
                assert cancel.json()["status"] == "cancelled"
    assert_run_stream_valid(events)
    assert events[-1]["type"] == "run.cancelled"
    stored = await stored_messages(client, headers, thread_id)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "tool"]
    add_call, time_call = tool_calls(stored[1])
    assert stored[2]["tool_call_id"] == time_call["id"]
    assert "Asia/Tokyo" in stored[2]["content"]
    assert stored[3]["tool_call_id"] == add_call["id"]
    assert stored[3]["content"] == INTERRUPTED_TOOL_RESULT
    assert stored[1:] == completed_messages(events)


async def test_cancel_while_the_model_is_answering(
    make_app: Callable[..., FastAPI], tmp_path: Path, mock_llm_url: str
) -> None:
    app = remote_app(make_app, tmp_path, mock_llm_url)
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        streaming = asyncio.create_task(
            send_streamed(client, headers, thread_id, "[[mock:slow=5]] add 5 and 3")
        )
        run = await wait_for_run(client, headers, thread_id)
        assert run["status"] == "running"
        assert run["agent_id"] == "remote"
        cancelled = await client.post(f"{RUNS}/{run['id']}/cancel", headers=headers)
        assert cancelled.json()["status"] == "cancelled"
        events = await streaming
        assert_run_stream_valid(events)
        assert [e["type"] for e in events] == ["run.started", "run.cancelled"]
        stored = await stored_messages(client, headers, thread_id)
        assert [m["role"] for m in stored] == ["user"]


async def test_cancel_of_a_finished_run_changes_nothing(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run = (await send(client, headers, thread_id, "add 5 and 3")).json()["run"]
    response = await client.post(f"{RUNS}/{run['id']}/cancel", headers=headers)
    assert response.status_code == 200
    assert response.json() == run
    assert len(await stored_messages(client, headers, thread_id)) == 4


async def test_cancel_of_a_run_with_no_task_here_closes_its_thread(
    client: httpx.AsyncClient, left_running: LeftRunning
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = await left_running(
        thread_id,
        *open_call_turn("call_a", "call_b"),
        NewMessage(role="tool", content="3", tool_call_id="call_a", name="add"),
    )
    response = await client.post(f"{RUNS}/{run_id}/cancel", headers=headers)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["error_code"]) == ("cancelled", "cancelled")
    stored = await stored_messages(client, headers, thread_id)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "tool"]
    assert (stored[3]["tool_call_id"], stored[3]["name"]) == ("call_b", "add")
    assert stored[3]["content"] == INTERRUPTED_TOOL_RESULT
    assert stored[3]["run_id"] == str(run_id)


async def test_cancel_of_a_run_with_no_task_here_ends_its_event_stream(
    client: httpx.AsyncClient, left_running: LeftRunning
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = await left_running(thread_id, *open_call_turn("call_a"))
    assert (await client.post(f"{RUNS}/{run_id}/cancel", headers=headers)).status_code == 200
    # A client resuming this run must learn how it ended, and see the closing tool message.
    events = await replay(client, headers, str(run_id))
    assert [e["type"] for e in events][-3:] == [
        "tool.finished",
        "message.completed",
        "run.cancelled",
    ]


async def test_finishing_a_run_answers_its_open_tool_calls_once(
    client: httpx.AsyncClient, app: FastAPI, left_running: LeftRunning
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = await left_running(
        thread_id,
        *open_call_turn("call_a", "call_b"),
        NewMessage(role="tool", content="3", tool_call_id="call_b", name="add"),
    )
    store = app.state.runs.store
    closed = await store.finish(run_id, status="cancelled")
    assert closed is not None
    closing = closed.messages
    assert [(m.role, m.tool_call_id, m.seq) for m in closing] == [("tool", "call_a", 4)]
    assert closing[0].content is not None
    assert closing[0].content.startswith("Cancelled")
    run = (await client.get(f"{RUNS}/{run_id}", headers=headers)).json()
    assert run["status"] == "cancelled"
    assert run["finished_at"] is not None

    # Idempotent: nothing left to close, and a finished run keeps its outcome.
    assert await store.finish(run_id, status="failed", error_code="x") is None
    again = (await client.get(f"{RUNS}/{run_id}", headers=headers)).json()
    assert again == run
    assert len(await stored_messages(client, headers, thread_id)) == 4


async def test_an_answer_that_cannot_be_stored_fails_the_run_and_frees_the_thread(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    store = app.state.runs.store
    real_complete = store.complete

    async def broken_once(*args: Any, **kwargs: Any) -> bool:
        monkeypatch.setattr(store, "complete", real_complete)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(store, "complete", broken_once)
    response = await send(client, headers, thread_id, "add 5 and 3")
    assert_problem(response, 502, "internal_error")
    kept = await stored_messages(client, headers, thread_id)
    # All that was finished, and the answer the user saw stream, kept as interrupted.
    assert [(m["role"], m["interrupted"]) for m in kept] == [
        ("user", False),
        ("assistant", False),
        ("tool", False),
        ("assistant", True),
    ]
    assert kept[-1]["content"] == "5 + 3 = 8."
    run_id = kept[0]["run_id"]
    run = (await client.get(f"{RUNS}/{run_id}", headers=headers)).json()
    assert (run["status"], run["error_code"]) == ("failed", "internal_error")
    types = [e["type"] for e in await replay(client, headers, run_id)]
    assert types[0] == "run.started"
    assert types[-1] == "run.failed"
    assert "tool.finished" in types  # the events heard live were stored by the failure
    again = await send(client, headers, thread_id, "hello")
    assert again.json()["run"]["status"] == "completed"


# One run at a time -----------------------------------------------------------------------------


async def test_a_message_during_a_run_is_refused(client: httpx.AsyncClient, gate: Gate) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    sending = asyncio.create_task(send(client, headers, thread_id, "add 5 and 3"))
    await gate.wait_entered()
    refused = await send(client, headers, thread_id, "are you there?")
    assert_problem(refused, 409, "run_in_progress")
    refused_stream = await client.post(
        f"{THREADS}/{thread_id}/messages", json={"content": "hi"}, headers={**headers, **SSE}
    )
    assert_problem(refused_stream, 409, "run_in_progress")
    assert len(await stored_messages(client, headers, thread_id)) == 2  # nothing of the refused
    gate.open()
    first = await sending
    assert first.json()["run"]["status"] == "completed"
    assert [m["seq"] for m in first.json()["messages"]] == [1, 2, 3, 4]
    later = await send(client, headers, thread_id, "hello")
    assert later.json()["run"]["status"] == "completed"


async def test_a_thread_names_its_run_in_progress_until_it_ends(
    client: httpx.AsyncClient, gate: Gate
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    idle = await new_thread(client, headers)
    before = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
    assert before["active_run_id"] is None
    sending = asyncio.create_task(send(client, headers, thread_id, "add 5 and 3"))
    await gate.wait_entered()
    run_id = (await wait_for_run(client, headers, thread_id))["id"]
    during = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
    assert during["active_run_id"] == run_id
    listed = (await client.get(THREADS, headers=headers)).json()["items"]
    assert {t["id"]: t["active_run_id"] for t in listed} == {thread_id: run_id, idle: None}
    gate.open()
    assert (await sending).json()["run"]["status"] == "completed"
    after = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
    assert after["active_run_id"] is None


async def test_a_run_running_in_the_database_blocks_the_thread(
    client: httpx.AsyncClient, left_running: LeftRunning
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    other_thread = await new_thread(client, headers)
    await left_running(thread_id, NewMessage(role="user", content="first"))
    assert_problem(await send(client, headers, thread_id, "second"), 409, "run_in_progress")
    assert len(await stored_messages(client, headers, thread_id)) == 1
    # Only that thread: another thread of the same user is free.
    assert (await send(client, headers, other_thread, "hello")).status_code == 200


# Isolation -------------------------------------------------------------------------------------


async def test_another_users_thread_and_run_are_404s_like_missing_ones(
    client: httpx.AsyncClient, gate: Gate
) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    thread_id = await new_thread(client, alice)
    sending = asyncio.create_task(send(client, alice, thread_id, "add 5 and 3"))
    await gate.wait_entered()
    run_id = (await wait_for_run(client, alice, thread_id))["id"]
    missing = str(uuid.uuid4())

    theirs = await send(client, bob, thread_id, "mine now")
    absent = await send(client, bob, missing, "mine now")
    assert_problem(theirs, 404, "thread_not_found")
    assert strip(theirs) == strip(absent)
    for method, suffix, extra in [
        ("GET", "", {}),
        ("GET", "/events", {}),
        ("GET", "/events", {**SSE, "Last-Event-ID": "1"}),
        ("POST", "/cancel", {}),
    ]:
        theirs = await client.request(method, f"{RUNS}/{run_id}{suffix}", headers={**bob, **extra})
        absent = await client.request(method, f"{RUNS}/{missing}{suffix}", headers={**bob, **extra})
        assert_problem(theirs, 404, "run_not_found")
        assert strip(theirs) == strip(absent)

    # Alice's run went on untouched.
    assert (await client.get(f"{RUNS}/{run_id}", headers=alice)).json()["status"] == "running"
    gate.open()
    result = (await sending).json()
    assert result["run"]["status"] == "completed"
    assert [m["role"] for m in result["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert await stored_messages(client, alice, thread_id) == result["messages"]
    assert (await client.get(THREADS, headers=bob)).json()["items"] == []


# Validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"content": ""},
        {"content": "   "},
        {"content": "\n\t "},
        {},
        {"content": None},
        {"content": 5},
        {"content": "hi", "role": "system"},
        {"content": "hi", "agent_id": "calculator"},
        {"content": "x" * 100_001},
    ],
)
async def test_bad_message_bodies_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    response = await client.post(f"{THREADS}/{thread_id}/messages", json=body, headers=headers)
    assert_problem(response, 422, "validation_error")
    assert await stored_messages(client, headers, thread_id) == []


async def test_the_longest_message_is_accepted(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    content = "x" * 100_000
    response = await send(client, headers, thread_id, content)
    assert response.status_code == 200, response.text
    assert response.json()["messages"][0]["content"] == content


async def test_runs_require_authentication(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = (await send(client, headers, thread_id, "hi")).json()["run"]["id"]
    assert_problem(
        await client.post(f"{THREADS}/{thread_id}/messages", json={"content": "hi"}),
        401,
        "not_authenticated",
    )
    for method, suffix in [("GET", ""), ("GET", "/events"), ("POST", "/cancel")]:
        response = await client.request(method, f"{RUNS}/{run_id}{suffix}")
        assert_problem(response, 401, "not_authenticated")
    assert len(await stored_messages(client, headers, thread_id)) == 2


# Failures --------------------------------------------------------------------------------------


async def test_too_many_steps_fail_the_run_and_keep_the_thread_valid(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(run_max_steps=1)
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        response = await send(client, headers, thread_id, "add 5 and 3")
        body = assert_problem(response, 502, "max_steps_exceeded")
        assert body["run"]["status"] == "failed"
        assert body["run"]["error_code"] == "max_steps_exceeded"
        assert body["detail"] == body["run"]["error"]
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool"]
        assert await stored_messages(client, headers, thread_id) == body["messages"]

        events = await send_streamed(client, headers, thread_id, "add 1 and 2")
        assert_run_stream_valid(events)
        assert events[-1]["type"] == "run.failed"
        assert events[-1]["code"] == "max_steps_exceeded"
        assert events[-1]["reason"]


async def test_an_unreachable_model_fails_the_run_after_storing_the_message(
    make_app: Callable[..., FastAPI], tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = remote_app(make_app, tmp_path, f"http://127.0.0.1:{port}/v1")
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        response = await send(client, headers, thread_id, "add 5 and 3")
        body = assert_problem(response, 502, "model_unreachable")
        assert body["run"]["status"] == "failed"
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert await stored_messages(client, headers, thread_id) == body["messages"]
        thread = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
        assert thread["title"] == "add 5 and 3"
