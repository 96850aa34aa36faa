"""Your data in the browser: download the export (a file holding the chat just had), then
delete the account; signing in with it fails afterwards."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.async_api import expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import create_account, messages, sign_in, start_chat, wait_until_idle
from tests.factories import PASSWORD


async def test_download_my_data_then_delete_my_account(new_context: NewContext) -> None:
    context = await new_context(accept_downloads=True)
    email = await create_account(context)
    page = await context.new_page()
    await sign_in(page, email)
    thread_id = await start_chat(page, "Remember the plum orchard")
    await expect(messages(page, "assistant")).to_have_count(1)
    await wait_until_idle(page)

    await page.goto("/settings")
    data = page.get_by_role("region", name="Your data")
    async with page.expect_download() as started:
        await data.get_by_role("button", name="Download my data").click()
    download = await started.value
    assert download.suggested_filename.startswith("confide-export-")
    document = json.loads(Path(await download.path()).read_text(encoding="utf-8"))
    assert document["profile"]["email"] == email
    [thread] = document["threads"]
    assert thread["id"] == thread_id
    assert thread["messages"][0]["content"] == "Remember the plum orchard"
    assert "password_hash" not in json.dumps(document)

    await data.get_by_role("button", name="Delete my account").click()
    dialog = page.get_by_role("dialog", name="Delete your account?")
    await dialog.get_by_label(f"Type {email} to confirm").fill(email)
    await dialog.get_by_role("button", name="Delete my account for good").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/login"))
    assert (await context.request.get("/api/auth/me")).status == 401
