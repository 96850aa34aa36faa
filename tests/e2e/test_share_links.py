"""Share links in the browser: the owner makes a link in the thread's Share dialog; a second,
signed-out browser opens it and reads the conversation (markdown, tool card, "Shared by");
after the owner revokes it, the same page says it is not found."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import expect_add_answered_once, messages, signed_in, start_chat


async def test_a_link_opens_signed_out_until_revoked(new_context: NewContext) -> None:
    owner = await signed_in(await new_context(), display_name="Olive Owner")
    await start_chat(owner, "add 5 and 3")
    await expect_add_answered_once(owner)
    title = await owner.get_by_role("heading", level=1).inner_text()

    await owner.get_by_role("button", name="Share").click()
    dialog = owner.get_by_role("dialog")
    await dialog.get_by_label("Link expires").select_option(label="7 days")
    await dialog.get_by_role("button", name="Create link").click()
    url = await dialog.get_by_test_id("new-link").get_by_role("textbox").input_value()
    assert "/s/" in url
    links = dialog.get_by_role("list", name="Share links")
    await expect(links.get_by_role("listitem")).to_have_count(1)

    stranger = await (await new_context()).new_page()  # never signed in
    await stranger.goto(url)
    await expect(stranger.get_by_role("heading", level=1, name=title)).to_be_visible()
    await expect(stranger.get_by_test_id("shared-byline")).to_contain_text("Shared by Olive Owner")
    await expect(messages(stranger, "user")).to_have_count(1)
    await expect(messages(stranger, "user")).to_contain_text("add 5 and 3")
    await expect(messages(stranger, "assistant").filter(has_text="5 + 3 = 8.")).to_have_count(1)
    await expect(stranger.get_by_test_id("tool-card")).to_have_count(1)
    await expect(stranger.get_by_role("textbox", name="Message")).to_have_count(0)
    # Signed out: nothing of the app that needs an account, no way in from here.
    await expect(stranger.get_by_role("navigation", name="Threads")).to_have_count(0)
    me = await stranger.request.get("/api/auth/me")
    assert me.status == 401

    await links.get_by_role("button", name="Revoke").first.click()
    await expect(dialog.get_by_text("No links.")).to_be_visible()

    await stranger.reload()
    await expect(stranger.get_by_role("heading", level=1, name="Not found")).to_be_visible()
    await expect(stranger.get_by_test_id("shared-not-found")).to_be_visible()
