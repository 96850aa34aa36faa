"""Two-factor authentication in the browser: enrol an authenticator app from the QR code's
key (codes computed with pyotp, as the app would), keep the backup codes, sign in with a code,
then with a backup code, and turn it off behind the step-up prompt."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.async_api import Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import create_account, sign_in
from tests.factories import PASSWORD


async def password_step(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("mfa-step")).to_be_visible()


async def test_enrol_sign_in_with_codes_and_turn_off(new_context: NewContext) -> None:
    context = await new_context()
    email = await create_account(context)
    page = await context.new_page()
    await sign_in(page, email)
    await page.goto("/settings")
    await page.get_by_role("button", name="Set up an authenticator app").click()
    await expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    totp = pyotp.TOTP((await page.get_by_test_id("totp-secret").inner_text()).strip())
    now = time.time()
    await page.get_by_label("Code from the app").fill(totp.at(now))
    await page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_test_id("backup-codes").get_by_role("listitem")
    await expect(codes).to_have_count(10)
    backup = (await codes.first.inner_text()).strip()
    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.get_by_test_id("mfa-on")).to_contain_text("10 backup codes left")

    # A new sign-in asks for the second step. The enrolment's code was spent: the app's next
    # code (its step is inside the +-1 window) signs in.
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await password_step(page, email)
    await page.get_by_label("Authentication code").fill(totp.at(now + 30))
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("link", name="Account")).to_be_visible()

    # ... and a backup code does too, once.
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await password_step(page, email)
    await page.get_by_label("Authentication code").fill(backup)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("link", name="Account")).to_be_visible()
    await page.goto("/settings")
    await expect(page.get_by_test_id("mfa-on")).to_contain_text("9 backup codes left")

    # Turning it off is a sensitive change: outside the step-up window it asks first. The
    # sign-in just now counts as recent, so this only asks if the server says so; either way
    # MFA ends up off.
    await page.get_by_role("button", name="Turn off two-factor authentication").click()
    dialog = page.get_by_role("dialog", name="Confirm it's you")
    setup = page.get_by_role("button", name="Set up an authenticator app")
    await expect(dialog.or_(setup)).to_be_visible()
    if await dialog.is_visible():
        await dialog.get_by_label("Password").fill(PASSWORD)
        await dialog.get_by_role("button", name="Confirm").click()
    await expect(setup).to_be_visible()
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await sign_in(page, email)  # no second step any more
    assert not re.search(r"/login", page.url)
