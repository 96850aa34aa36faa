"""Branches in the browser: a question edited (a new answer, "2/2", back to "1/2" and the old
answer), an answer regenerated, a stopped answer continued, copying a message, and the
keyboard shortcuts that move the focus."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import (
    interrupted_mark,
    live_status,
    messages,
    signed_in,
    start_chat,
    stop_an_answer,
    wait_until_idle,
)


def position(message: Locator) -> Locator:
    """The "2/3" of a message's version switcher."""
    return message.get_by_test_id("branch-position")


async def answered(page: Page, text: str) -> Locator:
    """The one assistant turn, once it says `text` and the run is over."""
    answer = messages(page, "assistant")
    await expect(answer).to_have_count(1)
    await expect(answer).to_contain_text(text)
    await wait_until_idle(page)
    return answer


async def test_an_edited_question_gets_a_new_answer_and_the_old_one_stays_a_version_away(
    new_context: NewContext,
) -> None:
    page = await signed_in(await new_context())
    await start_chat(page, "add 5 and 3")
    await answered(page, "5 + 3 = 8.")
    question = messages(page, "user")
    await expect(position(question)).to_have_count(0)  # one version: no switcher

    await question.get_by_role("button", name="Edit message").click()
    editor = page.get_by_role("textbox", name="Edit your message")
    await expect(editor).to_be_focused()
    await editor.fill("add 2 and 2")
    await editor.press("Enter")
    answer = await answered(page, "2 + 2 = 4.")
    await expect(answer).not_to_contain_text("5 + 3 = 8.")
    await expect(question).to_have_count(1)
    await expect(question).to_contain_text("add 2 and 2")
    await expect(position(question)).to_have_text("2/2")

    await question.get_by_role("button", name="Previous version").click()
    await expect(question).to_contain_text("add 5 and 3")
    await expect(position(question)).to_have_text("1/2")
    await expect(answer).to_contain_text("5 + 3 = 8.")
    await expect(answer).not_to_contain_text("2 + 2 = 4.")
    await expect(question.get_by_role("button", name="Previous version")).to_be_disabled()

    # The switch is the thread's: a reload shows the same version.
    await page.reload()
    await expect(question).to_contain_text("add 5 and 3")
    await expect(position(question)).to_have_text("1/2")
    await question.get_by_role("button", name="Next version").click()
    await expect(question).to_contain_text("add 2 and 2")
    await expect(messages(page, "assistant")).to_contain_text("2 + 2 = 4.")


async def test_a_regenerated_answer_is_a_second_version(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    await start_chat(page, "add 5 and 3")
    answer = await answered(page, "5 + 3 = 8.")
    await expect(position(answer)).to_have_count(0)
    await answer.get_by_role("button", name="Regenerate", exact=True).click()
    await expect(position(answer)).to_have_text("2/2")
    answer = await answered(page, "5 + 3 = 8.")
    await expect(messages(page, "user")).to_have_count(1)
    await answer.get_by_role("button", name="Previous version").click()
    await expect(position(answer)).to_have_text("1/2")
    await expect(answer).to_contain_text("5 + 3 = 8.")


async def test_a_stopped_answer_continues_after_its_text(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    answer = await stop_an_answer(page)
    stopped = await answer.locator(".markdown").first.inner_text()
    await answer.get_by_role("button", name="Continue").click()
    # The continuation is a second text in the same turn, after the stopped one, unmarked.
    parts = answer.locator(".markdown")
    await expect(parts).to_have_count(2)
    await expect(live_status(page)).to_have_text("The answer is complete.")
    await wait_until_idle(page)
    await expect(parts.first).to_have_text(stopped)
    await expect(interrupted_mark(page)).to_have_count(0)
    assert (await parts.nth(1).inner_text()).strip()
    await expect(answer.get_by_role("button", name="Continue")).to_have_count(0)
    await page.reload()
    await expect(messages(page, "assistant").locator(".markdown")).to_have_count(2)
    await expect(interrupted_mark(page)).to_have_count(0)


async def test_copy_puts_a_message_on_the_clipboard(new_context: NewContext) -> None:
    context = await new_context(permissions=["clipboard-read", "clipboard-write"])
    page = await signed_in(context)
    await start_chat(page, "add 5 and 3")
    answer = await answered(page, "5 + 3 = 8.")
    await expect(page.get_by_role("button", name="Copy message")).to_have_count(2)
    await answer.get_by_role("button", name="Copy message").click()
    await expect(answer.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert "5 + 3 = 8." in copied, copied


async def test_shortcuts_focus_the_composer_and_the_search(new_context: NewContext) -> None:
    page = await signed_in(await new_context())
    await start_chat(page, "add 5 and 3")
    await answered(page, "5 + 3 = 8.")
    composer = page.get_by_role("textbox", name="Message", exact=True)
    await page.get_by_role("heading", level=1).click()  # the focus leaves the composer
    await expect(composer).not_to_be_focused()
    await page.keyboard.press("Shift+Escape")
    await expect(composer).to_be_focused()
    await page.keyboard.press("Control+k")
    await expect(page.get_by_role("searchbox", name="Search threads")).to_be_focused()
    await page.keyboard.press("Control+/")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_contain_text("New chat")
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
