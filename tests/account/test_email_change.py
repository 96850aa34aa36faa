"""Changing the email address (issue 11, deliverables 2/5/8): a step-up request, a link to the
new address, notices to the old one; through the HTTP API and the outbox channel, on SQLite
and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import await_only

from confide.account.email_change import email_hash
from confide.account.models import AccountToken
from confide.audit import actions
from confide.auth.models import AuthSession, User
from confide.db.base import utcnow
from tests.account.mail import Mail, mails, settle
from tests.admin.helpers import audit, detail
from tests.factories import (
    PASSWORD,
    assert_problem,
    bearer,
    login,
    register,
    signed_up,
    unique_email,
)

CHANGE = "/api/auth/email"
CONFIRM = "/api/auth/email/confirm"


async def change(
    client: httpx.AsyncClient, headers: dict[str, str], new_email: str
) -> httpx.Response:
    return await client.post(CHANGE, json={"new_email": new_email}, headers=headers)


async def sent_to(app: FastAPI, address: str) -> list[Mail]:
    await settle(app)
    return mails(app, address)


async def change_token(app: FastAPI, to: str) -> str:
    sent = [m for m in await sent_to(app, to) if "confirm-email" in m.text]
    assert sent, f"no change link mailed to {to}"
    return sent[-1].link("confirm-email")[1]


async def requested(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[str, str]:
    """A change to a new address asked for: (the new address, the token mailed to it)."""
    new_email = unique_email("new")
    asked = await change(client, headers, new_email)
    assert asked.status_code == 202, asked.text
    return new_email, await change_token(app, new_email)


async def changed_address(app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """The account's address changed to a new one (the link followed); the new address."""
    new_email, token = await requested(app, client, headers)
    done = await client.post(CONFIRM, json={"token": token})
    assert done.status_code == 200, done.text
    return new_email


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_user(app: FastAPI, user_id: str) -> User:
    async with app.state.database.session() as db:
        found = (await db.execute(select(User).where(User.id == uuid.UUID(user_id)))).scalar_one()
        return found


# The request -----------------------------------------------------------------------------------


async def test_a_change_needs_a_recent_authentication(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=11))
        )
    new_email = unique_email("new")
    assert_problem(await change(client, headers, new_email), 401, "reauth_required")
    assert await sent_to(app, new_email) == []
    assert (await client.get(CHANGE, headers=headers)).json()["pending_email"] is None

    again = await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=headers)
    assert again.status_code == 200, again.text
    accepted = await change(client, headers, new_email)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"email": new_email}
    assert await change_token(app, new_email)


async def test_signed_out_callers_cannot_ask(client: httpx.AsyncClient) -> None:
    response = await client.post(CHANGE, json={"new_email": unique_email()})
    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize("bad", ["not-an-address", "a b@example.org", "ada@localhost", ""])
async def test_addresses_are_checked_as_registration_checks_them(
    app: FastAPI, client: httpx.AsyncClient, bad: str
) -> None:
    _, headers = await signed_up(client)
    assert_problem(await change(client, headers, bad), 422, "validation_error")
    registered = await client.post("/api/auth/register", json={"email": bad, "password": PASSWORD})
    assert_problem(registered, 422, "validation_error")
    assert (await client.get(CHANGE, headers=headers)).json()["pending_email"] is None


async def test_the_current_address_in_any_case_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    for same in (user["email"], "  " + user["email"].upper()):
        assert_problem(await change(client, headers, same), 409, "same_email")
    assert len(await sent_to(app, user["email"])) == 1  # the verification mail only


async def test_the_link_goes_to_the_new_address_and_a_notice_to_the_old(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client, display_name="Ada")
    new_email = unique_email("new")
    assert (await change(client, headers, new_email)).status_code == 202

    (link_mail,) = await sent_to(app, new_email)
    assert link_mail.subject == "Confirm your new email address for Confide"
    url, token = link_mail.link("confirm-email")
    assert url.startswith("http://testserver/confirm-email?token=")
    assert len(token) >= 43
    notice = (await sent_to(app, user["email"]))[-1]
    assert notice.subject == "A change of your Confide email address was requested"
    assert new_email in notice.text
    assert token not in notice.text
    assert "confirm-email" not in notice.text

    async with app.state.database.session() as db:
        row = (
            await db.execute(select(AccountToken).where(AccountToken.purpose == "email_change"))
        ).scalar_one()
    assert row.email_key == new_email
    assert row.expires_at - row.created_at == timedelta(hours=24)
    assert token not in (row.token_hash, str(row.id))  # only its hash is kept

    status = (await client.get(CHANGE, headers=headers)).json()
    assert status["email"] == user["email"]
    assert status["email_verified"] is False
    assert status["pending_email"] == new_email
    # Nothing changes before the link is followed.
    assert (await me(client, headers))["email"] == user["email"]
    (requested,) = await audit(app, actions.EMAIL_CHANGE_REQUESTED)
    assert detail(requested) == {"new_email_hash": email_hash(new_email)}


async def test_a_newer_request_voids_the_older_link(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    first_address, second_address = unique_email("first"), unique_email("second")
    await change(client, headers, first_address)
    first = await change_token(app, first_address)
    await change(client, headers, second_address)
    second = await change_token(app, second_address)
    assert_problem(await client.post(CONFIRM, json={"token": first}), 400, "invalid_token")
    assert (await client.get(CHANGE, headers=headers)).json()["pending_email"] == second_address
    done = await client.post(CONFIRM, json={"token": second})
    assert done.status_code == 200, done.text
    assert done.json() == {"email": second_address}


async def test_a_unicode_variant_of_another_accounts_address_is_that_address(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    other = await register(client)
    _, headers = await signed_up(client)
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in other["email"])
    answer = await change(client, headers, full_width)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"email": other["email"]}  # NFKC, as registration stores it
    (notice,) = [m for m in await sent_to(app, other["email"]) if "entered" in m.subject]
    assert "token=" not in notice.text
    assert not [m for m in mails(app) if "confirm-email" in m.text]


async def test_another_accounts_address_gets_the_same_answer_and_no_link(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    other = await register(client)
    user, headers = await signed_up(client)
    free = unique_email("free")
    free_answer = await change(client, headers, free)
    taken_address = "  " + other["email"].upper()  # a case variant of the other's address
    taken_answer = await change(client, headers, taken_address)

    assert free_answer.status_code == taken_answer.status_code == 202
    assert free_answer.headers["content-type"] == taken_answer.headers["content-type"]
    assert free_answer.json() == {"email": free}
    assert taken_answer.json() == {"email": other["email"].upper()}
    # The caller's own mailbox hears the same in both cases ...
    notices = [m for m in await sent_to(app, user["email"]) if "was requested" in m.subject]
    assert len(notices) == 2
    assert notices[0].text.replace(free, "X") == notices[1].text.replace(
        other["email"].upper(), "X"
    )
    # ... and the change shows as pending the same way.
    status = (await client.get(CHANGE, headers=headers)).json()
    assert status["pending_email"] == other["email"].upper()
    # The other account's owner gets a short notice without a link, naming nobody.
    (to_other,) = await sent_to(app, other["email"].upper())  # as typed
    assert to_other.subject == "Your email address was entered on Confide"
    assert "token=" not in to_other.text
    assert user["email"] not in to_other.text
    assert not [m for m in mails(app) if "confirm-email" in m.text and free not in m.to]
    # The free address's link was voided by the second request: nothing can change now.
    stale = await change_token(app, free)
    assert_problem(await client.post(CONFIRM, json={"token": stale}), 400, "invalid_token")
    assert (await me(client, headers))["email"] == user["email"]


# Following the link ------------------------------------------------------------------------


async def test_the_link_changes_and_verifies_the_address_and_ends_other_sessions(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    assert user["email_verified"] is False
    mine = await login(client, email=user["email"])
    headers = bearer(mine["access_token"])
    others = [await login(client, email=user["email"]) for _ in range(2)]
    new_email, token = await requested(app, client, headers)

    done = await client.post(CONFIRM, json={"token": token}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"email": new_email}

    # This session is kept, and knows the new address at once (the cache was dropped).
    now = await me(client, headers)
    assert now["email"] == new_email
    assert now["email_verified"] is True
    status = (await client.get(CHANGE, headers=headers)).json()
    assert status == {
        "email": new_email,
        "email_verified": True,
        "pending_email": None,
        "pending_expires_at": None,
    }
    # Every other session ended: its access token and its refresh token.
    for tokens in others:
        ended = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
        assert_problem(ended, 401, "session_expired")
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert_problem(refresh, 401, "session_expired")

    # Sign-in takes the new address, in any case, and no longer the old one.
    await login(client, email=new_email.upper())
    old = await client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert_problem(old, 401, "invalid_credentials")

    # The old address hears of it, without a link.
    final = (await sent_to(app, user["email"]))[-1]
    assert final.subject == "Your Confide email address was changed"
    assert new_email in final.text
    assert token not in final.text
    assert "token=" not in final.text

    (changed,) = await audit(app, actions.EMAIL_CHANGED)
    assert str(changed.actor_id) == user["id"]
    assert detail(changed) == {
        "old_email_hash": email_hash(user["email"]),
        "new_email_hash": email_hash(new_email),
        "sessions_ended": 2,
    }
    assert user["email"] not in changed.detail
    assert new_email not in changed.detail
    # The user's own activity shows it.
    events = (await client.get("/api/auth/events", headers=headers)).json()["items"]
    assert actions.EMAIL_CHANGED in [event["action"] for event in events]

    again = await client.post(CONFIRM, json={"token": token}, headers=headers)
    assert_problem(again, 400, "invalid_token")


async def test_the_link_followed_signed_out_ends_every_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    _, token = await requested(app, client, headers)
    done = await client.post(CONFIRM, json={"token": token})  # another device, nobody signed in
    assert done.status_code == 200, done.text
    assert_problem(await client.get("/api/auth/me", headers=headers), 401, "session_expired")
    (changed,) = await audit(app, actions.EMAIL_CHANGED)
    assert detail(changed)["sessions_ended"] == 1


async def test_another_accounts_session_keeps_nothing_of_the_owners(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    _, stranger = await signed_up(client)
    new_email, token = await requested(app, client, headers)
    done = await client.post(CONFIRM, json={"token": token}, headers=stranger)
    assert done.status_code == 200, done.text
    assert_problem(await client.get("/api/auth/me", headers=headers), 401, "session_expired")
    assert (await me(client, stranger))["email"] != new_email  # the stranger's own session


async def test_an_expired_link_changes_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    _, token = await requested(app, client, headers)
    async with app.state.database.session() as db:
        await db.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert_problem(await client.post(CONFIRM, json={"token": token}), 400, "invalid_token")
    assert (await me(client, headers))["email"] == user["email"]
    assert (await client.get(CHANGE, headers=headers)).json()["pending_email"] is None


@pytest.mark.parametrize("token", ["never-issued", "x" * 43])
async def test_unknown_tokens_are_refused(client: httpx.AsyncClient, token: str) -> None:
    assert_problem(await client.post(CONFIRM, json={"token": token}), 400, "invalid_token")


async def test_other_link_tokens_do_not_change_the_address(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await settle(app)
    (verification,) = mails(app, user["email"])
    _, token = verification.link("verify-email")
    assert_problem(await client.post(CONFIRM, json={"token": token}), 400, "invalid_token")


async def test_an_address_taken_meanwhile_is_a_conflict_and_nothing_changes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    other_login = await login(client, email=user["email"])
    new_email, token = await requested(app, client, headers)
    await register(client, email=new_email.upper())  # someone registers it first

    refused = await client.post(CONFIRM, json={"token": token}, headers=headers)
    assert_problem(refused, 409, "email_taken")
    stored = await stored_user(app, user["id"])
    assert stored.email == user["email"]
    assert stored.email_verified_at is None
    assert (await me(client, headers))["email"] == user["email"]
    assert (await me(client, bearer(other_login["access_token"])))["email"] == user["email"]
    assert await audit(app, actions.EMAIL_CHANGED) == []
    assert not [m for m in await sent_to(app, user["email"]) if "was changed" in m.subject]


# PostgreSQL only: on SQLite the request holds the one write lock, so nobody can register
# in between (the check before it is then the whole guard).
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_registration_racing_the_link_is_a_conflict_and_nothing_changes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Another account takes the address after the link's check found it free and before the
    change is written: the unique key refuses the change, which answers as the check would."""
    user, headers = await signed_up(client)
    new_email, token = await requested(app, client, headers)

    rival = create_async_engine(app.state.settings.database_url)
    armed = True

    def register_in_between(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal armed
        # Right after the confirm's look-up of the address, in its own committed transaction.
        if armed and "FROM users" in statement and "users.email_key =" in statement:
            armed = False

            async def insert() -> None:
                async with rival.begin() as conn:
                    await conn.execute(
                        insert_user.values(
                            id=uuid.uuid4(),
                            email=new_email,
                            email_key=new_email,
                            password_hash="x",
                            status="active",
                        )
                    )

            await_only(insert())

    insert_user = User.__table__.insert()
    engine = app.state.database.engine.sync_engine
    event.listen(engine, "after_cursor_execute", register_in_between)
    try:
        refused = await client.post(CONFIRM, json={"token": token}, headers=headers)
    finally:
        event.remove(engine, "after_cursor_execute", register_in_between)
        await rival.dispose()
    assert armed is False  # the rival did register in between
    assert_problem(refused, 409, "email_taken")
    stored = await stored_user(app, user["id"])
    assert (stored.email, stored.email_verified_at) == (user["email"], None)
    assert (await me(client, headers))["email"] == user["email"]
    assert await audit(app, actions.EMAIL_CHANGED) == []


async def test_a_disabled_accounts_link_does_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    _, token = await requested(app, client, headers)
    async with app.state.database.session() as db:
        await db.execute(update(User).where(User.email == user["email"]).values(status="disabled"))
    assert_problem(await client.post(CONFIRM, json={"token": token}), 403, "account_disabled")
    stored = await stored_user(app, user["id"])
    assert (stored.email, stored.status) == (user["email"], "disabled")
    assert await audit(app, actions.EMAIL_CHANGED) == []


async def test_links_mailed_to_the_old_address_stop_working(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    await client.post("/api/auth/password/forgot", json={"email": user["email"]})
    await settle(app)
    reset = [m for m in mails(app, user["email"]) if "reset-password" in m.text][-1]
    _, reset_token = reset.link("reset-password")
    await changed_address(app, client, headers)
    refused = await client.post(
        "/api/auth/password/reset", json={"token": reset_token, "new_password": "x" * 20}
    )
    assert_problem(refused, 400, "invalid_token")


async def test_registration_then_finds_the_new_address_taken_in_any_case(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    new_email = await changed_address(app, client, headers)
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in new_email)
    for variant in (new_email, new_email.upper(), " " + new_email.capitalize(), full_width):
        again = await client.post(
            "/api/auth/register", json={"email": variant, "password": PASSWORD}
        )
        assert_problem(again, 409, "email_unavailable")
    # ... and the old one is free again.
    await register(client, email=user["email"])


async def test_no_log_line_holds_the_link_or_the_addresses(
    app: FastAPI, client: httpx.AsyncClient, log_lines: Any
) -> None:
    user, headers = await signed_up(client)
    new_email, token = await requested(app, client, headers)
    await client.post(CONFIRM, json={"token": token})
    await settle(app)
    for secret in (token, new_email, user["email"]):
        assert secret not in log_lines.getvalue()
