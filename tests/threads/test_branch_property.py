"""Property: whatever a user does to a thread's tree (send, send after any message, edit,
regenerate, continue, switch path), every path keeps OpenAI's tool-call rule, every message
says truly where it stands among its siblings, and the model saw exactly the path it
answered (hypothesis; the scripted model answers "what have I said" from what it was sent)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import client_for
from tests.factories import signed_up
from tests.invariant import Row, assert_threads_valid, path_problems

THREADS = "/api/threads"
RUNS = "/api/runs"
TEXTS = [
    "hello",
    "add 2 and 3",
    "what time is it in Tokyo",
    "add 1 and 1 and what time is it in Paris",
    "what have I said",
]

operation = st.one_of(
    st.tuples(st.just("send"), st.sampled_from(TEXTS)),
    st.tuples(st.just("after"), st.integers(0, 50), st.sampled_from(TEXTS)),
    st.tuples(st.just("edit"), st.integers(0, 50), st.sampled_from(TEXTS)),
    st.tuples(st.just("regenerate"), st.integers(0, 50)),
    st.tuples(st.just("continue"), st.integers(0, 50)),
    st.tuples(st.just("switch"), st.integers(0, 50)),
)


async def _all(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, **params: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": "100", **params}
        if cursor:
            query["cursor"] = cursor
        page = await client.get(f"{THREADS}/{thread_id}/messages", params=query, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def _said(answer: str) -> list[str]:
    if answer.startswith("You have not said anything"):
        return []
    return re.findall(r'"([^"]*)"', answer)


class Tree:
    """What the test knows of the thread: every message and run it has seen stored."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        self.runs: list[str] = []

    def add(self, body: dict[str, Any]) -> None:
        self.runs.append(body["run"]["id"])
        for message in body["messages"]:
            self.messages[message["id"]] = message

    def pick(self, k: int, role: str | None = None) -> dict[str, Any] | None:
        found = [m for m in self.messages.values() if role is None or m["role"] == role]
        return found[k % len(found)] if found else None

    def path_to(self, message_id: str) -> list[dict[str, Any]]:
        path = []
        at: str | None = message_id
        while at is not None:
            path.append(self.messages[at])
            at = self.messages[at]["parent_id"]
        return path[::-1]


async def _apply(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, tree: Tree, op: tuple
) -> None:
    kind = op[0]
    response: httpx.Response | None = None
    if kind == "send":
        response = await client.post(
            f"{THREADS}/{thread_id}/messages", json={"content": op[1]}, headers=headers
        )
    elif kind == "after" and (parent := tree.pick(op[1])) is not None:
        response = await client.post(
            f"{THREADS}/{thread_id}/messages",
            json={"content": op[2], "parent_id": parent["id"]},
            headers=headers,
        )
        if parent["role"] == "assistant" and parent["tool_calls"]:
            assert response.status_code == 409, response.text
            return
        if parent["role"] == "tool" and response.status_code == 409:
            return  # not the last result of its turn (checked by the invariant below)
    elif kind == "edit" and (question := tree.pick(op[1], "user")) is not None:
        response = await client.post(
            f"{THREADS}/{thread_id}/messages/{question['id']}/edit",
            json={"content": op[2]},
            headers=headers,
        )
    elif kind == "regenerate" and tree.runs:
        run_id = tree.runs[op[1] % len(tree.runs)]
        response = await client.post(f"{RUNS}/{run_id}/regenerate", headers=headers)
    elif kind == "continue" and tree.runs:
        run_id = tree.runs[op[1] % len(tree.runs)]
        response = await client.post(f"{RUNS}/{run_id}/continue", headers=headers)
        if response.status_code == 409:
            assert response.json()["code"] == "nothing_to_continue"
            return
    elif kind == "switch" and (target := tree.pick(op[1])) is not None:
        switched = await client.put(
            f"{THREADS}/{thread_id}/active", json={"leaf_id": target["id"]}, headers=headers
        )
        assert switched.status_code == 200, switched.text
        return
    if response is None:
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run"]["status"] == "completed", body
    tree.add(body)
    answer = body["messages"][-1]
    asked = next((m for m in body["messages"] if m["role"] == "user"), None)
    if asked is not None and asked["content"] == "what have I said":
        # The model saw the path it answered, and only that path.
        before = tree.path_to(asked["id"])[:-1]
        while before and before[-1]["role"] == "user":
            before.pop()  # user messages in a row reach the model as one (conversation.py)
        expected: list[str] = []
        previous = None
        for message in before:
            if message["role"] == "user":
                if previous == "user":
                    expected[-1] += " " + message["content"]
                else:
                    expected.append(message["content"])
            previous = message["role"]
        assert _said(answer["content"]) == expected, (answer["content"], expected)


def _check_path(items: list[dict[str, Any]]) -> None:
    rows = [
        Row(
            seq=m["seq"],
            role=m["role"],
            tool_call_ids=tuple(c["id"] for c in m["tool_calls"] or ()),
            tool_call_id=m["tool_call_id"],
        )
        for m in items
    ]
    assert path_problems(rows) == []
    for before, after in itertools.pairwise(items):
        assert after["parent_id"] == before["id"]
    assert items[0]["parent_id"] is None


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=8))
async def test_every_path_of_a_branched_thread_keeps_the_rules(
    app: FastAPI, operations: list[tuple]
) -> None:
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        thread_id = (await client.post(THREADS, json={}, headers=headers)).json()["id"]
        tree = Tree()
        await _apply(client, headers, thread_id, tree, ("send", "hello"))
        for op in operations:
            await _apply(client, headers, thread_id, tree, op)
        thread = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
        assert thread["message_count"] == len(tree.messages)
        children: dict[str | None, list[str]] = {}
        for message in sorted(tree.messages.values(), key=lambda m: m["seq"]):
            children.setdefault(message["parent_id"], []).append(message["id"])
        leaves = [m for m in tree.messages if m not in children]
        assert thread["active_leaf_id"] in leaves
        for leaf in leaves:
            items = await _all(client, headers, thread_id, path=leaf)
            assert [m["id"] for m in items] == [m["id"] for m in tree.path_to(leaf)]
            _check_path(items)
            for message in items:
                family = children[message["parent_id"]]
                assert message["sibling_count"] == len(family)
                assert message["sibling_index"] == family.index(message["id"])
                assert message["sibling_ids"] == (family if len(family) > 1 else [])
    await assert_threads_valid(app)
