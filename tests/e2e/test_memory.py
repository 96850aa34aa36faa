"""Memory in the browser: a fact told in one chat is listed on the Memory page with a link
that lands on its message, answers "what is my name?" in a new chat, can be edited, added,
deleted and exported, and switching memory off keeps it out of the next chat."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.conftest import WAIT_MS, NewContext
from tests.e2e.flows import create_account, messages, sign_in, start_chat, wait_until_idle


async def remembered(context: BrowserContext, count: int) -> None:
    """Wait until the extraction job (queued when the run completed) has stored `count`
    memories: the Memory page shows what is stored when it opens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_MS / 1000
    while True:
        listed = await context.request.get("/api/me/memories")
        assert listed.status == 200, await listed.text()
        if len((await listed.json())["items"]) >= count:
            return
        assert loop.time() < deadline, f"fewer than {count} memories were extracted"
        await asyncio.sleep(0.05)


async def ask(page: Page, question: str) -> None:
    await start_chat(page, question)
    await expect(messages(page, "assistant")).to_have_count(1)
    await wait_until_idle(page)


async def test_remembered_in_a_new_chat_and_managed_on_the_memory_page(
    new_context: NewContext,
) -> None:
    context = await new_context(accept_downloads=True)
    page = await context.new_page()
    await sign_in(page, await create_account(context, display_name="Ada"))
    thread_id = await start_chat(page, "Hello! My name is Zed and I live in Lisbon.")
    await expect(messages(page, "assistant")).to_have_count(1)
    await wait_until_idle(page)
    await remembered(context, 2)

    await page.get_by_role("link", name="Memory").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Memory")
    listed = page.get_by_role("list", name="Memories").get_by_test_id("memory")
    await expect(listed).to_have_count(2)
    name = listed.filter(has_text="Zed")
    await expect(name).to_contain_text("Name")
    await expect(listed.filter(has_text="Lisbon")).to_contain_text("Location")

    # Where it came from: the link lands on the user's message in that chat.
    await name.get_by_role("link", name=re.compile("From a message")).click()
    await expect(page).to_have_url(re.compile(rf"/chat/{thread_id}#message-"))
    told = messages(page, "user").filter(has_text="My name is Zed")
    await expect(told).to_have_class(re.compile(r"\bsearch-target\b"))

    await ask(page, "What is my name?")
    # The answer's text (its buttons, Copy and Regenerate, have text of their own).
    await expect(messages(page, "assistant").locator(".markdown")).to_have_text("Your name is Zed.")

    # Edit, add, delete, export.
    await page.goto("/memory")
    name = page.get_by_role("list", name="Memories").locator('[data-key="name"]')
    await name.get_by_role("button", name="Edit").click()
    await name.get_by_label("Memory text").fill("Zedekiah")
    await name.get_by_role("button", name="Save").click()
    listed = page.get_by_role("list", name="Memories").get_by_test_id("memory")
    await expect(listed.filter(has_text="Zedekiah")).to_have_count(1)
    await page.get_by_label("New memory").fill("Allergic to peanuts")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(listed.filter(has_text="Allergic to peanuts")).to_contain_text("Added by you")
    await listed.filter(has_text="Lisbon").get_by_role("button", name="Delete").click()
    await expect(listed).to_have_count(2)
    async with page.expect_download() as started:
        await page.get_by_role("button", name="Download my memories").click()
    download = await started.value
    assert download.suggested_filename == "confide-memories.json"
    exported = json.loads(Path(await download.path()).read_text(encoding="utf-8"))
    assert sorted(m["content"] for m in exported["memories"]) == [
        "Allergic to peanuts",
        "Zedekiah",
    ]

    await ask(page, "what is my name?")
    await expect(messages(page, "assistant").locator(".markdown")).to_have_text(
        "Your name is Zedekiah."
    )

    # Off: kept on the page, out of the next chat.
    await page.goto("/memory")
    switch = page.get_by_role("checkbox", name=re.compile("Remember facts"))
    await expect(switch).to_be_checked()
    await switch.click()
    await expect(page.get_by_role("heading", name="Memory is off")).to_be_visible()
    await expect(page.get_by_role("list", name="Memories").get_by_test_id("memory")).to_have_count(
        2
    )
    await ask(page, "what is my name?")
    await expect(messages(page, "assistant").locator(".markdown")).to_have_text(
        "You haven't told me your name; your account calls you Ada."
    )
