"""Import in the browser: a small ChatGPT conversations.json uploaded on the Import page, the
progress followed to the report, the thread in the sidebar with its title and its active path
(ChatGPT's regenerated answer, with the other one a branch away); then exported again."""

from __future__ import annotations

import json

from playwright.async_api import expect

from tests.e2e.conftest import WAIT_MS, NewContext
from tests.e2e.flows import messages, signed_in
from tests.imports.helpers import chatgpt_export


async def test_import_a_chatgpt_export(new_context: NewContext) -> None:
    context = await new_context(accept_downloads=True)
    page = await signed_in(context)
    await page.get_by_role("link", name="Account").click()
    await page.get_by_role("link", name="Import a file").click()
    await expect(page.get_by_role("heading", name="Import conversations")).to_be_visible()

    data = json.dumps(chatgpt_export()).encode()
    await page.get_by_label("Export file (JSON)").set_input_files(
        files=[{"name": "conversations.json", "mimeType": "application/json", "buffer": data}]
    )
    await page.get_by_role("button", name="Import").click()
    report = page.get_by_test_id("import-report")
    await expect(report.get_by_role("heading", name="Imported 2 threads")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(report.get_by_role("status")).to_contain_text("3 of 3 conversations")
    await report.get_by_text("What was left out").click()
    skipped = report.get_by_test_id("skipped-item")
    await expect(skipped).to_have_count(7)
    await expect(skipped.filter(has_text="a tool call (to python)")).to_have_count(1)

    threads = page.get_by_role("navigation", name="Threads")
    await threads.get_by_role("link", name="Trip to Lisbon").click()
    await expect(page.get_by_role("heading", name="Trip to Lisbon")).to_be_visible()
    await expect(messages(page, "user")).to_contain_text(
        ["What should I see in Lisbon?", "How many days do I need?"]
    )
    await expect(messages(page, "assistant")).to_contain_text(
        ["Start with Alfama, then take tram 28.", "Three days is enough."]
    )

    await page.get_by_text("Export", exact=True).click()
    async with page.expect_download() as started:
        await page.get_by_role("button", name="Markdown (.md)").click()
    download = await started.value
    assert download.suggested_filename == "Trip to Lisbon.md"
    path = await download.path()
    text = path.read_text()
    assert text.startswith("# Trip to Lisbon\n")
    assert "Three days is enough." in text
    assert "Pastéis de nata" not in text  # the other branch
