"""An account waiting for approval (CONFIDE_REGISTRATION=approval): it can sign in and sees
only the "Waiting for approval" page, whatever address it opens, until an administrator
approves it; then the app."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import api_as, user_id
from tests.factories import PASSWORD, unique_email


async def test_a_pending_user_sees_only_the_waiting_page_until_approved(
    new_context: NewContext, approval_server: Server
) -> None:
    admin = unique_email("e2e-admin")
    approval_server.create_user(admin, admin=True)
    context = await new_context(base_url=approval_server.url)
    page = await context.new_page()
    email = unique_email("e2e-pending")
    await page.goto("/register")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()

    waiting = page.get_by_role("heading", level=1, name="Waiting for approval")
    await expect(waiting).to_be_visible()
    await expect(page.get_by_test_id("pending-approval")).to_contain_text(email)
    # Nothing else of the app, at any address: no threads, no agents, no account page.
    for path in ("/", "/settings", "/admin/users", "/chat/anything"):
        await page.goto(path)
        await expect(waiting).to_be_visible()
        await expect(page.get_by_role("link", name="Account")).to_have_count(0)
        await expect(page.get_by_label("Agent")).to_have_count(0)
        await expect(page.get_by_role("navigation", name="Threads")).to_have_count(0)
    refused = await page.request.get("/api/threads")
    assert refused.status == 403
    assert (await refused.json())["code"] == "pending_approval"

    # Asking again changes nothing until an administrator approves.
    await page.goto("/")
    await page.get_by_role("button", name="Check again").click()
    await expect(page.get_by_role("button", name="Check again")).to_be_enabled()
    await expect(waiting).to_be_visible()

    async with api_as(approval_server.url, admin) as client:
        approved = await client.patch(
            f"/api/admin/users/{await user_id(approval_server.url, email)}",
            json={"status": "active"},
        )
        assert approved.status_code == 200, approved.text
    await page.get_by_role("button", name="Check again").click()
    await expect(page.get_by_label("Agent")).to_be_visible()
    await expect(page.get_by_role("link", name="Account")).to_be_visible()
    await expect(waiting).to_have_count(0)


async def test_a_pending_user_can_sign_out_from_the_waiting_page(
    new_context: NewContext, approval_server: Server
) -> None:
    context = await new_context(base_url=approval_server.url)
    email = unique_email("e2e-pending")
    registered = await context.request.post(
        "/api/auth/register", data={"email": email, "password": PASSWORD}
    )
    assert registered.status == 201
    assert (await registered.json())["status"] == "pending"
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1, name="Waiting for approval")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    assert (await page.request.get("/api/auth/me")).status == 401
