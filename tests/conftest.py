"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from CONFIDE_TEST_POSTGRES_URL (an asyncpg URL to a database the suite may
empty). Without it the PostgreSQL variants skip with a reason, except under CI=true, where
its absence fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from redis.exceptions import RedisError
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
from confide.ratelimit.storage import MemoryCounter
from tests.invariant import assert_threads_valid

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("CONFIDE_TEST_POSTGRES_URL", "")
# One second into today (UTC): the in-process apps' budget clock (app_factory).
_BUDGET_EPOCH = float(int(time.time()) // 86400 * 86400 + 1)
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"
# A master key ring for settings that must be production-valid (never a real key).
TEST_MASTER_KEYS = "test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
TEST_HOSTS = ["testserver", "127.0.0.1", "localhost", "::1"]

RATE_LIMIT_SETTINGS = (
    "rate_limit_runs_per_user",
    "rate_limit_runs_per_session",
    "rate_limit_runs_per_channel",
    "rate_limit_api_per_user",
    "rate_limit_login_per_ip",
    "rate_limit_register_per_ip",
    "rate_limit_reset_per_ip",
    "rate_limit_codes_per_ip",
)
TEST_RATE_LIMITS = dict.fromkeys(RATE_LIMIT_SETTINGS, "100000/minute")

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
            # Most tests share threads between freshly registered users; tests/account checks
            # what an unverified account may do under the default ("chat").
            "unverified_users": "full",
            # httpx's and Starlette's test clients send `Host: testserver`; live servers in
            # the tests are reached as 127.0.0.1 or localhost.
            "allowed_hosts": TEST_HOSTS,
            **FAST_HASH,
            # Tests make many requests fast from one address and one user: budgets no test
            # reaches by accident (tests/ratelimit sets its own).
            **TEST_RATE_LIMITS,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


async def settle_jobs(application: FastAPI) -> None:
    """Let the jobs a test's requests queued finish (they are tasks of the test's loop on the
    app's database: a registration's verification mail, a lockout notice), so none outlives
    the database it writes to."""
    notify = getattr(application.state, "notify", None)
    tasks: dict[str, asyncio.Task[None]] = getattr(application.state.jobs, "tasks", {})
    for _ in range(100):
        if notify is not None:
            await notify.drain()
        if not tasks:
            return
        await asyncio.gather(*list(tasks.values()), return_exceptions=True)


@pytest.fixture
async def _made_apps() -> AsyncIterator[list[FastAPI]]:
    """Every app a test made: once the test is over, their jobs are let finish and their
    databases disposed of (again: a job may have connected after the test disposed of it)."""
    made: list[FastAPI] = []
    yield made
    for application in made:
        await settle_jobs(application)
        # The shared queue's connection opens at the first job (a registration queues its
        # verification mail): close it as the app's lifespan would (its redis-server may be
        # gone already: a test's own Redis stops before this runs).
        with contextlib.suppress(OSError, RedisError):
            await application.state.jobs.aclose()
        await application.state.database.dispose()


@pytest.fixture
def app_factory(
    settings_factory: Callable[..., Settings], _made_apps: list[FastAPI]
) -> Callable[..., FastAPI]:
    def make(**overrides: Any) -> FastAPI:
        application = create_app(settings_factory(**overrides))
        _made_apps.append(application)
        # The budgets' windows are aligned on the clock: three hits of a "2/minute" budget
        # that straddle a minute count the earlier window's by the part of it still in the
        # span, and the third may pass. In-process apps count on a clock stopped just after
        # the start of a day, so a test's hits all fall in one window of any length.
        counter = application.state.rate_limits.counter
        if isinstance(counter, MemoryCounter):
            counter.clock = lambda: _BUDGET_EPOCH
        # Tests end their apps with `database.dispose()`; the app's jobs (a registration's
        # mail) must finish first, as the lifespan makes them in production, or a job's
        # connection is checked out of a pool that no longer exists and never closed.
        database = application.state.database
        dispose = database.dispose

        async def settled_dispose() -> None:
            await settle_jobs(application)
            await dispose()

        database.dispose = settled_dispose  # type: ignore[method-assign]
        return application

    return make


@pytest.fixture
async def app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    application = app_factory()
    yield application
    await settle_jobs(application)
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
