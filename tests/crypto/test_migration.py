"""Migration 0013 seals what an older database already holds, and its downgrade opens it
again: content written before encryption at rest is kept, readable, and no longer plaintext."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from confide.db.migrate import upgrade
from tests.conftest import client_for
from tests.factories import signed_up
from tests.runs.test_runs_api import new_thread, send_streamed, stored_messages
from tests.test_migrations import _downgrade, run_sync

WORDS = "an old conversation about quinces"


def _raw_contents(connection: Connection) -> list[Any]:
    return [
        row[0]
        for row in connection.execute(
            text("SELECT content FROM messages WHERE role = 'user' ORDER BY seq")
        )
    ]


async def test_content_survives_the_way_down_and_up_again(
    app_factory: Any, database_url: str
) -> None:
    app = app_factory()
    ring = app.state.vault.ring
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        await send_streamed(client, headers, thread_id, WORDS)
        await client.patch(f"/api/threads/{thread_id}", json={"title": WORDS}, headers=headers)
        await client.post("/api/auth/mfa/totp", headers=headers)
    await app.state.database.dispose()
    try:
        (sealed,) = await run_sync(database_url, _raw_contents)
        assert WORDS.encode() not in bytes(sealed)

        # Down to before encryption at rest: plaintext again, every column of it.
        await run_sync(database_url, _downgrade, "0012", ring)
        (plain,) = await run_sync(database_url, _raw_contents)
        assert plain == WORDS
        title = await run_sync(
            database_url,
            lambda c: c.execute(text("SELECT title FROM threads")).scalar_one(),
        )
        assert title == WORDS

        # Without the key ring the upgrade refuses (a database with content is never left
        # half plaintext), and changes nothing.
        with pytest.raises(RuntimeError, match="no key ring"):
            await upgrade(database_url)
        (still_plain,) = await run_sync(database_url, _raw_contents)
        assert still_plain == WORDS

        # Up again with the ring: sealed under a data key made for the owner, and readable.
        await upgrade(database_url, key_ring=ring)
        (resealed,) = await run_sync(database_url, _raw_contents)
        assert isinstance(resealed, bytes | memoryview)
        assert WORDS.encode() not in bytes(resealed)
    finally:
        await upgrade(database_url, key_ring=ring)
    again = app_factory()
    async with client_for(again) as client:
        login = await client.post(
            "/api/auth/login",
            json={"email": (await _email(database_url)), "password": "plum-orchard-velvet-42"},
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        shown = await stored_messages(client, {"Authorization": f"Bearer {token}"}, thread_id)
        assert [m["content"] for m in shown if m["role"] == "user"] == [WORDS]
        thread = await client.get(
            f"/api/threads/{thread_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert thread.json()["title"] == WORDS
    await again.state.database.dispose()
    assert uuid.UUID(thread_id)


async def _email(url: str) -> str:
    return str(
        await run_sync(url, lambda c: c.execute(text("SELECT email FROM users")).scalar_one())
    )
