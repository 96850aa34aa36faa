"""Wrong MFA codes and wrong step-up answers count like wrong passwords: five in a row lock
the account's codes (or its password) out with the same back-off. A challenge allows three
tries, but whoever knows the password can start challenges without end; and a stolen session
must not guess the password faster through `/reauth` than through the sign-in."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from confide.notify.models import OutboxMessage
from tests.admin.helpers import audit, detail
from tests.conftest import settle_jobs
from tests.factories import PASSWORD, assert_problem, signed_up
from tests.mfa.helpers import Clock as MfaClock
from tests.mfa.helpers import Enrolled, challenge, enrolled
from tests.mfa.helpers import use_clock as use_mfa_clock
from tests.throttle.helpers import WRONG, sign_in
from tests.throttle.helpers import use_clock as use_throttle_clock

VERIFY = "/api/auth/mfa/verify"
REAUTH = "/api/auth/reauth"
BAD_CODE = "000000"


def assert_locked(response: httpx.Response, seconds: int) -> None:
    body = assert_problem(response, 429, "account_locked")
    assert body["retry_after"] == seconds
    assert response.headers["retry-after"] == str(seconds)


def wrong_code(account: Enrolled, clock: MfaClock) -> str:
    """A six-digit code that is none of the accepted steps'."""
    good = {account.totp.at(clock.now + step * 30) for step in (-1, 0, 1)}
    return next(code for code in (BAD_CODE, "111111", "222222", "333333") if code not in good)


async def wrong_codes(
    client: httpx.AsyncClient, account: Enrolled, clock: MfaClock, times: int
) -> None:
    """`times` wrong codes, each challenge used up to its three tries, a new one after."""
    token: str | None = None
    tries = 0
    for _ in range(times):
        if token is None or tries == 3:
            token = (await challenge(client, account.email))["mfa_token"]
            tries = 0
        answer = await client.post(
            VERIFY, json={"mfa_token": token, "code": wrong_code(account, clock)}
        )
        assert_problem(answer, 401, "invalid_mfa_code")
        tries += 1


async def lockout_notices(app: FastAPI, user_id: str) -> list[OutboxMessage]:
    await settle_jobs(app)
    async with app.state.database.session() as db:
        rows = await db.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "lockout"))
        return [row for row in rows.all() if str(row.user_id) == user_id]


async def test_five_wrong_codes_across_challenges_lock_codes_out(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    mfa_clock = use_mfa_clock(app)
    clock = use_throttle_clock(app)
    account = await enrolled(client, mfa_clock)
    await wrong_codes(client, account, mfa_clock, 5)  # two challenges: 3 tries, then 2
    # The right password still starts a challenge (it proves the password, not the code),
    # but the right code is refused now, with the time left.
    token = (await challenge(client, account.email))["mfa_token"]
    assert_locked(
        await client.post(
            VERIFY, json={"mfa_token": token, "code": account.totp.at(mfa_clock.now)}
        ),
        30,
    )
    clock.advance(10)
    assert_locked(await client.post(VERIFY, json={"mfa_token": token, "code": BAD_CODE}), 20)
    # A refusal during the lockout used none of the challenge's tries.
    clock.advance(21)
    ok = await client.post(
        VERIFY, json={"mfa_token": token, "code": account.totp.at(mfa_clock.now)}
    )
    assert ok.status_code == 200, ok.text
    # Audited as a lockout of codes, and the owner told once, with what it means.
    events = [e for e in await audit(app, "auth.locked_out") if e.actor == account.email]
    assert [detail(e) for e in events] == [{"failures": 5, "seconds": 30, "factor": "code"}]
    notices = await lockout_notices(app, account.user["id"])
    assert len(notices) == 1


async def test_the_wait_doubles_and_a_right_code_resets_the_count(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    mfa_clock = use_mfa_clock(app)
    clock = use_throttle_clock(app)
    account = await enrolled(client, mfa_clock)
    await wrong_codes(client, account, mfa_clock, 5)
    clock.advance(31)
    await wrong_codes(client, account, mfa_clock, 1)  # the sixth in a row: 60 s
    token = (await challenge(client, account.email))["mfa_token"]
    assert_locked(await client.post(VERIFY, json={"mfa_token": token, "code": BAD_CODE}), 60)
    clock.advance(61)
    ok = await client.post(
        VERIFY, json={"mfa_token": token, "code": account.totp.at(mfa_clock.now)}
    )
    assert ok.status_code == 200, ok.text
    mfa_clock.advance(30)
    await wrong_codes(client, account, mfa_clock, 4)  # from zero again: not locked
    token = (await challenge(client, account.email))["mfa_token"]
    ok = await client.post(
        VERIFY, json={"mfa_token": token, "code": account.totp.at(mfa_clock.now)}
    )
    assert ok.status_code == 200, ok.text


async def test_a_right_password_does_not_reset_the_code_count(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    mfa_clock = use_mfa_clock(app)
    use_throttle_clock(app)
    account = await enrolled(client, mfa_clock)
    for _ in range(5):  # a new challenge (a right password) before each wrong code
        token = (await challenge(client, account.email))["mfa_token"]
        answer = await client.post(
            VERIFY, json={"mfa_token": token, "code": wrong_code(account, mfa_clock)}
        )
        assert_problem(answer, 401, "invalid_mfa_code")
    token = (await challenge(client, account.email))["mfa_token"]
    assert_locked(
        await client.post(
            VERIFY, json={"mfa_token": token, "code": account.totp.at(mfa_clock.now)}
        ),
        30,
    )


async def test_wrong_step_up_passwords_lock_the_account_like_sign_ins(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    clock = use_throttle_clock(app)
    user, headers = await signed_up(client)
    for _ in range(5):
        answer = await client.post(REAUTH, json={"password": WRONG}, headers=headers)
        assert_problem(answer, 401, "reauth_failed")
    assert_locked(await client.post(REAUTH, json={"password": PASSWORD}, headers=headers), 30)
    # One counter with the sign-in: the password is refused there too.
    assert_locked(await sign_in(client, user["email"], PASSWORD), 30)
    clock.advance(31)
    ok = await client.post(REAUTH, json={"password": PASSWORD}, headers=headers)
    assert ok.status_code == 200, ok.text
    events = [e for e in await audit(app, "auth.locked_out") if e.actor == user["email"]]
    assert [detail(e)["factor"] for e in events] == ["password"]


async def test_step_up_codes_share_the_sign_in_code_count(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    mfa_clock = use_mfa_clock(app)
    use_throttle_clock(app)
    account = await enrolled(client, mfa_clock)
    await wrong_codes(client, account, mfa_clock, 3)
    for _ in range(2):
        answer = await client.post(
            REAUTH, json={"code": wrong_code(account, mfa_clock)}, headers=account.headers
        )
        assert_problem(answer, 401, "reauth_failed")
    good = account.totp.at(mfa_clock.now)
    assert_locked(await client.post(REAUTH, json={"code": good}, headers=account.headers), 30)
    # The password is a separate counter: step-up by password still works.
    ok = await client.post(REAUTH, json={"password": PASSWORD}, headers=account.headers)
    assert ok.status_code == 200, ok.text
