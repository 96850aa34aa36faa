"""What the index stores: keyed tokens only, per user; and its rebuild from stored text."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
import typer
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from confide.search.cli import REINDEX_HINT, _reindex, reindex_hint
from confide.search.models import SearchTerm
from confide.threads.service import NewMessage
from tests.factories import signed_up
from tests.search.helpers import snippets
from tests.threads.test_threads_api import append, new_thread

WORDS = ["secretive", "walrus", "migrates", "northward"]


async def all_rows(app: FastAPI) -> list[SearchTerm]:
    async with app.state.database.sessionmaker() as db:
        return list((await db.execute(select(SearchTerm))).scalars().all())


async def test_the_table_holds_no_word_and_tokens_differ_between_users(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    tokens: dict[str, set[bytes]] = {}
    for name in ("alice", "bob"):
        user, headers = await signed_up(client)
        thread = await new_thread(client, headers, title="Walrus facts")
        await append(app, thread["id"], NewMessage(role="user", content=" ".join(WORDS)))
        rows = [row for row in await all_rows(app) if row.user_id == uuid.UUID(user["id"])]
        tokens[name] = {row.token for row in rows}
        async with app.state.database.begin() as conn:
            codec = await app.state.vault.codec(conn, uuid.UUID(user["id"]))
        # One row per distinct word of each document, each the owner's keyed token.
        assert sorted(rows, key=lambda r: r.seq)[0].seq == 0
        assert tokens[name] == {codec.blind_token(w) for w in [*WORDS, "facts"]}
    assert not tokens["alice"] & tokens["bob"]
    dump = b"".join(
        row.token + str(row.user_id).encode() + str(row.tf).encode() for row in await all_rows(app)
    )
    for word in [*WORDS, "facts"]:
        assert word.encode() not in dump
        assert hashlib.sha256(word.encode()).digest()[:16] not in tokens["alice"]
        assert all(len(token) == 16 for token in tokens["alice"])


async def test_reindex_rebuilds_what_was_there(client: httpx.AsyncClient, app: FastAPI) -> None:
    alice, alice_headers = await signed_up(client)
    _, bob_headers = await signed_up(client)
    assert await reindex_hint(app.state.settings) is None  # nothing stored yet
    for headers in (alice_headers, bob_headers):
        thread = await new_thread(client, headers)
        await append(
            app,
            thread["id"],
            NewMessage(role="user", content="Otters hold hands"),
            NewMessage(role="assistant", content="Sea otters do, asleep."),
        )
    before = sorted((r.user_id, r.token, r.thread_id, r.seq, r.tf) for r in await all_rows(app))
    async with app.state.database.begin() as conn:
        await conn.execute(delete(SearchTerm))
    assert await snippets(client, alice_headers, "otters") == []
    assert await reindex_hint(app.state.settings) == REINDEX_HINT

    assert await _reindex(app.state.settings, alice["email"]) == (1, 10)
    assert sorted(await snippets(client, alice_headers, "otters")) == [
        "Otters hold hands",
        "Otters hold hands",  # the title
        "Sea otters do, asleep.",
    ]
    assert await snippets(client, bob_headers, "otters") == []
    assert await _reindex(app.state.settings, None) == (2, 20)
    assert await _reindex(app.state.settings, None) == (2, 20)  # again: replaced, not doubled
    assert await reindex_hint(app.state.settings) is None
    after = sorted((r.user_id, r.token, r.thread_id, r.seq, r.tf) for r in await all_rows(app))
    assert after == before
    async with app.state.database.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(SearchTerm))).scalar() == 20

    with pytest.raises(typer.Exit):
        await _reindex(app.state.settings, "nobody@example.org")
