"""Sharing in the browser: the owner shares a thread from its Share dialog; the recipient finds
it under "Shared with me" and reads it, read-only (no composer, no rename, no delete, the
owner's name shown); removing the share takes it away at once."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import (
    csrf_headers,
    expect_add_answered_once,
    messages,
    signed_in,
    start_chat,
)
from tests.factories import unique_email

SHARED_MESSAGE = "If an account exists for that email, it can now read this thread."


async def my_email(page: Page) -> str:
    me = await page.request.get("/api/auth/me")
    assert me.status == 200
    return str((await me.json())["email"])


async def test_a_shared_thread_is_read_only_for_its_recipient_until_revoked(
    new_context: NewContext,
) -> None:
    owner = await signed_in(await new_context(), display_name="Olive Owner")
    recipient = await signed_in(await new_context(), display_name="Rory Reader")
    thread_id = await start_chat(owner, "add 5 and 3")
    await expect_add_answered_once(owner)
    title = await owner.get_by_role("heading", level=1).inner_text()

    await owner.get_by_role("button", name="Share").click()
    dialog = owner.get_by_role("dialog")
    await dialog.get_by_label("Email").fill(await my_email(recipient))
    await dialog.get_by_role("button", name="Share").click()
    await expect(dialog.get_by_role("status")).to_have_text(SHARED_MESSAGE)
    shared_with = dialog.get_by_role("list", name="Shared with")
    await expect(shared_with.get_by_role("listitem")).to_have_count(1)
    await expect(shared_with).to_contain_text("Rory Reader")
    # An email with no account: the very same answer, and no one added.
    await dialog.get_by_label("Email").fill(unique_email("e2e-nobody"))
    await dialog.get_by_role("button", name="Share").click()
    await expect(dialog.get_by_role("status")).to_have_text(SHARED_MESSAGE)
    await expect(shared_with.get_by_role("listitem")).to_have_count(1)
    await dialog.get_by_role("button", name="Close").click()

    await recipient.goto("/")
    shared_nav = recipient.get_by_role("navigation", name="Shared with me")
    link = shared_nav.get_by_role("link", name=title)
    await expect(link).to_contain_text("Olive Owner")
    # Not among the recipient's own threads.
    await expect(
        recipient.get_by_role("navigation", name="Threads").get_by_role("link")
    ).to_have_count(0)
    await link.click()
    await expect(recipient.get_by_role("heading", level=1, name=title)).to_be_visible()
    await expect(recipient.get_by_test_id("shared-note")).to_contain_text("Olive Owner")
    await expect(messages(recipient, "assistant").filter(has_text="5 + 3 = 8.")).to_have_count(1)
    await expect(messages(recipient, "user").locator(".user-text")).to_have_text(["add 5 and 3"])
    # Read-only: copying is all a reader's messages offer.
    for name in ("Edit message", "Regenerate", "Previous version", "Next version"):
        await expect(recipient.get_by_role("button", name=name)).to_have_count(0)
    for name in ("Share", "Rename thread", "Delete thread", "Send"):
        await expect(recipient.get_by_role("button", name=name)).to_have_count(0)
    await expect(recipient.get_by_role("textbox", name="Message")).to_have_count(0)
    # The API refuses the writes the page does not offer.
    headers = await csrf_headers(recipient.context)
    rename = await recipient.request.patch(
        f"/api/threads/{thread_id}", data={"title": "Mine now"}, headers=headers
    )
    assert rename.status == 403, await rename.text()
    assert (await rename.json())["code"] == "read_only"

    await owner.get_by_role("button", name="Share").click()
    await dialog.get_by_role("button", name="Remove Rory Reader").click()
    await expect(dialog.get_by_text("Nobody yet.")).to_be_visible()

    await recipient.reload()
    await expect(
        recipient.get_by_role("heading", level=1, name="Conversation not found")
    ).to_be_visible()
    await expect(recipient.get_by_role("navigation", name="Shared with me")).to_have_count(0)
