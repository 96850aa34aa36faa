"""Changing the email address in the browser: the settings form, the link read from the
outbox channel's files, the confirm page, and the settings page showing the new address in
the same (kept) session. A fresh sign-in, so no step-up prompt (that is tested in Vitest)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import create_account, sign_in
from tests.e2e.test_account_links import link_in_mail
from tests.factories import unique_email


async def test_change_the_email_address_through_the_link(
    new_context: NewContext, server: Server
) -> None:
    context = await new_context()
    page = await context.new_page()
    old_address = await create_account(context)
    await sign_in(page, old_address)
    new_address = unique_email("e2e-new")

    await page.goto("/settings")
    section = page.get_by_role("region", name="Email address")
    await expect(section.get_by_test_id("current-email")).to_contain_text(old_address)
    await section.get_by_label("New email address").fill(new_address)
    await section.get_by_role("button", name="Change email").click()
    await expect(section.get_by_test_id("email-change-sent")).to_contain_text(new_address)
    await expect(section.get_by_test_id("current-email")).to_contain_text(old_address)

    await page.goto(await link_in_mail(server, new_address, "confirm-email"))
    await expect(page.get_by_test_id("email-change-done")).to_contain_text(new_address)
    assert "token=" not in page.url  # taken out of the address bar

    # This browser's session was the one that followed the link: it is kept.
    await page.goto("/settings")
    current = page.get_by_role("region", name="Email address").get_by_test_id("current-email")
    await expect(current).to_contain_text(new_address)
    await expect(current).to_contain_text("Verified")
    me = await context.request.get("/api/auth/me")
    assert me.status == 200
    assert (await me.json())["email"] == new_address
