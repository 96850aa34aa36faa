"""Engine and session factory, plus the request session dependency: the one commit point."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from confide.datadir import create_private_file
from confide.db.sqlite import InlineConnection, inline_connector
from confide.errors import ConfideError

SQLITE_BUSY_TIMEOUT_SECONDS = 30
SQLITE_POOL_SIZE = 20
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}",
)


class Database:
    """Owns the engine and hands out sessions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        path = make_url(url).database if self.is_sqlite else None
        self.inline = path is not None and path not in ("", ":memory:")
        if path is not None and self.inline:
            # A file: statements run on the loop's thread (see db/sqlite.py).
            kwargs["async_creator"] = _private_file_first(
                Path(path),
                inline_connector(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS, pragmas=SQLITE_PRAGMAS),
            )
            # A session's connection goes back to the pool a turn of the loop after its block
            # ends (SQLAlchemy closes it in a task of its own), so under load requests hold
            # more connections than they use at once: keep enough that none is opened per
            # request (a SQLite connection is cheap; the runs use `connect()`, below).
            kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)
        elif self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite and "async_creator" not in kwargs:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection, back in the pool as soon as the block ends.

        SQLAlchemy's own `async with engine.connect()` closes in a task of its own, shielded
        from cancellation, so the connection returns only once every task ready before it has
        run: under load each request holds a connection for a whole turn of the loop, and the
        pool opens and closes connections to keep up. On SQLite (inline) closing never waits,
        so nothing can interrupt it and it is done in place; elsewhere SQLAlchemy's way stays.
        """
        if not self.inline:
            async with self.engine.connect() as conn:
                yield conn
            return
        conn = await self.engine.connect()
        try:
            yield conn
        finally:
            await conn.close()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """`connect()` in a transaction: committed when the block ends, rolled back if it fails."""
        async with self.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session outside a request, for services written for one (they never
        commit): committed when the block ends, rolled back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _private_file_first(
    path: Path, connect: Callable[[], Awaitable[InlineConnection]]
) -> Callable[[], Awaitable[InlineConnection]]:
    """`connect`, after creating a missing database file 0600: SQLite would make it 0644, and
    its -wal and -shm files take the database file's mode (see datadir.py)."""

    async def private_connect() -> InlineConnection:
        # A missing directory stays missing: SQLite's error says so, as before.
        with contextlib.suppress(FileNotFoundError):
            create_private_file(path)
        return await connect()

    return private_connect


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: committed when the endpoint succeeds, rolled back otherwise."""
    database: Database = request.app.state.database
    async with database.sessionmaker() as session:
        try:
            yield session
        except ConfideError as exc:
            if not exc.keep_changes:
                await session.rollback()
                raise
            await session.commit()
            for callback in session.info.pop("on_commit", ()):
                callback()
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        for callback in session.info.pop("on_commit", ()):
            callback()


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the request's transaction is committed (e.g. to drop a cache entry)."""
    session.info.setdefault("on_commit", []).append(callback)


# scope="function": commit before the response is sent, so a client never sees a success
# that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
