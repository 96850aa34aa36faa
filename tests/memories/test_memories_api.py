"""/api/me/memories by hand: list, add, edit, delete, export; each user sees only their own."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from confide.memories.models import Memory
from tests.factories import assert_problem, signed_up
from tests.memories.helpers import MEMORIES, facts, memories


async def add(
    client: httpx.AsyncClient, headers: dict[str, str], content: str, key: str = "note"
) -> dict[str, object]:
    response = await client.post(MEMORIES, json={"content": content, "key": key}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_add_list_edit_delete(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    added = await add(client, headers, "  Allergic to   peanuts ")
    assert added["content"] == "Allergic to peanuts"
    assert added["key"] == "note"
    assert added["status"] == "active"
    assert added["source_message_id"] is None
    assert added["source_thread_id"] is None
    assert facts(await memories(client, headers)) == [("note", "Allergic to peanuts")]

    edited = await client.patch(
        f"{MEMORIES}/{added['id']}", json={"content": "Allergic to nuts"}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["content"] == "Allergic to nuts"
    assert edited.json()["key"] == "note"
    assert facts(await memories(client, headers)) == [("note", "Allergic to nuts")]

    deleted = await client.delete(f"{MEMORIES}/{added['id']}", headers=headers)
    assert deleted.status_code == 204
    assert await memories(client, headers) == []


async def test_content_is_stored_sealed(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    added = await add(client, headers, "Plays the theremin")
    async with app.state.database.connect() as conn:
        stored = (
            await conn.execute(
                select(Memory.content).where(Memory.id == uuid.UUID(str(added["id"])))
            )
        ).scalar_one()
    assert b"theremin" not in bytes(stored)


async def test_a_new_name_supersedes_the_old_one(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    old = await add(client, headers, "Zed", key="name")
    new = await add(client, headers, "Zoe", key="name")
    assert facts(await memories(client, headers)) == [("name", "Zoe")]
    (superseded,) = await memories(client, headers, status="superseded")
    assert superseded["id"] == old["id"]
    assert superseded["superseded_by"] == new["id"]
    assert len(await memories(client, headers, status="all")) == 2


async def test_notes_are_many_but_exact_repeats_are_refused(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    await add(client, headers, "Likes jazz", key="preference")
    await add(client, headers, "Likes chess", key="preference")
    again = await client.post(
        MEMORIES, json={"content": "likes JAZZ.", "key": "preference"}, headers=headers
    )
    assert_problem(again, 409, "memory_exists")
    assert len(await memories(client, headers)) == 2


async def test_editing_into_a_name_supersedes_the_name(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    name = await add(client, headers, "Zed", key="name")
    note = await add(client, headers, "Zedd")
    response = await client.patch(f"{MEMORIES}/{note['id']}", json={"key": "name"}, headers=headers)
    assert response.json()["key"] == "name"
    assert facts(await memories(client, headers)) == [("name", "Zedd")]
    (old,) = await memories(client, headers, status="superseded")
    assert old["id"] == name["id"]


async def test_another_users_memory_is_missing(client: httpx.AsyncClient) -> None:
    _, mine = await signed_up(client)
    _, theirs = await signed_up(client)
    secret = await add(client, mine, "Secret fact")
    where = f"{MEMORIES}/{secret['id']}"
    assert await memories(client, theirs) == []
    assert_problem(
        await client.patch(where, json={"content": "x"}, headers=theirs), 404, "memory_not_found"
    )
    assert_problem(await client.delete(where, headers=theirs), 404, "memory_not_found")
    missing = f"{MEMORIES}/{uuid.uuid4()}"
    assert_problem(await client.delete(missing, headers=mine), 404, "memory_not_found")
    assert facts(await memories(client, mine)) == [("note", "Secret fact")]


@pytest.mark.parametrize(
    "body",
    [
        {"content": ""},
        {"content": "x" * 501},
        {"content": "ok", "key": "password"},
        {"key": "name"},
    ],
)
async def test_bad_input_is_refused(client: httpx.AsyncClient, body: dict[str, str]) -> None:
    _, headers = await signed_up(client)
    assert_problem(await client.post(MEMORIES, json=body, headers=headers), 422, "validation_error")
    assert await memories(client, headers) == []


async def test_blank_text_is_refused_everywhere(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.post(MEMORIES, json={"content": "   "}, headers=headers)
    assert_problem(response, 422, "empty_memory")
    kept = await add(client, headers, "Kept")
    response = await client.patch(
        f"{MEMORIES}/{kept['id']}", json={"content": " \n"}, headers=headers
    )
    assert_problem(response, 422, "empty_memory")
    assert facts(await memories(client, headers)) == [("note", "Kept")]


async def test_pages_follow_the_cursor(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    for n in range(5):
        await add(client, headers, f"Fact {n}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(MEMORIES, params=params, headers=headers)).json()
        seen.extend(m["content"] for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Fact {n}" for n in reversed(range(5))]
    bad = await client.get(MEMORIES, params={"cursor": "nonsense"}, headers=headers)
    assert_problem(bad, 400, "invalid_cursor")


async def test_export_is_a_download_of_everything(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    _, theirs = await signed_up(client)
    await add(client, theirs, "Not mine")
    await add(client, headers, "Zed", key="name")
    await add(client, headers, "Zoe", key="name")
    response = await client.get(MEMORIES, params={"format": "export"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="confide-memories.json"'
    )
    body = response.json()
    assert body["exported_at"]
    assert sorted((m["content"], m["status"]) for m in body["memories"]) == [
        ("Zed", "superseded"),
        ("Zoe", "active"),
    ]


async def test_signed_out_is_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(MEMORIES), 401, "not_authenticated")
