"""Email verification and password recovery (issue 11, deliverable 2), through the HTTP API
and the outbox channel, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update

from confide.account.models import AccountToken
from confide.audit import actions
from confide.auth.models import User
from confide.db.base import utcnow
from tests.account.mail import mails, settle
from tests.admin.helpers import audit, detail
from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, bearer, login, register, unique_email

NEW_PASSWORD = "quartz-lantern-meadow-77"


@pytest.fixture
async def chat_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    """The default policy for unverified accounts (`chat`), which the shared test settings
    relax to `full`."""
    application = app_factory(unverified_users="chat")
    yield application
    await application.state.database.dispose()


@pytest.fixture
async def chat_client(chat_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(chat_app) as c:
        yield c


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def verification_token(app: FastAPI, to: str) -> str:
    await settle(app)
    sent = [m for m in mails(app, to) if "verify-email" in m.text]
    assert sent, f"no verification mail to {to}"
    return sent[-1].link("verify-email")[1]


async def reset_token(app: FastAPI, to: str) -> str:
    await settle(app)
    sent = [m for m in mails(app, to) if "reset-password" in m.text]
    assert sent, f"no reset mail to {to}"
    return sent[-1].link("reset-password")[1]


# Email verification -------------------------------------------------------------------------


async def test_registration_mails_a_link_that_verifies_the_address(
    chat_app: FastAPI, chat_client: httpx.AsyncClient
) -> None:
    user = await register(chat_client, display_name="Ada")
    assert user["email_verified"] is False
    headers = bearer((await login(chat_client, email=user["email"]))["access_token"])
    before = await me(chat_client, headers)
    assert before["email_verified"] is False
    # `chat`: everything but sharing until the address is proven.
    assert "threads:write" in before["permissions"]
    assert "threads:share" not in before["permissions"]

    await settle(chat_app)
    (mail,) = mails(chat_app, user["email"])
    assert mail.subject == "Confirm your email address for Confide"
    url, token = mail.link("verify-email")
    assert url.startswith("http://testserver/verify-email?token=")
    assert len(token) >= 43  # 256 random bits

    response = await chat_client.post("/api/auth/email/verify", json={"token": token})
    assert response.status_code == 204, response.text
    after = await me(chat_client, headers)  # the same session knows it at once
    assert after["email_verified"] is True
    assert "threads:share" in after["permissions"]
    (verified,) = await audit(chat_app, actions.EMAIL_VERIFIED)
    assert str(verified.actor_id) == user["id"]

    again = await chat_client.post("/api/auth/email/verify", json={"token": token})
    assert_problem(again, 400, "invalid_token")


async def test_an_unverified_account_cannot_share_nor_receive_shares(
    chat_app: FastAPI, chat_client: httpx.AsyncClient
) -> None:
    owner = await register(chat_client)
    owner_headers = bearer((await login(chat_client, email=owner["email"]))["access_token"])
    thread = await chat_client.post("/api/threads", json={}, headers=owner_headers)
    assert thread.status_code == 201, thread.text
    thread_id = thread.json()["id"]
    refused = await chat_client.post(
        f"/api/threads/{thread_id}/shares", json={"email": "x@example.org"}, headers=owner_headers
    )
    assert refused.status_code == 403, refused.text

    token = await verification_token(chat_app, owner["email"])
    assert (
        await chat_client.post("/api/auth/email/verify", json={"token": token})
    ).status_code == 204
    recipient = await register(chat_client)
    shared = await chat_client.post(
        f"/api/threads/{thread_id}/shares",
        json={"email": recipient["email"]},
        headers=owner_headers,
    )
    assert shared.status_code == 202, shared.text  # the same answer as for anyone
    listed = await chat_client.get(f"/api/threads/{thread_id}/shares", headers=owner_headers)
    assert listed.json()["items"] == []  # ... but an unverified account received nothing
    (attempt,) = await audit(chat_app, "thread.shared")
    assert detail(attempt)["reason"] == "not_verified"


async def test_none_policy_allows_nothing_but_verifying(
    app_factory: Callable[..., FastAPI],
) -> None:
    application = app_factory(unverified_users="none")
    try:
        async with client_for(application) as client:
            user = await register(client)
            headers = bearer((await login(client, email=user["email"]))["access_token"])
            assert (await me(client, headers))["permissions"] == []
            refused = await client.post("/api/threads", json={}, headers=headers)
            assert refused.status_code == 403, refused.text
            token = await verification_token(application, user["email"])
            verify = await client.post("/api/auth/email/verify", json={"token": token})
            assert verify.status_code == 204
            created = await client.post("/api/threads", json={}, headers=headers)
            assert created.status_code == 201, created.text
    finally:
        await application.state.database.dispose()


async def test_a_new_verification_link_voids_the_old_one(
    chat_app: FastAPI, chat_client: httpx.AsyncClient
) -> None:
    user = await register(chat_client)
    headers = bearer((await login(chat_client, email=user["email"]))["access_token"])
    first = await verification_token(chat_app, user["email"])
    resent = await chat_client.post("/api/auth/email/verification", headers=headers)
    assert resent.status_code == 202, resent.text
    assert resent.json() == {"email": user["email"]}
    second = await verification_token(chat_app, user["email"])
    assert second != first
    stale = await chat_client.post("/api/auth/email/verify", json={"token": first})
    assert_problem(stale, 400, "invalid_token")
    ok = await chat_client.post("/api/auth/email/verify", json={"token": second})
    assert ok.status_code == 204
    done = await chat_client.post("/api/auth/email/verification", headers=headers)
    assert_problem(done, 409, "already_verified")


async def test_an_expired_verification_link_is_refused(
    chat_app: FastAPI, chat_client: httpx.AsyncClient
) -> None:
    user = await register(chat_client)
    token = await verification_token(chat_app, user["email"])
    async with chat_app.state.database.session() as db:
        await db.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = await chat_client.post("/api/auth/email/verify", json={"token": token})
    assert_problem(response, 400, "invalid_token")


async def test_accounts_made_from_the_shell_are_verified(app: FastAPI) -> None:
    from confide.app import build_auth_context
    from confide.auth.service import AuthService

    async with app.state.database.session() as db:
        user = await AuthService(db, build_auth_context(app.state.settings)).register(
            email=unique_email(), password=PASSWORD, display_name=None, verified=True
        )
    assert user.email_verified_at is not None


# Password recovery --------------------------------------------------------------------------


async def test_forgot_answers_alike_for_known_and_unknown_addresses(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await settle(app)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        known = await client.post("/api/auth/password/forgot", json={"email": user["email"]})
        during_known = len(statements)
        unknown_email = unique_email("nobody")
        unknown = await client.post("/api/auth/password/forgot", json={"email": unknown_email})
        during_unknown = len(statements) - during_known
    finally:
        event.remove(engine, "before_cursor_execute", count)
        await settle(app)
    assert known.status_code == unknown.status_code == 202
    assert known.headers["content-type"] == unknown.headers["content-type"]
    assert known.json() == {"email": user["email"]}
    assert unknown.json() == {"email": unknown_email}
    # The request itself looks nothing up (the job does), so it cannot take longer for one.
    assert during_known == during_unknown == 0
    assert len(mails(app, user["email"])) == 2  # verification, then the reset link
    assert mails(app, unknown_email) == []
    (requested,) = await audit(app, actions.PASSWORD_RESET_REQUESTED)
    assert str(requested.actor_id) == user["id"]


async def test_reset_sets_the_password_and_ends_every_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    sessions = [
        bearer((await login(client, email=user["email"]))["access_token"]) for _ in range(2)
    ]
    assert (
        await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    ).status_code == 202
    token = await reset_token(app, user["email"])

    response = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204, response.text
    for headers in sessions:  # every session ended, at once
        assert_problem(await client.get("/api/auth/me", headers=headers), 401, "session_expired")
    old = await client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert_problem(old, 401, "invalid_credentials")
    await login(client, email=user["email"], password=NEW_PASSWORD)
    (reset,) = await audit(app, actions.PASSWORD_RESET)
    assert detail(reset) == {"sessions_ended": 2, "link": "reset_password"}

    reused = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": "another-" + NEW_PASSWORD}
    )
    assert_problem(reused, 400, "invalid_token")


async def test_a_reset_link_expires_after_thirty_minutes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    token = await reset_token(app, user["email"])
    async with app.state.database.session() as db:
        row = (
            await db.execute(select(AccountToken).where(AccountToken.purpose == "reset_password"))
        ).scalar_one()
        assert row.expires_at - row.created_at == timedelta(minutes=30)
        assert token not in (row.token_hash, str(row.id))  # only its hash is kept
        row.expires_at = utcnow() - timedelta(seconds=1)
    response = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_problem(response, 400, "invalid_token")
    await login(client, email=user["email"])  # unchanged


async def test_a_refused_new_password_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    token = await reset_token(app, user["email"])
    weak = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": "short"}
    )
    assert weak.status_code == 422, weak.text
    # The token was not spent by the refused attempt.
    ok = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 204, ok.text


async def test_a_newer_reset_link_voids_the_older_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    first = await reset_token(app, user["email"])
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    second = await reset_token(app, user["email"])
    assert first != second
    stale = await client.post(
        "/api/auth/password/reset", json={"token": first, "new_password": NEW_PASSWORD}
    )
    assert_problem(stale, 400, "invalid_token")
    ok = await client.post(
        "/api/auth/password/reset", json={"token": second, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 204


async def test_a_verification_token_cannot_reset_a_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    token = await verification_token(app, user["email"])
    response = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_problem(response, 400, "invalid_token")


async def test_a_reset_never_re_enables_a_disabled_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    token = await reset_token(app, user["email"])
    async with app.state.database.session() as db:
        await db.execute(update(User).where(User.email == user["email"]).values(status="disabled"))
    response = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_problem(response, 403, "account_disabled")
    async with app.state.database.session() as db:
        found = (await db.execute(select(User).where(User.email == user["email"]))).scalar_one()
        assert found.status == "disabled"
    # A disabled account is sent no link at all.
    before = len(mails(app, user["email"]))
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    await settle(app)
    assert len(mails(app, user["email"])) == before


async def test_email_variants_reach_the_one_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    variant = "  " + user["email"].upper() + " "
    await client.post("/api/auth/password/forgot", json={"email": variant})
    token = await reset_token(app, user["email"])
    assert token


async def test_reset_proves_the_address(chat_app: FastAPI, chat_client: httpx.AsyncClient) -> None:
    user = await register(chat_client)
    await chat_client.post("/api/auth/password/forgot", json={"email": user["email"]})
    token = await reset_token(chat_app, user["email"])
    response = await chat_client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204
    headers = bearer(
        (await login(chat_client, email=user["email"], password=NEW_PASSWORD))["access_token"]
    )
    assert (await me(chat_client, headers))["email_verified"] is True


@pytest.mark.parametrize(
    "body",
    [{}, {"token": ""}, {"token": "x" * 500, "new_password": NEW_PASSWORD}, {"token": "abc"}],
)
async def test_malformed_reset_requests_are_problems(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/api/auth/password/reset", json=body)
    assert_problem(response, 422, "validation_error")


async def test_no_log_line_holds_the_link(
    app: FastAPI, client: httpx.AsyncClient, log_lines: Any
) -> None:
    user = await register(client)
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    token = await reset_token(app, user["email"])
    assert token not in log_lines.getvalue()
    assert user["email"] not in log_lines.getvalue()


async def test_a_reset_still_asks_an_mfa_account_for_its_second_factor(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from tests.mfa.helpers import enrolled, use_clock

    clock = use_clock(app)
    account = await enrolled(client, clock)
    await client.post("/api/auth/password/forgot", json={"email": account.email})
    token = await reset_token(app, account.email)
    response = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204, response.text
    signed = await client.post(
        "/api/auth/login", json={"email": account.email, "password": NEW_PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body
    # ... and the second step works as before, with a new code.
    verified = await client.post(
        "/api/auth/mfa/verify",
        json={"mfa_token": body["mfa_token"], "code": account.totp.at(clock.now)},
    )
    assert verified.status_code == 200, verified.text
    assert "access_token" in verified.json()
