"""Per client IP: the sign-in, registration, password and code-send routes (by path)."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, assert_problem, unique_email
from tests.ratelimit.conftest import MakeApp, client, quota

# Each route's body does not matter: the budget counts the request before the route reads it.
ROUTES = [
    ("/api/auth/login", "rate_limit_login_per_ip"),
    ("/api/auth/register", "rate_limit_register_per_ip"),
    ("/api/auth/password/forgot", "rate_limit_reset_per_ip"),
    ("/api/auth/password/reset", "rate_limit_reset_per_ip"),
    ("/api/auth/email", "rate_limit_reset_per_ip"),
    ("/api/auth/email/confirm", "rate_limit_reset_per_ip"),
    ("/api/auth/mfa/send", "rate_limit_codes_per_ip"),
]


@pytest.mark.parametrize(("path", "setting"), ROUTES)
async def test_each_route_has_its_per_ip_budget(
    limited_app: MakeApp, path: str, setting: str
) -> None:
    app = limited_app(**{setting: "2/minute"})
    async with client(app, ip="203.0.113.7") as http:
        first = await http.post(path, json={})
        assert first.status_code != 429
        assert quota(first)[:2] == (2, 1)
        second = await http.post(path, json={})
        assert quota(second)[:2] == (2, 0)
        refused = await http.post(path, json={"email": unique_email(), "password": PASSWORD})
        body = assert_problem(refused, 429, "rate_limited")
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert body["retry_after"] == retry_after
        assert quota(refused) == (2, 0, retry_after)
        # Requests the budget does not cover still go through from that address.
        assert (await http.get("/api/health")).status_code == 200
    async with client(app, ip="203.0.113.8") as other:
        assert (await other.post(path, json={})).status_code != 429


async def test_sign_in_counts_every_attempt_right_or_wrong(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_login_per_ip="3/minute")
    async with client(app) as http:
        email = unique_email()
        registered = await http.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201
        assert quota(registered)[0] == 100000  # registration's own (the suite's) budget
        wrong = await http.post(
            "/api/auth/login", json={"email": email, "password": "wrong-" + PASSWORD}
        )
        assert wrong.status_code == 401
        assert quota(wrong)[:2] == (3, 2)
        for remaining in (1, 0):
            right = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            assert right.status_code == 200
            assert quota(right)[:2] == (3, remaining)
        refused = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert_problem(refused, 429, "rate_limited")
        assert "access_token" not in refused.text


async def test_forgot_and_reset_share_one_budget(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_reset_per_ip="2/minute")
    async with client(app) as http:
        await http.post("/api/auth/password/forgot", json={"email": unique_email()})
        await http.post("/api/auth/password/reset", json={"token": "x", "new_password": PASSWORD})
        refused = await http.post("/api/auth/password/forgot", json={"email": unique_email()})
        assert_problem(refused, 429, "rate_limited")


async def test_ipv6_clients_share_their_slash_64(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_login_per_ip="2/minute")
    for host in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"):
        async with client(app, ip=host) as http:
            assert (await http.post("/api/auth/login", json={})).status_code != 429
    async with client(app, ip="2001:db8:1:2::99") as same_64:
        assert_problem(await same_64.post("/api/auth/login", json={}), 429, "rate_limited")
    async with client(app, ip="2001:db8:1:3::1") as next_64:
        assert (await next_64.post("/api/auth/login", json={})).status_code != 429


async def test_other_methods_and_paths_are_not_counted(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_login_per_ip="1/minute")
    async with client(app) as http:
        for _ in range(3):
            response = await http.get("/api/auth/login")
            assert response.status_code == 405
            assert "ratelimit-limit" not in response.headers
        assert (await http.post("/api/auth/login/", json={})).status_code != 429
        assert (await http.post("/api/auth/login", json={})).status_code != 429
        assert_problem(await http.post("/api/auth/login", json={}), 429, "rate_limited")
