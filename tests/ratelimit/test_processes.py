"""Real `confide serve` processes: two sharing one budget through a real Redis, and the
client address uvicorn hands over (X-Forwarded-For only from CONFIDE_FORWARDED_ALLOW_IPS)."""

from __future__ import annotations

import itertools

import httpx

from tests.factories import assert_problem
from tests.multihost.conftest import Cluster, sign_up
from tests.ratelimit.conftest import quota

BUDGETS = {
    "CONFIDE_RATE_LIMIT_API_PER_USER": "5/minute",
    "CONFIDE_RATE_LIMIT_RUNS_PER_USER": "2/minute",
    "CONFIDE_RATE_LIMIT_LOGIN_PER_IP": "2/minute",
}
# The processes share one Redis: each sign-in comes from an address of its own (through the
# trusted proxy, 127.0.0.1), so none spends the budget another test counts on.
_sign_in_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


async def sign_in(http: httpx.AsyncClient) -> dict[str, str]:
    account = await sign_up(http)
    response = await http.post(
        "/api/auth/login",
        json={"email": account.email, "password": account.password},
        headers={"X-Forwarded-For": next(_sign_in_addresses)},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_two_processes_share_one_budget(cluster: Cluster) -> None:
    a, b = cluster.serve("a", **BUDGETS), cluster.serve("b", **BUDGETS)
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
    ):
        alice = await sign_in(on_a)
        seen = []
        for http in (on_a, on_b, on_a, on_b, on_a):
            response = await http.get("/api/auth/me", headers=alice)
            assert response.status_code == 200, response.text
            seen.append(quota(response)[:2])
        assert seen == [(5, 4), (5, 3), (5, 2), (5, 1), (5, 0)]
        refused = await on_b.get("/api/auth/me", headers=alice)
        body = assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) == body["retry_after"] >= 1

        # Runs too: one on each process, then neither starts a third.
        bob = await sign_in(on_b)
        thread = (await on_a.post("/api/threads", json={}, headers=bob)).json()["id"]
        for http in (on_a, on_b):
            sent = await http.post(
                f"/api/threads/{thread}/messages", json={"content": "hi"}, headers=bob
            )
            assert sent.status_code == 200, sent.text
        for http in (on_a, on_b):
            refused = await http.post(
                f"/api/threads/{thread}/messages", json={"content": "hi"}, headers=bob
            )
            assert_problem(refused, 429, "rate_limited")


async def test_spoofed_forwarded_for_from_an_untrusted_client_changes_nothing(
    cluster: Cluster,
) -> None:
    # 127.0.0.1 (the test) is not a proxy this server trusts.
    untrusting = cluster.serve("untrusting", CONFIDE_FORWARDED_ALLOW_IPS="10.255.255.1", **BUDGETS)
    async with httpx.AsyncClient(base_url=untrusting.base_url, timeout=30) as http:
        for spoofed in ("203.0.113.1", "203.0.113.2"):
            response = await http.post(
                "/api/auth/login", json={}, headers={"X-Forwarded-For": spoofed}
            )
            assert response.status_code != 429, response.text
        refused = await http.post(
            "/api/auth/login", json={}, headers={"X-Forwarded-For": "203.0.113.3"}
        )
        assert_problem(refused, 429, "rate_limited")


async def test_forwarded_for_from_a_trusted_proxy_is_the_client(cluster: Cluster) -> None:
    # By default 127.0.0.1 is the trusted proxy: each forwarded client has its own budget.
    trusting = cluster.serve("trusting", **BUDGETS)
    async with httpx.AsyncClient(base_url=trusting.base_url, timeout=30) as http:

        async def login_from(client_ip: str) -> httpx.Response:
            return await http.post(
                "/api/auth/login", json={}, headers={"X-Forwarded-For": client_ip}
            )

        for _ in range(2):
            assert (await login_from("192.0.2.10")).status_code != 429
        assert_problem(await login_from("192.0.2.10"), 429, "rate_limited")
        assert (await login_from("192.0.2.11")).status_code != 429
        # IPv6 clients by /64, through the proxy too.
        assert (await login_from("2001:db8:9:9::1")).status_code != 429
        assert (await login_from("2001:db8:9:9::2")).status_code != 429
        assert_problem(await login_from("2001:db8:9:9::3"), 429, "rate_limited")
