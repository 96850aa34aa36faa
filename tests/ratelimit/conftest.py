"""Apps with small budgets, and helpers that sign in and chat through the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.ratelimit.storage import Counter, MemoryCounter, RedisCounter
from confide.shared.redis import connect_redis
from tests.conftest import client_for
from tests.factories import bearer, login, register
from tests.multihost.conftest import cluster  # noqa: F401  (the two-process test's fixture)
from tests.redis_server import RedisServer, redis_server

MakeApp = Callable[..., FastAPI]


@pytest.fixture
async def limited_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[MakeApp]:
    """`limited_app(rate_limit_api_per_user="3/minute", ...)`: an app with these settings
    (the others keep the test suite's generous budgets); each is closed afterwards."""
    built: list[FastAPI] = []

    def make(**overrides: Any) -> FastAPI:
        application = app_factory(**overrides)
        built.append(application)
        return application

    yield make
    for application in built:
        if application.state.redis is not None:
            # Without a lifespan nothing else closes them: the job queue's own Redis client
            # (a sign-up queues its email) and the app's.
            await application.state.jobs.aclose()
            await application.state.redis.aclose()
        await application.state.database.dispose()


@pytest.fixture(params=["memory", "redis"])
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[Counter]:
    """Each counter: this process's memory, and Redis (the test's own, flushed)."""
    if request.param == "memory":
        yield MemoryCounter()
        return
    server: Any = request.getfixturevalue("redis_server")
    redis = connect_redis(server.url)
    await redis.flushdb()
    yield RedisCounter(redis)
    await redis.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (the test may stop it)."""
    directory = tmp_path / "redis"
    directory.mkdir()
    with redis_server(directory) as running:
        yield running


def client(app: FastAPI, *, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client whose requests come from `ip`."""
    if ip == "127.0.0.1":
        return client_for(app)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://testserver"
    )


async def signed_in(http: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, str]]:
    user = await register(http)
    tokens = await login(http, email=user["email"])
    return user, bearer(tokens["access_token"])


async def another_session(http: httpx.AsyncClient, user: dict[str, Any]) -> dict[str, str]:
    return bearer((await login(http, email=user["email"]))["access_token"])


async def new_thread(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await http.post("/api/threads", json={}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send(http: httpx.AsyncClient, headers: dict[str, str], thread_id: str) -> httpx.Response:
    return await http.post(
        f"/api/threads/{thread_id}/messages", json={"content": "hello"}, headers=headers
    )


def quota(response: httpx.Response) -> tuple[int, int, int]:
    """The response's RateLimit-Limit, -Remaining and -Reset."""
    headers = response.headers
    return (
        int(headers["ratelimit-limit"]),
        int(headers["ratelimit-remaining"]),
        int(headers["ratelimit-reset"]),
    )
