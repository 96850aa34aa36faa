"""Concurrent writers keep the chain one line: appends queue on the head row (on PostgreSQL
its row lock), so no two events ever follow the same one."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from confide.audit import actions
from confide.audit.service import record
from confide.audit.verify import verify_chain
from confide.db.engine import Database
from tests.audit.trail import events
from tests.factories import PASSWORD, register

WRITERS = 16


async def test_transactions_open_at_once_append_one_after_another(database_url: str) -> None:
    database = Database(database_url)
    ready = asyncio.Barrier(WRITERS)

    async def writer(i: int) -> None:
        async with database.begin() as conn:
            await conn.execute(text("SELECT 1"))  # the transaction is open on the server
            await ready.wait()  # ...and so are all the others: now they append at once
            await record(conn, action="test.concurrent", actor=f"w{i}@example.org")

    try:
        await asyncio.gather(*(writer(i) for i in range(WRITERS)))
        report = await verify_chain(database)
    finally:
        await database.dispose()
    assert report.intact, report
    assert report.events == WRITERS


async def test_concurrent_sign_ins_keep_the_chain_linear(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    users = [await register(client) for _ in range(4)]
    attempts = [
        (user["email"], password) for user in users for password in (PASSWORD, "wrong-password-x")
    ] * 2

    async def sign_in(email: str, password: str) -> int:
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        return response.status_code

    codes = await asyncio.gather(*(sign_in(e, p) for e, p in attempts))
    assert sorted(codes) == [200] * 8 + [401] * 8
    report = await verify_chain(app.state.database)
    assert report.intact, report
    sign_ins = await events(app, actions.SIGNED_IN)
    assert sorted(e.outcome for e in sign_ins) == ["failure"] * 8 + ["success"] * 8
    assert report.events == len(await events(app))
    # Each event names the one before it: one line, no fork.
    stored = await events(app)
    assert [e.prev_hash for e in stored[1:]] == [e.hash for e in stored[:-1]]
