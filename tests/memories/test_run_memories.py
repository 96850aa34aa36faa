"""Memories learnt from runs and given back to later runs (the scripted agent)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from confide.memories.models import Memory
from confide.memories.prompt import memory_block, memory_line
from tests.conftest import client_for
from tests.factories import signed_up
from tests.memories.helpers import MEMORIES, SETTINGS, answer, facts, memories, new_thread, turn


async def test_a_name_told_once_is_known_in_a_new_thread(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client, display_name="Ada")
    first = await new_thread(client, headers)
    told = await turn(app, client, headers, first, "Hello! My name is Zed and I live in Lisbon.")
    user_message = told["messages"][0]
    (location, name) = await memories(client, headers)
    assert (name["key"], name["content"]) == ("name", "Zed")
    assert (location["key"], location["content"]) == ("location", "Lisbon")
    assert name["source_message_id"] == user_message["id"]
    assert name["source_thread_id"] == first

    second = await new_thread(client, headers)
    asked = await turn(app, client, headers, second, "What is my name?")
    assert answer(asked) == "Your name is Zed."
    used = {m["key"]: m for m in await memories(client, headers)}
    assert used["name"]["use_count"] >= 1
    assert used["name"]["last_used_at"] is not None


async def test_a_contradiction_supersedes_and_keeps_the_old_fact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    await turn(app, client, headers, thread, "I live in Lisbon.")
    await turn(app, client, headers, thread, "I prefer tea. I live in Porto now")
    assert sorted(facts(await memories(client, headers))) == [
        ("location", "Porto now"),
        ("preference", "tea"),
    ]
    (old,) = await memories(client, headers, status="superseded")
    assert (old["content"], old["status"]) == ("Lisbon", "superseded")
    asked = await turn(app, client, headers, await new_thread(client, headers), "where do I live?")
    assert answer(asked) == "You live in Porto now."


async def test_repeats_are_not_stored_twice(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    await turn(app, client, headers, thread, "I work on a compiler.")
    await turn(app, client, headers, thread, "As I said, I work on a compiler")
    assert facts(await memories(client, headers)) == [("project", "a compiler")]


async def test_the_job_is_safe_to_run_twice(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    first = await turn(app, client, headers, thread, "My name is Zed.")
    await turn(app, client, headers, thread, "Call me Zoe.")
    # The first run's job delivered again, after a newer name: it stores nothing.
    assert await app.state.memories.extract(uuid.UUID(first["run"]["id"])) == 0
    assert facts(await memories(client, headers)) == [("name", "Zoe")]
    assert len(await memories(client, headers, status="all")) == 2


async def test_memory_off_stops_extraction_and_prompts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client, display_name="Ada")
    thread = await new_thread(client, headers)
    await turn(app, client, headers, thread, "My name is Zed.")
    off = await client.patch(SETTINGS, json={"memory_enabled": False}, headers=headers)
    assert off.json()["memory_enabled"] is False
    await turn(app, client, headers, thread, "I live in Lisbon.")
    assert facts(await memories(client, headers)) == [("name", "Zed")]  # listing still works
    asked = await turn(app, client, headers, await new_thread(client, headers), "what is my name?")
    assert answer(asked) == "You haven't told me your name; your account calls you Ada."
    (name,) = await memories(client, headers)
    assert name["use_count"] == 0

    await client.patch(SETTINGS, json={"memory_enabled": True}, headers=headers)
    asked = await turn(app, client, headers, await new_thread(client, headers), "what is my name?")
    assert answer(asked) == "Your name is Zed."


async def test_memories_are_the_users_own(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, mine = await signed_up(client)
    _, theirs = await signed_up(client, display_name="Bo")
    await turn(app, client, mine, await new_thread(client, mine), "My name is Zed.")
    assert await memories(client, theirs) == []
    asked = await turn(app, client, theirs, await new_thread(client, theirs), "what is my name?")
    assert answer(asked) == "You haven't told me your name; your account calls you Bo."


async def test_the_prompt_keeps_to_its_budget_most_recent_first(
    app_factory: Callable[..., FastAPI],
) -> None:
    # Room for exactly one memory line: the newest.
    small = app_factory(memory_prompt_chars=len(memory_block([memory_line("note", "fact 4")])))
    async with client_for(small) as http:
        _, headers = await signed_up(http)
        for n in range(5):
            response = await http.post(MEMORIES, json={"content": f"fact {n}"}, headers=headers)
            assert response.status_code == 201
        thread = await new_thread(http, headers)
        asked = await turn(small, http, headers, thread, "what do you remember about me?")
        assert answer(asked) == "I remember this about you: note: fact 4."
        used = {m["content"]: m["use_count"] for m in await memories(http, headers)}
        assert used == {"fact 4": 1, "fact 3": 0, "fact 2": 0, "fact 1": 0, "fact 0": 0}


async def test_a_memory_made_since_the_last_use_comes_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    await turn(app, client, headers, await new_thread(client, headers), "I prefer tea.")
    # Two runs give it twice; a memory added since is newer and comes first.
    await turn(app, client, headers, await new_thread(client, headers), "hello")
    added = await client.post(MEMORIES, json={"content": "Plays chess"}, headers=headers)
    assert added.status_code == 201
    asked = await turn(
        app, client, headers, await new_thread(client, headers), "what do you remember about me?"
    )
    assert answer(asked) == "I remember this about you: note: Plays chess; preference: tea."


async def test_deleting_the_source_thread_keeps_the_memory(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    await turn(app, client, headers, thread, "My name is Zed.")
    deleted = await client.delete(f"/api/threads/{thread}", headers=headers)
    assert deleted.status_code == 204
    (name,) = await memories(client, headers)
    assert name["content"] == "Zed"
    assert name["source_message_id"] is None
    assert name["source_thread_id"] is None
    async with app.state.database.connect() as conn:
        count = len((await conn.execute(select(Memory.id))).all())
    assert count == 1
