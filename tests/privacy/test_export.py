"""`GET /api/me/export`: the caller's data, decoded, and nobody else's; streamed page by page."""

from __future__ import annotations

import json
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from confide.auth.models import User
from confide.privacy.export import AccountExporter
from confide.privacy.schemas import AccountExport
from confide.threads.models import Message
from tests.factories import assert_problem, signed_up
from tests.live_server import serve
from tests.privacy.helpers import EXPORT, export_of, thread_with


async def test_the_export_holds_the_callers_data_decoded_and_no_one_elses(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_headers = await signed_up(client, display_name="Alice")
    bob, bob_headers = await signed_up(client)
    mine = await thread_with(app, client, alice_headers, "Plum orchard plans", "prune in march")
    theirs = await thread_with(app, client, bob_headers, "Bob's secret", "bob's private text")
    shared = await client.post(
        f"/api/threads/{mine}/shares", json={"email": bob["email"]}, headers=alice_headers
    )
    assert shared.status_code == 202, shared.text
    back = await client.post(
        f"/api/threads/{theirs}/shares", json={"email": alice["email"]}, headers=alice_headers
    )
    assert back.status_code == 404  # not hers to share
    await client.post(
        f"/api/threads/{theirs}/shares", json={"email": alice["email"]}, headers=bob_headers
    )

    response = await client.get(EXPORT, headers=alice_headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    document = AccountExport.model_validate_json(response.content)  # the published contract

    assert document.profile.id == uuid.UUID(alice["id"])
    assert document.profile.email == alice["email"]
    assert document.profile.display_name == "Alice"
    assert document.profile.roles == ["user"]
    [thread] = document.threads
    assert thread.id == uuid.UUID(mine)
    assert thread.title == "Plum orchard plans"
    assert [m.content for m in thread.messages] == ["prune in march"]
    assert [(s.thread_id, s.title, s.shared_with) for s in document.shares.given] == [
        (uuid.UUID(mine), "Plum orchard plans", bob["email"])
    ]
    assert [(s.thread_id, s.title, s.owner) for s in document.shares.received] == [
        (uuid.UUID(theirs), "Bob's secret", bob["email"])  # its title, opened with Bob's key
    ]
    assert len(document.sessions) == 1
    assert {e.action for e in document.audit_events} >= {"auth.registered", "auth.signed_in"}
    # Bob's content is not in it (the title of the thread he shared is, by design).
    assert b"bob's private text" not in response.content
    assert b"Bob's secret" in response.content

    # The content is stored sealed: the export decoded it.
    async with app.state.database.session() as db:
        where = Message.thread_id == uuid.UUID(mine)
        stored = (await db.execute(select(Message.content).where(where))).scalar_one()
        assert b"prune in march" not in bytes(stored)


async def test_the_export_holds_no_secret(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    body = (await client.get(EXPORT, headers=headers)).text
    async with app.state.database.session() as db:
        password_hash = (
            await db.execute(select(User.password_hash).where(User.id == uuid.UUID(user["id"])))
        ).scalar_one()
    assert password_hash not in body
    for key in ("password_hash", "token_hash", "refresh", "secret"):
        assert key not in json.loads(body)["sessions"][0]
    access_token = headers["Authorization"].removeprefix("Bearer ")
    assert access_token not in body


async def test_the_export_is_recorded_in_the_audit_trail(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    await export_of(client, headers)
    second = await export_of(client, headers)
    assert [e["action"] for e in second["audit_events"]].count("account.exported") == 2


async def test_the_export_needs_a_session(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(EXPORT), 401, "not_authenticated")


async def test_the_export_is_built_page_by_page(app: FastAPI, client: httpx.AsyncClient) -> None:
    """More threads and messages than a page: every one is there, in order, and the
    document arrives in many pieces, not one."""
    user, headers = await signed_up(client)
    ids = [
        await thread_with(app, client, headers, f"thread {n}", *(f"m{n}.{k}" for k in range(5)))
        for n in range(5)
    ]
    exporter = AccountExporter(
        database=app.state.database,
        vault=app.state.vault,
        page_size=2,
    )
    pieces = [piece async for piece in exporter.stream(uuid.UUID(user["id"]))]
    document = AccountExport.model_validate_json(b"".join(pieces))
    assert [str(t.id) for t in document.threads] == ids
    for n, thread in enumerate(document.threads):
        assert [m.content for m in thread.messages] == [f"m{n}.{k}" for k in range(5)]
        assert [m.seq for m in thread.messages] == [1, 2, 3, 4, 5]
    # Each page of messages is a piece of its own: 5 threads of 3 pages each at least.
    assert len(pieces) > 15
    assert max(len(piece) for piece in pieces) < len(b"".join(pieces)) / 5


async def test_the_export_is_streamed_over_http(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    await thread_with(app, client, headers, "Streamed", "a message")
    async with (
        serve(app) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as live,
        live.stream("GET", EXPORT, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert AccountExport.model_validate_json(body).threads[0].title == "Streamed"


async def test_an_empty_account_exports_a_valid_document(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    document = AccountExport.model_validate(await export_of(client, headers))
    assert document.threads == []
    assert document.shares.given == []
    assert document.shares.received == []
    assert document.settings.retention_days is None
    assert document.memories == []


async def test_the_export_holds_the_users_settings_and_memories(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    _, other = await signed_up(client)
    patched = await client.patch("/api/me/settings", json={"retention_days": 90}, headers=headers)
    assert patched.status_code == 200, patched.text
    for who, text in ((headers, "likes plums"), (other, "likes pears")):
        added = await client.post("/api/me/memories", json={"content": text}, headers=who)
        assert added.status_code == 201, added.text
    document = AccountExport.model_validate(await export_of(client, headers))
    assert document.settings.retention_days == 90
    assert [m.content for m in document.memories] == ["likes plums"]
