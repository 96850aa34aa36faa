"""Per-account lockout: exponential back-off after repeated failures, the correct password
refused meanwhile, variants of an email sharing a counter, unknown emails alike, the owner
told once, every lockout audited. Time is the throttle's injectable clock, never a sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from confide.notify.models import OutboxMessage
from confide.throttle.counters import (
    AccountPolicy,
    Counter,
    account_failed,
    account_key,
    lockout_seconds,
)
from confide.throttle.models import ThrottleCounter
from tests.admin.helpers import audit, detail
from tests.conftest import settle_jobs as settle
from tests.factories import PASSWORD, assert_problem, register, unique_email
from tests.throttle.helpers import WRONG, Clock, sign_in, use_clock


async def fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        response = await sign_in(client, email, WRONG)
        assert_problem(response, 401, "invalid_credentials")


def assert_locked(response: httpx.Response, seconds: int) -> None:
    body = assert_problem(response, 429, "account_locked")
    assert body["retry_after"] == seconds
    assert response.headers["retry-after"] == str(seconds)


async def lockout_emails(app: FastAPI) -> int:
    async with app.state.database.session() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.purpose == "lockout")
        )
    return int(count or 0)


def test_the_back_off_doubles_from_the_threshold_and_stops_at_the_cap() -> None:
    policy = AccountPolicy(threshold=5, base_seconds=30, max_seconds=900)
    waits = [lockout_seconds(n, policy) for n in range(1, 13)]
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]
    assert lockout_seconds(10_000, policy) == 900


def test_failures_are_forgotten_a_day_after_the_last() -> None:
    policy = AccountPolicy()
    counter = Counter(failures=4, window_start=0.0, last_failure_at=1000.0)
    assert account_failed(counter, 1000.0 + 3600, policy).failures == 5
    assert account_failed(counter, 1000.0 + 86400 + 1, policy).failures == 1


async def test_five_failures_lock_the_account_and_the_wait_doubles_to_the_cap(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    clock = use_clock(app)
    user = await register(client)
    await fail(client, user["email"], 4)
    assert (await sign_in(client, user["email"], PASSWORD)).status_code == 200  # not yet
    await fail(client, user["email"], 5)
    # Locked: the correct password is refused as well, with the time left.
    assert_locked(await sign_in(client, user["email"], PASSWORD), 30)
    clock.advance(10)
    assert_locked(await sign_in(client, user["email"], WRONG), 20)
    for expected in (60, 120, 240, 480, 900, 900):
        clock.advance(901)
        await fail(client, user["email"], 1)
        assert_locked(await sign_in(client, user["email"], PASSWORD), expected)
    clock.advance(901)
    assert (await sign_in(client, user["email"], PASSWORD)).status_code == 200


async def test_a_success_resets_the_counter(client: httpx.AsyncClient, app: FastAPI) -> None:
    use_clock(app)
    user = await register(client)
    await fail(client, user["email"], 4)
    assert (await sign_in(client, user["email"], PASSWORD)).status_code == 200
    await fail(client, user["email"], 4)  # four again, from zero: still not locked
    assert (await sign_in(client, user["email"], PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    "variant",
    [
        lambda email: email.upper(),
        lambda email: f"  {email}\t",
        # Full-width letters and digits (NFKC folds them to ASCII).
        lambda email: "".join(chr(ord(ch) + 0xFEE0) if ch.isalnum() else ch for ch in email),
    ],
    ids=["case", "whitespace", "fullwidth"],
)
async def test_variants_of_the_email_share_one_counter(
    client: httpx.AsyncClient, app: FastAPI, variant: Callable[[str], str]
) -> None:
    use_clock(app)
    user = await register(client)
    email = user["email"]
    assert account_key(variant(email)) == account_key(email)
    await fail(client, email, 2)
    await fail(client, variant(email), 3)
    assert_locked(await sign_in(client, email, PASSWORD), 30)
    assert_locked(await sign_in(client, variant(email), PASSWORD), 30)


async def test_an_unknown_email_is_counted_and_answered_like_a_known_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    use_clock(app)
    known = (await register(client))["email"]
    unknown = unique_email("nobody")
    answers: dict[str, list[tuple[int, str, str | None]]] = {}
    for email in (known, unknown):
        seen = []
        for _ in range(6):
            response = await sign_in(client, email, WRONG)
            body = response.json()
            seen.append((response.status_code, body["code"], response.headers.get("retry-after")))
        answers[email] = seen
    assert answers[known] == answers[unknown]
    assert answers[unknown][-1] == (429, "account_locked", "30")
    # Both lockouts are audited; the unknown one names no account.
    events = await audit(app, "auth.locked_out")
    assert [e.actor for e in events] == [known, unknown]
    assert events[0].actor_id is not None
    assert events[1].actor_id is None
    assert detail(events[0]) == {"failures": 5, "seconds": 30, "factor": "password"}


async def test_the_owner_is_told_once_per_lockout(client: httpx.AsyncClient, app: FastAPI) -> None:
    clock = use_clock(app)
    user = await register(client)
    other = await register(client)
    await fail(client, user["email"], 5)
    assert await lockout_emails(app) == 1
    for _ in range(3):  # the same lockout, longer each time: no more mail
        clock.advance(901)
        await fail(client, user["email"], 1)
    assert await lockout_emails(app) == 1
    async with app.state.database.session() as db:
        message = (
            await db.execute(select(OutboxMessage).where(OutboxMessage.purpose == "lockout"))
        ).scalar_one()
    assert message.recipient == user["email"]
    assert str(message.user_id) == user["id"]
    assert WRONG not in message.body
    # A success ends the lockout; the next one is told again.
    clock.advance(901)
    assert (await sign_in(client, user["email"], PASSWORD)).status_code == 200
    await fail(client, user["email"], 5)
    assert await lockout_emails(app) == 2
    # An unknown email has nobody to tell; another account is untouched.
    await fail(client, unique_email("ghost"), 5)
    assert await lockout_emails(app) == 2
    assert (await sign_in(client, other["email"], PASSWORD)).status_code == 200


async def test_every_lockout_is_audited(client: httpx.AsyncClient, app: FastAPI) -> None:
    clock = use_clock(app)
    user = await register(client)
    await fail(client, user["email"], 5)
    clock.advance(31)
    await fail(client, user["email"], 1)
    events = await audit(app, "auth.locked_out")
    assert [detail(e)["seconds"] for e in events] == [30, 60]
    assert all(str(e.actor_id) == user["id"] and e.target_type == "user" for e in events)
    # Refusals during the lockout are not failures: they neither lengthen nor re-audit it.
    for _ in range(3):
        assert_locked(await sign_in(client, user["email"], WRONG), 60)
    assert len(await audit(app, "auth.locked_out")) == 2


async def test_the_counters_outlive_the_app(
    app_factory: Callable[..., FastAPI], app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Stored in the database: another process (a restart) sees the lockout."""
    clock = use_clock(app)
    user = await register(client)
    await fail(client, user["email"], 5)
    other = app_factory()
    try:
        other.state.throttle.clock = Clock()
        other.state.throttle.clock.now = clock.now
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other), base_url="http://testserver"
        ) as second:
            assert_locked(await sign_in(second, user["email"], PASSWORD), 30)
    finally:
        await settle(other)
        await other.state.database.dispose()


async def test_concurrent_failures_are_each_counted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The counter is updated under a row lock (or the writer's turn): none is lost."""
    use_clock(app)
    user = await register(client)
    answers = await asyncio.gather(*(sign_in(client, user["email"], WRONG) for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [401] * 5
    assert_locked(await sign_in(client, user["email"], PASSWORD), 30)
    async with app.state.database.session() as db:
        stored = await db.get(ThrottleCounter, account_key(user["email"]))
    assert stored is not None
    assert stored.failures == 5
    assert stored.notified is True
