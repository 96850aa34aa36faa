"""Engine and session factory, plus the request session dependency: the one commit point."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from confide.datadir import create_private_file
from confide.db.sqlite import InlineConnection, inline_connector
from confide.errors import ConfideError

if TYPE_CHECKING:
    from confide.config import Settings

SQLITE_BUSY_TIMEOUT_SECONDS = 30
SQLITE_POOL_SIZE = 20
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}",
)
# A pooled server connection is pinged at checkout only once it sat idle this long; a
# connection the server closed (a restart, a terminated backend) is known closed without one.
PING_AFTER_IDLE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ServerPool:
    """How connections to a database server (PostgreSQL) are pooled and bounded; the
    defaults are the settings' (CONFIDE_DB_*). SQLite ignores all of it."""

    size: int = 10
    max_overflow: int = 20
    timeout_seconds: float = 10.0
    recycle_seconds: int = 1800  # 0: never
    statement_timeout_ms: int = 30_000  # 0: no limit
    connect_timeout_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerPool:
        return cls(
            size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            timeout_seconds=settings.db_pool_timeout_seconds,
            recycle_seconds=settings.db_pool_recycle_seconds,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
        )

    def engine_options(self, url: str) -> dict[str, Any]:
        """`create_async_engine` keywords for a server database at `url`."""
        options: dict[str, Any] = {
            "pool_size": self.size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.timeout_seconds,
            "pool_recycle": self.recycle_seconds or -1,
            # Not SQLAlchemy's pre-ping, which costs three round trips per checkout on asyncpg
            # (BEGIN, a ping, ROLLBACK): `_checkout` below does the same job for less.
            "pool_pre_ping": False,
        }
        if make_url(url).get_driver_name() == "asyncpg":
            options["connect_args"] = {
                "timeout": self.connect_timeout_seconds,
                # Sent as a startup parameter: every connection has it, no extra round trip.
                "server_settings": {"statement_timeout": str(self.statement_timeout_ms)},
            }
        return options


class DatabaseUnreachable(ConnectionError):
    """The database server cannot be reached (refused, unknown host, timed out), raised in
    place of the driver's bare OSError so that error_handlers.py can tell an outage from
    any other I/O error. Still an OSError for code that catches those."""


class Database:
    """Owns the engine and hands out sessions."""

    def __init__(self, url: str, *, echo: bool = False, pool: ServerPool | None = None) -> None:
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
            kwargs.update((pool or ServerPool()).engine_options(url))
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite and "async_creator" not in kwargs:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        if not self.is_sqlite:
            event.listen(self.engine.sync_engine, "do_connect", _connect_or_unreachable)
            event.listen(self.engine.sync_engine, "checkout", _checkout)
            event.listen(self.engine.sync_engine, "checkin", _checkin)
            event.listen(self.engine.sync_engine, "connect", _connected)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database the settings name, pooled as they say."""
        return cls(settings.effective_database_url, pool=ServerPool.from_settings(settings))

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
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """`connect()` for reads that need no transaction around them (one statement, or
        statements that need not agree with each other). On PostgreSQL each statement then
        commits by itself: a lone SELECT is one round trip instead of three (the driver's
        BEGIN and the pool's ROLLBACK). SQLite opens no transaction for a read anyway."""
        async with self.connect() as conn:
            if not self.is_sqlite:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session outside a request, for services written for one (they never
        commit): committed when the block ends, rolled back if it raises. What they asked to
        do once committed (`on_commit`) is done then, as for a request."""
        async with self.sessionmaker() as session:
            async with session.begin():
                yield session
            for callback in session.info.pop("on_commit", ()):
                callback()

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


def _connect_or_unreachable(
    dialect: Dialect, _record: ConnectionPoolEntry, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as exc:  # TimeoutError and socket.gaierror included
        # The message names the host and port, never the password.
        raise DatabaseUnreachable(f"{type(exc).__name__}: {exc}") from exc


def _checkout(
    dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """A connection the server dropped while it sat in the pool (a restart, a terminated
    backend, an idle timeout) is replaced at checkout, unseen: SQLAlchemy opens another when
    this raises DisconnectionError.

    A closed connection is seen without a round trip (the driver read the server's goodbye
    as it came); one idle for `PING_AFTER_IDLE_SECONDS` is pinged too, for a server that
    vanished without a word (a network cut). Checking every connection with SQLAlchemy's
    pre-ping instead cost 15 round trips of a 12-event tool turn, and 5 % of a serve
    process's CPU at 32 clients on PostgreSQL + Redis (bench/hosts_bench.py, py-spy)."""
    driver = getattr(dbapi_connection, "_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the server closed the connection")
    idle_since = record.info.get("idle_since")
    if is_closed is None or (
        idle_since is not None and time.monotonic() - idle_since >= PING_AFTER_IDLE_SECONDS
    ):
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError(
                f"the connection failed its ping: {type(exc).__name__}"
            ) from exc


def _checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _connected(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info.pop("idle_since", None)  # a new connection needs no ping


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
    """Run `callback` once the session's transaction is committed (e.g. to drop a cache entry):
    a request's (get_session) or a job's (Database.session)."""
    session.info.setdefault("on_commit", []).append(callback)


# scope="function": commit before the response is sent, so a client never sees a success
# that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
