"""GET /api/auth/events: a user's own account activity, never anyone else's."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from confide.audit import actions
from tests.audit.trail import set_status
from tests.factories import PASSWORD, assert_problem, bearer, login, register, signed_up

EVENTS = "/api/auth/events"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"


async def my_events(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(EVENTS, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return [item for item in items if item["action"] != actions.REGISTERED]


async def test_a_user_sees_their_own_account_activity_newest_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    wrong = await client.post(
        "/api/auth/login",
        json={"email": user["email"], "password": "not-the-password"},
        headers={"User-Agent": IPHONE},
    )
    assert_problem(wrong, 401, "invalid_credentials")
    tokens = await login(client, email=user["email"], **{"User-Agent": FIREFOX})
    headers = bearer(tokens["access_token"])
    other = await login(client, email=user["email"])
    await client.delete(f"/api/auth/sessions/{other['session_id']}", headers=headers)
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "quartz-lantern-meadow-77"},
        headers=headers,
    )
    assert changed.status_code == 204

    items = await my_events(client, headers)
    assert [(item["action"], item["outcome"]) for item in items] == [
        (actions.PASSWORD_CHANGED, "success"),
        (actions.SESSION_ENDED, "success"),
        (actions.SIGNED_IN, "success"),
        (actions.SIGNED_IN, "success"),
        (actions.SIGNED_IN, "failure"),
    ]
    refused = items[-1]
    assert refused["device"] == "Safari on iPhone"
    assert refused["ip"] == "127.0.0.1"
    assert refused["detail"] == {"reason": "invalid_credentials"}
    assert items[-2]["device"] == "Firefox on Linux"
    assert set(refused) == {"id", "at", "action", "outcome", "ip", "device", "detail"}


async def test_nobody_sees_anyone_elses_events(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, alice_headers = await signed_up(client)
    bob, bob_headers = await signed_up(client)
    # Bob's account is attacked, Bob signs out everywhere; Alice is refused an admin page.
    await client.post("/api/auth/login", json={"email": bob["email"], "password": "guess-guess"})
    await client.post("/api/auth/logout-all", headers=bob_headers)
    assert_problem(await client.get("/api/admin/audit", headers=alice_headers), 403, "forbidden")

    alice_items = await my_events(client, alice_headers)
    assert [(item["action"], item["outcome"]) for item in alice_items] == [
        (actions.SIGNED_IN, "success")
    ]
    bob_headers = bearer((await login(client, email=bob["email"]))["access_token"])
    bob_items = await my_events(client, bob_headers)
    assert [(item["action"], item["outcome"]) for item in bob_items] == [
        (actions.SIGNED_IN, "success"),
        (actions.SIGNED_OUT, "success"),
        (actions.SIGNED_IN, "failure"),
        (actions.SIGNED_IN, "success"),
    ]
    assert bob_items[1]["detail"] == {"sessions": 1}
    assert not {item["id"] for item in alice_items} & {item["id"] for item in bob_items}


async def test_a_pending_user_sees_their_events(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await register(client)
    await set_status(app, user["id"], "pending")
    headers = bearer((await login(client, email=user["email"]))["access_token"])
    items = await my_events(client, headers)
    assert [item["action"] for item in items] == [actions.SIGNED_IN]


async def test_pages_walk_every_event_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await register(client)
    for _ in range(5):  # past the per-user session limit: the older sessions end
        headers = bearer((await login(client, email=user["email"]))["access_token"])
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(EVENTS, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"] if item["action"] == actions.SIGNED_IN]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)
    assert_problem(
        await client.get(EVENTS, params={"cursor": "garbage"}, headers=headers),
        400,
        "invalid_cursor",
    )


async def test_anonymous_callers_are_asked_to_sign_in(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(EVENTS), 401, "not_authenticated")
