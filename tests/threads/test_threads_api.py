"""Threads through the HTTP API: ownership, listing, search, rename, delete, messages."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from confide.auth.models import User
from confide.threads.models import Message, Thread
from confide.threads.service import NewMessage, ThreadService
from tests.factories import assert_problem, signed_up

THREADS = "/api/threads"


async def new_thread(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(THREADS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def append(app: FastAPI, thread_id: str, *messages: NewMessage) -> None:
    """Store messages the way a run does (runs arrive with the agent-chat work)."""
    async with app.state.database.sessionmaker() as db:
        service = ThreadService(db, vault=app.state.vault)
        thread = await db.get(Thread, uuid.UUID(thread_id))
        assert thread is not None
        await service.append(thread, list(messages), run_id=None)
        await db.commit()


async def test_create_uses_the_default_agent(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    assert thread["agent_id"] == "assistant"
    assert thread["title"] is None
    assert thread["message_count"] == 0


async def test_create_with_an_agent_and_title(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, agent_id="calculator", title="  Sums  ")
    assert thread["agent_id"] == "calculator"
    assert thread["title"] == "Sums"


async def test_unknown_agent_is_refused_and_nothing_is_created(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.post(THREADS, json={"agent_id": "nope"}, headers=headers)
    assert_problem(response, 404, "agent_not_found")
    listing = await client.get(THREADS, headers=headers)
    assert listing.json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [{"owner_id": str(uuid.uuid4())}, {"title": ""}, {"title": "x" * 201}, {"agent_id": 5}],
)
async def test_bad_create_bodies_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    _, headers = await signed_up(client)
    assert_problem(await client.post(THREADS, json=body, headers=headers), 422, "validation_error")


async def test_threads_require_authentication(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(THREADS), 401, "not_authenticated")
    assert_problem(await client.post(THREADS, json={}), 401, "not_authenticated")


async def test_list_is_newest_activity_first_and_pages_without_gaps(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    created = [await new_thread(client, headers, title=f"t{i}") for i in range(5)]
    # Activity on the oldest thread moves it to the top.
    await append(app, created[0]["id"], NewMessage(role="user", content="hello again"))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(THREADS, params=params, headers=headers)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = [created[0]["id"]] + [t["id"] for t in reversed(created[1:])]
    assert seen == expected


async def test_filter_by_agent_and_search(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up(client)
    sums = await new_thread(client, headers, agent_id="calculator", title="Monthly budget")
    chat = await new_thread(client, headers, title="Holiday plans")
    await append(app, chat["id"], NewMessage(role="user", content="Flights to Lisbon 100%_off?"))

    by_agent = (
        await client.get(THREADS, params={"agent_id": "calculator"}, headers=headers)
    ).json()
    assert [t["id"] for t in by_agent["items"]] == [sums["id"]]

    async def search(q: str) -> list[str]:
        page = (await client.get(THREADS, params={"q": q}, headers=headers)).json()
        return [t["id"] for t in page["items"]]

    assert await search("BUDGET") == [sums["id"]]  # titles, case-insensitively
    assert await search("lisbon") == [chat["id"]]  # message text
    assert await search("100%_") == [chat["id"]]  # LIKE wildcards are literal
    assert await search("s_o") == []  # would match "Lisbon" if "_" were a wildcard
    assert await search("nothing like it") == []


async def test_title_comes_from_the_first_message(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    long_text = "Please help me plan   a trip " + "word " * 40
    await append(app, thread["id"], NewMessage(role="user", content=long_text))
    title = (await client.get(f"{THREADS}/{thread['id']}", headers=headers)).json()["title"]
    assert title.startswith("Please help me plan a trip")
    assert len(title) <= 80
    assert title.endswith("…")


async def test_rename_and_delete(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    url = f"{THREADS}/{thread['id']}"
    renamed = await client.patch(url, json={"title": "Renamed"}, headers=headers)
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "Renamed"
    assert_problem(
        await client.patch(url, json={"title": "  "}, headers=headers), 422, "validation_error"
    )
    assert_problem(
        await client.patch(url, json={"title": "x", "agent_id": "calculator"}, headers=headers),
        422,
        "validation_error",
    )
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert_problem(await client.get(url, headers=headers), 404, "thread_not_found")
    assert_problem(await client.delete(url, headers=headers), 404, "thread_not_found")


async def test_messages_in_openai_format_with_pagination(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a":5}'}}
    await append(
        app,
        thread["id"],
        NewMessage(role="user", content="add 5 and 3"),
        NewMessage(role="assistant", content=None, tool_calls=[call]),
        NewMessage(role="tool", content="8", tool_call_id="call_1", name="add"),
        NewMessage(role="assistant", content="5 + 3 = 8."),
    )
    url = f"{THREADS}/{thread['id']}/messages"
    everything = (await client.get(url, headers=headers)).json()
    assert [m["role"] for m in everything["items"]] == ["user", "assistant", "tool", "assistant"]
    assert everything["items"][1]["tool_calls"] == [call]
    assert everything["items"][2]["tool_call_id"] == "call_1"
    assert everything["next_cursor"] is None
    assert all({"id", "created_at", "seq"} <= m.keys() for m in everything["items"])

    newest = (await client.get(url, params={"order": "desc", "limit": 3}, headers=headers)).json()
    assert [m["seq"] for m in newest["items"]] == [4, 3, 2]
    rest = await client.get(
        url, params={"order": "desc", "limit": 3, "cursor": newest["next_cursor"]}, headers=headers
    )
    assert [m["seq"] for m in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None
    meta = (await client.get(f"{THREADS}/{thread['id']}", headers=headers)).json()
    assert meta["message_count"] == 4


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "Wy0xXQ"])
async def test_bad_message_cursors_are_invalid_cursor(
    client: httpx.AsyncClient, cursor: str
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    response = await client.get(
        f"{THREADS}/{thread['id']}/messages", params={"cursor": cursor}, headers=headers
    )
    assert_problem(response, 400, "invalid_cursor")


async def test_another_users_thread_is_a_404_identical_to_a_missing_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    thread = await new_thread(client, alice, title="Alice's secret")
    await append(app, thread["id"], NewMessage(role="user", content="my secret plan"))
    missing = str(uuid.uuid4())

    def strip(response: httpx.Response) -> dict[str, Any]:
        body = response.json()
        return {k: v for k, v in body.items() if k not in ("instance", "request_id")}

    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"title": "mine now"}),
        ("DELETE", "", None),
        ("GET", "/messages", None),
    ]:
        theirs = await client.request(
            method, f"{THREADS}/{thread['id']}{suffix}", json=body, headers=bob
        )
        absent = await client.request(
            method, f"{THREADS}/{missing}{suffix}", json=body, headers=bob
        )
        assert_problem(theirs, 404, "thread_not_found")
        assert strip(theirs) == strip(absent)
    bobs = (await client.get(THREADS, headers=bob)).json()
    assert bobs["items"] == []
    found = (await client.get(THREADS, params={"q": "secret"}, headers=bob)).json()
    assert found["items"] == []
    still = await client.get(f"{THREADS}/{thread['id']}", headers=alice)
    assert still.json()["title"] == "Alice's secret"


async def test_deleting_a_user_deletes_their_threads(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    await append(app, thread["id"], NewMessage(role="user", content="hi"))
    async with app.state.database.sessionmaker() as db:
        await db.delete(await db.get(User, uuid.UUID(user["id"])))
        await db.commit()
        assert (await db.execute(select(func.count()).select_from(Thread))).scalar_one() == 0
        assert (await db.execute(select(func.count()).select_from(Message))).scalar_one() == 0
