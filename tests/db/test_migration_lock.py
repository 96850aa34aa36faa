"""`confide db upgrade` from several hosts at once: one migrates, the others wait and find the
schema at head. Run as operators run it, one process per host."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from confide.db.migrate import MIGRATION_LOCK_KEY, head_revision
from tests.conftest import POSTGRES_URL, unavailable

CONFIDE = str(Path(sys.executable).with_name("confide"))
HOSTS = 3
WAITING = b"Another process is migrating this database"
TABLES = text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
ADVISORY_LOCKS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database())"
)
# A guard against a hang, far above what an upgrade takes; nothing is timed.
DEADLINE_SECONDS = 120


def host_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONFIDE_")}
    env.update(CONFIDE_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", NO_COLOR="1")
    if database_url is not None:
        env["CONFIDE_DATABASE_URL"] = database_url
    return env


async def start_upgrade(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        CONFIDE, "db", "upgrade", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def output_until(process: asyncio.subprocess.Process, marker: bytes) -> bytes:
    """What the process printed up to the line holding `marker`."""
    assert process.stdout is not None
    assert process.stderr is not None
    seen = b""
    while marker not in seen:
        line = await process.stdout.readline()
        if not line:
            pytest.fail(f"exited before {marker!r}: {(seen + await process.stderr.read())!r}")
        seen += line
    return seen


async def finish(process: asyncio.subprocess.Process, seen: bytes = b"") -> tuple[int, str]:
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, (seen + stdout + stderr).decode()


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[str]:
    """An empty database of this test's own on the test server, dropped afterwards."""
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set CONFIDE_TEST_POSTGRES_URL")
    name = f"confide_faults_{uuid.uuid4().hex[:12]}"
    server = make_url(POSTGRES_URL)
    admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        await admin.dispose()
        unavailable(f"PostgreSQL at CONFIDE_TEST_POSTGRES_URL is not reachable: {exc}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_concurrent_upgrades_on_postgres_migrate_once(
    fresh_postgres: str, tmp_path: Path
) -> None:
    key = {"key": MIGRATION_LOCK_KEY}
    engine = create_async_engine(fresh_postgres)
    hosts: list[asyncio.subprocess.Process] = []
    try:
        async with asyncio.timeout(DEADLINE_SECONDS), engine.connect() as holder:
            # Taken here first, so that every host finds it taken: all of them wait, then
            # they take it one after the other.
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), key)
            await holder.commit()
            for n in range(HOSTS):
                env = host_env(tmp_path / f"host{n}", fresh_postgres)
                hosts.append(await start_upgrade(env, tmp_path))
            seen = [await output_until(host, WAITING) for host in hosts]
            assert await holder.scalar(TABLES) == 0  # nobody went past the lock
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            await holder.commit()
            results = [await finish(host, out) for host, out in zip(hosts, seen, strict=True)]
        for returncode, output in results:
            assert returncode == 0, output
            assert "Database is up to date." in output
        async with engine.connect() as conn:
            versions = (await conn.scalars(text("SELECT version_num FROM alembic_version"))).all()
            assert versions == [head_revision()]
            assert await conn.scalar(TABLES) > 1
            assert await conn.scalar(ADVISORY_LOCKS) == 0  # every host gave it back
    finally:
        for host in hosts:
            if host.returncode is None:  # the test failed half-way
                host.kill()
                await host.wait()
        await engine.dispose()


async def test_concurrent_upgrades_of_the_embedded_database_migrate_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with asyncio.timeout(DEADLINE_SECONDS):
        hosts = [await start_upgrade(host_env(data_dir, None), tmp_path) for _ in range(HOSTS)]
        results = [await finish(host) for host in hosts]
    for returncode, output in results:
        assert returncode == 0, output
    with sqlite3.connect(data_dir / "confide.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
