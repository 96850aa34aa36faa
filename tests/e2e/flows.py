"""What a person does in the app, as small steps the tests combine (names from the UI contract,
notes/ui-contract.md)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from playwright.async_api import BrowserContext, Locator, Page, expect

from confide.agents.mockllm import DRIP_TEXT
from tests.e2e.conftest import WAIT_MS
from tests.factories import PASSWORD, unique_email

CHAT_URL = re.compile(r"/chat/([^/?#]+)$")


async def create_account(context: BrowserContext, *, display_name: str | None = None) -> str:
    """Register through the API (the register page has its own test); return the email."""
    email = unique_email("e2e")
    body: dict[str, str] = {"email": email, "password": PASSWORD}
    if display_name is not None:
        body["display_name"] = display_name
    response = await context.request.post("/api/auth/register", data=body)
    assert response.status == 201, await response.text()
    return email


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).not_to_have_url(re.compile(r"/login"))
    # In every layout (on a phone the thread list folds away, the Account link stays).
    await expect(page.get_by_role("link", name="Account")).to_be_visible()


async def signed_in(context: BrowserContext, *, display_name: str | None = None) -> Page:
    """A new page signed in: as the context's user, or else as a new account."""
    page = await context.new_page()
    if (await context.request.get("/api/auth/me")).status == 200:
        await page.goto("/")
        await expect(page.get_by_role("link", name="Account")).to_be_visible()
        return page
    await sign_in(page, await create_account(context, display_name=display_name))
    return page


async def start_chat(page: Page, message: str, *, agent: str = "assistant") -> str:
    """Send the first message of a new chat with `agent`; return the thread id."""
    await page.goto("/")
    await page.get_by_label("Agent").select_option(agent)
    await page.get_by_label("Message", exact=True).fill(message)
    await page.get_by_role("button", name="Send").click()
    await expect(page).to_have_url(CHAT_URL)
    match = CHAT_URL.search(page.url)
    assert match is not None, page.url
    return match[1]


def messages(page: Page, role: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-role="{role}"]')


def tool_cards(page: Page) -> Locator:
    return page.get_by_test_id("tool-card")


# The mock LLM answers DRIP_TEXT (40 words) one word every 400 ms: long enough to press Stop
# in the middle, whatever the machine's speed (a condition the test waits on, not a measure).
SLOW_ANSWER = "tell me something long [[mock:drip=400]]"
SLOW_ANSWER_START = " ".join(DRIP_TEXT.split()[:4])


def live_status(page: Page) -> Locator:
    """The region that tells a screen reader how the answer is going."""
    return page.get_by_test_id("run-status")


def interrupted_mark(page: Page) -> Locator:
    return page.get_by_test_id("interrupted-mark")


async def stop_an_answer(page: Page) -> Locator:
    """A new chat with the `llm` agent on a slow answer, stopped once its first words show;
    returns the assistant's message."""
    await start_chat(page, SLOW_ANSWER, agent="llm")
    answer = messages(page, "assistant")
    await expect(answer).to_contain_text(SLOW_ANSWER_START)
    await page.get_by_role("button", name="Stop").click()
    await expect(interrupted_mark(page)).to_have_text("Stopped")
    await wait_until_idle(page)
    return answer


async def wait_until_idle(page: Page) -> None:
    """The run is over: the composer offers Send again, not Stop."""
    await expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    await expect(page.get_by_role("button", name="Send")).to_be_visible()


async def expect_add_answered_once(page: Page) -> None:
    """One `add` call that succeeded and one answer, "5 + 3 = 8.", nothing repeated."""
    answer = messages(page, "assistant").filter(has_text="5 + 3 = 8.")
    await expect(answer).to_have_count(1)
    await expect(tool_cards(page)).to_have_count(1)
    card = tool_cards(page).first
    await expect(card).to_have_attribute("data-status", "ok")
    await expect(card.locator("summary")).to_contain_text("add")
    await wait_until_idle(page)
    # Still once each after the run has ended (a late replay must not add copies).
    await expect(answer).to_have_count(1)
    await expect(tool_cards(page)).to_have_count(1)
    await expect(messages(page, "user")).to_have_count(1)


@asynccontextmanager
async def api_as(base_url: str, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client signed in as `email` with a bearer token (for a test's setup and its
    checks; what the test is about goes through the browser)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT_MS / 1000) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield client


async def user_id(base_url: str, email: str) -> str:
    async with api_as(base_url, email) as client:
        me = await client.get("/api/auth/me")
        assert me.status_code == 200, me.text
        return str(me.json()["id"])


async def csrf_headers(context: BrowserContext) -> dict[str, str]:
    """The header a cookie session's unsafe request carries (what the app's scripts send), so
    a refusal the test checks is the server's rule, not a missing CSRF token."""
    for cookie in await context.cookies():
        if cookie.get("name") in ("confide_csrf", "__Host-confide_csrf"):
            return {"X-CSRF-Token": cookie["value"]}  # type: ignore[typeddict-item]
    raise AssertionError("no CSRF cookie: not signed in with cookies")


def admin_nav(page: Page) -> Locator:
    """The admin section's tabs (each shown only with its permissions)."""
    return page.get_by_role("navigation", name="Administration")


async def open_admin(page: Page, tab: str) -> None:
    """From anywhere in the app: the top bar's Admin link, then one of the admin tabs."""
    await page.get_by_role("link", name="Admin", exact=True).click()
    await admin_nav(page).get_by_role("link", name=tab, exact=True).click()
    await expect(page.get_by_role("heading", level=1, name=tab)).to_be_visible()
