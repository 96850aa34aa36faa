"""Two extraction jobs of one user storing a name at once leave one active name, the other
superseded (PostgreSQL: an advisory lock per user; SQLite has one writer at a time)."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import FastAPI
from sqlalchemy import select

from confide.memories.facts import Fact
from confide.memories.models import Memory
from confide.memories.service import remember
from tests.conftest import client_for
from tests.factories import signed_up


async def test_two_names_stored_at_once_leave_one_active(app: FastAPI) -> None:
    async with client_for(app) as client:
        user, _ = await signed_up(client)
    user_id = uuid.UUID(user["id"])
    database, vault = app.state.database, app.state.vault
    async with database.sessionmaker() as db:  # the user's data key, made and committed
        await vault.codec(db, user_id)
        await db.commit()

    async def store(name: str, started: asyncio.Event, go: asyncio.Event) -> None:
        async with database.sessionmaker() as db:
            codec = await vault.codec(db, user_id)
            started.set()
            await go.wait()  # both have read nothing yet when either writes
            await remember(db, codec, Fact(key="name", content=name), source=None)
            await db.commit()

    go = asyncio.Event()
    first, second = asyncio.Event(), asyncio.Event()
    tasks = [
        asyncio.create_task(store("Ada", first, go)),
        asyncio.create_task(store("Grace", second, go)),
    ]
    await first.wait()
    await second.wait()
    go.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    async with database.sessionmaker() as db:
        statuses = sorted(
            (await db.execute(select(Memory.status).where(Memory.user_id == user_id))).scalars()
        )
    assert statuses == ["active", "superseded"]
