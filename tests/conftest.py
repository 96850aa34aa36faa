"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from CONFIDE_TEST_POSTGRES_URL (an asyncpg URL to a database the suite may
empty). Without it the PostgreSQL variants skip with a reason, except under CI=true, where
its absence fails the run.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

import confide.models  # noqa: F401  (every table, for truncation between tests)
from confide.access.models import Role, RolePermission
from confide.access.permissions import (
    ADMIN_ROLE,
    ADMIN_ROLE_ID,
    USER_DEFAULTS,
    USER_ROLE,
    USER_ROLE_ID,
)
from confide.app import create_app
from confide.audit.models import AuditHead
from confide.config import Settings
from confide.db.base import Base
from confide.db.migrate import upgrade
from confide.logs import JsonFormatter
from tests.invariant import assert_threads_valid

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("CONFIDE_TEST_POSTGRES_URL", "")
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"
TEST_HOSTS = ["testserver", "127.0.0.1", "localhost", "::1"]

# Cheap Argon2 parameters: the tests check rules, not the cost of a guess.
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 256, "argon2_parallelism": 1}


def unavailable(reason: str) -> None:
    """Skip with a reason locally; under CI a missing service is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def run_async(function: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, function()).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "confide.db"
    run_async(lambda: upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


async def _reset_schema(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set CONFIDE_TEST_POSTGRES_URL")
    try:
        run_async(lambda: _reset_schema(POSTGRES_URL))
    except OSError as exc:
        unavailable(f"PostgreSQL at CONFIDE_TEST_POSTGRES_URL is not reachable: {exc}")
    run_async(lambda: upgrade(POSTGRES_URL))
    return POSTGRES_URL


async def _truncate(url: str) -> None:
    """Every table emptied, then given back the rows the migrations seed."""
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
            await conn.execute(
                insert(Role),
                [
                    {"id": USER_ROLE_ID, "name": USER_ROLE, "parent_id": None, "builtin": True,
                     "description": "", "created_at": now, "updated_at": now},
                    {"id": ADMIN_ROLE_ID, "name": ADMIN_ROLE, "parent_id": USER_ROLE_ID,
                     "builtin": True, "description": "", "created_at": now, "updated_at": now},
                ],
            )  # fmt: skip
            await conn.execute(
                insert(RolePermission),
                [{"role_id": USER_ROLE_ID, "permission": p} for p in USER_DEFAULTS],
            )
            await conn.execute(insert(AuditHead).values(id=1, last_id=0, last_hash="0" * 64))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "confide.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    run_async(lambda: _truncate(url))
    return url


@pytest.fixture
def settings_factory(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test app: isolated from the environment and any .env file."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "secret_key": TEST_SECRET,
            "session_cache_ttl_seconds": 5.0,
            # httpx's and Starlette's test clients send `Host: testserver`; live servers in
            # the tests are reached as 127.0.0.1 or localhost.
            "allowed_hosts": TEST_HOSTS,
            **FAST_HASH,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def app_factory(settings_factory: Callable[..., Settings]) -> Callable[..., FastAPI]:
    return lambda **overrides: create_app(settings_factory(**overrides))


@pytest.fixture
async def app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    application = app_factory()
    yield application
    await application.state.database.dispose()


def client_for(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client talking to the app in-process (same host as the app sees)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", **kwargs
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


@pytest.fixture(autouse=True)
def _app_if_used(request: pytest.FixtureRequest) -> FastAPI | None:
    # Sync on purpose: an async fixture cannot ask for another async fixture by name.
    if "app" not in request.fixturenames:
        return None
    app: FastAPI = request.getfixturevalue("app")
    return app


@pytest.fixture(autouse=True)
async def _threads_stay_valid(_app_if_used: FastAPI | None) -> AsyncIterator[None]:
    """After every test that used the app: every thread satisfies OpenAI's tool-call rules."""
    yield
    if _app_if_used is not None:
        await assert_threads_valid(_app_if_used)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the `confide` loggers write, as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("confide")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A `redis-server` of the module's own (tests/redis_server.py), never the shared one."""
    from tests.redis_server import RedisServer  # it imports this module

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
