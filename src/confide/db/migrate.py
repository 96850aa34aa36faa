"""Apply the migrations shipped inside the package.

Several processes may upgrade at once (`confide db upgrade` in each host's deploy step; on
SQLite, `confide serve` and `confide users create` migrate too): one migrates while the others
wait, then find the schema at head and do nothing. On PostgreSQL they wait for an advisory
lock. SQLite's file lives on one host, and its own write lock does it, provided the upgrade
takes that lock before it reads the schema's revision: the driver would start a transaction
only at the first write (letting two processes both see an empty schema and both create it),
so the upgrade runs in one `BEGIN IMMEDIATE` transaction of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from confide.crypto.keyring import KeyRing

# The advisory lock key of Confide's migrations: any fixed 64-bit number, this one spells
# "confide" in ASCII (another application sharing the database would pick its own).
MIGRATION_LOCK_KEY = 0x636F6E66696465
# How long an SQLite upgrade waits for another process's to finish (a large table rebuilt in
# batch mode takes a while).
SQLITE_LOCK_WAIT_SECONDS = 600


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(Path(str(resources.files("confide.db"))) / "migrations")
    )
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def upgrade(
    url: str,
    revision: str = "head",
    *,
    on_wait: Callable[[], None] | None = None,
    key_ring: KeyRing | None = None,
) -> None:
    """Bring the database at `url` to `revision` (the latest by default). `on_wait` is
    called when another process holds the migration lock, before waiting for it. `key_ring`
    seals content already stored when a migration encrypts it (0013); without one, such a
    migration refuses a database that holds content."""
    _ensure_sqlite_dir(url)
    engine = _migration_engine(url)
    try:
        async with (
            engine.connect() as connection,
            _migration_lock(connection, on_wait),
            connection.begin(),
        ):
            await connection.run_sync(_upgrade, revision, key_ring)
    finally:
        # Closing the connection also frees the lock when the upgrade failed.
        await engine.dispose()


def _migration_engine(url: str) -> AsyncEngine:
    if not url.startswith("sqlite"):
        return create_async_engine(url)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_LOCK_WAIT_SECONDS})
    # SQLAlchemy's recipe for a transaction SQLite starts when told (its aiosqlite docs).
    event.listen(engine.sync_engine, "connect", _no_driver_transactions)
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _no_driver_transactions(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, before anything is read


@asynccontextmanager
async def _migration_lock(
    connection: AsyncConnection, on_wait: Callable[[], None] | None
) -> AsyncIterator[None]:
    """PostgreSQL: hold the migration lock on the migrating connection itself, so it lasts
    exactly as long as that connection does (a transaction lock would not: a migration may
    commit on its way, e.g. in Alembic's `autocommit_block`)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    key = {"key": MIGRATION_LOCK_KEY}
    if not await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
        if on_wait is not None:
            on_wait()
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
    # A session lock outlives this transaction; the upgrade then reads the schema afresh, as
    # the process that held the lock before left it.
    await connection.commit()
    yield
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
    await connection.commit()


def _upgrade(connection: Connection, revision: str, key_ring: KeyRing | None) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes["key_ring"] = key_ring
    command.upgrade(config, revision)


async def current_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
