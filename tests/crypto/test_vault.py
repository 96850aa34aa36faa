"""KeyVault: users' data keys made on first use, never cached from a transaction that rolled
back, shared by racing first uses, found again after a rotation by another process, and gone
for good when destroyed."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from confide.crypto.envelope import aad_for, unseal_text
from confide.crypto.errors import DecryptionFailed
from confide.crypto.keys import DataKey
from confide.crypto.keystore import FileKeyStore, rotate_keys
from confide.crypto.models import UserKey
from confide.crypto.vault import DATA_KEY_ID, EncryptingCodec, KeyVault, rewrap_all
from tests.conftest import client_for, settle_jobs
from tests.factories import signed_up
from tests.redis_server import redis_server

DEADLINE_SECONDS = 30.0
WHERE = {"table": "messages", "column": "content", "row_id": "row-1"}


async def _user(app: FastAPI) -> uuid.UUID:
    async with client_for(app) as client:
        user, _ = await signed_up(client)
    return uuid.UUID(user["id"])


async def _keys(app: FastAPI, user_id: uuid.UUID) -> int:
    async with app.state.database.sessionmaker() as db:
        count = await db.scalar(select(func.count()).where(UserKey.user_id == user_id))
    return int(count or 0)


@given(
    text=st.text(max_size=200),
    table=st.text(min_size=1, max_size=20),
    column=st.text(min_size=1, max_size=20),
    row=st.text(min_size=1, max_size=40),
)
def test_the_codec_seals_exactly_what_the_envelope_format_opens(
    text: str, table: str, column: str, row: str
) -> None:
    key = DataKey(DATA_KEY_ID, bytes(range(32)))
    user_id = uuid.UUID(int=7)
    codec = EncryptingCodec(user_id, key)
    sealed = codec.encode(text, table=table, column=column, row_id=row)
    assert unseal_text(key, sealed, aad=aad_for(table, column, row, user_id)) == text
    assert codec.decode(sealed, table=table, column=column, row_id=row) == text


async def test_a_key_made_in_a_transaction_that_rolled_back_is_never_used_again(
    app: FastAPI,
) -> None:
    user_id = await _user(app)
    vault: KeyVault = app.state.vault
    async with app.state.database.sessionmaker() as db:
        ghost = await vault.codec(db, user_id)
        again = await vault.codec(db, user_id)  # the same transaction sees its own new row
        assert again.encode("x", **WHERE)  # usable meanwhile
        await db.rollback()
    assert await _keys(app, user_id) == 0
    async with app.state.database.sessionmaker() as db:
        kept = await vault.codec(db, user_id)
        sealed = kept.encode("kept", **WHERE)
        await db.commit()
    with pytest.raises(DecryptionFailed):
        ghost.decode(sealed, **WHERE)  # a different key: the ghost was not cached
    fresh = KeyVault(vault.store)  # another process: only the committed key
    async with app.state.database.sessionmaker() as db:
        assert (await fresh.codec(db, user_id)).decode(sealed, **WHERE) == "kept"


async def test_racing_first_uses_share_one_key(app: FastAPI) -> None:
    user_id = await _user(app)
    database = app.state.database
    if database.is_sqlite:
        pytest.skip("one writer at a time on SQLite: nothing to race")
    first_vault, second_vault = KeyVault(app.state.vault.store), KeyVault(app.state.vault.store)
    async with database.sessionmaker() as first, database.sessionmaker() as second:
        await first.begin()
        await second.begin()
        a = await first_vault.codec(first, user_id)
        racing = asyncio.create_task(second_vault.codec(second, user_id))
        await first.commit()  # the second's insert waits on this row's key
        b = await asyncio.wait_for(racing, 30)
        await second.commit()
    assert await _keys(app, user_id) == 1
    assert b.decode(a.encode("one key", **WHERE), **WHERE) == "one key"


async def test_a_process_finds_data_keys_wrapped_under_a_key_added_after_it_started(
    app: FastAPI,
) -> None:
    user_id = await _user(app)
    settings = app.state.settings
    serving: KeyVault = app.state.vault  # loaded the ring before the rotation
    async with app.state.database.sessionmaker() as db:
        sealed = (await serving.codec(db, user_id)).encode("before", **WHERE)
        await db.commit()
    change = rotate_keys(settings, key_id="later")  # `confide keys rotate` elsewhere
    assert await rewrap_all(app.state.database.begin, change.ring) == 1
    serving.forget(user_id)
    assert "later" not in serving.ring.key_ids
    async with app.state.database.sessionmaker() as db:
        assert (await serving.codec(db, user_id)).decode(sealed, **WHERE) == "before"
    assert serving.ring.key_ids[0] == "later"


async def test_destroying_a_key_makes_what_it_sealed_unreadable(app: FastAPI) -> None:
    user_id = await _user(app)
    vault: KeyVault = app.state.vault
    async with app.state.database.sessionmaker() as db:
        sealed = (await vault.codec(db, user_id)).encode("shredded", **WHERE)
        await db.commit()
    async with app.state.database.sessionmaker() as db:
        await vault.destroy(db, user_id)
        await db.commit()
    assert await _keys(app, user_id) == 0
    assert user_id not in vault.cache._entries
    async with app.state.database.sessionmaker() as db:
        with pytest.raises(DecryptionFailed):
            (await vault.codec(db, user_id)).decode(sealed, **WHERE)


def test_the_key_file_vault_makes_its_ring_once(tmp_path: Path) -> None:
    first = KeyVault(FileKeyStore(tmp_path))
    second = KeyVault(FileKeyStore(tmp_path))
    assert first.ring.key_ids == second.ring.key_ids
    assert (tmp_path / "master_keys").stat().st_mode & 0o777 == 0o600


async def test_a_destroyed_key_leaves_the_other_processes_cache_at_once(
    app_factory: Any, tmp_path: Path
) -> None:
    with redis_server(tmp_path) as server:
        apps = (app_factory(redis_url=server.url), app_factory(redis_url=server.url))
        for app in apps:
            await app.state.auth.broadcast.start()
        try:
            first, second = apps
            user_id = await _user(first)
            async with first.state.database.sessionmaker() as db:  # the key is made
                await first.state.vault.codec(db, user_id)
                await db.commit()
            for app in apps:  # then each process has it cached
                async with app.state.database.sessionmaker() as db:
                    await app.state.vault.codec(db, user_id)
                    await db.commit()
                assert user_id in app.state.vault.cache._entries
            async with first.state.database.sessionmaker() as db:
                await first.state.vault.destroy(db, user_id)
                await db.commit()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DEADLINE_SECONDS
            while user_id in second.state.vault.cache._entries:  # the broadcast is heard
                assert loop.time() < deadline, "the other process kept the destroyed key"
                await asyncio.sleep(0.01)
        finally:
            for app in apps:
                await settle_jobs(app)
                await app.state.jobs.aclose()
                await app.state.auth.broadcast.aclose()
                await app.state.redis.aclose()
                await app.state.database.dispose()


async def test_a_key_made_on_a_connection_is_cached_once_its_transaction_is_over(
    app: FastAPI,
) -> None:
    user_id = await _user(app)
    vault: KeyVault = app.state.vault
    async with app.state.database.connect() as conn:
        async with conn.begin():
            await vault.codec(conn, user_id)  # made here: not cached while uncommitted
            await vault.codec(conn, user_id)
            assert user_id not in vault.cache._entries
        async with conn.begin():  # the same pooled connection, a later transaction
            await vault.codec(conn, user_id)
            assert user_id in vault.cache._entries
