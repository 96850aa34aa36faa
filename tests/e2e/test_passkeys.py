"""Passkeys in the browser, with Chromium's virtual authenticator (a CTAP2 platform
authenticator that verifies its user): add one on the Account page, sign out, sign in with
the passkey alone, then use it as the second step after the password; and confirm a
sensitive change with it when the step-up prompt asks.

WebAuthn needs a secure context and an RP ID that is a domain: the page is opened as
http://localhost:<port> (Chromium counts localhost as secure), never 127.0.0.1."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from confide.auth.models import AuthSession
from confide.db.base import utcnow
from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import create_account, sign_in, user_id
from tests.factories import PASSWORD

VERIFY = re.compile(r"/api/auth/passkeys/authenticate/verify$")
REAUTH_VERIFY = re.compile(r"/api/auth/passkeys/reauth/verify$")


async def age_sessions(server: Server, user: str) -> None:
    """The user's sessions last proved who they are two hours ago, past the server's step-up
    window (CONFIDE_REAUTH_WINDOW_SECONDS=3600): written in its embedded database, which the
    step-up check reads on every request."""
    database = Path(server.env["CONFIDE_DATA_DIR"]) / "confide.db"
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(AuthSession)
                .where(AuthSession.user_id == uuid.UUID(user))
                .values(authenticated_at=utcnow() - timedelta(hours=2))
            )
    finally:
        await engine.dispose()


async def virtual_authenticator(context: BrowserContext, page: Page) -> str:
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return str(added["authenticatorId"])


async def test_register_a_passkey_and_sign_in_with_it(
    new_context: NewContext, server_url: str
) -> None:
    context = await new_context(base_url=server_url.replace("127.0.0.1", "localhost"))
    email = await create_account(context)
    page = await context.new_page()
    await virtual_authenticator(context, page)
    await sign_in(page, email)

    await page.goto("/settings")
    passkeys = page.get_by_role("list", name="Passkeys")
    await page.get_by_label("Passkey name").fill("Virtual key")
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(passkeys.get_by_test_id("passkey")).to_have_count(1)
    await expect(passkeys).to_contain_text("Virtual key")
    await expect(passkeys).to_contain_text("never used")

    # Signed out, the passkey alone signs in: no email, no password, no second step.
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Continue with a passkey")).to_be_visible()
    async with page.expect_response(VERIFY) as answered:
        await page.get_by_role("button", name="Continue with a passkey").click()
    assert (await answered.value).status == 200
    await expect(page).not_to_have_url(re.compile(r"/login"))
    await expect(page.get_by_role("link", name="Account")).to_be_visible()
    await page.goto("/settings")
    await expect(page.get_by_text("Signed in as")).to_contain_text(email)
    await expect(passkeys).to_contain_text("last used")

    # With a passkey registered, the password is followed by a second step the passkey ends.
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_test_id("mfa-step")).to_be_visible()
    async with page.expect_response(VERIFY) as answered:
        await page.get_by_role("button", name="Use a passkey").click()
    assert (await answered.value).status == 200
    await expect(page.get_by_role("link", name="Account")).to_be_visible()
    await page.goto("/settings")
    await expect(page.get_by_text("Signed in as")).to_contain_text(email)


async def test_confirm_a_sensitive_change_with_a_passkey(
    new_context: NewContext, server: Server
) -> None:
    context = await new_context(base_url=server.url.replace("127.0.0.1", "localhost"))
    email = await create_account(context)
    user = await user_id(server.url, email)
    page = await context.new_page()
    await virtual_authenticator(context, page)
    await sign_in(page, email)
    await page.goto("/settings")
    passkeys = page.get_by_role("list", name="Passkeys")
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(passkeys.get_by_test_id("passkey")).to_have_count(1)

    # Long after the sign-in, deleting the passkey asks first: the passkey itself answers.
    await age_sessions(server, user)
    await passkeys.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Confirm it's you")
    await expect(dialog).to_be_visible()
    async with page.expect_response(REAUTH_VERIFY) as answered:
        await dialog.get_by_role("button", name="Use a passkey").click()
    assert (await answered.value).status == 200
    await expect(dialog).to_be_hidden()
    # The change was sent again and went through.
    await expect(passkeys.get_by_test_id("passkey")).to_have_count(0)
    await expect(page.get_by_text("No passkeys yet.")).to_be_visible()
