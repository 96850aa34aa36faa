"""SQLite on the event loop: the driver SQLAlchemy's aiosqlite dialect talks to, minus the thread.

aiosqlite runs each connection in a thread of its own and hands every call (cursor, execute,
fetch, close) across with a future: about a hundred hand-offs for one chat turn, each a wake-up
of the loop. SQLite answers an indexed statement in microseconds, from its page cache, with no
network in between, so the hand-offs cost far more than the work. Here the same calls run
inline, on the loop's thread.

The one thing a thread gave for free is waiting for a lock without stopping the loop. In WAL
mode readers never wait; writers wait for each other. So writers of this process take turns
on an `asyncio.Lock`, taken before the statement that opens a write transaction and given back
when it ends: a writer waits for another by awaiting, never inside SQLite's busy handler, which
would block the loop (and with it the writer it waits for). The busy timeout still covers
writers in other processes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

# Statements that open (or may open) a write transaction, by their first keyword.
_WRITES = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN", "CREATE", "DROP", "ALTER", "WITH", "PRAGMA"}
)
LOCK_TIMEOUT_SECONDS = 30.0


def _opens_write(sql: str) -> bool:
    head = sql.lstrip()[:8].split(None, 1)
    return bool(head) and head[0].upper() in _WRITES


class WriterTurns:
    """Whose turn it is to write, among this process's connections to one database file."""

    def __init__(self, timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
        self._lock = asyncio.Lock()
        self.timeout = timeout

    async def acquire(self) -> None:
        if not self._lock.locked():
            await self._lock.acquire()  # free: taken at once, without a timer
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None

    def release(self) -> None:
        self._lock.release()


class InlineCursor:
    """aiosqlite's cursor interface over a plain sqlite3 cursor."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self._run(self._cursor.execute, sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        return await self._run(self._cursor.executemany, sql, parameters)

    async def _run(
        self, method: Callable[[str, Any], object], sql: str, parameters: Any
    ) -> InlineCursor:
        await self._connection.before(sql)
        try:
            method(sql, parameters)
        finally:
            self._connection.after()
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """aiosqlite's connection interface over a plain sqlite3 connection, on the loop's thread."""

    def __init__(self, connection: sqlite3.Connection, turns: WriterTurns) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # SQLAlchemy checks it
        self._turns = turns
        self._writing = False

    async def before(self, sql: str) -> None:
        """Wait for this process's writer turn before a statement that may write."""
        if not self._writing and not self._conn.in_transaction and _opens_write(sql):
            await self._turns.acquire()
            self._writing = True

    def after(self) -> None:
        """Give the turn back once no transaction is open (autocommit statements, errors)."""
        if self._writing and not self._conn.in_transaction:
            self._release()

    def _release(self) -> None:
        if self._writing:
            self._writing = False
            self._turns.release()

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self.after()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self.after()

    async def close(self) -> None:
        if self._connection is None:
            return
        try:
            self._conn.close()
        finally:
            self._connection = None
            self._release()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._conn.close()
            self._connection = None
        self._release()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


def inline_connector(
    path: str, *, timeout: float, pragmas: Sequence[str]
) -> Callable[[], Awaitable[InlineConnection]]:
    """The `async_creator` for an engine on the SQLite file at `path`."""
    turns = WriterTurns()

    async def connect() -> InlineConnection:
        # check_same_thread=False: the pool may close a connection from the garbage collector.
        raw = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
        for pragma in pragmas:
            raw.execute(pragma)
        return InlineConnection(raw, turns)

    return connect
