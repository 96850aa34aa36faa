"""/api/admin/invites: single-use links stored as hashes, listed by status, revoked, and
never giving a role the inviter could not give."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.access.models import Invite
from tests.admin.helpers import account, admin, audit, detail, make_role
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up, unique_email

INVITES = "/api/admin/invites"


async def invite(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> dict[str, object]:
    response = await client.post(INVITES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


async def stored(app: FastAPI) -> list[Invite]:
    async with app.state.database.session() as db:
        return list((await db.execute(select(Invite))).scalars().all())


async def test_an_invite_is_a_link_whose_token_is_stored_only_as_a_hash(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me, headers = await admin(client, app)
    before = datetime.now(UTC)
    created = await invite(client, headers, email="New.Person@example.org")
    token = str(created["token"])
    link = urlsplit(str(created["link"]))
    assert (link.scheme, link.netloc, link.path) == ("http", "testserver", "/register")
    assert parse_qs(link.query) == {"invite": [token]}
    assert created["status"] == "pending"
    assert created["email"] == "New.Person@example.org"
    assert created["roles"] == []
    assert created["created_by"] == me["id"]
    expires = datetime.fromisoformat(str(created["expires_at"]))
    assert timedelta(days=7) <= expires - before <= timedelta(days=7, minutes=1)
    [row] = await stored(app)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.email_key == "new.person@example.org"
    listed = (await client.get(INVITES, headers=headers)).json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert "link" not in listed[0]
    [event] = await audit(app, "invite.created")
    assert (event.actor_id, event.target_type, event.target_id) == (
        uuid.UUID(me["id"]),
        "invite",
        created["id"],
    )
    assert token not in event.detail
    assert detail(event)["email"] == "New.Person@example.org"


async def test_the_link_uses_the_public_url_when_set(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(public_url="https://chat.example.org/")
    try:
        async with client_for(app) as client:
            _, headers = await admin(client, app)
            created = await invite(client, headers)
        assert str(created["link"]).startswith("https://chat.example.org/register?invite=")
    finally:
        await app.state.database.dispose()


async def test_expiry_defaults_bounds_and_roles(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "auditors", ["audit:read"])
    short = await invite(client, headers, expires_in_seconds=3600, roles=["auditors", "user"])
    assert short["roles"] == ["auditors"]  # `user` is always given
    gap = datetime.fromisoformat(str(short["expires_at"])) - datetime.now(UTC)
    assert timedelta(minutes=59) < gap <= timedelta(hours=1)
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    fixed = await invite(client, headers, expires_at=at.isoformat())
    assert datetime.fromisoformat(str(fixed["expires_at"])) == at
    for body, code in [
        ({"expires_in_seconds": 31 * 86400}, "validation_error"),
        ({"expires_in_seconds": 10}, "validation_error"),
        ({"expires_at": (datetime.now(UTC) + timedelta(days=31)).isoformat()}, "invalid_expiry"),
        ({"expires_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()}, "invalid_expiry"),
        ({"expires_at": "2030-01-01T00:00:00"}, "validation_error"),  # no time zone
        ({"expires_in_seconds": 600, "expires_at": at.isoformat()}, "validation_error"),
        ({"email": "not an email"}, "validation_error"),
        ({"roles": ["ghost"]}, "unknown_role"),
        ({"token": "chosen"}, "validation_error"),
    ]:
        assert_problem(await client.post(INVITES, json=body, headers=headers), 422, code)


async def test_the_list_shows_each_status_and_filters_by_it(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    pending = await invite(client, headers)
    used = await invite(client, headers)
    revoked = await invite(client, headers)
    expired = await invite(client, headers)
    registered = await client.post(
        "/api/auth/register",
        json={
            "email": unique_email(),
            "password": "plum-orchard-velvet-42",
            "invite": used["token"],
        },
    )
    assert registered.status_code == 201, registered.text
    assert (await client.delete(f"{INVITES}/{revoked['id']}", headers=headers)).status_code == 204
    async with app.state.database.begin() as conn:
        await conn.execute(
            update(Invite)
            .where(Invite.id == uuid.UUID(str(expired["id"])))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    items = (await client.get(INVITES, headers=headers)).json()["items"]
    assert [(item["id"], item["status"]) for item in items] == [
        (expired["id"], "expired"),
        (revoked["id"], "revoked"),
        (used["id"], "used"),
        (pending["id"], "pending"),
    ]
    used_item = items[2]
    assert used_item["used_by"] == registered.json()["id"]
    assert used_item["used_at"] is not None
    for status, wanted in [
        ("pending", pending),
        ("used", used),
        ("revoked", revoked),
        ("expired", expired),
    ]:
        page = (await client.get(INVITES, params={"status": status}, headers=headers)).json()
        assert [item["id"] for item in page["items"]] == [wanted["id"]]
    # Pages, newest first.
    first = (await client.get(INVITES, params={"limit": 3}, headers=headers)).json()
    rest = (
        await client.get(
            INVITES, params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == [i["id"] for i in items]
    assert rest["next_cursor"] is None


async def test_revoking(client: httpx.AsyncClient, app: FastAPI) -> None:
    me, headers = await admin(client, app)
    created = await invite(client, headers)
    assert (await client.delete(f"{INVITES}/{created['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"{INVITES}/{created['id']}", headers=headers)).status_code == 204
    [event] = await audit(app, "invite.revoked")  # the second revocation changed nothing
    assert (event.actor_id, event.target_id) == (uuid.UUID(me["id"]), created["id"])
    refused = await client.post(
        "/api/auth/register",
        json={
            "email": unique_email(),
            "password": "plum-orchard-velvet-42",
            "invite": created["token"],
        },
    )
    assert_problem(refused, 403, "invite_invalid")
    used = await invite(client, headers)
    await client.post(
        "/api/auth/register",
        json={
            "email": unique_email(),
            "password": "plum-orchard-velvet-42",
            "invite": used["token"],
        },
    )
    assert_problem(
        await client.delete(f"{INVITES}/{used['id']}", headers=headers), 409, "invite_already_used"
    )
    assert_problem(
        await client.delete(f"{INVITES}/{uuid.uuid4()}", headers=headers), 404, "invite_not_found"
    )


async def test_nobody_invites_with_a_role_granting_what_they_lack(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, admin_headers = await admin(client, app)
    await make_role(client, admin_headers, "inviters", ["invites:manage"])
    await make_role(client, admin_headers, "auditors", ["audit:read"])
    await make_role(client, admin_headers, "writers", ["threads:write"])
    _, headers = await account(client, app, "inviters")
    for roles in (["auditors"], ["admin"], ["writers", "auditors"]):
        refused = await client.post(INVITES, json={"roles": roles}, headers=headers)
        assert_problem(refused, 403, "role_exceeds_caller")
    assert (
        await client.post(INVITES, json={"roles": ["writers"]}, headers=headers)
    ).status_code == 201
    denied = [e for e in await audit(app, "invite.created") if e.outcome == "denied"]
    assert [detail(e)["code"] for e in denied] == ["role_exceeds_caller"] * 3
    assert len(await stored(app)) == 1


async def test_invites_need_invites_manage(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, plain = await signed_up(client)
    assert_problem(await client.get(INVITES, headers=plain), 403, "forbidden")
    assert_problem(await client.post(INVITES, json={}, headers=plain), 403, "forbidden")
    assert_problem(
        await client.delete(f"{INVITES}/{uuid.uuid4()}", headers=plain), 403, "forbidden"
    )
