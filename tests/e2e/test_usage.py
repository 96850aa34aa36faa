"""Usage in the browser: an answer shows its tokens and model time when hovered or focused
(also once reloaded from history), a tool card its stored status and duration, and Settings
the caller's totals by day and by month."""

from __future__ import annotations

import re

from playwright.async_api import Locator, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import (
    expect_add_answered_once,
    messages,
    signed_in,
    start_chat,
    tool_cards,
    wait_until_idle,
)

USAGE_LINE = re.compile(r"\d+ in · \d+ out tokens · [\d.]+ m?s · 2 model requests")


async def expect_shown_on_hover(answer: Locator) -> None:
    meta = answer.get_by_test_id("message-meta")
    await expect(meta).to_have_text(re.compile(r"Usage: " + USAGE_LINE.pattern))
    await expect(meta).to_have_css("opacity", "0")
    await answer.hover()
    await expect(meta).to_have_css("opacity", "1")


async def test_an_answer_shows_its_usage_on_hover_and_focus(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    await start_chat(page, "add 5 and 3", agent="llm")
    await expect_add_answered_once(page)
    await wait_until_idle(page)
    answer = messages(page, "assistant")
    await expect_shown_on_hover(answer)

    await page.reload()  # from history: the stored usage and tool outcome
    await expect_add_answered_once(page)
    await expect_shown_on_hover(answer)
    card = tool_cards(page).first
    await expect(card).to_have_attribute("data-status", "ok")
    await expect(card.locator(".tool-duration")).to_have_text(re.compile(r"[\d.]+ m?s"))

    await page.mouse.move(0, 0)  # away: hidden again, until focus is inside the message
    meta = answer.get_by_test_id("message-meta")
    await expect(meta).to_have_css("opacity", "0")
    await answer.get_by_role("button", name="Copy message").focus()
    await expect(meta).to_have_css("opacity", "1")

    await page.goto(page.url.split("/chat/")[0] + "/settings")
    usage = page.get_by_test_id("usage-settings")
    await expect(usage.get_by_test_id("usage-totals")).to_contain_text(
        re.compile(
            r"Last 30 days: [1-9][\d,]* tokens in, [1-9][\d,]* out, "
            r"in 2 answers \(1 turn, 1 tool call\)"
        )
    )
    await usage.get_by_role("button", name="By month").click()
    await expect(usage.get_by_test_id("usage-totals")).to_contain_text("Last 12 months")
    await expect(
        usage.get_by_role("list", name="Tokens per month").get_by_role("listitem")
    ).to_have_count(12)
