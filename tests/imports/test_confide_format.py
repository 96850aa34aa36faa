"""Confide's own format: export -> import recreates the tree; broken tool calls repaired."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import signed_up
from tests.imports.helpers import (
    branched_thread,
    edges,
    imported,
    path_contents,
    threads_by_title,
    tree,
)


async def test_round_trip_keeps_every_branch(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    thread_id, _ = await branched_thread(app, client, headers, user["id"])
    exported = await tree(client, headers, thread_id)
    assert exported["format"] == "confide.thread"
    assert exported["version"] == 1

    _, other = await signed_up(client)
    done = await imported(app, client, other, exported)
    assert (done["format"], done["threads_created"], done["skipped"]) == ("confide", 1, [])

    (copy,) = (await threads_by_title(client, other)).values()
    assert copy["title"] == "Sums"
    assert copy["id"] != thread_id
    again = await tree(client, other, copy["id"])
    assert edges(again) == edges(exported)
    assert {m["id"] for m in again["messages"]}.isdisjoint(m["id"] for m in exported["messages"])
    # Same active path, same tool call and result, same cut-short flag.
    assert await path_contents(client, other, copy["id"]) == await path_contents(
        client, headers, thread_id
    )
    call = next(m for m in again["messages"] if m["tool_calls"])
    assert call["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a":2,"b":3}'}
    result = next(m for m in again["messages"] if m["role"] == "tool")
    assert (result["tool_call_id"], result["name"], result["content"]) == ("call_1", "add", "5")
    assert [m["interrupted"] for m in again["messages"] if m["content"] == "Six, stopped"] == [True]


async def test_a_path_export_imports_as_that_path(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    thread_id, ids = await branched_thread(app, client, headers, user["id"])
    response = await client.get(
        f"/api/threads/{thread_id}/export",
        params={"format": "json", "path": ids["result"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    await imported(app, client, headers, response.json())
    listing = (await client.get("/api/threads", headers=headers)).json()["items"]
    copy = next(t for t in listing if t["id"] != thread_id)
    assert copy["message_count"] == 4
    assert await path_contents(client, headers, copy["id"]) == [
        ("user", "What is 2 + 3?"),
        ("assistant", None),
        ("tool", "5"),
        ("assistant", "2 + 3 = **5**."),
    ]


async def test_a_list_of_threads_and_an_account_export(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    thread_id, _ = await branched_thread(app, client, headers, user["id"])
    one = await tree(client, headers, thread_id)
    account = await client.get("/api/me/export", headers=headers)
    assert account.status_code == 200, account.text

    _, other = await signed_up(client)
    done = await imported(app, client, other, [one, one])
    assert (done["total"], done["threads_created"]) == (2, 2)
    done = await imported(app, client, other, account.json())
    assert (done["total"], done["threads_created"]) == (1, 1)
    titles = [t["title"] for t in (await client.get("/api/threads", headers=other)).json()["items"]]
    assert titles == ["Sums", "Sums", "Sums"]


def _thread(messages: list[dict[str, Any]], active: str | None = None) -> dict[str, Any]:
    return {
        "format": "confide.thread",
        "version": 1,
        "thread": {"title": "Broken", "agent_id": "assistant", "created_at": None},
        "active_leaf_id": active,
        "messages": messages,
    }


def _message(
    id: str, parent: str | None, role: str, content: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": id, "parent_id": parent, "role": role, "content": content, **extra}


def _call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "add", "arguments": "{}"}}


async def test_broken_tool_calls_are_repaired_and_reported(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Every path of the imported tree keeps the tool-call rule (the autouse invariant check
    reads every thread after the test), and each repair is in the report."""
    _, headers = await signed_up(client)
    broken = _thread(
        [
            _message("u1", None, "user", "add twice"),
            _message("a1", "u1", "assistant", tool_calls=[_call("c1"), _call("c2")]),
            _message("t1", "a1", "tool", "1", tool_call_id="c1"),
            _message("u2", "t1", "user", "never mind"),  # c2 never answered on this path
            _message("t9", "u2", "tool", "9", tool_call_id="c9"),  # answers nothing
            _message("a2", "t9", "assistant", "ok"),
            _message("a3", "u1", "assistant", tool_calls=[_call("c3")]),  # ends unanswered
        ],
        active="a2",
    )
    done = await imported(app, client, headers, broken)
    reasons = {(s["message_id"], s["reason"]) for s in done["skipped"]}
    assert reasons == {
        ("u2", "came before every tool call of its turn was answered: moved before the turn"),
        ("t9", "a tool result that answers no call of the turn before it"),
        ("a3", "a tool-call turn the file never finishes: left out"),
        ("t1", "a tool-call turn the file never finishes: left out"),
        ("a1", "a tool-call turn the file never finishes: left out"),
    }
    (thread,) = (await threads_by_title(client, headers)).values()
    assert await path_contents(client, headers, thread["id"]) == [
        ("user", "add twice"),
        ("user", "never mind"),
        ("assistant", "ok"),
    ]
    assert edges(await tree(client, headers, thread["id"])) == {
        (None, "add twice"),
        ("add twice", "never mind"),
        ("never mind", "ok"),
    }


async def test_an_invalid_thread_is_skipped_not_fatal(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    good = _thread([_message("u1", None, "user", "hello")])
    bad = _thread([_message("u1", None, "wizard", "hello")])
    done = await imported(app, client, headers, [bad, good])
    assert done["threads_created"] == 1
    (skip,) = done["skipped"]
    assert skip["conversation"] == "Broken"
    assert skip["reason"].startswith("not a Confide thread: messages.0.role")
