"""The administration, sharing and waiting pages as shipped, like the main pages in
test_quality.py: no Content-Security-Policy violation, no serious accessibility problem
(axe-core, both colour schemes), no sideways scrolling on a phone, and a screenshot of each."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.conftest import unavailable
from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import (
    api_as,
    create_account,
    expect_add_answered_once,
    open_admin,
    sign_in,
    start_chat,
)
from tests.e2e.test_quality import AXE, AXE_RUN, DESKTOP, PHONE, REPORT_VIOLATIONS, screenshot
from tests.factories import PASSWORD, unique_email

PAGES = [
    "admin-users",
    "admin-user",
    "admin-roles",
    "admin-role",
    "admin-invites",
    "admin-audit",
    "share-dialog",
    "shared-thread",
    "pending",
    "account-activity",
]


async def open_page(context: BrowserContext, server: Server, name: str) -> Page:
    """One of the pages, ready to look at, as an administrator (or a pending account)."""
    page = await context.new_page()
    if name == "pending":
        email = await create_account(context)
        await page.goto("/login")
        await page.get_by_label("Email", exact=True).fill(email)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Waiting for approval")).to_be_visible()
        return page
    email = unique_email("e2e-admin")
    server.create_user(email, admin=True)
    await create_account(context)  # someone waiting in the users list
    await sign_in(page, email)
    if name in ("admin-users", "admin-user"):
        await open_admin(page, "Users")
        await expect(page.get_by_test_id("user-row").first).to_be_visible()
        if name == "admin-user":
            await page.get_by_test_id("user-row").first.get_by_role("link").click()
            await expect(page.get_by_role("region", name="Roles")).to_be_visible()
    elif name in ("admin-roles", "admin-role"):
        await open_admin(page, "Roles")
        if name == "admin-role":
            await page.get_by_role("link", name="New role").click()
            await page.get_by_label("Inherits from").select_option("user")
            await expect(page.get_by_text("from user").first).to_be_visible()
    elif name == "admin-invites":
        await open_admin(page, "Invites")
        await page.get_by_role("button", name="Create invite").click()
        await expect(page.get_by_test_id("invite-link")).to_be_visible()
        await expect(page.get_by_test_id("invite-row").first).to_be_visible()
    elif name == "admin-audit":
        await open_admin(page, "Audit log")
        await expect(page.get_by_test_id("audit-row").first).to_be_visible()
    elif name == "account-activity":
        await page.goto("/settings")
        events = page.get_by_role("list", name="Account activity").get_by_role("listitem")
        await expect(events.first).to_be_visible()
    elif name == "share-dialog":
        await start_chat(page, "add 5 and 3")
        await expect_add_answered_once(page)
        await page.get_by_role("button", name="Share").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Email").fill(unique_email("e2e-nobody"))
        await dialog.get_by_role("button", name="Share").click()
        await expect(dialog.get_by_role("status")).not_to_be_empty()
    elif name == "shared-thread":
        thread_id = await start_chat(page, "add 5 and 3")
        await expect_add_answered_once(page)
        reader = unique_email("e2e-reader")
        server.create_user(reader)
        async with api_as(server.url, email) as client:
            shared = await client.post(f"/api/threads/{thread_id}/shares", json={"email": reader})
            assert shared.status_code == 202, shared.text
        await page.get_by_role("button", name="Sign out").click()
        await sign_in(page, reader)
        await page.goto(f"/chat/{thread_id}")
        await expect(page.get_by_test_id("shared-note")).to_be_visible()
        # In the sidebar, behind the "Threads" button on a phone.
        menu = page.get_by_role("button", name="Threads")
        if await menu.is_visible():
            await menu.click()
        await expect(page.get_by_role("navigation", name="Shared with me")).to_be_visible()
    else:
        raise AssertionError(name)
    return page


async def test_the_pages_break_no_content_security_rule(
    new_context: NewContext, approval_server: Server
) -> None:
    violations: list[str] = []
    context = await new_context(base_url=approval_server.url, viewport=DESKTOP)

    def report(text: str) -> None:
        violations.append(text)

    await context.expose_function("confideCspViolation", report)
    await context.add_init_script(REPORT_VIOLATIONS)
    context.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for name in PAGES:
        await context.clear_cookies()
        page = await open_page(context, approval_server, name)
        await screenshot(page, name)
        await page.close()
    assert violations == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
async def test_no_serious_accessibility_problems(
    new_context: NewContext, approval_server: Server, name: str, scheme: str
) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed ({AXE}): run `npm --prefix web ci`")
    context = await new_context(
        base_url=approval_server.url, viewport=DESKTOP, bypass_csp=True, color_scheme=scheme
    )
    page = await open_page(context, approval_server, name)
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@pytest.mark.parametrize("name", ["admin-users", "admin-role", "admin-audit", "shared-thread"])
async def test_the_pages_fit_a_phone_without_sideways_scrolling(
    new_context: NewContext, approval_server: Server, name: str
) -> None:
    context = await new_context(
        base_url=approval_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = await open_page(context, approval_server, name)
    await screenshot(page, f"{name}-phone")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width}px wide on a {PHONE['width']}px screen"
    # The top bar's links stay on the screen (the Admin link makes it the widest).
    for link in ("Account", "Sign out"):
        box = await page.get_by_role("banner").get_by_text(link, exact=True).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= PHONE["width"], (link, box)
