"""Chatting in the browser: a tool call and its answer streaming in, a reload in the middle of
a run, renaming and deleting a thread, and one user's threads invisible to another."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import (
    SLOW_ANSWER,
    SLOW_ANSWER_START,
    expect_add_answered_once,
    interrupted_mark,
    live_status,
    messages,
    signed_in,
    start_chat,
    tool_cards,
    wait_until_idle,
)


async def test_the_assistant_calls_add_and_answers(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    agent = page.get_by_label("Agent")
    await expect(agent.locator('option[value="assistant"]')).to_have_text("Assistant")
    await start_chat(page, "add 5 and 3")
    await expect(messages(page, "user")).to_contain_text("add 5 and 3")
    # The thread is titled from its first message (to_have_title waits for it to change).
    await expect(page).to_have_title("add 5 and 3 · Confide")
    await expect_add_answered_once(page)
    card = tool_cards(page).first
    await card.locator("summary").click()
    await expect(card).to_contain_text("8")
    await expect(page.get_by_role("heading", level=1)).to_have_text("add 5 and 3")
    await expect(page.get_by_role("navigation", name="Threads").get_by_role("link")).to_have_text(
        ["add 5 and 3"]
    )


async def test_a_reload_during_a_run_resumes_it_without_copies(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    # The mock LLM waits 3 s before each answer: the reload lands while the run waits.
    await start_chat(page, "add 5 and 3 [[mock:slow=3]]", agent="llm")
    await expect(messages(page, "user")).to_have_count(1)
    await expect(page.get_by_role("button", name="Stop")).to_be_visible()
    await page.reload()
    await expect(messages(page, "user")).to_have_count(1)
    await expect_add_answered_once(page)
    await page.reload()
    await expect_add_answered_once(page)


async def test_a_stopped_answer_keeps_its_text_and_the_thread_goes_on(
    new_context: NewContext,
) -> None:
    page = await signed_in(await new_context())
    await start_chat(page, SLOW_ANSWER, agent="llm")
    answer = messages(page, "assistant")
    await expect(answer).to_contain_text(SLOW_ANSWER_START)
    # Titled while the first answer streams (Stop is still there to press below).
    await expect(page).to_have_title(f"{SLOW_ANSWER} · Confide")
    await page.get_by_role("button", name="Stop").click()

    await expect(interrupted_mark(page)).to_have_text("Stopped")
    await expect(live_status(page)).to_have_text("The answer was stopped.")
    await wait_until_idle(page)
    await expect(answer).to_have_count(1)
    text = answer.locator(".markdown")
    await expect(text).to_have_count(1)  # the streamed draft gave way to the stored message
    shown = await text.inner_text()
    assert shown.startswith(SLOW_ANSWER_START), shown
    await expect(page.get_by_role("alert")).to_have_count(0)

    await page.reload()
    await expect(answer).to_have_count(1)
    await expect(text).to_have_text(shown)
    await expect(interrupted_mark(page)).to_have_text("Interrupted")

    # Exactly: the messages' buttons ("Copy message", "Edit message") have the word too.
    await page.get_by_label("Message", exact=True).fill("add 5 and 3")
    await page.get_by_role("button", name="Send").click()
    await expect(answer.filter(has_text="5 + 3 = 8.")).to_have_count(1)
    await wait_until_idle(page)
    await expect(live_status(page)).to_have_text("The answer is complete.")
    await expect(answer).to_have_count(2)
    await expect(answer.first.locator(".markdown")).to_have_text(shown)
    await expect(interrupted_mark(page)).to_have_count(1)


async def test_rename_and_delete_a_thread(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    thread_id = await start_chat(page, "add 5 and 3")
    await wait_until_idle(page)
    sidebar = page.get_by_role("navigation", name="Threads")

    await page.get_by_role("button", name="Rename thread").click()
    await page.get_by_label("Thread title").fill("Sums for Friday")
    await page.get_by_label("Thread title").press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sums for Friday")
    await expect(sidebar.get_by_role("link", name="Sums for Friday")).to_be_visible()
    stored = await page.request.get(f"/api/threads/{thread_id}")
    assert (await stored.json())["title"] == "Sums for Friday"

    await page.get_by_role("button", name="Rename thread").click()
    await page.get_by_label("Thread title").fill("Never saved")
    await page.get_by_label("Thread title").press("Escape")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sums for Friday")

    await page.get_by_role("button", name="Delete thread").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_have_attribute("aria-modal", "true")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(sidebar.get_by_role("link", name="Sums for Friday")).to_have_count(0)
    assert (await page.request.get(f"/api/threads/{thread_id}")).status == 404


async def test_another_users_threads_stay_invisible(new_context: NewContext) -> None:
    alice = await signed_in(await new_context())
    alice_thread = await start_chat(alice, "add 5 and 3")
    await wait_until_idle(alice)
    await alice.get_by_role("button", name="Rename thread").click()
    await alice.get_by_label("Thread title").fill("Alice's private sums")
    await alice.get_by_role("button", name="Save").click()
    await expect(alice.get_by_role("heading", level=1)).to_have_text("Alice's private sums")

    bob = await signed_in(await new_context())
    await start_chat(bob, "hello")
    await wait_until_idle(bob)
    sidebar = bob.get_by_role("navigation", name="Threads")
    await expect(sidebar.get_by_role("link")).to_have_count(1)
    await expect(sidebar).not_to_contain_text("Alice's private sums")

    await bob.goto(f"/chat/{alice_thread}")
    await expect(bob.get_by_role("alert")).to_contain_text(
        re.compile("not found|does not exist", re.IGNORECASE)
    )
    await expect(bob.get_by_text("Alice's private sums")).to_have_count(0)
    await expect(messages(bob, "user")).to_have_count(0)
