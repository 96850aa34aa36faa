"""Sign-in sessions: listing, ending one or all, the per-user limit, idle and absolute expiry,
and password changes that end every other session."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import AuthSession
from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, bearer, login, register

ME = "/api/auth/me"
SESSIONS = "/api/auth/sessions"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
NEW_PASSWORD = "lantern-quarry-mosaic-97"


async def sign_in(client: httpx.AsyncClient, email: str, **headers: str) -> dict[str, Any]:
    """A login, with the bearer headers under "headers"."""
    tokens = await login(client, email=email, **headers)
    return {**tokens, "headers": bearer(tokens["access_token"])}


async def status(client: httpx.AsyncClient, session: dict[str, Any]) -> int:
    return (await client.get(ME, headers=session["headers"])).status_code


async def set_session_times(app: FastAPI, session_id: str, **values: datetime) -> None:
    """Move a session's timestamps directly in the database (instead of waiting days)."""
    async with app.state.database.sessionmaker() as db:
        await db.execute(
            update(AuthSession).where(AuthSession.id == uuid.UUID(session_id)).values(**values)
        )
        await db.commit()


@pytest.fixture
async def uncached(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    """An app whose session cache is off, so database changes show at once."""
    application = app_factory(session_cache_ttl_seconds=0)
    yield application
    await application.state.database.dispose()


# Listing ---------------------------------------------------------------------------------------


async def test_each_login_is_a_listed_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    firefox = await sign_in(client, user["email"], **{"User-Agent": FIREFOX_LINUX})
    other = await sign_in(client, user["email"])

    response = await client.get(SESSIONS, headers=firefox["headers"])
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None
    items = {item["id"]: item for item in page["items"]}
    assert set(items) == {firefox["session_id"], other["session_id"]}

    mine = items[firefox["session_id"]]
    assert mine["label"] == "Firefox on Linux"
    assert mine["ip"] == "127.0.0.1"
    assert mine["current"] is True
    assert items[other["session_id"]]["current"] is False
    assert items[other["session_id"]]["label"] == "Python (httpx)"
    created = datetime.fromisoformat(mine["created_at"])
    assert datetime.fromisoformat(mine["last_seen_at"]) >= created
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    # The absolute limit is set at sign-in: 14 days by default.
    assert datetime.fromisoformat(mine["expires_at"]) - created == timedelta(days=14)

    # Newest first; `current` follows the caller.
    assert [i["id"] for i in page["items"]] == [other["session_id"], firefox["session_id"]]
    seen_by_other = (await client.get(SESSIONS, headers=other["headers"])).json()["items"]
    assert {i["id"]: i["current"] for i in seen_by_other} == {
        other["session_id"]: True,
        firefox["session_id"]: False,
    }


LABELS = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36": "Chrome on Windows",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0": "Edge on Windows",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Safari/605.1.15": "Safari on macOS",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1": "Safari on iPhone",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36": "Chrome on Android",
    "curl/8.5.0": "curl",
    "": "Unknown device",
}


@pytest.mark.parametrize("user_agent", LABELS, ids=LABELS.values())
async def test_session_label_comes_from_the_user_agent(
    client: httpx.AsyncClient, user_agent: str
) -> None:
    user = await register(client)
    session = await sign_in(client, user["email"], **{"User-Agent": user_agent})
    items = (await client.get(SESSIONS, headers=session["headers"])).json()["items"]
    assert items[0]["label"] == LABELS[user_agent]


async def test_sessions_of_other_users_are_not_listed(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client), await register(client)
    mine = await sign_in(client, alice["email"])
    await sign_in(client, bob["email"])
    items = (await client.get(SESSIONS, headers=mine["headers"])).json()["items"]
    assert [i["id"] for i in items] == [mine["session_id"]]


async def test_sessions_list_requires_auth(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(SESSIONS), 401, "not_authenticated")


# Ending sessions -------------------------------------------------------------------------------


async def test_ending_a_session_revokes_it_at_once(client: httpx.AsyncClient) -> None:
    user = await register(client)
    laptop = await sign_in(client, user["email"])
    phone = await sign_in(client, user["email"])
    assert await status(client, phone) == 200  # cached now

    response = await client.delete(f"{SESSIONS}/{phone['session_id']}", headers=laptop["headers"])
    assert response.status_code == 204, response.text

    assert_problem(await client.get(ME, headers=phone["headers"]), 401, "session_expired")
    refresh = await client.post("/api/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert refresh.status_code == 401, refresh.text
    assert await status(client, laptop) == 200
    items = (await client.get(SESSIONS, headers=laptop["headers"])).json()["items"]
    assert [i["id"] for i in items] == [laptop["session_id"]]


async def test_ending_the_current_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    laptop = await sign_in(client, user["email"])
    response = await client.delete(f"{SESSIONS}/{laptop['session_id']}", headers=laptop["headers"])
    assert response.status_code == 204, response.text
    assert_problem(await client.get(ME, headers=laptop["headers"]), 401, "session_expired")


async def test_another_users_session_is_not_found(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client), await register(client)
    mine = await sign_in(client, alice["email"])
    theirs = await sign_in(client, bob["email"])

    foreign = await client.delete(f"{SESSIONS}/{theirs['session_id']}", headers=mine["headers"])
    missing = await client.delete(f"{SESSIONS}/{uuid.uuid4()}", headers=mine["headers"])
    foreign_body = assert_problem(foreign, 404, "session_not_found")
    missing_body = assert_problem(missing, 404, "session_not_found")
    # Indistinguishable apart from the request's own path and id.
    for body in (foreign_body, missing_body):
        body.pop("instance", None)
        body.pop("request_id", None)
    assert foreign_body == missing_body

    assert await status(client, theirs) == 200
    items = (await client.get(SESSIONS, headers=theirs["headers"])).json()["items"]
    assert [i["id"] for i in items] == [theirs["session_id"]]


async def test_an_ended_session_cannot_be_ended_twice(client: httpx.AsyncClient) -> None:
    user = await register(client)
    laptop = await sign_in(client, user["email"])
    phone = await sign_in(client, user["email"])
    url = f"{SESSIONS}/{phone['session_id']}"
    assert (await client.delete(url, headers=laptop["headers"])).status_code == 204
    assert_problem(await client.delete(url, headers=laptop["headers"]), 404, "session_not_found")


async def test_logout_all_ends_every_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    sessions = [await sign_in(client, user["email"]) for _ in range(3)]
    bystander = await sign_in(client, (await register(client))["email"])
    for session in sessions:
        assert await status(client, session) == 200  # cached now

    response = await client.post("/api/auth/logout-all", headers=sessions[0]["headers"])
    assert response.status_code == 204, response.text

    for session in sessions:
        assert_problem(await client.get(ME, headers=session["headers"]), 401, "session_expired")
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": session["refresh_token"]}
        )
        assert refresh.status_code == 401, refresh.text
    assert await status(client, bystander) == 200


# Per-user limit --------------------------------------------------------------------------------


async def test_fourth_login_ends_the_oldest_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first, second, third = [await sign_in(client, user["email"]) for _ in range(3)]
    for session in (first, second, third):
        assert await status(client, session) == 200  # cached now

    fourth = await sign_in(client, user["email"])

    assert_problem(await client.get(ME, headers=first["headers"]), 401, "session_expired")
    refresh = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refresh.status_code == 401, refresh.text
    for session in (second, third, fourth):
        assert await status(client, session) == 200
    items = (await client.get(SESSIONS, headers=fourth["headers"])).json()["items"]
    assert {i["id"] for i in items} == {s["session_id"] for s in (second, third, fourth)}


async def test_session_limit_is_per_user(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client), await register(client)
    alices = [await sign_in(client, alice["email"]) for _ in range(3)]
    for _ in range(3):
        await sign_in(client, bob["email"])
    for session in alices:
        assert await status(client, session) == 200


async def test_session_limit_is_configurable(app_factory: Callable[..., FastAPI]) -> None:
    application = app_factory(max_sessions_per_user=2)
    try:
        async with client_for(application) as client:
            user = await register(client)
            first, second = [await sign_in(client, user["email"]) for _ in range(2)]
            assert await status(client, first) == 200
            assert await status(client, second) == 200
            third = await sign_in(client, user["email"])
            assert_problem(await client.get(ME, headers=first["headers"]), 401, "session_expired")
            assert await status(client, second) == 200
            assert await status(client, third) == 200
    finally:
        await application.state.database.dispose()


# Idle timeout and absolute age -----------------------------------------------------------------


async def test_idle_session_expires_after_seven_days(uncached: FastAPI) -> None:
    async with client_for(uncached) as client:
        user = await register(client)
        idle = await sign_in(client, user["email"])
        recent = await sign_in(client, user["email"])
        now = datetime.now(UTC)
        await set_session_times(
            uncached, idle["session_id"], last_seen_at=now - timedelta(days=7, minutes=1)
        )
        await set_session_times(
            uncached, recent["session_id"], last_seen_at=now - timedelta(days=6, hours=23)
        )

        assert_problem(await client.get(ME, headers=idle["headers"]), 401, "session_expired")
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": idle["refresh_token"]}
        )
        assert_problem(refresh, 401, "session_expired")
        items = (await client.get(SESSIONS, headers=recent["headers"])).json()["items"]
        assert [i["id"] for i in items] == [recent["session_id"]]

        # Just inside the idle window, both tokens still work.
        await set_session_times(
            uncached, recent["session_id"], last_seen_at=now - timedelta(days=6, hours=23)
        )
        assert await status(client, recent) == 200
        # Activity moves last_seen_at forward, so a session in use does not go idle.
        items = (await client.get(SESSIONS, headers=recent["headers"])).json()["items"]
        last_seen = datetime.fromisoformat(items[0]["last_seen_at"])
        assert datetime.now(UTC) - last_seen < timedelta(minutes=5)
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": recent["refresh_token"]}
        )
        assert refresh.status_code == 200, refresh.text


async def test_session_ends_at_its_absolute_age_however_active(uncached: FastAPI) -> None:
    async with client_for(uncached) as client:
        user = await register(client)
        old = await sign_in(client, user["email"])
        young = await sign_in(client, user["email"])
        now = datetime.now(UTC)
        # Active a moment ago, but signed in 14 days ago: past the absolute limit.
        await set_session_times(
            uncached,
            old["session_id"],
            created_at=now - timedelta(days=14, minutes=1),
            expires_at=now - timedelta(minutes=1),
            last_seen_at=now,
        )
        await set_session_times(uncached, young["session_id"], expires_at=now + timedelta(hours=1))

        assert_problem(await client.get(ME, headers=old["headers"]), 401, "session_expired")
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": old["refresh_token"]}
        )
        assert_problem(refresh, 401, "session_expired")

        assert await status(client, young) == 200
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": young["refresh_token"]}
        )
        assert refresh.status_code == 200, refresh.text


async def test_refresh_does_not_extend_the_absolute_age(client: httpx.AsyncClient) -> None:
    user = await register(client)
    session = await sign_in(client, user["email"])
    before = (await client.get(SESSIONS, headers=session["headers"])).json()["items"][0]
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    after = (await client.get(SESSIONS, headers=bearer(refreshed.json()["access_token"]))).json()[
        "items"
    ][0]
    assert after["expires_at"] == before["expires_at"]


# Password change -------------------------------------------------------------------------------


async def change_password(
    client: httpx.AsyncClient, session: dict[str, Any], current: str, new: str
) -> httpx.Response:
    return await client.post(
        "/api/auth/password",
        json={"current_password": current, "new_password": new},
        headers=session["headers"],
    )


async def test_password_change_with_wrong_current_password(client: httpx.AsyncClient) -> None:
    user = await register(client)
    session = await sign_in(client, user["email"])
    other = await sign_in(client, user["email"])
    response = await change_password(client, session, "not-my-password-at-all", NEW_PASSWORD)
    assert_problem(response, 401, "invalid_credentials")
    assert await status(client, session) == 200
    assert await status(client, other) == 200
    await login(client, email=user["email"])  # the old password still works


@pytest.mark.parametrize("weak", ["short", "aaaaaaaaaaaaaaaa", "1234567890123"])
async def test_password_change_to_a_weak_password(client: httpx.AsyncClient, weak: str) -> None:
    user = await register(client)
    session = await sign_in(client, user["email"])
    assert_problem(await change_password(client, session, PASSWORD, weak), 422, "weak_password")
    await login(client, email=user["email"])


async def test_password_change_ends_every_other_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    current = await sign_in(client, user["email"])
    others = [await sign_in(client, user["email"]) for _ in range(2)]
    for session in (current, *others):
        assert await status(client, session) == 200  # cached now

    response = await change_password(client, current, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 204, response.text

    for session in others:
        assert_problem(await client.get(ME, headers=session["headers"]), 401, "session_expired")
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": session["refresh_token"]}
        )
        assert refresh.status_code == 401, refresh.text
    assert await status(client, current) == 200
    refresh = await client.post(
        "/api/auth/refresh", json={"refresh_token": current["refresh_token"]}
    )
    assert refresh.status_code == 200, refresh.text

    old = await client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert_problem(old, 401, "invalid_credentials")
    await login(client, email=user["email"], password=NEW_PASSWORD)


# Pagination ------------------------------------------------------------------------------------


@pytest.fixture
async def roomy(app_factory: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    application = app_factory(max_sessions_per_user=10)
    async with client_for(application) as c:
        yield c
    await application.state.database.dispose()


async def test_sessions_paginate_with_a_cursor(roomy: httpx.AsyncClient) -> None:
    client = roomy
    user = await register(client)
    sessions = [await sign_in(client, user["email"]) for _ in range(5)]
    headers = sessions[-1]["headers"]

    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(10):  # a bound, so a cursor that loops fails instead of hanging
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(SESSIONS, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        sizes.append(len(page["items"]))
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [2, 2, 1]
    assert seen == [s["session_id"] for s in reversed(sessions)]  # each once, newest first


async def test_sessions_limit_bounds(client: httpx.AsyncClient) -> None:
    user = await register(client)
    session = await sign_in(client, user["email"])
    for limit in (101, 0):
        response = await client.get(SESSIONS, params={"limit": limit}, headers=session["headers"])
        assert_problem(response, 422, "validation_error")
    response = await client.get(SESSIONS, params={"limit": 100}, headers=session["headers"])
    assert response.status_code == 200, response.text


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


BAD_CURSORS = {
    "garbage": "not a cursor!",
    "not-json": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "object": _cursor({"created_at": "2024-01-01T00:00:00+00:00"}),
    "wrong-length": _cursor(["2024-01-01T00:00:00+00:00"]),
    "not-a-date": _cursor(["yesterday", str(uuid.uuid4())]),
    "not-a-uuid": _cursor(["2024-01-01T00:00:00+00:00", "nope"]),
    "numbers": _cursor([1, 2]),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
async def test_invalid_cursor_is_a_bad_request(client: httpx.AsyncClient, cursor: str) -> None:
    user = await register(client)
    session = await sign_in(client, user["email"])
    response = await client.get(SESSIONS, params={"cursor": cursor}, headers=session["headers"])
    assert_problem(response, 400, "invalid_cursor")


UNUSABLE_TIMESTAMPS = {
    "naive": "2024-01-01T00:00:00",
    "past-year-9999-in-utc": "9999-12-31T23:00:00-14:00",
    "before-year-1-in-utc": "0001-01-01T00:00:00+14:00",
}


@pytest.mark.parametrize("created_at", UNUSABLE_TIMESTAMPS.values(), ids=UNUSABLE_TIMESTAMPS.keys())
async def test_cursor_with_an_unusable_timestamp_is_a_bad_request(
    client: httpx.AsyncClient, created_at: str
) -> None:
    """A well-formed cursor whose timestamp has no zone, or leaves the calendar once moved to
    UTC, is still the client's mistake: 400, never a server error."""
    user = await register(client)
    session = await sign_in(client, user["email"])
    cursor = _cursor([created_at, str(uuid.uuid4())])
    response = await client.get(SESSIONS, params={"cursor": cursor}, headers=session["headers"])
    assert_problem(response, 400, "invalid_cursor")
