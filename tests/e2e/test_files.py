"""Files in the browser: a text file and a PDF attached in the composer, the scripted model
answering about them, each message showing its file with a download; the Files page lists them
and deletes one."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import messages, signed_in, start_chat, wait_until_idle
from tests.files.helpers import tiny_pdf


async def attach(page: Page, name: str, mime_type: str, data: bytes) -> None:
    await page.get_by_test_id("attach-input").set_input_files(
        files=[{"name": name, "mimeType": mime_type, "buffer": data}]
    )
    chip = page.get_by_test_id("pending-file").filter(has_text=name)
    await expect(chip).to_contain_text(" B")  # uploaded: its size shows, not "uploading…"


async def ask(page: Page, question: str) -> None:
    before = await messages(page, "assistant").count()
    await page.get_by_role("textbox", name="Message").fill(question)
    await page.get_by_role("button", name="Send").click()
    await expect(messages(page, "assistant")).to_have_count(before + 1)
    await wait_until_idle(page)


async def test_attach_a_text_file_and_a_pdf(new_context: NewContext) -> None:
    context = await new_context(accept_downloads=True)
    page = await signed_in(context)
    await start_chat(page, "hello")
    await wait_until_idle(page)

    await attach(page, "notes.txt", "text/plain", b"alpha\nbeta\ngamma\n")
    await ask(page, "How many lines does the file have?")
    await expect(messages(page, "assistant").last).to_contain_text(
        "The file notes.txt has 3 lines."
    )
    asked = messages(page, "user").last
    await expect(asked.get_by_test_id("message-file")).to_contain_text("notes.txt")
    await expect(page.get_by_test_id("pending-file")).to_have_count(0)

    async with page.expect_download() as started:
        await asked.get_by_role("button", name="Download notes.txt").click()
    download = await started.value
    assert download.suggested_filename == "notes.txt"

    pdf = tiny_pdf(["Sales rose in May", "Costs fell"], ["End of report"])
    await attach(page, "report.pdf", "application/pdf", pdf)
    await ask(page, "how many lines does the file have")
    await expect(messages(page, "assistant").last).to_contain_text(
        "The file report.pdf has 3 lines."
    )
    await expect(messages(page, "user").last.get_by_test_id("message-file")).to_contain_text(
        "report.pdf"
    )
    await expect(
        messages(page, "user").last.get_by_role("button", name="Download report.pdf")
    ).to_be_visible()

    # Both on the Files page; deleting one leaves its message naming it.
    await page.get_by_role("link", name="Files").click()
    rows = page.get_by_test_id("file-row")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("report.pdf")
    await page.get_by_role("button", name="Delete notes.txt").click()
    await expect(rows).to_have_count(1)
    await page.go_back()
    first = messages(page, "user").filter(has_text="How many lines does the file have?")
    await expect(first.get_by_test_id("message-file")).to_contain_text("(deleted)")
