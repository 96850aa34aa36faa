"""Per-IP block: many failures across many accounts from one client network block sign-in
from it for a while (429 `ip_blocked`); IPv6 is counted by /64; an allow-listed address is
exempt from this block but not from the per-account lockout."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from confide.throttle.counters import client_network
from tests.admin.helpers import admin, audit, detail
from tests.conftest import settle_jobs as settle
from tests.factories import PASSWORD, assert_problem, register, unique_email
from tests.throttle.helpers import WRONG, client_from, sign_in, use_clock

ATTACKER = "203.0.113.7"


@pytest.fixture
async def app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    """A low threshold (3 failures in 10 minutes block for 5) so the rule shows quickly."""
    application = app_factory(
        ip_block_threshold=3, ip_block_window_seconds=600, ip_block_seconds=300
    )
    yield application
    await settle(application)
    await application.state.database.dispose()


async def spray(client: httpx.AsyncClient, times: int) -> None:
    """Wrong passwords for `times` different (unknown) accounts."""
    for _ in range(times):
        assert_problem(
            await sign_in(client, unique_email("victim"), WRONG), 401, "invalid_credentials"
        )


def test_ipv6_clients_are_grouped_by_64_and_ipv4_mapped_ones_as_ipv4() -> None:
    assert client_network("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert client_network("::ffff:198.51.100.4") == "198.51.100.4"
    assert client_network("198.51.100.4") == "198.51.100.4"
    assert client_network("testclient") is None


async def test_failures_across_accounts_block_the_address_for_a_while(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    user = await register(client)
    async with client_from(app, ATTACKER) as attacker, client_from(app, "203.0.113.8") as neighbour:
        await spray(attacker, 3)
        # Blocked for sign-in, whichever account, the correct password included.
        body = assert_problem(await sign_in(attacker, user["email"], PASSWORD), 429, "ip_blocked")
        assert body["retry_after"] == 300
        clock.advance(100)
        response = await sign_in(attacker, unique_email(), WRONG)
        assert_problem(response, 429, "ip_blocked")
        assert response.headers["retry-after"] == "200"
        # Other addresses, and the account itself from elsewhere, are unaffected.
        assert (await sign_in(neighbour, user["email"], PASSWORD)).status_code == 200
        # Only sign-in is blocked: the rest of the API still answers the address.
        assert (await attacker.get("/api/health")).status_code == 200
        clock.advance(201)
        assert (await sign_in(attacker, user["email"], PASSWORD)).status_code == 200
    events = await audit(app, "throttle.ip_blocked")
    assert len(events) == 1
    assert events[0].target_id == ATTACKER
    assert events[0].ip == ATTACKER
    assert detail(events[0])["seconds"] == 300


async def test_the_window_is_fixed_and_failures_older_than_it_do_not_count(
    app: FastAPI,
) -> None:
    clock = use_clock(app)
    async with client_from(app, ATTACKER) as attacker:
        await spray(attacker, 2)
        clock.advance(601)  # a new window
        await spray(attacker, 2)
        assert (await sign_in(attacker, unique_email(), WRONG)).status_code == 401
        assert_problem(await sign_in(attacker, unique_email(), WRONG), 429, "ip_blocked")


async def test_ipv6_addresses_of_one_64_share_the_block(app: FastAPI) -> None:
    use_clock(app)
    async with (
        client_from(app, "2001:db8:1:2::1") as first,
        client_from(app, "2001:db8:1:2::beef") as same_64,
        client_from(app, "2001:db8:1:3::1") as other_64,
    ):
        await spray(first, 2)
        await spray(same_64, 1)
        assert_problem(await sign_in(first, unique_email(), WRONG), 429, "ip_blocked")
        assert_problem(await sign_in(same_64, unique_email(), WRONG), 429, "ip_blocked")
        assert (await sign_in(other_64, unique_email(), WRONG)).status_code == 401


async def test_an_allow_listed_address_is_exempt_from_the_block_not_from_lockout(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    use_clock(app)
    _, headers = await admin(client, app)
    response = await client.post(
        "/api/admin/ip-rules",
        json={"cidr": "203.0.113.0/24", "action": "allow", "note": "office"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    user = await register(client)
    async with client_from(app, ATTACKER) as office:
        await spray(office, 10)
        assert (await sign_in(office, user["email"], PASSWORD)).status_code == 200
        # The account's own lockout still applies.
        for _ in range(5):
            assert_problem(await sign_in(office, user["email"], WRONG), 401, "invalid_credentials")
        assert_problem(await sign_in(office, user["email"], PASSWORD), 429, "account_locked")
    assert await audit(app, "throttle.ip_blocked") == []
