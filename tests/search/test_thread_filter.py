"""GET /api/threads?q= through the blind index: whole words, every one matching the thread's
title or one of its messages."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from confide.threads.service import NewMessage
from tests.factories import signed_up
from tests.threads.test_threads_api import THREADS, append, new_thread


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> list[str]:
    response = await client.get(THREADS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [thread["id"] for thread in response.json()["items"]]


async def test_every_word_must_be_in_the_title_or_a_message(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    trip = await new_thread(client, headers, title="Holiday")
    await append(app, trip["id"], NewMessage(role="user", content="Flights to Lisbon"))
    await append(app, trip["id"], NewMessage(role="assistant", content="Book early"))
    other = await new_thread(client, headers, title="Lisbon office")
    assert await listed(client, headers, q="holiday lisbon early") == [trip["id"]]
    assert await listed(client, headers, q="lisbon") == [other["id"], trip["id"]]
    assert await listed(client, headers, q="lisbon office") == [other["id"]]
    # Whole words only: the index holds no parts of words.
    assert await listed(client, headers, q="lis") == []
    assert await listed(client, headers, q="holiday missing") == []


async def test_shared_threads_are_filtered_under_their_owners_keys(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owners = [await signed_up(client) for _ in range(2)]
    reader, reader_headers = await signed_up(client)
    made = []
    for n, (_, headers) in enumerate(owners):
        thread = await new_thread(client, headers, title=f"Plan {n}")
        await append(app, thread["id"], NewMessage(role="user", content=f"shared heron {n}"))
        response = await client.post(
            f"{THREADS}/{thread['id']}/shares", json={"email": reader["email"]}, headers=headers
        )
        assert response.status_code == 202
        made.append(thread["id"])
    own = await new_thread(client, reader_headers, title="My heron")
    assert await listed(client, reader_headers, scope="shared", q="heron") == made[::-1]
    assert await listed(client, reader_headers, scope="shared", q="heron plan") == made[::-1]
    assert await listed(client, reader_headers, scope="own", q="heron") == [own["id"]]
    assert await listed(client, reader_headers, scope="shared", q="my") == []
