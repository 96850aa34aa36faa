"""WebSocket tickets are spent once in total: in this process without Redis, across every
process with it (`SET confide:ws-ticket:<id> 1 NX EX <ttl>` on a private redis-server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from confide.auth.tokens import (
    InvalidToken,
    MemorySpentTickets,
    RedisSpentTickets,
    WebSocketTickets,
)
from tests.conftest import TEST_SECRET
from tests.factories import signed_up
from tests.live_server import serve
from tests.redis_server import RedisServer

USER, SESSION = uuid.uuid4(), uuid.uuid4()


def process(clients: Callable[[], Redis]) -> WebSocketTickets:
    """The tickets of one process: the shared secret, its own Redis client."""
    return WebSocketTickets(TEST_SECRET, spent=RedisSpentTickets(clients()))


async def test_a_ticket_opens_one_socket_in_total(clients: Callable[[], Redis]) -> None:
    a, b = process(clients), process(clients)
    ticket = a.issue(user_id=USER, session_id=SESSION)
    assert await b.redeem(ticket) == (USER, SESSION)
    for tickets in (a, b):
        with pytest.raises(InvalidToken):
            await tickets.redeem(ticket)


async def test_concurrent_uses_on_many_processes_let_exactly_one_through(
    clients: Callable[[], Redis],
) -> None:
    processes = [process(clients) for _ in range(4)]
    ticket = processes[0].issue(user_id=USER, session_id=SESSION)
    outcomes = await asyncio.gather(
        *(tickets.redeem(ticket) for tickets in processes for _ in range(3)),
        return_exceptions=True,
    )
    assert outcomes.count((USER, SESSION)) == 1
    assert sum(isinstance(o, InvalidToken) for o in outcomes) == len(outcomes) - 1


async def test_the_spent_mark_lives_as_long_as_a_ticket(clients: Callable[[], Redis]) -> None:
    redis = clients()
    tickets = WebSocketTickets(TEST_SECRET, spent=RedisSpentTickets(redis))
    ticket = tickets.issue(user_id=USER, session_id=SESSION)
    await tickets.redeem(ticket)
    nonce = ticket.split(".")[3]
    assert await redis.get(f"confide:ws-ticket:{nonce}") == b"1"
    assert 0 < await redis.ttl(f"confide:ws-ticket:{nonce}") <= tickets.ttl_seconds


async def test_a_forged_or_expired_ticket_never_reaches_redis(
    clients: Callable[[], Redis],
) -> None:
    redis = clients()
    tickets = WebSocketTickets(TEST_SECRET, spent=RedisSpentTickets(redis))
    forged = WebSocketTickets("another-secret-that-is-long-enough-0123456789abcdef")
    expired = WebSocketTickets(TEST_SECRET, ttl_seconds=-1)
    for ticket in (
        forged.issue(user_id=USER, session_id=SESSION),
        expired.issue(user_id=USER, session_id=SESSION),
        "a.b.c.d.e",
    ):
        with pytest.raises(InvalidToken):
            await tickets.redeem(ticket)
    assert await redis.keys("confide:ws-ticket:*") == []


async def test_without_redis_a_ticket_is_refused_not_let_through(
    clients: Callable[[], Redis], server: RedisServer
) -> None:
    tickets = process(clients)
    ticket = tickets.issue(user_id=USER, session_id=SESSION)
    server.stop()
    # The app answers it as 503 `unavailable` (error_handlers.py; the socket test below).
    with pytest.raises(redis_errors.ConnectionError):
        await tickets.redeem(ticket)
    server.start()  # an empty Redis: the ticket was never spent
    assert await tickets.redeem(ticket) == (USER, SESSION)


async def test_a_socket_opened_while_redis_is_down_is_refused_as_unavailable(
    app_factory: Callable[..., FastAPI], server: RedisServer
) -> None:
    app = app_factory(redis_url=server.url)
    try:
        async with serve(app) as address:
            async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client:
                _, headers = await signed_up(client)
                response = await client.post("/api/auth/ws-ticket", headers=headers)
                ticket = response.json()["ticket"]
            server.stop()
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(f"ws://{address}/api/ws?ticket={ticket}"):
                    pass
            # Not 403 (what a refused ticket gets): the client should try again, not sign in.
            assert refused.value.response.status_code == 503
            server.start()
            async with ws_connect(f"ws://{address}/api/ws?ticket={ticket}") as socket:
                await socket.close()
    finally:
        await app.state.redis.aclose()
        await app.state.database.dispose()


async def test_without_redis_tickets_are_spent_once_in_this_process() -> None:
    tickets = WebSocketTickets(TEST_SECRET)
    ticket = tickets.issue(user_id=USER, session_id=SESSION)
    assert await tickets.redeem(ticket) == (USER, SESSION)
    with pytest.raises(InvalidToken):
        await tickets.redeem(ticket)
    other = WebSocketTickets(TEST_SECRET)  # another process: it cannot know
    assert await other.redeem(ticket) == (USER, SESSION)


async def test_the_memory_store_forgets_marks_that_have_expired() -> None:
    spent = MemorySpentTickets()
    assert await spent.spend("one", ttl_seconds=-1)
    assert await spent.spend("one", ttl_seconds=30)  # its mark had expired
    assert not await spent.spend("one", ttl_seconds=30)
