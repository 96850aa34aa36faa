"""Set-password links: for accounts an admin or the shell made without a password their owner
knows, and invitations mailed to the invitee (issue 11, deliverable 2)."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import User
from tests.account.mail import mails, settle
from tests.admin.helpers import admin, audit
from tests.factories import assert_problem, login, register, signed_up
from tests.test_cli import cli_env, confide

NEW_PASSWORD = "quartz-lantern-meadow-77"


async def test_an_admin_mails_a_set_password_link_it_never_sees(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, admin_headers = await admin(client, app)
    user = await register(client)
    response = await client.post(
        f"/api/admin/users/{user['id']}/password-link", headers=admin_headers
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"email": user["email"]}
    assert "token" not in response.text
    await settle(app)
    mail = next(m for m in mails(app, user["email"]) if "reset-password" in m.text)
    assert mail.subject == "Set your Confide password"
    _, token = mail.link("reset-password")
    assert token not in response.text
    reset = await client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text
    await login(client, email=user["email"], password=NEW_PASSWORD)
    (sent,) = await audit(app, "user.password_link_sent")
    assert str(sent.target_id) == user["id"]


async def test_a_plain_user_cannot_send_password_links(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    other = await register(client)
    _, headers = await signed_up(client)
    response = await client.post(f"/api/admin/users/{other['id']}/password-link", headers=headers)
    assert response.status_code == 403, response.text
    await settle(app)
    assert not [m for m in mails(app, other["email"]) if "reset-password" in m.text]


async def test_no_link_for_a_disabled_account(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, admin_headers = await admin(client, app)
    user = await register(client)
    async with app.state.database.session() as db:
        await db.execute(update(User).where(User.email == user["email"]).values(status="disabled"))
    response = await client.post(
        f"/api/admin/users/{user['id']}/password-link", headers=admin_headers
    )
    assert_problem(response, 403, "account_disabled")


async def test_an_invitation_can_be_mailed(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, admin_headers = await admin(client, app)
    invitee = "invitee-mailed@example.org"
    created = await client.post(
        "/api/admin/invites", json={"email": invitee, "send": True}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    await settle(app)
    (mail,) = mails(app, invitee)
    assert created.json()["link"] in mail.text
    refused = await client.post("/api/admin/invites", json={"send": True}, headers=admin_headers)
    assert_problem(refused, 422, "validation_error")


def test_users_create_send_link_mails_a_working_link(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data", CONFIDE_PUBLIC_URL="https://chat.example.org")
    done = confide(
        "users", "create", "--email", "new-hire@example.org", "--send-link", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "Mailed a set-password link." in done.stdout
    (path,) = (tmp_path / "data" / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert str(message["To"]) == "new-hire@example.org"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert re.search(
        r"https://chat\.example\.org/reset-password\?token=[A-Za-z0-9_-]{43}", body.get_content()
    )
