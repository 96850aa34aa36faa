"""Two `confide serve` processes, A and B, behave as one: what ends a session through A is
refused by B on the very next request, and a WebSocket ticket opens one socket in total.

B caches sessions for 60 s (CONFIDE_SESSION_CACHE_TTL_SECONDS), so a refusal on B comes from
the invalidation reaching it, never from an entry that expired; `assert_cached_on` first
proves B answers from its cache."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from tests.factories import assert_problem
from tests.multihost.conftest import Account, Cluster, Process, SignedIn, sign_in, sign_up

NEW_PASSWORD = "quartz-meadow-lantern-77"


@pytest.fixture(scope="module")
def hosts(cluster: Cluster) -> tuple[Process, Process]:
    return cluster.serve("a"), cluster.serve("b")


@pytest.fixture
async def a(hosts: tuple[Process, Process]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hosts[0].base_url, timeout=30) as client:
        yield client


@pytest.fixture
async def b(hosts: tuple[Process, Process]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hosts[1].base_url, timeout=30) as client:
        yield client


async def assert_cached_on(
    client: httpx.AsyncClient, cluster: Cluster, account: Account, session: SignedIn
) -> None:
    """The host answers for this session from its cache: a change made behind its back, in
    the database, does not show."""
    first = await client.get("/api/auth/me", headers=session.headers)
    assert first.status_code == 200, first.text
    marker = f"changed-behind-the-cache-{uuid.uuid4().hex[:8]}"
    await cluster.execute(
        "UPDATE users SET display_name = :name WHERE id = :id",
        name=marker,
        id=uuid.UUID(account.user_id),
    )
    again = await client.get("/api/auth/me", headers=session.headers)
    assert again.status_code == 200, again.text
    assert again.json()["display_name"] == first.json()["display_name"] != marker, (
        "the host did not answer from its cache (is its broadcast started with the app?)"
    )


async def test_a_sign_out_through_a_is_refused_by_b_on_the_next_request(
    a: httpx.AsyncClient, b: httpx.AsyncClient, cluster: Cluster
) -> None:
    account = await sign_up(a)
    session = await sign_in(a, account)
    await assert_cached_on(b, cluster, account, session)
    assert (await a.post("/api/auth/logout", headers=session.headers)).status_code == 204
    assert_problem(await b.get("/api/auth/me", headers=session.headers), 401, "session_expired")


async def test_a_session_ended_through_a_is_refused_by_b(
    a: httpx.AsyncClient, b: httpx.AsyncClient, cluster: Cluster
) -> None:
    account = await sign_up(a)
    current, other = await sign_in(a, account), await sign_in(b, account)
    await assert_cached_on(b, cluster, account, other)
    ended = await a.delete(f"/api/auth/sessions/{other.session_id}", headers=current.headers)
    assert ended.status_code == 204, ended.text
    assert_problem(await b.get("/api/auth/me", headers=other.headers), 401, "session_expired")
    assert (await b.get("/api/auth/me", headers=current.headers)).status_code == 200


async def test_a_password_change_through_a_ends_the_other_sessions_on_b(
    a: httpx.AsyncClient, b: httpx.AsyncClient, cluster: Cluster
) -> None:
    account = await sign_up(a)
    current, other = await sign_in(a, account), await sign_in(a, account)
    await assert_cached_on(b, cluster, account, other)
    changed = await a.post(
        "/api/auth/password",
        headers=current.headers,
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    assert_problem(await b.get("/api/auth/me", headers=other.headers), 401, "session_expired")
    assert (await b.get("/api/auth/me", headers=current.headers)).status_code == 200


async def test_a_reused_refresh_token_on_a_ends_the_session_on_b(
    a: httpx.AsyncClient, b: httpx.AsyncClient, cluster: Cluster
) -> None:
    account = await sign_up(a)
    session = await sign_in(a, account)
    rotated = await a.post("/api/auth/refresh", json={"refresh_token": session.refresh_token})
    assert rotated.status_code == 200, rotated.text
    fresh = SignedIn(
        access_token=rotated.json()["access_token"],
        refresh_token=rotated.json()["refresh_token"],
        session_id=session.session_id,
    )
    await assert_cached_on(b, cluster, account, fresh)
    reused = await a.post("/api/auth/refresh", json={"refresh_token": session.refresh_token})
    assert_problem(reused, 401, "refresh_token_reused")
    assert_problem(await b.get("/api/auth/me", headers=fresh.headers), 401, "session_expired")


async def ticket(client: httpx.AsyncClient, session: SignedIn) -> str:
    response = await client.post("/api/auth/ws-ticket", headers=session.headers)
    assert response.status_code == 200, response.text
    value: str = response.json()["ticket"]
    return value


async def opens(host: Process, ticket_value: str) -> bool:
    """Whether a socket opens with this ticket (refused: the handshake is answered 403)."""
    try:
        async with ws_connect(f"{host.ws_url}/api/ws?ticket={ticket_value}") as socket:
            await socket.close()
    except InvalidStatus as refused:
        status = refused.response.status_code
    else:
        return True
    assert status == 403
    return False


async def test_a_ticket_minted_on_a_opens_one_socket_in_total(
    a: httpx.AsyncClient, hosts: tuple[Process, Process]
) -> None:
    host_a, host_b = hosts
    session = await sign_in(a, await sign_up(a))
    used_on_b = await ticket(a, session)
    assert await opens(host_b, used_on_b)
    assert not await opens(host_a, used_on_b)
    assert not await opens(host_b, used_on_b)
    used_on_a = await ticket(a, session)
    assert await opens(host_a, used_on_a)
    assert not await opens(host_b, used_on_a)


async def test_a_ticket_used_on_both_hosts_at_once_opens_one_socket(
    a: httpx.AsyncClient, hosts: tuple[Process, Process]
) -> None:
    session = await sign_in(a, await sign_up(a))
    once = await ticket(a, session)
    outcomes = await asyncio.gather(*(opens(host, once) for host in hosts for _ in range(3)))
    assert outcomes.count(True) == 1


async def test_a_host_killed_and_restarted_refuses_what_ended_meanwhile(
    a: httpx.AsyncClient, hosts: tuple[Process, Process], cluster: Cluster
) -> None:
    _, host_b = hosts
    account = await sign_up(a)
    ended, kept = await sign_in(a, account), await sign_in(a, account)
    async with httpx.AsyncClient(base_url=host_b.base_url, timeout=30) as b:
        await assert_cached_on(b, cluster, account, ended)
    host_b.kill()
    assert (await a.post("/api/auth/logout", headers=ended.headers)).status_code == 204
    host_b.restart()
    async with httpx.AsyncClient(base_url=host_b.base_url, timeout=30) as b:
        assert_problem(await b.get("/api/auth/me", headers=ended.headers), 401, "session_expired")
        await assert_cached_on(b, cluster, account, kept)
        assert (await a.post("/api/auth/logout", headers=kept.headers)).status_code == 204
        assert_problem(await b.get("/api/auth/me", headers=kept.headers), 401, "session_expired")
