"""Share links through the HTTP API: made, read without an account, revoked; a snapshot that
later messages and branch switches never change; nothing of another thread, nothing of the
owner's account but their display name; the token stored hashed and never logged."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.audit.models import AuditEvent
from confide.db.base import utcnow
from confide.links.models import ShareLink
from confide.logs import REDACTED, redact_path
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.links.helpers import (
    SHARED,
    THREADS,
    contents,
    make_link,
    new_thread,
    shared,
    store,
    tool_turn,
    turn,
)


async def test_create_read_and_revoke(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client, display_name="Ada L.")
    thread_id = await new_thread(client, headers)
    await store(app, thread_id, *turn("What is a monad?", "A monoid in endofunctors."))

    link = await make_link(client, headers, thread_id)
    token = link["token"]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert link["url"] == f"/s/{token}"
    assert link["message_count"] == 2
    assert link["include_tool_calls"] is True
    assert link["expires_at"] is None

    anonymous = client_for(app)
    response = await anonymous.get(f"{SHARED}/{token}")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    body = response.json()
    assert body["title"] == "What is a monad?"
    assert body["agent_name"]
    assert body["owner_display_name"] == "Ada L."
    assert contents(body) == ["What is a monad?", "A monoid in endofunctors."]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    assert body["next_cursor"] is None

    listed = await client.get(f"{THREADS}/{thread_id}/links", headers=headers)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["id"] == link["id"]
    assert "token" not in item
    assert "url" not in item

    revoked = await client.delete(f"{THREADS}/{thread_id}/links/{link['id']}", headers=headers)
    assert revoked.status_code == 204
    assert_problem(await anonymous.get(f"{SHARED}/{token}"), 404, "link_not_found")
    assert_problem(await anonymous.get(f"{SHARED}/{token}/messages"), 404, "link_not_found")
    listed = await client.get(f"{THREADS}/{thread_id}/links", headers=headers)
    assert listed.json()["items"] == []
    again = await client.delete(f"{THREADS}/{thread_id}/links/{link['id']}", headers=headers)
    assert_problem(again, 404, "link_not_found")

    async with app.state.database.session() as db:
        actions = (
            await db.execute(
                select(AuditEvent.action, AuditEvent.detail).where(
                    AuditEvent.target_id == thread_id
                )
            )
        ).all()
    audited = {action: detail for action, detail in actions}
    assert audited.keys() >= {"thread.link_created", "thread.link_revoked"}
    assert token not in json.dumps([detail for _, detail in actions], default=str)


async def test_a_link_shows_only_its_thread_and_path_as_it_was(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    other_id = await new_thread(client, headers)
    first_question, _ = await store(app, thread_id, *turn("first question", "first answer"))
    await store(app, other_id, *turn("other thread secret", "other answer"))
    link = await make_link(client, headers, thread_id)

    # Later messages, a new branch made active, a switch back and forth: none of it shows.
    await store(app, thread_id, *turn("later question", "later answer"))
    await store(
        app,
        thread_id,
        *turn("edited first question", "edited answer"),
        parent_id=None,
        activate=True,
    )
    switched = await client.put(
        f"{THREADS}/{thread_id}/active", json={"leaf_id": first_question}, headers=headers
    )
    assert switched.status_code == 200, switched.text
    await store(app, other_id, *turn("other thread later", "other later answer"))

    body = await shared(client_for(app), link["token"])
    assert contents(body) == ["first question", "first answer"]
    text = json.dumps(body)
    for leaked in ("later", "edited", "other"):
        assert leaked not in text

    # A new link of the same thread shows the path active now (the switch back: the longest
    # path below the first question).
    newer = await shared(client_for(app), (await make_link(client, headers, thread_id))["token"])
    assert contents(newer) == ["first question", "first answer", "later question", "later answer"]


async def test_no_account_data_but_the_display_name(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client, display_name="Grace")
    thread_id = await new_thread(client, headers)
    ids = await store(app, thread_id, *tool_turn("add 5 and 3", "It is 8."))
    link = await make_link(client, headers, thread_id)
    response = await client_for(app).get(f"{SHARED}/{link['token']}")
    text = response.text
    assert "Grace" in text
    for private in (user["email"], user["id"], thread_id, link["id"], *ids):
        assert private not in text
    assert "@" not in text


async def test_without_tool_calls_tool_traffic_is_left_out(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    await store(app, thread_id, *tool_turn("add 5 and 3", "It is 8."))

    full = await shared(client_for(app), (await make_link(client, headers, thread_id))["token"])
    assert [m["role"] for m in full["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert full["messages"][1]["tool_calls"][0]["function"]["name"] == "add"
    assert full["messages"][2] | {"created_at": None} == {
        "role": "tool",
        "content": "8",
        "tool_calls": None,
        "tool_call_id": "call_1",
        "name": "add",
        "interrupted": False,
        "created_at": None,
    }

    link = await make_link(client, headers, thread_id, include_tool_calls=False)
    assert link["include_tool_calls"] is False
    bare = await shared(client_for(app), link["token"])
    assert [(m["role"], m["content"]) for m in bare["messages"]] == [
        ("user", "add 5 and 3"),
        ("assistant", "It is 8."),
    ]
    assert all(m["tool_calls"] is None and m["tool_call_id"] is None for m in bare["messages"])
    assert "call_1" not in json.dumps(bare)


async def test_long_snapshots_come_in_pages(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    messages = [m for n in range(3) for m in turn(f"q{n}", f"a{n}")]
    await store(app, thread_id, *messages, *tool_turn("add", "done"))
    link = await make_link(client, headers, thread_id, include_tool_calls=False)
    anonymous = client_for(app)
    first = await shared(anonymous, link["token"], limit=4)
    assert contents(first) == ["q0", "a0", "q1", "a1"]
    seen = contents(first)
    cursor = first["next_cursor"]
    while cursor is not None:
        page = await anonymous.get(
            f"{SHARED}/{link['token']}/messages", params={"cursor": cursor, "limit": 3}
        )
        assert page.status_code == 200, page.text
        seen += [m["content"] for m in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert seen == ["q0", "a0", "q1", "a1", "q2", "a2", "add", "done"]
    bad = await anonymous.get(f"{SHARED}/{link['token']}/messages", params={"cursor": "x"})
    assert_problem(bad, 400, "invalid_cursor")


async def test_expired_links_are_not_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    await store(app, thread_id, *turn("q", "a"))
    link = await make_link(client, headers, thread_id, expires_in_seconds=3600)
    assert link["expires_at"] is not None
    anonymous = client_for(app)
    await shared(anonymous, link["token"])
    async with app.state.database.session() as db:
        await db.execute(
            update(ShareLink)
            .where(ShareLink.id == uuid.UUID(link["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await db.commit()
    assert_problem(await anonymous.get(f"{SHARED}/{link['token']}"), 404, "link_not_found")
    # Still listed for its owner, who can revoke it.
    listed = await client.get(f"{THREADS}/{thread_id}/links", headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [link["id"]]

    for expiry in (0, 59, 367 * 86_400, "soon"):
        refused = await client.post(
            f"{THREADS}/{thread_id}/links", json={"expires_in_seconds": expiry}, headers=headers
        )
        assert_problem(refused, 422, "validation_error")


async def test_unknown_tokens_and_bad_requests(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    anonymous = client_for(app)
    for token in ("nope", "a" * 43, "x" * 128):
        assert_problem(await anonymous.get(f"{SHARED}/{token}"), 404, "link_not_found")
    empty = await new_thread(client, headers)
    refused = await client.post(f"{THREADS}/{empty}/links", json={}, headers=headers)
    assert_problem(refused, 422, "thread_empty")
    unknown = await client.post(
        f"{THREADS}/{empty}/links", json={"include_tool_calls": True, "x": 1}, headers=headers
    )
    assert_problem(unknown, 422, "validation_error")
    async with app.state.database.session() as db:
        assert (await db.execute(select(ShareLink))).first() is None


async def test_another_user_can_neither_make_nor_list_nor_revoke(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, owner = await signed_up(client)
    _, stranger = await signed_up(client)
    thread_id = await new_thread(client, owner)
    await store(app, thread_id, *turn("q", "a"))
    link = await make_link(client, owner, thread_id)
    base = f"{THREADS}/{thread_id}/links"
    assert_problem(await client.post(base, json={}, headers=stranger), 404, "thread_not_found")
    assert_problem(await client.get(base, headers=stranger), 404, "thread_not_found")
    revoke = await client.delete(f"{base}/{link['id']}", headers=stranger)
    assert_problem(revoke, 404, "thread_not_found")
    # The stranger's own thread does not reach the owner's link either.
    theirs = await new_thread(client, stranger)
    revoke = await client.delete(f"{THREADS}/{theirs}/links/{link['id']}", headers=stranger)
    assert_problem(revoke, 404, "link_not_found")
    await shared(client_for(app), link["token"])  # still there


async def test_a_recipient_of_the_thread_cannot_make_links(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, owner = await signed_up(client)
    recipient, reader = await signed_up(client)
    thread_id = await new_thread(client, owner)
    await store(app, thread_id, *turn("q", "a"))
    shared_with = await client.post(
        f"{THREADS}/{thread_id}/shares", json={"email": recipient["email"]}, headers=owner
    )
    assert shared_with.status_code == 202
    made = await client.post(f"{THREADS}/{thread_id}/links", json={}, headers=reader)
    assert_problem(made, 403, "read_only")


async def test_the_token_is_stored_hashed(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    await store(app, thread_id, *turn("q", "a"))
    link = await make_link(client, headers, thread_id)
    async with app.state.database.session() as db:
        row = (await db.execute(select(ShareLink))).scalar_one()
    assert row.token_hash == hashlib.sha256(link["token"].encode()).digest()
    stored = [getattr(row, column.key) for column in ShareLink.__table__.columns]
    assert link["token"] not in repr(stored)
    assert link["token"].encode() not in row.token_hash


async def test_deleting_the_thread_or_account_removes_its_links(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    kept = await new_thread(client, headers)
    gone = await new_thread(client, headers)
    for thread_id in (kept, gone):
        await store(app, thread_id, *turn("q", "a"))
    kept_link = await make_link(client, headers, kept)
    gone_link = await make_link(client, headers, gone)
    assert (await client.delete(f"{THREADS}/{gone}", headers=headers)).status_code == 204
    anonymous = client_for(app)
    assert_problem(await anonymous.get(f"{SHARED}/{gone_link['token']}"), 404, "link_not_found")
    await shared(anonymous, kept_link["token"])

    export = await client.get("/api/me/export", headers=headers)
    assert export.status_code == 200
    (exported,) = export.json()["share_links"]
    assert exported["id"] == kept_link["id"]
    assert exported["thread_id"] == kept
    assert kept_link["token"] not in export.text

    deleted = await client.request(
        "DELETE", "/api/me", json={"email": user["email"]}, headers=headers
    )
    assert deleted.status_code == 204, deleted.text
    assert_problem(await anonymous.get(f"{SHARED}/{kept_link['token']}"), 404, "link_not_found")
    async with app.state.database.session() as db:
        assert (await db.execute(select(ShareLink))).first() is None


async def test_turned_off_links_are_refused_and_not_found(
    app: FastAPI, app_factory: Callable[..., FastAPI], client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    await store(app, thread_id, *turn("q", "a"))
    link = await make_link(client, headers, thread_id)

    off = app_factory(share_links=False)  # another process, the same database
    async with client_for(off) as other:
        assert_problem(await other.get(f"{SHARED}/{link['token']}"), 404, "link_not_found")
        made = await other.post(f"{THREADS}/{thread_id}/links", json={}, headers=headers)
        assert_problem(made, 403, "share_links_disabled")
        listed = await other.get(f"{THREADS}/{thread_id}/links", headers=headers)
        assert [item["id"] for item in listed.json()["items"]] == [link["id"]]
        # Revoked there, gone here at once: nothing is cached.
        revoked = await other.delete(f"{THREADS}/{thread_id}/links/{link['id']}", headers=headers)
        assert revoked.status_code == 204
    assert_problem(await client.get(f"{SHARED}/{link['token']}"), 404, "link_not_found")


async def test_views_are_counted_per_client_ip(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(rate_limit_shared_per_ip="2/minute")
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        await store(app, thread_id, *turn("q", "a"))
        link = await make_link(client, headers, thread_id)
        first = await client.get(f"{SHARED}/{link['token']}")
        assert first.headers["ratelimit-limit"] == "2"
        await shared(client, link["token"])
        assert_problem(await client.get(f"{SHARED}/nope"), 429, "rate_limited")


async def test_the_token_is_never_logged(
    app: FastAPI, client: httpx.AsyncClient, log_lines: StringIO
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    await store(app, thread_id, *turn("q", "a"))
    token = (await make_link(client, headers, thread_id))["token"]
    await shared(client, token)
    await client.get(f"{SHARED}/{token}/messages", params={"limit": 1})
    await client.get(f"/s/{token}")  # the web app's page (answered whether built or not)
    logged = log_lines.getvalue()
    assert token not in logged
    paths = [json.loads(line).get("path") for line in logged.splitlines()]
    assert f"{SHARED}/{REDACTED}" in paths
    assert f"{SHARED}/{REDACTED}/messages" in paths
    assert f"/s/{REDACTED}" in paths


def test_redact_path() -> None:
    assert redact_path("/s/abc_-DEF") == f"/s/{REDACTED}"
    assert redact_path("/api/shared/tok/messages") == f"/api/shared/{REDACTED}/messages"
    text = 'GET "https://chat.example/s/tok?x=1" and /api/threads/1'
    assert redact_path(text) == f'GET "https://chat.example/s/{REDACTED}?x=1" and /api/threads/1'
    assert redact_path("/api/threads/x/shares") == "/api/threads/x/shares"


async def test_unverified_accounts_make_no_links_under_the_sharing_rule(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(unverified_users="chat")  # the default: all but sharing until verified
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        await store(app, thread_id, *turn("q", "a"))
        refused = await client.post(f"{THREADS}/{thread_id}/links", json={}, headers=headers)
        assert_problem(refused, 403, "forbidden")
