"""The shipped migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from confide.crypto.keyring import KeyRing
from confide.db.base import Base
from confide.db.migrate import alembic_config, current_revision, head_revision, upgrade
from confide.models import User  # also registers every table on the metadata
from tests.conftest import POSTGRES_URL, unavailable


async def _empty_schema(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set CONFIDE_TEST_POSTGRES_URL")
    try:
        await _empty_schema(POSTGRES_URL)
    except OSError as exc:
        unavailable(f"PostgreSQL at CONFIDE_TEST_POSTGRES_URL is not reachable: {exc}")
    try:
        yield POSTGRES_URL
    finally:
        # The shared fixtures of the other tests expect this database migrated.
        await _empty_schema(POSTGRES_URL)
        await upgrade(POSTGRES_URL)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _downgrade(connection: Connection, revision: str, ring: KeyRing | None = None) -> None:
    """Down to `revision`; `ring` opens what 0013 sealed (a database holding content)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes["key_ring"] = ring
    command.downgrade(config, revision)


async def run_sync(url: str, function: Any, *args: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(function, *args)
    finally:
        await engine.dispose()


def test_one_head_and_every_revision_can_go_down() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1
    revisions = list(scripts.walk_revisions())
    assert revisions
    for revision in revisions:
        assert revision.module.downgrade is not None
        assert revision.doc, f"{revision.revision} has no message"


async def test_models_and_migrations_agree(empty_database: str) -> None:
    await upgrade(empty_database)
    differences = await run_sync(empty_database, _differences)
    assert differences == [], "autogenerate would write a new migration:\n" + "\n".join(
        map(str, differences)
    )
    tables = await run_sync(empty_database, _tables)
    assert {table.name for table in Base.metadata.sorted_tables} <= tables


async def test_upgrade_twice_is_harmless(empty_database: str) -> None:
    await upgrade(empty_database)
    await upgrade(empty_database)
    assert await current_revision(empty_database) == head_revision()
    assert await run_sync(empty_database, _differences) == []


async def test_downgrade_to_base_and_up_again(empty_database: str) -> None:
    await upgrade(empty_database)
    await run_sync(empty_database, _downgrade, "base")
    assert await current_revision(empty_database) is None
    left = await run_sync(empty_database, _tables)
    assert left <= {"alembic_version"}, left
    await upgrade(empty_database)
    assert await current_revision(empty_database) == head_revision()
    assert await run_sync(empty_database, _differences) == []


async def test_step_by_step_matches_straight_to_head(empty_database: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    for revision in reversed(list(scripts.walk_revisions())):
        await upgrade(empty_database, revision.revision)
        assert await current_revision(empty_database) == revision.revision
    assert await run_sync(empty_database, _differences) == []


async def test_data_survives_a_repeated_upgrade(empty_database: str) -> None:
    """Upgrading an up-to-date database must not touch its rows."""
    await upgrade(empty_database)
    engine = create_async_engine(empty_database)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                User.__table__.insert().values(
                    id=uuid.uuid4(),
                    email="kept@example.org",
                    email_key="kept@example.org",
                    password_hash="x",
                )
            )
        await upgrade(empty_database)
        async with engine.connect() as conn:
            emails = (await conn.execute(text("SELECT email FROM users"))).scalars().all()
        assert emails == ["kept@example.org"]
    finally:
        await engine.dispose()
