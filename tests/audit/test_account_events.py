"""Account events land in the audit trail with who, what, where from, and nothing secret."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from confide.audit import actions
from confide.audit.models import AuditEvent
from tests.audit.trail import detail, events, only, set_status
from tests.factories import PASSWORD, assert_problem, bearer, login, register, signed_up

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
NEW_PASSWORD = "quartz-lantern-meadow-77"


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **headers: str
) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"email": email, "password": password}, headers=headers
    )


def assert_recent(event: AuditEvent) -> None:
    assert event.at.tzinfo is not None
    assert event.at.utcoffset() == timedelta(0)
    assert datetime.now(UTC) - event.at < timedelta(minutes=5)


async def test_a_sign_in_is_recorded_with_who_where_and_which_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    response = await sign_in(client, user["email"], **{"User-Agent": FIREFOX})
    assert response.status_code == 200, response.text
    event = await only(app, actions.SIGNED_IN)
    assert event.outcome == "success"
    assert event.actor_id == uuid.UUID(user["id"])
    assert event.actor == user["email"]
    assert (event.target_type, event.target_id) == ("session", response.json()["session_id"])
    assert event.ip == "127.0.0.1"
    assert event.user_agent == FIREFOX
    assert event.request_id == response.headers["x-request-id"]
    assert detail(event) == {"mode": "bearer", "sessions_ended": 0}
    assert_recent(event)


async def test_a_wrong_password_is_recorded_against_the_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    typed = user["email"].upper()
    response = await sign_in(client, typed, "not-the-password-at-all")
    assert_problem(response, 401, "invalid_credentials")
    event = await only(app, actions.SIGNED_IN)
    assert event.outcome == "failure"
    assert event.actor == typed  # as typed
    assert event.actor_id == uuid.UUID(user["id"])
    assert (event.target_type, event.target_id) == ("user", user["id"])
    assert detail(event) == {"reason": "invalid_credentials"}
    assert event.request_id == response.headers["x-request-id"]
    assert event.ip == "127.0.0.1"


async def test_an_unknown_email_is_recorded_with_no_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await sign_in(client, "nobody@example.org")
    assert_problem(response, 401, "invalid_credentials")
    event = await only(app, actions.SIGNED_IN)
    assert (event.outcome, event.actor, event.actor_id) == ("failure", "nobody@example.org", None)
    assert (event.target_type, event.target_id) == (None, None)
    assert detail(event) == {"reason": "invalid_credentials"}


async def test_a_disabled_account_signing_in_is_recorded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await set_status(app, user["id"], "disabled")
    assert_problem(await sign_in(client, user["email"]), 403, "account_disabled")
    event = await only(app, actions.SIGNED_IN)
    assert (event.outcome, event.actor_id) == ("failure", uuid.UUID(user["id"]))
    assert detail(event) == {"reason": "account_disabled"}


async def test_a_cookie_sign_in_names_its_mode(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/auth/login?mode=cookie", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert detail(await only(app, actions.SIGNED_IN))["mode"] == "cookie"


async def test_sign_out_is_one_event_naming_the_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    session_id = (await client.get("/api/auth/sessions", headers=headers)).json()["items"][0]["id"]
    response = await client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 204
    event = await only(app, actions.SIGNED_OUT)
    assert (event.outcome, event.actor_id, event.actor) == (
        "success",
        uuid.UUID(user["id"]),
        user["email"],
    )
    assert (event.target_type, event.target_id) == ("session", session_id)
    assert detail(event) == {"sessions": 1}
    assert event.request_id == response.headers["x-request-id"]


async def test_sign_out_everywhere_is_one_event_counting_the_sessions(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    await login(client, email=user["email"])
    await login(client, email=user["email"])
    assert (await client.post("/api/auth/logout-all", headers=headers)).status_code == 204
    event = await only(app, actions.SIGNED_OUT)
    assert event.actor_id == uuid.UUID(user["id"])
    assert (event.target_type, event.target_id) == ("user", user["id"])
    assert detail(event) == {"sessions": 3}


async def test_ending_one_of_ones_own_sessions_is_recorded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    other = await login(client, email=user["email"])
    response = await client.delete(f"/api/auth/sessions/{other['session_id']}", headers=headers)
    assert response.status_code == 204
    event = await only(app, actions.SESSION_ENDED)
    assert (event.outcome, event.actor_id) == ("success", uuid.UUID(user["id"]))
    assert (event.target_type, event.target_id) == ("session", other["session_id"])


async def test_ending_someone_elses_session_records_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    stranger = await login(client, email=(await register(client))["email"])
    response = await client.delete(f"/api/auth/sessions/{stranger['session_id']}", headers=headers)
    assert_problem(response, 404, "session_not_found")
    assert await events(app, actions.SESSION_ENDED) == []


async def test_a_password_change_is_recorded_with_the_sessions_it_ended(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    await login(client, email=user["email"])
    response = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={**headers, "User-Agent": FIREFOX},
    )
    assert response.status_code == 204, response.text
    event = await only(app, actions.PASSWORD_CHANGED)
    assert (event.outcome, event.actor_id, event.actor) == (
        "success",
        uuid.UUID(user["id"]),
        user["email"],
    )
    assert (event.target_type, event.target_id) == ("user", user["id"])
    assert event.user_agent == FIREFOX
    assert detail(event) == {"sessions_ended": 1}


async def test_a_refused_password_change_records_no_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    response = await client.post(
        "/api/auth/password",
        json={"current_password": "wrong-wrong-wrong", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert_problem(response, 401, "invalid_credentials")
    assert await events(app, actions.PASSWORD_CHANGED) == []


async def test_a_reused_refresh_token_is_recorded_although_the_request_fails(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    tokens = await login(client, email=user["email"])
    first = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200
    reused = await client.post(
        "/api/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"User-Agent": "curl/8.5.0"},
    )
    assert_problem(reused, 401, "refresh_token_reused")
    event = await only(app, actions.REFRESH_TOKEN_REUSED)
    assert event.outcome == "failure"
    assert (event.actor_id, event.actor) == (uuid.UUID(user["id"]), user["email"])
    assert (event.target_type, event.target_id) == ("session", tokens["session_id"])
    assert event.user_agent == "curl/8.5.0"
    assert event.request_id == reused.headers["x-request-id"]
    # A successful refresh is routine, not an audited event.
    assert [e.action for e in await events(app) if e.action != actions.REGISTERED] == [
        actions.SIGNED_IN,
        actions.REFRESH_TOKEN_REUSED,
    ]


async def test_no_row_holds_a_password_token_ticket_or_csrf_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    wrong = "guessed-password-that-fails-1"
    user = await register(client)
    tokens = await login(client, email=user["email"])
    secrets = [PASSWORD, NEW_PASSWORD, wrong, tokens["access_token"], tokens["refresh_token"]]
    assert_problem(await sign_in(client, user["email"], wrong), 401, "invalid_credentials")
    rotated = (
        await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    secrets += [rotated["access_token"], rotated["refresh_token"]]
    ticket = await client.post("/api/auth/ws-ticket", headers=bearer(rotated["access_token"]))
    assert ticket.status_code == 200, ticket.text
    secrets.append(ticket.json()["ticket"])
    reuse = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(reuse, 401, "refresh_token_reused")
    browser = await client.post(
        "/api/auth/login?mode=cookie", json={"email": user["email"], "password": PASSWORD}
    )
    secrets += [browser.json()["csrf_token"], *browser.cookies.values()]
    fresh = await login(client, email=user["email"])
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(fresh["access_token"]),
    )
    assert changed.status_code == 204, changed.text
    secrets += [fresh["access_token"], fresh["refresh_token"]]
    await client.post("/api/auth/logout", headers=bearer(fresh["access_token"]))

    rows = await events(app)
    assert {e.action for e in rows} >= {
        actions.SIGNED_IN,
        actions.REFRESH_TOKEN_REUSED,
        actions.PASSWORD_CHANGED,
        actions.SIGNED_OUT,
    }
    columns = AuditEvent.__table__.columns.keys()
    for row in rows:
        text = "\n".join(str(getattr(row, name)) for name in columns)
        for secret in secrets:
            assert secret not in text, f"{row.action} holds a secret"


async def test_control_characters_are_stored_escaped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    forged = "curl/8\r\n2026-01-01 INFO admin signed in\x1b[2J\x1b[31mred\x07"
    typed = "eve@example.org\r\nactor=admin@example.org\x1b[0m"
    assert_problem(
        await sign_in(client, typed, "whatever-password", **{"User-Agent": forged}),
        401,
        "invalid_credentials",
    )
    event = await only(app, actions.SIGNED_IN)
    for value in (event.user_agent, event.actor):
        assert value is not None
        assert not any(ch in value for ch in "\r\n\x1b\x07")
    assert event.user_agent == (
        "curl/8\\r\\n2026-01-01 INFO admin signed in\\x1b[2J\\x1b[31mred\\x07"
    )
    assert event.actor == "eve@example.org\\r\\nactor=admin@example.org\\x1b[0m"
