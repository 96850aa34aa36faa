"""Accounts in the browser: register, sign in (and back to the page asked for), sign out,
and signing out every session from the settings page."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import create_account, sign_in, signed_in
from tests.factories import PASSWORD, unique_email

LOGIN_FOR_SETTINGS = re.compile(r"/login\?next=(%2F|/)settings$")


async def test_register_signs_the_new_user_in(page: Page) -> None:
    await page.goto("/login")
    await page.get_by_role("link", name="Create an account").click()
    await expect(page).to_have_url(re.compile(r"/register$"))
    await page.get_by_label("Email", exact=True).fill(unique_email("e2e"))
    await page.get_by_label("Display name").fill("Rosalind")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(page.get_by_label("Agent")).to_be_visible()
    me = await page.request.get("/api/auth/me")
    assert me.status == 200
    assert (await me.json())["display_name"] == "Rosalind"


async def test_a_weak_password_is_refused_with_an_alert(page: Page) -> None:
    await page.goto("/register")
    await page.get_by_label("Email", exact=True).fill(unique_email("e2e"))
    await page.get_by_label("Password", exact=True).fill("password1234")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/register$"))


async def test_sign_in_returns_to_the_page_asked_for(new_context: NewContext) -> None:
    context = await new_context()
    email = await create_account(context)
    page = await context.new_page()
    await page.goto("/settings")
    await expect(page).to_have_url(LOGIN_FOR_SETTINGS)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/settings$"))
    await expect(page.get_by_role("button", name="Sign out everywhere")).to_be_visible()


async def test_wrong_password_shows_an_alert_and_stays(new_context: NewContext) -> None:
    context = await new_context()
    email = await create_account(context)
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD + "-wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/login"))


async def test_sign_out_then_app_pages_go_to_login(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.goto("/settings")
    await expect(page).to_have_url(LOGIN_FOR_SETTINGS)
    assert (await page.request.get("/api/auth/me")).status == 401


async def test_sign_out_everywhere_ends_the_other_sessions(new_context: NewContext) -> None:
    laptop_context, phone_context = await new_context(), await new_context()
    email = await create_account(laptop_context)
    laptop, phone = await laptop_context.new_page(), await phone_context.new_page()
    await sign_in(laptop, email)
    await sign_in(phone, email)

    await phone.goto("/settings")
    sessions = phone.get_by_role("list", name="Sessions")
    await expect(sessions.get_by_role("listitem")).to_have_count(2)
    await expect(sessions.get_by_role("button", name="Sign out this device")).to_have_count(1)
    phone.on("dialog", lambda dialog: dialog.accept())
    await phone.get_by_role("button", name="Sign out everywhere").click()
    await expect(phone).to_have_url(re.compile(r"/login"))

    assert (await laptop.request.get("/api/auth/me")).status == 401
    await laptop.goto("/settings")
    await expect(laptop).to_have_url(LOGIN_FOR_SETTINGS)


async def test_changing_the_password_signs_out_other_devices(new_context: NewContext) -> None:
    laptop_context, phone_context = await new_context(), await new_context()
    email = await create_account(laptop_context)
    laptop, phone = await laptop_context.new_page(), await phone_context.new_page()
    await sign_in(laptop, email)
    await sign_in(phone, email)
    new_password = "walnut harbour lantern 42"

    await laptop.goto("/settings")
    await laptop.get_by_label("Current password").fill(PASSWORD)
    await laptop.get_by_label("New password").fill(new_password)
    await laptop.get_by_role("button", name="Change password").click()
    await expect(laptop.get_by_role("status")).to_contain_text("Password changed")

    assert (await laptop.request.get("/api/auth/me")).status == 200  # this device stays in
    assert (await phone.request.get("/api/auth/me")).status == 401  # the other is out
    signed_out = await (await new_context()).new_page()
    await signed_out.goto("/login")
    await signed_out.get_by_label("Email", exact=True).fill(email)
    await signed_out.get_by_label("Password", exact=True).fill(new_password)
    await signed_out.get_by_role("button", name="Sign in").click()
    await expect(signed_out.get_by_role("link", name="Account")).to_be_visible()


async def test_no_token_is_readable_by_the_pages_scripts(new_context: NewContext) -> None:
    context = await new_context()
    page = await signed_in(context)
    await page.goto("/settings")
    await expect(page.get_by_role("list", name="Sessions")).to_be_visible()
    cookies = {c["name"]: c for c in await context.cookies()}
    token_cookies = [c for c in cookies.values() if "csrf" not in c["name"]]
    assert token_cookies, cookies.keys()  # signed in by cookies...
    assert all(c["httpOnly"] for c in token_cookies)  # ...that scripts cannot read
    seen_by_scripts = await page.evaluate(
        """() => [document.cookie,
                 ...Object.values(localStorage), ...Object.values(sessionStorage)].join(" ")"""
    )
    for cookie in token_cookies:
        assert cookie["value"] not in seen_by_scripts
        assert cookie["name"] not in seen_by_scripts
    assert "eyJ" not in seen_by_scripts  # no JWT anywhere a script can reach
