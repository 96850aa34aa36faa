"""The caller's phone number over the API: adding it, the texted code, step-up, removal."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from confide.audit.models import AuditEvent
from confide.db.base import utcnow
from confide.phones import repository as phone_repository
from confide.phones.models import Phone
from tests.factories import PASSWORD, assert_problem, signed_up
from tests.mfa.helpers import Clock, use_clock
from tests.phones.helpers import NUMBER, PHONE, age_sessions, texted_code, texts, verified_phone
from tests.throttle.helpers import client_from

VERIFY = f"{PHONE}/verify"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def _account(app: FastAPI, client: httpx.AsyncClient) -> tuple[Clock, dict[str, str]]:
    """A new account signed in, on the test's clock: (clock, headers)."""
    clock = use_clock(app)
    _, headers = await signed_up(client)
    return clock, headers


async def _set_number(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], number: str = NUMBER
) -> str:
    """Set the caller's number; the verification code texted to it."""
    added = await client.put(PHONE, json={"number": number}, headers=headers)
    assert added.status_code == 202, added.text
    return await texted_code(app, number, "phone_verify")


async def _verify(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> httpx.Response:
    return await client.post(VERIFY, json={"code": code}, headers=headers)


async def test_add_a_number_and_verify_it_with_the_texted_code(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await _account(app, client)
    assert_problem(await client.get(PHONE, headers=headers), 404, "no_phone")
    added = await client.put(PHONE, json={"number": "+49 (151) 1234-5678"}, headers=headers)
    assert added.status_code == 202, added.text
    assert added.json() == {"number": NUMBER, "verified": False, "verified_at": None}
    (sms,) = await texts(app)
    assert sms.recipient == NUMBER
    assert sms.purpose == "phone_verify"
    code = await texted_code(app, NUMBER, "phone_verify")
    assert (await client.get(PHONE, headers=headers)).json()["verified"] is False
    verified = await _verify(client, headers, code)
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["number"] == NUMBER
    assert body["verified"] is True
    assert body["verified_at"] is not None
    assert (await client.get(PHONE, headers=headers)).json() == body
    # The code is spent: nothing is pending any more.
    again = await _verify(client, headers, code)
    assert_problem(again, 409, "no_pending_code")


async def test_the_code_is_stored_hashed(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await _account(app, client)
    code = await _set_number(app, client, headers)
    async with app.state.database.session() as db:
        row = (await db.execute(select(Phone))).scalars().one()
    assert row.code_hash is not None
    assert len(row.code_hash) == 64
    assert code not in row.code_hash


async def test_an_invalid_number_is_refused_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await _account(app, client)
    await verified_phone(app, client, headers)
    for typed in ("4915112345678", "+0151123456", "+1234567", "+49 151 abc", "+49.151.1234567"):
        refused = await client.put(PHONE, json={"number": typed}, headers=headers)
        assert_problem(refused, 422, "invalid_phone_number")
    assert_problem(
        await client.put(PHONE, json={"number": "+1" * 40}, headers=headers),
        422,
        "validation_error",
    )
    assert_problem(await client.put(PHONE, json={}, headers=headers), 422, "validation_error")
    kept = (await client.get(PHONE, headers=headers)).json()
    assert kept["number"] == NUMBER
    assert kept["verified"] is True
    assert len(await texts(app)) == 1  # only the first, valid number was texted


async def test_a_new_number_replaces_the_verified_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await _account(app, client)
    await verified_phone(app, client, headers)
    code = await _set_number(app, client, headers, "+14155550132")
    got = (await client.get(PHONE, headers=headers)).json()
    assert got == {"number": "+14155550132", "verified": False, "verified_at": None}
    assert (await _verify(client, headers, code)).status_code == 200


async def test_a_code_sent_to_the_old_number_does_not_verify_the_new_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await _account(app, client)
    old = await _set_number(app, client, headers)
    new = await _set_number(app, client, headers, "+14155550132")
    if old != new:  # the same six digits by chance would be the new code too
        assert_problem(await _verify(client, headers, old), 400, "invalid_code")
    assert (await _verify(client, headers, new)).status_code == 200


async def test_three_wrong_codes_end_the_pending_code(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await _account(app, client)
    code = await _set_number(app, client, headers)
    for attempts_left in (2, 1, 0):
        wrong = await _verify(client, headers, _wrong(code))
        assert assert_problem(wrong, 400, "invalid_code")["attempts_left"] == attempts_left
    ended = await _verify(client, headers, code)
    assert_problem(ended, 409, "no_pending_code")
    assert (await client.get(PHONE, headers=headers)).json()["verified"] is False
    # A new code starts again with three tries.
    fresh = await _set_number(app, client, headers)
    assert (await _verify(client, headers, fresh)).status_code == 200


async def test_the_code_expires_after_five_minutes(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock, headers = await _account(app, client)
    code = await _set_number(app, client, headers)
    clock.advance(301)
    expired = await _verify(client, headers, code)
    assert_problem(expired, 400, "code_expired")
    assert (await client.get(PHONE, headers=headers)).json()["verified"] is False


async def test_a_code_just_inside_five_minutes_works(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock, headers = await _account(app, client)
    code = await _set_number(app, client, headers)
    clock.advance(299)
    assert (await _verify(client, headers, code)).status_code == 200


async def test_verify_without_a_phone(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    assert_problem(await _verify(client, headers, "123456"), 404, "no_phone")


async def test_changing_or_removing_the_number_needs_a_recent_sign_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await _account(app, client)
    await verified_phone(app, client, headers)
    await age_sessions(app)
    stale_put = await client.put(PHONE, json={"number": "+14155550132"}, headers=headers)
    assert_problem(stale_put, 401, "reauth_required")
    assert_problem(await client.delete(PHONE, headers=headers), 401, "reauth_required")
    kept = (await client.get(PHONE, headers=headers)).json()
    assert kept["number"] == NUMBER
    assert kept["verified"] is True
    assert len(await texts(app)) == 1
    ok = await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=headers)
    assert ok.status_code == 200, ok.text
    removed = await client.delete(PHONE, headers=headers)
    assert removed.status_code == 204, removed.text
    assert_problem(await client.get(PHONE, headers=headers), 404, "no_phone")
    assert_problem(await client.delete(PHONE, headers=headers), 404, "no_phone")


async def test_every_route_needs_a_signed_in_session(client: httpx.AsyncClient) -> None:
    for method, path, body in (
        ("GET", PHONE, None),
        ("PUT", PHONE, {"number": NUMBER}),
        ("POST", VERIFY, {"code": "123456"}),
        ("DELETE", PHONE, None),
    ):
        refused = await client.request(method, path, json=body)
        assert_problem(refused, 401, "not_authenticated")


async def test_another_users_phone_is_neither_seen_nor_verified(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, alice = await _account(app, client)
    _, bob = await signed_up(client)
    code = await _set_number(app, client, alice)
    assert_problem(await client.get(PHONE, headers=bob), 404, "no_phone")
    assert_problem(await _verify(client, bob, code), 404, "no_phone")
    # Bob's own pending code for the same number is his, and Alice's code is not it.
    bobs = await _set_number(app, client, bob)
    if bobs != code:
        assert_problem(await _verify(client, bob, code), 400, "invalid_code")
    assert (await _verify(client, alice, code)).status_code == 200
    assert (await client.get(PHONE, headers=bob)).json()["verified"] is False


async def test_changes_are_audited_with_the_number_masked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    use_clock(app)
    user, headers = await signed_up(client)  # the user's id is asserted on below
    await verified_phone(app, client, headers)
    code = await texted_code(app, NUMBER, "phone_verify")
    assert (await client.delete(PHONE, headers=headers)).status_code == 204
    async with app.state.database.session() as db:
        rows = (
            (
                await db.execute(
                    select(AuditEvent)
                    .where(AuditEvent.action.like("auth.phone_%"))
                    .order_by(AuditEvent.id)
                )
            )
            .scalars()
            .all()
        )
    assert [r.action for r in rows] == [
        "auth.phone_changed",
        "auth.phone_verified",
        "auth.phone_removed",
    ]
    for row in rows:
        assert str(row.actor_id) == user["id"]
        assert json.loads(row.detail or "{}") == {"number_ending": "78"}
        assert "12345678" not in (row.detail or "")
        assert code not in (row.detail or "")
    events = (await client.get("/api/auth/events", headers=headers)).json()["items"]
    assert {"auth.phone_changed", "auth.phone_verified", "auth.phone_removed"} <= {
        e["action"] for e in events
    }


async def test_code_sends_are_rate_limited_per_ip_and_per_account(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(rate_limit_codes_per_ip="2/hour")
    async with client_from(app, "203.0.113.7") as first, client_from(app, "198.51.100.9") as other:
        _, headers = await signed_up(first)
        for _ in range(2):
            sent = await first.put(PHONE, json={"number": NUMBER}, headers=headers)
            assert sent.status_code == 202, sent.text
        assert sent.headers["ratelimit-remaining"] == "0"
        by_ip = await first.put(PHONE, json={"number": NUMBER}, headers=headers)
        assert_problem(by_ip, 429, "rate_limited")
        # The IP's budget is the one `POST /api/auth/mfa/send` spends too.
        shared = await first.post("/api/auth/mfa/send", json={"mfa_token": "x", "channel": "sms"})
        assert_problem(shared, 429, "rate_limited")
        # From another address, the account's own budget is spent all the same.
        _, relogged = await signed_up(other)
        by_account = await other.put(PHONE, json={"number": NUMBER}, headers=headers)
        assert_problem(by_account, 429, "rate_limited")
        fresh = await other.put(PHONE, json={"number": NUMBER}, headers=relogged)
        assert fresh.status_code == 202, fresh.text
    assert len(await texts(app)) == 3


async def test_two_first_numbers_at_once_give_one_phone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The second of two first-time changes waits for the first's row and takes it, instead
    of failing on the key (PostgreSQL: SQLite has one writer at a time anyway)."""
    database = app.state.database
    if database.is_sqlite:
        pytest.skip("one writer at a time on SQLite: nothing to race")
    user, _ = await signed_up(client)
    user_id = uuid.UUID(user["id"])
    now = utcnow()
    async with database.sessionmaker() as first, database.sessionmaker() as second:
        await first.begin()
        await second.begin()
        await phone_repository.get_or_create(first, user_id, number=b"sealed-first", now=now)
        racing = asyncio.create_task(
            phone_repository.get_or_create(second, user_id, number=b"sealed-second", now=now)
        )
        await first.commit()  # the second's insert was waiting on this row's key
        taken = await asyncio.wait_for(racing, 30)
        assert taken.number == b"sealed-first"
        await second.commit()
    async with database.session() as db:
        rows = (await db.scalars(select(Phone).where(Phone.user_id == user_id))).all()
    assert [row.number for row in rows] == [b"sealed-first"]
