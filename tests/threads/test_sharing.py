"""Sharing a thread read-only, and `threads:read:any`, through the HTTP API.

A recipient reads everything of a shared thread (the thread, its messages, its runs and their
events) and changes nothing (each write is 403 `read_only`); anyone else sees nothing (404, as
for a missing thread). Share requests answer alike whoever the email names, and revoking
takes effect on the very next request.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, func, insert, select

from confide.access.models import Role, RolePermission
from confide.access.permissions import THREADS_READ_ANY
from confide.audit.models import AuditEvent
from confide.auth.models import User
from confide.threads.models import ThreadShare
from confide.threads.service import NewMessage
from tests.factories import assert_problem, bearer, grant_role, login, signed_up, unique_email
from tests.invariant import parse_sse
from tests.threads.test_threads_api import append

THREADS = "/api/threads"
RUNS = "/api/runs"
Headers = dict[str, str]


# Helpers ---------------------------------------------------------------------------------------


async def new_thread(client: httpx.AsyncClient, headers: Headers, **body: Any) -> str:
    response = await client.post(THREADS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def share(
    client: httpx.AsyncClient, headers: Headers, thread_id: str, email: str
) -> httpx.Response:
    return await client.post(
        f"{THREADS}/{thread_id}/shares", json={"email": email}, headers=headers
    )


async def shared_ok(
    client: httpx.AsyncClient, headers: Headers, thread_id: str, email: str
) -> None:
    response = await share(client, headers, thread_id, email)
    assert response.status_code == 202, response.text
    assert response.json() == {"email": email}


async def shares_of(
    client: httpx.AsyncClient, headers: Headers, thread_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{THREADS}/{thread_id}/shares", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def run_on(client: httpx.AsyncClient, headers: Headers, thread_id: str) -> str:
    """A completed run (the scripted model adds with a tool) on the owner's thread."""
    response = await client.post(
        f"{THREADS}/{thread_id}/messages", json={"content": "add 5 and 3"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["run"]["status"] == "completed"
    return str(response.json()["run"]["id"])


async def listing(
    client: httpx.AsyncClient, headers: Headers, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(THREADS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def audit_rows(app: FastAPI, action: str) -> list[AuditEvent]:
    async with app.state.database.sessionmaker() as db:
        stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await db.execute(stmt)).scalars())


async def share_rows(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as db:
        return int((await db.execute(select(func.count()).select_from(ThreadShare))).scalar_one())


async def reader_of_any(app: FastAPI, client: httpx.AsyncClient) -> tuple[dict[str, Any], Headers]:
    """A user who also holds a custom role granted `threads:read:any` (no built-in role has
    it), signed in after the grant."""
    user, _ = await signed_up(client)
    async with app.state.database.begin() as conn:
        role_id = uuid.uuid4()
        await conn.execute(insert(Role).values(id=role_id, name="auditor", description=""))
        await conn.execute(
            insert(RolePermission).values(role_id=role_id, permission=THREADS_READ_ANY)
        )
    await grant_role(app, user["id"], role="auditor")
    tokens = await login(client, email=user["email"])
    return user, bearer(tokens["access_token"])


async def owner_recipient_thread(
    client: httpx.AsyncClient,
) -> tuple[dict[str, Any], Headers, dict[str, Any], Headers, str]:
    owner, owner_headers = await signed_up(client, display_name="Alice")
    recipient, recipient_headers = await signed_up(client, display_name="Bob")
    thread_id = await new_thread(client, owner_headers, title="Plans")
    await shared_ok(client, owner_headers, thread_id, recipient["email"])
    return owner, owner_headers, recipient, recipient_headers, thread_id


# Sharing and reading ---------------------------------------------------------------------------


async def test_a_recipient_reads_the_thread_its_messages_and_its_runs(
    client: httpx.AsyncClient,
) -> None:
    owner, owner_headers, _, headers, thread_id = await owner_recipient_thread(client)
    run_id = await run_on(client, owner_headers, thread_id)

    thread = await client.get(f"{THREADS}/{thread_id}", headers=headers)
    assert thread.status_code == 200, thread.text
    body = thread.json()
    assert body["shared"] is True
    assert body["owner"] == {"id": owner["id"], "email": owner["email"], "display_name": "Alice"}
    assert body["title"] == "Plans"

    as_owner = (await client.get(f"{THREADS}/{thread_id}/messages", headers=owner_headers)).json()
    as_recipient = await client.get(f"{THREADS}/{thread_id}/messages", headers=headers)
    assert as_recipient.status_code == 200
    assert as_recipient.json() == as_owner
    assert as_owner["items"][0]["role"] == "user"
    newest = await client.get(f"{THREADS}/{thread_id}/messages?order=desc", headers=headers)
    assert newest.json()["items"] == list(reversed(as_owner["items"]))

    run = await client.get(f"{RUNS}/{run_id}", headers=headers)
    assert run.status_code == 200, run.text
    assert run.json() == (await client.get(f"{RUNS}/{run_id}", headers=owner_headers)).json()
    assert run.json()["thread_id"] == thread_id

    replay = await client.get(f"{RUNS}/{run_id}/events", headers=headers)
    assert replay.status_code == 200, replay.text
    events = parse_sse(replay.text)
    assert events[-1]["type"] == "run.completed"
    owners = parse_sse((await client.get(f"{RUNS}/{run_id}/events", headers=owner_headers)).text)
    assert events == owners
    later = parse_sse((await client.get(f"{RUNS}/{run_id}/events?after=2", headers=headers)).text)
    assert later == [e for e in owners if e["id"] > 2]


async def test_own_threads_carry_the_caller_as_owner_and_are_not_shared(
    client: httpx.AsyncClient,
) -> None:
    owner, owner_headers, _, headers, thread_id = await owner_recipient_thread(client)
    me = {"id": owner["id"], "email": owner["email"], "display_name": "Alice"}
    (listed,) = await listing(client, owner_headers)
    assert (listed["id"], listed["shared"], listed["owner"]) == (thread_id, False, me)
    single = (await client.get(f"{THREADS}/{thread_id}", headers=owner_headers)).json()
    assert (single["shared"], single["owner"]) == (False, me)
    created = await client.post(THREADS, json={}, headers=owner_headers)
    assert (created.json()["shared"], created.json()["owner"]) == (False, me)
    # The default scope is the caller's own threads: the recipient's is empty.
    assert await listing(client, headers) == []
    assert await listing(client, headers, scope="own") == []
    assert await listing(client, owner_headers, scope="shared") == []


async def test_scope_shared_lists_shared_threads_with_their_owners_and_pages(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, alice_headers = await signed_up(client, display_name="Alice")
    carol, carol_headers = await signed_up(client)  # no display name
    bob, bob_headers = await signed_up(client)
    made: list[tuple[str, dict[str, Any]]] = []
    for index in range(5):
        author, author_headers = (
            (alice, alice_headers) if index % 2 == 0 else (carol, carol_headers)
        )
        thread_id = await new_thread(client, author_headers, title=f"shared {index}")
        await shared_ok(client, author_headers, thread_id, bob["email"])
        made.append((thread_id, author))
    await new_thread(client, alice_headers, title="not shared")
    # Activity reorders the list: the oldest thread gets a message and comes first.
    await append(app, made[0][0], NewMessage(role="user", content="a needle in here"))

    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"scope": "shared", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(THREADS, params=params, headers=bob_headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        pages.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected_order = [made[0], *reversed(made[1:])]
    assert [t["id"] for t in pages] == [thread_id for thread_id, _ in expected_order]
    for item, (_, author) in zip(pages, expected_order, strict=True):
        assert item["shared"] is True
        assert item["owner"] == {
            "id": author["id"],
            "email": author["email"],
            "display_name": author.get("display_name"),
        }
    # The list's filters apply to shared threads too.
    found = await listing(client, bob_headers, scope="shared", q="NEEDLE")
    assert [t["id"] for t in found] == [made[0][0]]
    assert await listing(client, bob_headers, scope="shared", agent_id="calculator") == []
    # A share the owner revokes leaves the list at once.
    (first_share,) = await shares_of(client, alice_headers, made[0][0])
    revoked = await client.delete(
        f"{THREADS}/{made[0][0]}/shares/{first_share['id']}", headers=alice_headers
    )
    assert revoked.status_code == 204
    remaining = await listing(client, bob_headers, scope="shared")
    assert [t["id"] for t in remaining] == [thread_id for thread_id, _ in reversed(made[1:])]


async def test_a_bad_scope_is_a_validation_error(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.get(THREADS, params={"scope": "everyone"}, headers=headers)
    assert_problem(response, 422, "validation_error")


async def test_the_owner_lists_shares_with_names_and_pages(client: httpx.AsyncClient) -> None:
    _, owner_headers = await signed_up(client)
    thread_id = await new_thread(client, owner_headers)
    recipients = [await signed_up(client, display_name=f"R{i}") for i in range(3)]
    for recipient, _ in recipients:
        await shared_ok(client, owner_headers, thread_id, recipient["email"])

    first = await client.get(f"{THREADS}/{thread_id}/shares?limit=2", headers=owner_headers)
    assert first.status_code == 200, first.text
    assert first.json()["next_cursor"] is not None
    rest = await client.get(
        f"{THREADS}/{thread_id}/shares",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=owner_headers,
    )
    assert rest.json()["next_cursor"] is None
    items = first.json()["items"] + rest.json()["items"]
    assert set(items[0]) == {"id", "email", "display_name", "created_at"}
    # Newest share first.
    assert [(i["email"], i["display_name"]) for i in items] == [
        (r["email"], r["display_name"]) for r, _ in reversed(recipients)
    ]
    assert len({i["id"] for i in items}) == 3


# No account discovery -----------------------------------------------------------------------


async def test_unknown_existing_own_and_repeated_emails_answer_alike(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner, owner_headers = await signed_up(client)
    recipient, _ = await signed_up(client)
    thread_id = await new_thread(client, owner_headers)
    unknown = unique_email("nobody")

    def whole(response: httpx.Response, email: str) -> tuple[int, str, Any, set[str]]:
        # Everything but what differs by construction (the email echoed, the request id).
        body = response.json()
        assert body == {"email": email}
        headers = {k for k in response.headers if k not in {"x-request-id", "content-length"}}
        return response.status_code, response.headers["content-type"], body.keys(), headers

    answers = [
        whole(await share(client, owner_headers, thread_id, email), email)
        for email in (recipient["email"], unknown, owner["email"], recipient["email"])
    ]
    assert answers[0][0] == 202
    assert all(answer == answers[0] for answer in answers), answers
    # One share made: not one for the owner, not a second for the same person.
    assert await share_rows(app) == 1
    assert [s["email"] for s in await shares_of(client, owner_headers, thread_id)] == [
        recipient["email"]
    ]
    # A differently written email of the same account is the same share.
    again = await share(client, owner_headers, thread_id, f"  {recipient['email'].upper()} ")
    assert again.status_code == 202
    assert await share_rows(app) == 1


async def test_the_answer_never_names_the_recipient(client: httpx.AsyncClient) -> None:
    _, owner_headers = await signed_up(client)
    recipient, _ = await signed_up(client, display_name="Secret Name")
    thread_id = await new_thread(client, owner_headers)
    response = await share(client, owner_headers, thread_id, recipient["email"])
    assert recipient["id"] not in response.text
    assert "Secret Name" not in response.text


async def test_a_bad_email_is_a_validation_error(client: httpx.AsyncClient) -> None:
    _, owner_headers = await signed_up(client)
    thread_id = await new_thread(client, owner_headers)
    for body in ({"email": "not-an-email"}, {}, {"email": "a@b.org", "role": "admin"}):
        response = await client.post(
            f"{THREADS}/{thread_id}/shares", json=body, headers=owner_headers
        )
        assert_problem(response, 422, "validation_error")


# Recipients never write ------------------------------------------------------------------------


async def test_every_write_of_a_recipient_is_refused_as_read_only(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, owner_headers, _, headers, thread_id = await owner_recipient_thread(client)
    run_id = await run_on(client, owner_headers, thread_id)
    third, _ = await signed_up(client)
    (existing,) = await shares_of(client, owner_headers, thread_id)
    before = (await client.get(f"{THREADS}/{thread_id}", headers=owner_headers)).json()

    writes = [
        ("PATCH", f"{THREADS}/{thread_id}", {"title": "mine now"}),
        ("DELETE", f"{THREADS}/{thread_id}", None),
        ("POST", f"{THREADS}/{thread_id}/messages", {"content": "hello"}),
        ("POST", f"{RUNS}/{run_id}/cancel", None),
        ("POST", f"{THREADS}/{thread_id}/shares", {"email": third["email"]}),
        ("GET", f"{THREADS}/{thread_id}/shares", None),
        ("DELETE", f"{THREADS}/{thread_id}/shares/{existing['id']}", None),
    ]
    for method, url, body in writes:
        response = await client.request(method, url, json=body, headers=headers)
        assert_problem(response, 403, "read_only")
        # A recipient never learns who else the thread is shared with.
        assert third["email"] not in response.text

    after = (await client.get(f"{THREADS}/{thread_id}", headers=owner_headers)).json()
    assert after == before
    assert await share_rows(app) == 1
    assert [s["id"] for s in await shares_of(client, owner_headers, thread_id)] == [existing["id"]]
    assert await audit_rows(app, "thread.unshared") == []


async def test_a_third_user_sees_nothing_and_gets_not_found(client: httpx.AsyncClient) -> None:
    _, owner_headers, _, _, thread_id = await owner_recipient_thread(client)
    run_id = await run_on(client, owner_headers, thread_id)
    (existing,) = await shares_of(client, owner_headers, thread_id)
    _, headers = await signed_up(client)

    for method, url, body in [
        ("GET", f"{THREADS}/{thread_id}", None),
        ("GET", f"{THREADS}/{thread_id}/messages", None),
        ("PATCH", f"{THREADS}/{thread_id}", {"title": "x"}),
        ("DELETE", f"{THREADS}/{thread_id}", None),
        ("POST", f"{THREADS}/{thread_id}/messages", {"content": "hello"}),
        ("POST", f"{THREADS}/{thread_id}/shares", {"email": unique_email()}),
        ("GET", f"{THREADS}/{thread_id}/shares", None),
        ("DELETE", f"{THREADS}/{thread_id}/shares/{existing['id']}", None),
    ]:
        response = await client.request(method, url, json=body, headers=headers)
        assert_problem(response, 404, "thread_not_found")
    for method, url in [
        ("GET", f"{RUNS}/{run_id}"),
        ("GET", f"{RUNS}/{run_id}/events"),
        ("POST", f"{RUNS}/{run_id}/cancel"),
    ]:
        assert_problem(await client.request(method, url, headers=headers), 404, "run_not_found")
    assert await listing(client, headers, scope="shared") == []
    assert await listing(client, headers) == []


async def test_unsharing_another_threads_share_is_not_found(client: httpx.AsyncClient) -> None:
    _, owner_headers, _, _, thread_id = await owner_recipient_thread(client)
    other = await new_thread(client, owner_headers)
    (existing,) = await shares_of(client, owner_headers, thread_id)
    response = await client.delete(
        f"{THREADS}/{other}/shares/{existing['id']}", headers=owner_headers
    )
    assert_problem(response, 404, "share_not_found")
    missing = await client.delete(
        f"{THREADS}/{thread_id}/shares/{uuid.uuid4()}", headers=owner_headers
    )
    assert_problem(missing, 404, "share_not_found")
    assert len(await shares_of(client, owner_headers, thread_id)) == 1


# Revocation --------------------------------------------------------------------------------------


async def test_revoking_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner, owner_headers, recipient, headers, thread_id = await owner_recipient_thread(client)
    run_id = await run_on(client, owner_headers, thread_id)
    reads = [
        (f"{THREADS}/{thread_id}", "thread_not_found"),
        (f"{THREADS}/{thread_id}/messages", "thread_not_found"),
        (f"{RUNS}/{run_id}", "run_not_found"),
        (f"{RUNS}/{run_id}/events", "run_not_found"),
    ]
    for url, _ in reads:
        assert (await client.get(url, headers=headers)).status_code == 200

    (existing,) = await shares_of(client, owner_headers, thread_id)
    revoked = await client.delete(
        f"{THREADS}/{thread_id}/shares/{existing['id']}", headers=owner_headers
    )
    assert revoked.status_code == 204
    for url, code in reads:
        assert_problem(await client.get(url, headers=headers), 404, code)
    assert await listing(client, headers, scope="shared") == []
    # Now a stranger: a write is a missing thread's 404, no longer `read_only`.
    rename = await client.patch(f"{THREADS}/{thread_id}", json={"title": "x"}, headers=headers)
    assert_problem(rename, 404, "thread_not_found")
    assert await shares_of(client, owner_headers, thread_id) == []

    (unshared,) = await audit_rows(app, "thread.unshared")
    assert (unshared.actor_id, unshared.actor) == (uuid.UUID(owner["id"]), owner["email"])
    assert (unshared.target_type, unshared.target_id) == ("thread", thread_id)
    assert json.loads(unshared.detail) == {
        "recipient_id": recipient["id"],
        "share_id": existing["id"],
    }
    # Shared again later: readable again.
    await shared_ok(client, owner_headers, thread_id, recipient["email"])
    assert (await client.get(f"{THREADS}/{thread_id}", headers=headers)).status_code == 200


async def test_deleting_the_thread_removes_its_shares(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, owner_headers, recipient, headers, thread_id = await owner_recipient_thread(client)
    kept = await new_thread(client, owner_headers)
    await shared_ok(client, owner_headers, kept, recipient["email"])
    assert await share_rows(app) == 2
    deleted = await client.delete(f"{THREADS}/{thread_id}", headers=owner_headers)
    assert deleted.status_code == 204
    assert await share_rows(app) == 1
    assert [t["id"] for t in await listing(client, headers, scope="shared")] == [kept]
    assert_problem(
        await client.get(f"{THREADS}/{thread_id}", headers=headers), 404, "thread_not_found"
    )


async def test_deleting_the_recipients_account_removes_their_shares(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, owner_headers, recipient, _, thread_id = await owner_recipient_thread(client)
    async with app.state.database.begin() as conn:
        await conn.execute(delete(User).where(User.id == uuid.UUID(recipient["id"])))
    assert await share_rows(app) == 0
    assert await shares_of(client, owner_headers, thread_id) == []


# The audit trail of shares -------------------------------------------------------------------


async def test_shares_are_audited_without_identifying_unknown_emails(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner, owner_headers = await signed_up(client)
    recipient, _ = await signed_up(client)
    thread_id = await new_thread(client, owner_headers)
    unknown = unique_email("nobody")
    for email in (recipient["email"], unknown, owner["email"], recipient["email"]):
        await shared_ok(client, owner_headers, thread_id, email)

    rows = await audit_rows(app, "thread.shared")
    assert [(r.actor_id, r.target_type, r.target_id) for r in rows] == [
        (uuid.UUID(owner["id"]), "thread", thread_id)
    ] * 4
    (made,) = await shares_of(client, owner_headers, thread_id)
    assert [(r.outcome, json.loads(r.detail)) for r in rows] == [
        ("success", {"recipient_id": recipient["id"], "share_id": made["id"]}),
        ("failure", {"recipient": "unknown"}),
        ("failure", {"recipient": "self"}),
        ("failure", {"recipient_id": recipient["id"], "reason": "already_shared"}),
    ]
    # Nothing identifying of an address that names no account.
    assert all(unknown not in (r.detail + (r.target_id or "")) for r in rows)


async def test_a_refused_share_is_not_audited(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, _, _, headers, thread_id = await owner_recipient_thread(client)
    response = await share(client, headers, thread_id, unique_email())
    assert_problem(response, 403, "read_only")
    assert len(await audit_rows(app, "thread.shared")) == 1  # the owner's own share only


# threads:read:any ------------------------------------------------------------------------------


async def test_read_any_reads_every_thread_audited_and_never_listed(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner, owner_headers = await signed_up(client)
    thread_id = await new_thread(client, owner_headers, title="Private")
    run_id = await run_on(client, owner_headers, thread_id)
    reader, headers = await reader_of_any(app, client)

    thread = await client.get(f"{THREADS}/{thread_id}", headers=headers)
    assert thread.status_code == 200, thread.text
    assert thread.json()["owner"]["id"] == owner["id"]
    assert thread.json()["shared"] is False
    messages = await client.get(f"{THREADS}/{thread_id}/messages", headers=headers)
    assert (
        messages.json()
        == (await client.get(f"{THREADS}/{thread_id}/messages", headers=owner_headers)).json()
    )
    assert (await client.get(f"{RUNS}/{run_id}", headers=headers)).json()["id"] == run_id
    events = await client.get(f"{RUNS}/{run_id}/events", headers=headers)
    assert parse_sse(events.text)[-1]["type"] == "run.completed"

    rows = await audit_rows(app, "threads.read_any")
    assert len(rows) == 4  # one per read
    for row in rows:
        assert (row.actor_id, row.actor) == (uuid.UUID(reader["id"]), reader["email"])
        assert (row.target_type, row.target_id, row.outcome) == ("thread", thread_id, "success")
        assert row.ip is not None
    assert [json.loads(r.detail) for r in rows[2:]] == [{"run_id": run_id}] * 2

    # Never in the reader's lists.
    assert await listing(client, headers) == []
    assert await listing(client, headers, scope="shared") == []
    assert len(await audit_rows(app, "threads.read_any")) == 4


async def test_read_any_never_writes(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, owner_headers = await signed_up(client)
    thread_id = await new_thread(client, owner_headers, title="Private")
    run_id = await run_on(client, owner_headers, thread_id)
    _, headers = await reader_of_any(app, client)
    for method, url, body in [
        ("PATCH", f"{THREADS}/{thread_id}", {"title": "x"}),
        ("DELETE", f"{THREADS}/{thread_id}", None),
        ("POST", f"{THREADS}/{thread_id}/messages", {"content": "hello"}),
        ("POST", f"{RUNS}/{run_id}/cancel", None),
        ("POST", f"{THREADS}/{thread_id}/shares", {"email": unique_email()}),
        ("GET", f"{THREADS}/{thread_id}/shares", None),
    ]:
        response = await client.request(method, url, json=body, headers=headers)
        assert_problem(response, 403, "read_only")
    assert (await client.get(f"{THREADS}/{thread_id}", headers=owner_headers)).json()[
        "title"
    ] == "Private"
    # Refused writes show nothing of the thread: they are not reads.
    assert await audit_rows(app, "threads.read_any") == []


async def test_read_any_of_own_and_shared_threads_is_not_audited(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, owner_headers = await signed_up(client)
    reader, headers = await reader_of_any(app, client)
    shared_id = await new_thread(client, owner_headers)
    await shared_ok(client, owner_headers, shared_id, reader["email"])
    own_id = await new_thread(client, headers)
    for thread_id in (shared_id, own_id):
        assert (await client.get(f"{THREADS}/{thread_id}", headers=headers)).status_code == 200
        messages = await client.get(f"{THREADS}/{thread_id}/messages", headers=headers)
        assert messages.status_code == 200
    assert (await client.get(f"{THREADS}/{shared_id}", headers=headers)).json()["shared"] is True
    assert await audit_rows(app, "threads.read_any") == []
    # Still a 404 for a thread that does not exist.
    missing = await client.get(f"{THREADS}/{uuid.uuid4()}", headers=headers)
    assert_problem(missing, 404, "thread_not_found")
    assert await audit_rows(app, "threads.read_any") == []
