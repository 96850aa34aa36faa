"""Account activity on the settings page: the user's own sign-ins (with IP and device),
refused sign-ins, password changes and ended sessions, newest first, page by page."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.async_api import APIResponse, Route, expect

from tests.e2e.conftest import NewContext, Server, _serve
from tests.e2e.flows import create_account, sign_in
from tests.factories import PASSWORD

PAGE = 20  # the page's page size (ACCOUNT_EVENTS_PAGE in web/src/api/auth.ts)


@pytest.fixture(scope="module")
def patient_server(mock_llm_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """More refused sign-ins into one account than a lockout allows (5 by default, tested in
    tests/throttle and test_ip_rules.py): this test is about listing them."""
    home = tmp_path_factory.mktemp("e2e-activity")
    with _serve(home, mock_llm_url, lockout_threshold="1000") as running:
        yield running


async def test_account_activity_lists_the_accounts_events_newest_first(
    new_context: NewContext, patient_server: Server
) -> None:
    context = await new_context(base_url=patient_server.url)
    email = await create_account(context)
    # More refused sign-ins than one page holds, then a real one and a password change.
    for _ in range(PAGE):
        refused = await context.request.post(
            "/api/auth/login", data={"email": email, "password": PASSWORD + "-wrong"}
        )
        assert refused.status == 401
    page = await context.new_page()
    await sign_in(page, email)
    # The page's first read of the list is answered by the server before the password change
    # but reaches the page only after it: the page must read the list again, not keep that
    # answer (React Query folds a refetch into a first fetch still in flight).
    held: list[tuple[Route, APIResponse]] = []
    first_read = asyncio.Event()

    async def hold_the_first_read(route: Route) -> None:
        if held:
            await route.continue_()
            return
        held.append((route, await route.fetch()))
        first_read.set()

    await page.route("**/api/auth/events?*", hold_the_first_read)
    await page.goto("/settings")
    await asyncio.wait_for(first_read.wait(), timeout=20)
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password").fill("walnut harbour lantern 42")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status").filter(has_text="Password changed")).to_be_visible()
    stale_route, stale_answer = held[0]
    await stale_route.fulfill(response=stale_answer)

    activity = page.get_by_role("list", name="Account activity")
    events = activity.get_by_role("listitem")
    await expect(events).to_have_count(PAGE)
    await expect(events.nth(0)).to_have_attribute("data-action", "auth.password_changed")
    await expect(events.nth(0)).to_contain_text("Password changed")
    await expect(events.nth(1)).to_have_attribute("data-action", "auth.signed_in")
    await expect(events.nth(1)).to_have_attribute("data-outcome", "success")
    await expect(events.nth(1)).to_contain_text("Signed in")
    # From where: this browser, on this machine.
    await expect(events.nth(1)).to_contain_text("127.0.0.1")
    await expect(events.nth(1)).to_contain_text("Chrome")
    await expect(events.nth(2)).to_contain_text("Failed sign-in: wrong password")
    await expect(events.nth(2)).to_have_attribute("data-outcome", "failure")

    await page.get_by_role("button", name="Load more activity").click()
    await expect(page.get_by_role("button", name="Load more activity")).to_have_count(0)
    failures = activity.locator('[data-action="auth.signed_in"][data-outcome="failure"]')
    await expect(failures).to_have_count(PAGE)
    # The oldest last: the account's creation.
    await expect(events.last).to_have_attribute("data-action", "auth.registered")
    await expect(events.last).to_contain_text("Account created")
    await expect(events).to_have_count(PAGE + 3)
