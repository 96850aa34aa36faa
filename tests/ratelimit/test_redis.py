"""Budgets in Redis: shared by every app on it; while it is down the sign-in routes' per-IP
budgets fail closed (503) and the per-user ones let requests through uncounted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import assert_problem
from tests.ratelimit.conftest import MakeApp, client, quota, signed_in
from tests.redis_server import RedisServer

# Redis is the subject here; SQLite is enough for the rest.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_two_apps_on_one_redis_share_the_budgets(
    limited_app: MakeApp, redis_server: Any
) -> None:
    limits = {"rate_limit_login_per_ip": "3/minute", "rate_limit_api_per_user": "4/minute"}
    one = limited_app(redis_url=redis_server.url, **limits)
    two = limited_app(redis_url=redis_server.url, **limits)
    async with client(one, ip="198.51.100.1") as first, client(two, ip="198.51.100.1") as second:
        assert quota(await first.post("/api/auth/login", json={}))[:2] == (3, 2)
        assert quota(await second.post("/api/auth/login", json={}))[:2] == (3, 1)
        assert quota(await first.post("/api/auth/login", json={}))[:2] == (3, 0)
        assert_problem(await second.post("/api/auth/login", json={}), 429, "rate_limited")
    async with client(one) as first, client(two) as second:
        _, alice = await signed_in(first)  # one database: alice signs in on either app
        assert quota(await first.get("/api/auth/me", headers=alice))[:2] == (4, 3)
        assert quota(await second.get("/api/auth/me", headers=alice))[:2] == (4, 2)
        assert quota(await second.get("/api/auth/me", headers=alice))[:2] == (4, 1)
        assert quota(await first.get("/api/auth/me", headers=alice))[:2] == (4, 0)
        assert_problem(await second.get("/api/auth/me", headers=alice), 429, "rate_limited")
    keys = [key async for key in one.state.redis.scan_iter(match="confide:ratelimit:*")]
    assert keys, "the budgets live in Redis, under Confide's prefix"


async def test_redis_down_closes_the_sign_in_budgets_and_lets_the_api_through(
    own_redis: RedisServer,  # first: it stops after the app's clients are closed
    limited_app: MakeApp,
) -> None:
    """The per-IP budgets of the sign-in routes fail closed (503) while Redis is down; the
    per-user budgets let requests through uncounted, so the API keeps working on the
    database as sessions do."""
    # Alice signs up on an app of the same database without Redis (a sign-up queues its
    # email: not this test's subject).
    async with client(limited_app()) as elsewhere:
        _, alice = await signed_in(elsewhere)
    app = limited_app(redis_url=own_redis.url)
    async with client(app) as http:
        assert (await http.get("/api/auth/me", headers=alice)).status_code == 200
        own_redis.stop()
        try:
            response = await http.post("/api/auth/login", json={})
            body = assert_problem(response, 503, "unavailable")
            assert body["detail"] == "Redis is not answering right now; try again in a moment."
            assert response.headers["retry-after"] == "2"
            assert "ratelimit-limit" not in response.headers
            me = await http.get("/api/auth/me", headers=alice)
            assert me.status_code == 200, me.text
            assert "ratelimit-limit" not in me.headers  # not counted
        finally:
            own_redis.start()
        # Back (and empty): counting resumes.
        assert (await http.get("/api/auth/me", headers=alice)).status_code == 200
