"""SQLite on the event loop (db/sqlite.py): writers take turns without blocking the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from confide.db.engine import Database
from confide.db.sqlite import InlineConnection, WriterTurns, _opens_write, inline_connector


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield database
    await database.dispose()


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ("SELECT 1", False),
        ("  select * from items", False),
        ("INSERT INTO items VALUES (1, 'a')", True),
        ("\n update items set name = 'b'", True),
        ("DELETE FROM items", True),
        ("REPLACE INTO items VALUES (1, 'a')", True),
        ("BEGIN IMMEDIATE", True),
        ("WITH x AS (SELECT 1) DELETE FROM items", True),
        ("PRAGMA journal_mode=WAL", True),
        ("", False),
    ],
)
def test_which_statements_take_the_writer_turn(sql: str, writes: bool) -> None:
    assert _opens_write(sql) is writes


async def test_the_engine_runs_sqlite_inline(database: Database) -> None:
    async with database.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, InlineConnection)
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
        keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
    assert (mode, keys) == ("wal", 1)


async def test_a_second_writer_waits_for_the_first_to_commit(database: Database) -> None:
    order: list[str] = []
    first_wrote = asyncio.Event()

    async def first() -> None:
        async with database.engine.begin() as conn:
            await conn.execute(text("INSERT INTO items VALUES (1, 'first')"))
            first_wrote.set()
            for _ in range(5):  # other tasks run meanwhile: the loop is not blocked
                await asyncio.sleep(0)
            order.append("first commits")

    async def second() -> None:
        await first_wrote.wait()
        async with database.engine.begin() as conn:
            order.append("second asks")
            await conn.execute(text("INSERT INTO items VALUES (2, 'second')"))
            order.append("second wrote")

    await asyncio.gather(first(), second())
    assert order == ["second asks", "first commits", "second wrote"]
    async with database.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM items ORDER BY id"))).scalars().all()
    assert names == ["first", "second"]


async def test_readers_do_not_wait_for_a_writer(database: Database) -> None:
    async with database.engine.begin() as writer:
        await writer.execute(text("INSERT INTO items VALUES (1, 'pending')"))
        async with database.engine.connect() as reader:
            seen = (await reader.execute(text("SELECT count(*) FROM items"))).scalar_one()
        assert seen == 0  # the uncommitted row is not visible, and reading did not wait


async def test_the_turn_is_given_back_after_an_error_and_a_rollback(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("INSERT INTO items VALUES (1, 'a')"))
    with pytest.raises(IntegrityError):
        async with database.engine.begin() as conn:
            await conn.execute(text("INSERT INTO items VALUES (2, 'a')"))  # name is unique

    async def change_of_mind() -> None:
        async with database.engine.begin() as conn:
            await conn.execute(text("INSERT INTO items VALUES (3, 'c')"))
            raise RuntimeError("the caller changed its mind")

    with pytest.raises(RuntimeError):
        await change_of_mind()
    async with asyncio.timeout(5):  # a turn never given back would make this wait forever
        async with database.engine.begin() as conn:
            await conn.execute(text("INSERT INTO items VALUES (4, 'd')"))
    async with database.engine.connect() as conn:
        ids = (await conn.execute(text("SELECT id FROM items ORDER BY id"))).scalars().all()
    assert ids == [1, 4]


async def test_a_writer_waiting_too_long_gets_database_is_locked(tmp_path: Path) -> None:
    connect = inline_connector(str(tmp_path / "locked.db"), timeout=1, pragmas=())
    first, second = await connect(), await connect()
    second._turns = first._turns = WriterTurns(timeout=0.05)
    await (await first.execute("CREATE TABLE t (x INTEGER)")).close()
    await first.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await second.execute("INSERT INTO t VALUES (2)")
    await first.commit()
    await second.execute("INSERT INTO t VALUES (2)")
    await second.commit()
    rows = await (await first.execute("SELECT x FROM t ORDER BY x")).fetchall()
    assert rows == [(1,), (2,)]
    await first.close()
    await second.close()


async def test_closing_a_writing_connection_gives_the_turn_back(tmp_path: Path) -> None:
    connect = inline_connector(str(tmp_path / "closed.db"), timeout=1, pragmas=())
    first, second = await connect(), await connect()
    await first.execute("CREATE TABLE t (x INTEGER)")
    await first.execute("INSERT INTO t VALUES (1)")
    await first.close()  # uncommitted: rolled back by SQLite, the turn handed on
    async with asyncio.timeout(5):
        await second.execute("INSERT INTO t VALUES (2)")
    await second.commit()
    rows = await (await second.execute("SELECT x FROM t")).fetchall()
    assert rows == [(2,)]
    await second.close()


async def test_an_engine_on_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(OperationalError):
        await database.ping()
    await database.dispose()
