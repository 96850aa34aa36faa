"""Proof of encryption at rest: a unique sentence planted in a conversation, a tool call, a
thread title and a memory, and a TOTP secret, are nowhere in the raw database (the SQLite file
and its WAL, a `pg_dump`), identical messages are stored differently, and a ciphertext moved to
another row or user fails the request instead of showing the wrong text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from confide.crypto.models import UserKey
from confide.threads.models import Message, Thread
from confide.threads.service import NewMessage, ThreadService
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.runs.test_runs_api import new_thread, send_streamed, stored_messages

SENTENCE = "the marmalade heron sings at quarter past seven"
SSE_DONE = "run.completed"


def _variants(text: str) -> list[bytes]:
    """The ways the sentence could show up in a dump: UTF-8, and any one word of it long
    enough to be unique."""
    return [text.encode(), *(w.encode() for w in text.split() if len(w) >= 8)]


async def _plant(client: httpx.AsyncClient, app: FastAPI, secret: str) -> list[bytes]:
    """The sentence in a message (through a real run, so in its events too), a tool call and
    its result, the title and a memory (and so in the search index), and a TOTP secret;
    returns what must be nowhere in the raw database."""
    _user, headers = await signed_up(client)
    enrolled = await client.post("/api/auth/mfa/totp", headers=headers)
    assert enrolled.status_code == 200, enrolled.text
    totp_secret = enrolled.json()["secret"]
    thread_id = await new_thread(client, headers)
    events = await send_streamed(client, headers, thread_id, f"please remember: {secret}")
    assert events[-1]["type"] == SSE_DONE, events[-1]
    renamed = await client.patch(
        f"/api/threads/{thread_id}", json={"title": f"About {secret}"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["title"] == f"About {secret}"
    async with app.state.database.sessionmaker() as db:
        thread = await db.get(Thread, uuid.UUID(thread_id))
        assert thread is not None
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "note", "arguments": json.dumps({"text": secret})},
        }
        await ThreadService(db, vault=app.state.vault).append(
            thread,
            [
                NewMessage(role="user", content="note it"),
                NewMessage(role="assistant", tool_calls=[call]),
                NewMessage(role="tool", content=f"noted: {secret}", tool_call_id="call_1"),
            ],
            run_id=None,
        )
        await db.commit()
    shown = await stored_messages(client, headers, thread_id)
    assert any(secret in (m["content"] or "") for m in shown if m["role"] == "user")
    assert any(
        secret in call["function"]["arguments"] for m in shown for call in m["tool_calls"] or ()
    )
    remembered = await client.post(
        "/api/me/memories", json={"content": f"I keep thinking of {secret}"}, headers=headers
    )
    assert remembered.status_code == 201, remembered.text
    listed = await client.get("/api/me/memories", headers=headers)
    assert any(secret in m["content"] for m in listed.json()["items"])
    found = await client.get("/api/me/search", params={"q": "marmalade"}, headers=headers)
    assert found.status_code == 200, found.text
    assert found.json()["items"], "the planted words are searchable (through the blind index)"
    return [*_variants(secret), totp_secret.encode()]


def _sqlite_path(app: FastAPI) -> Path:
    database = make_url(app.state.settings.effective_database_url).database
    assert database is not None
    return Path(database)


async def test_nothing_planted_is_readable_in_the_sqlite_file_or_its_wal(
    app_factory: Any, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite file itself is read here; PostgreSQL is read by pg_dump below")
    app = app_factory()

    async with client_for(app) as client:
        needles = await _plant(client, app, SENTENCE)
        # Still open: the WAL holds the newest pages until a checkpoint.
        path = _sqlite_path(app)
        files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
        assert Path(f"{path}-wal") in files, "the test expects to read a live WAL too"
        raw = b"".join(p.read_bytes() for p in files)
        for needle in needles:
            assert needle not in raw, f"{needle!r} is readable in the SQLite file or WAL"
    await app.state.database.dispose()


async def test_nothing_planted_is_readable_in_a_pg_dump(
    app_factory: Any, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_dump reads PostgreSQL; the SQLite file is read above")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pg_dump is missing on CI")
        pytest.skip("pg_dump is not installed")
    app = app_factory()

    async with client_for(app) as client:
        needles = await _plant(client, app, SENTENCE)
    await app.state.database.dispose()
    url = make_url(database_url)
    dumped = subprocess.run(
        [
            pg_dump,
            "--host",
            url.host or "127.0.0.1",
            "--port",
            str(url.port or 5432),
            "--username",
            url.username or "postgres",
            "--data-only",
            url.database or "postgres",
        ],
        check=True,
        capture_output=True,
    ).stdout
    assert b"COPY public.messages" in dumped  # the dump really holds the tables' rows
    for needle in needles:
        assert needle not in dumped, f"{needle!r} is readable in pg_dump's output"


async def test_identical_messages_are_stored_differently(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    for _ in range(2):
        events = await send_streamed(client, headers, thread_id, "the same words")
        assert events[-1]["type"] == SSE_DONE
    async with app.state.database.sessionmaker() as db:
        stored = (
            await db.execute(
                select(Message.content).where(
                    Message.thread_id == uuid.UUID(thread_id), Message.role == "user"
                )
            )
        ).scalars()
        first, second = list(stored)
    assert first is not None
    assert second is not None
    assert first != second
    assert b"the same words" not in first + second


async def _swap_contents(app: FastAPI, a: uuid.UUID, b: uuid.UUID) -> None:
    async with app.state.database.sessionmaker() as db:
        rows = {
            row.id: row.content
            for row in (await db.execute(select(Message).where(Message.id.in_([a, b])))).scalars()
        }
        await db.execute(update(Message).where(Message.id == a).values(content=rows[b]))
        await db.execute(update(Message).where(Message.id == b).values(content=rows[a]))
        await db.commit()


async def test_a_ciphertext_moved_to_another_row_fails_the_request(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    for text in ("first words", "second words"):
        await send_streamed(client, headers, thread_id, text)
    users = [m for m in await stored_messages(client, headers, thread_id) if m["role"] == "user"]
    await _swap_contents(app, uuid.UUID(users[0]["id"]), uuid.UUID(users[1]["id"]))
    response = await client.get(f"/api/threads/{thread_id}/messages", headers=headers)
    problem = assert_problem(response, 500, "decryption_failed")
    assert "first words" not in response.text
    assert "second words" not in response.text
    assert "authenticate" in problem["detail"]


async def test_a_ciphertext_moved_to_another_users_row_fails_the_request(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    alice_thread = await new_thread(client, alice)
    bob_thread = await new_thread(client, bob)
    await send_streamed(client, alice, alice_thread, "alice wrote this")
    await send_streamed(client, bob, bob_thread, "bob wrote this")
    (alice_message,) = [
        m for m in await stored_messages(client, alice, alice_thread) if m["role"] == "user"
    ]
    (bob_message,) = [
        m for m in await stored_messages(client, bob, bob_thread) if m["role"] == "user"
    ]
    await _swap_contents(app, uuid.UUID(alice_message["id"]), uuid.UUID(bob_message["id"]))
    for headers, thread_id in ((alice, alice_thread), (bob, bob_thread)):
        response = await client.get(f"/api/threads/{thread_id}/messages", headers=headers)
        assert_problem(response, 500, "decryption_failed")
        assert "wrote this" not in response.text


async def test_each_user_has_one_wrapped_data_key_and_no_key_is_stored_unwrapped(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    await send_streamed(client, headers, thread_id, "hello")
    async with app.state.database.sessionmaker() as db:
        keys = (await db.execute(select(UserKey))).scalars().all()
    assert len(keys) == 1
    (key,) = keys
    ring = app.state.vault.ring
    assert key.master_key_id == ring.current.key_id
    # The data key itself (what the cache holds) is nowhere in the stored, wrapped form.
    cached = app.state.vault.cache._entries[key.user_id].key.material
    assert cached not in key.wrapped
    assert len(key.wrapped) > len(cached)
