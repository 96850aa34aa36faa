"""Passkeys in the browser, with Chromium's virtual authenticator (a CTAP2 platform
authenticator that verifies its user): add one on the Account page, sign out, sign in with
the passkey alone, then use it as the second step after the password.

WebAuthn needs a secure context and an RP ID that is a domain: the page is opened as
http://localhost:<port> (Chromium counts localhost as secure), never 127.0.0.1."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import create_account, sign_in
from tests.factories import PASSWORD

VERIFY = re.compile(r"/api/auth/passkeys/authenticate/verify$")


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
