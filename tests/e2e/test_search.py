"""Search in the browser: from the sidebar to the search page, a hit's snippet and thread,
and its link landing on the message; another account finds none of it."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import expect_add_answered_once, messages, signed_in, start_chat


async def test_a_word_is_found_shown_and_its_message_opened(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    thread_id = await start_chat(page, "add 5 and 3 for the quokka budget")
    await expect_add_answered_once(page)
    await start_chat(page, "add 2 and 2")

    await page.get_by_role("searchbox", name="Search threads").fill("Quokka")
    await page.get_by_role("link", name="Search in messages").click()
    await expect(page).to_have_url(re.compile(r"/search\?q=Quokka$"))
    results = page.get_by_role("list", name="Search results").get_by_test_id("search-result")
    # The message, and the title the thread took from it.
    await expect(results).to_have_count(2)
    hit = results.filter(has_text="You")
    await expect(hit).to_contain_text("add 5 and 3 for the quokka budget")
    # The word searched for is marked, in the thread's title and in the message's snippet.
    await expect(hit.locator("mark")).to_have_text(["quokka", "quokka"])
    await hit.get_by_role("link").click()
    await expect(page).to_have_url(
        re.compile(rf"/chat/{thread_id}\?highlight=Quokka#message-[0-9a-f-]+$")
    )
    target = messages(page, "user").filter(has_text="quokka")
    await expect(target).to_have_class(re.compile(r"\bsearch-target\b"))
    await expect(target).to_be_in_viewport()
    await expect(target.locator("mark")).to_have_text(["quokka"])

    # Whole words only, and a query with none of them says so.
    await page.goto("/search?q=quok")
    await expect(page.get_by_text("Nothing matches “quok”.")).to_be_visible()

    other = await signed_in(await new_context())
    await other.goto("/search?q=quokka")
    await expect(other.get_by_text("Nothing matches “quokka”.")).to_be_visible()
