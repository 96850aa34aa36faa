"""The invariants every run must keep: valid threads in the database, well-formed event streams.

OpenAI's rule for a conversation: each `tool_calls` entry of an assistant message is followed by
exactly one `tool` message with the same `tool_call_id`, before any other non-tool message, and
no tool message comes without a call. A thread is a tree of messages (each with a parent), and
the rule holds on every path from a first message to a leaf: every conversation the thread can
show or continue. Ours on top: positions (`seq`) run 1, 2, 3... (a parent always before its
children), a thread's `message_count` is its number of rows, and its active leaf is a leaf.

`assert_threads_valid(app)` checks every thread of the app's database; `thread_problems` is the
rule itself over plain rows, so it can be tested without a database.

`parse_sse` / `sse_events` read a run's SSE stream (each event's `id:` and `event:` lines checked
against its JSON data) and `assert_run_stream_valid` checks the order of a whole run's events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from confide.runs.models import Run
from confide.threads.models import Message, Thread
from confide.threads.service import open_tool_calls

SETTLE_SECONDS = 30.0
TERMINAL = ("run.completed", "run.failed", "run.cancelled")
Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Row:
    """What the rule looks at in one stored message."""

    seq: int
    role: str
    tool_call_ids: tuple[str, ...] = ()
    tool_call_id: str | None = None
    # The row's id and its parent's: None for rows given as one path in seq order.
    id: str | None = None
    parent: str | None = None


def thread_problems(
    rows: Sequence[Row],
    *,
    message_count: int,
    waiting: bool = False,
    active_leaf: str | None = None,
) -> list[str]:
    """Every way these rows (ordered by seq) break the invariant, on every path of the tree
    they form; empty when they keep it. Rows without ids are one path, in order. `waiting`:
    the thread's run is paused on calls its user has not answered yet, which may end it."""
    problems: list[str] = []
    seqs = [row.seq for row in rows]
    if seqs != list(range(1, len(rows) + 1)):
        problems.append(f"seq is not 1..{len(rows)} without gaps: {seqs}")
    if message_count != len(rows):
        problems.append(f"message_count is {message_count} but the thread has {len(rows)} rows")
    if not rows or rows[0].id is None:
        return problems + path_problems(rows, waiting=waiting)
    by_id = {row.id: row for row in rows}
    children: dict[str | None, list[Row]] = {}
    for row in rows:
        if row.parent is not None and (row.parent not in by_id or by_id[row.parent].seq >= row.seq):
            problems.append(f"seq {row.seq}: parent {row.parent} is not an earlier message")
            continue
        children.setdefault(row.parent, []).append(row)
    leaves = [row for row in rows if row.id not in children]
    if active_leaf is not None and active_leaf not in {row.id for row in leaves}:
        problems.append(f"the active leaf {active_leaf} is not a leaf of the thread")
    for leaf in leaves:
        path: list[Row] = []
        at: Row | None = leaf
        while at is not None and len(path) <= len(rows):
            path.append(at)
            at = by_id.get(at.parent) if at.parent is not None else None
        path.reverse()
        problems += [
            f"path to seq {leaf.seq}: {problem}" for problem in path_problems(path, waiting=waiting)
        ]
    return problems


def path_problems(rows: Sequence[Row], *, waiting: bool = False) -> list[str]:
    """Every way one conversation (first message first) breaks OpenAI's tool-call rule."""
    problems: list[str] = []
    open_calls: list[str] = []  # ids of the last call turn still owed a tool message
    for row in rows:
        if row.role == "tool":
            if row.tool_call_id in open_calls:
                open_calls.remove(row.tool_call_id)
            else:
                problems.append(
                    f"seq {row.seq}: tool message for {row.tool_call_id!r} answers no open call"
                )
            continue
        if open_calls:
            problems.append(f"seq {row.seq}: {row.role} message before tool results {open_calls}")
            open_calls = []
        if row.tool_call_ids and row.role != "assistant":
            problems.append(f"seq {row.seq}: tool_calls on a {row.role} message")
        if len(set(row.tool_call_ids)) != len(row.tool_call_ids):
            problems.append(f"seq {row.seq}: repeated tool_call ids {list(row.tool_call_ids)}")
        open_calls = list(dict.fromkeys(row.tool_call_ids))
    if open_calls and not waiting:
        problems.append(f"the thread ends with tool calls never answered: {open_calls}")
    return problems


async def settle(app: FastAPI, *, timeout: float = SETTLE_SECONDS) -> None:
    """Wait until the runs this process has in progress have ended (and stored their end)."""
    tasks = list(app.state.runs.manager.tasks.values())
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        assert not pending, f"{len(pending)} run(s) still in progress after {timeout:g} s"


async def assert_threads_valid(app: FastAPI) -> None:
    """Every thread in the app's database keeps the invariant (once its runs have ended)."""
    await settle(app)
    vault = app.state.vault
    failures: list[str] = []
    async with app.state.database.sessionmaker() as db:
        threads = (await db.execute(select(Thread).order_by(Thread.created_at))).scalars().all()
        for thread in threads:
            messages = (
                (
                    await db.execute(
                        select(Message).where(Message.thread_id == thread.id).order_by(Message.seq)
                    )
                )
                .scalars()
                .all()
            )
            codec = await vault.codec(db, thread.owner_id)
            rows = [_row(message, codec) for message in messages]
            waiting = (
                await db.execute(
                    select(Run.id).where(Run.thread_id == thread.id, Run.status == "waiting")
                )
            ).first() is not None
            failures += [
                f"thread {thread.id}: {problem}"
                for problem in thread_problems(
                    rows,
                    message_count=thread.message_count,
                    waiting=waiting,
                    active_leaf=None
                    if thread.active_leaf_id is None
                    else str(thread.active_leaf_id),
                )
            ]
    assert not failures, "threads break the tool-call invariant:\n" + "\n".join(failures)


def _row(message: Message, codec: Any) -> Row:
    calls: list[dict[str, Any]] = (
        open_tool_calls(codec, message.id, message.tool_calls)
        if message.tool_calls is not None
        else []
    )
    return Row(
        seq=message.seq,
        role=message.role,
        tool_call_ids=tuple(str(call.get("id")) for call in calls),
        tool_call_id=message.tool_call_id,
        id=str(message.id),
        parent=None if message.parent_id is None else str(message.parent_id),
    )


# The event stream of a run ---------------------------------------------------------------------


class SseParser:
    """SSE lines in, events out: each event is its JSON data, checked against its other lines."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}

    def feed(self, line: str) -> Event | None:
        if line == "":
            fields, self._fields = self._fields, {}
            return _event(fields) if fields else None
        name, _, value = line.partition(":")
        assert name in ("id", "event", "data"), f"unexpected SSE line {line!r}"
        assert name not in self._fields, f"{name!r} twice in one event"
        self._fields[name] = value.removeprefix(" ")
        return None


def _event(fields: dict[str, str]) -> Event:
    assert fields.keys() == {"id", "event", "data"}, f"an event needs id, event and data: {fields}"
    data: Event = json.loads(fields["data"])
    assert data["id"] == int(fields["id"]), fields
    assert data["type"] == fields["event"], fields
    assert "run_id" in data, fields
    return data


def parse_sse(text: str) -> list[Event]:
    """The events of a whole SSE body."""
    assert text == "" or text.endswith("\n\n"), "the body ends in the middle of an event"
    parser = SseParser()
    return [event for line in text.split("\n") if (event := parser.feed(line)) is not None]


async def sse_events(response: httpx.Response) -> AsyncIterator[Event]:
    """The events of a streamed SSE response, as they arrive."""
    assert response.status_code == 200, await response.aread()
    assert response.headers["content-type"].startswith("text/event-stream")
    parser = SseParser()
    async for line in response.aiter_lines():
        event = parser.feed(line)
        if event is not None:
            yield event


def assert_run_stream_valid(events: Sequence[Event]) -> None:
    """A whole run's events, in the order the protocol promises.

    run.started first; ids 1, 2, 3...; one run_id; an assistant turn's message.completed before
    the tool.started/tool.finished of each of its calls; each tool.finished at once followed by
    the message.completed of its tool message; the deltas before an assistant message.completed
    joined are its content; one terminal event, last."""
    assert events, "no events"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["run_id"] for e in events}) == 1
    assert events[0]["type"] == "run.started"
    assert [e["type"] for e in events if e["type"] in TERMINAL] == [events[-1]["type"]]
    assert events[-1]["type"] in TERMINAL

    deltas: list[str] = []
    called: set[str] = set()  # ids of the last call turn
    started: set[str] = set()
    finished: set[str] = set()
    last_seq: int | None = None
    for position, event in enumerate(events):
        kind = event["type"]
        if kind == "message.delta":
            assert called == finished, f"event {event['id']}: text while tool calls are open"
            deltas.append(event["delta"])
        elif kind == "tool.started":
            call_id = event["tool_call_id"]
            assert call_id in called - started, f"event {event['id']}: no such open call"
            started.add(call_id)
        elif kind == "tool.finished":
            call_id = event["tool_call_id"]
            assert call_id in called - finished, f"event {event['id']}: no such open call"
            # A call the run was cancelled before starting is still answered, as cancelled.
            assert call_id in started or event["status"] == "cancelled", event
            finished.add(call_id)
            after = events[position + 1]
            assert after["type"] == "message.completed", f"event {event['id']}: then {after}"
            assert after["message"]["role"] == "tool"
            assert after["message"]["tool_call_id"] == call_id
            assert after["message"]["content"] == event["result"]
        elif kind == "message.completed":
            message = event["message"]
            seq = message["seq"]
            assert last_seq is None or seq == last_seq + 1, f"event {event['id']}: seq {seq}"
            last_seq = seq
            assert message["run_id"] == event["run_id"]
            if message["role"] == "assistant":
                assert called == finished, f"event {event['id']}: a turn before tool results"
                assert "".join(deltas) == (message["content"] or ""), event
                deltas = []
                called = {call["id"] for call in message["tool_calls"] or []}
                started, finished = set(), set()
            else:
                assert message["role"] == "tool", event
        else:
            assert kind in ("run.started", *TERMINAL), f"unknown event type {kind!r}"
    if events[-1]["type"] == "run.completed":
        assert deltas == [], "text streamed but never completed"
        assert called == set(), "the run completed on a turn with tool calls"
    assert called == finished, f"tool calls never answered: {sorted(called - finished)}"
