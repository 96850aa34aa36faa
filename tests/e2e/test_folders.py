"""Organising in the browser: a folder made in the sidebar, one thread dragged into it and
another moved there with the keyboard (its menu's "Move to folder…"), one pinned on top, one
archived (gone from the list, there under "Archived")."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import csrf_headers, signed_in


async def new_thread(context: BrowserContext, title: str) -> str:
    response = await context.request.post(
        "/api/threads", data={"title": title}, headers=await csrf_headers(context)
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def choose_with_keyboard(page: Page, thread_title: str, *steps: str) -> None:
    """Open a thread's menu from the keyboard and pick menu entries by Tab and Enter."""
    await page.get_by_role("button", name=f"Actions for {thread_title}").focus()
    await page.keyboard.press("Enter")
    for step in steps:
        for _ in range(10):
            focused = await page.evaluate("document.activeElement?.textContent?.trim()")
            if focused == step:
                break
            await page.keyboard.press("Tab")
        else:
            raise AssertionError(f"{step!r} not reached with Tab")
        await page.keyboard.press("Enter")


async def test_folders_pins_and_archive_in_the_sidebar(new_context: NewContext) -> None:
    context = await new_context()
    page = await signed_in(context)
    for title in ("Dragged plan", "Keyboard notes", "Pinned list", "Old report", "Plain chat"):
        await new_thread(context, title)
    await page.goto("/")
    threads = page.get_by_role("navigation", name="Threads")
    await expect(threads.get_by_role("link", name="Dragged plan")).to_be_visible()

    folders = page.get_by_role("navigation", name="Folders")
    await folders.get_by_role("button", name="New folder").click()
    await folders.get_by_label("Folder name").fill("Projects")
    await folders.get_by_role("button", name="Create").click()
    projects = folders.get_by_role("button", name="Projects", exact=True)
    await expect(projects).to_be_visible()

    # Drag and drop: the thread's row onto the folder.
    await threads.get_by_role("link", name="Dragged plan").drag_to(projects)
    await expect(projects).to_have_attribute("aria-expanded", "true")  # opened on its thread
    await expect(folders.get_by_role("link", name="Dragged plan")).to_be_visible()
    await expect(threads.get_by_role("link", name="Dragged plan")).to_have_count(0)

    # The keyboard: the thread's menu, "Move to folder…", the folder.
    await choose_with_keyboard(page, "Keyboard notes", "Move to folder…", "Projects")
    await expect(folders.get_by_role("link", name="Keyboard notes")).to_be_visible()
    await expect(threads.get_by_role("link", name="Keyboard notes")).to_have_count(0)

    await choose_with_keyboard(page, "Pinned list", "Pin")
    pinned = page.get_by_role("navigation", name="Pinned")
    await expect(pinned.get_by_role("link", name="Pinned list")).to_be_visible()
    await expect(threads.get_by_role("link", name="Pinned list")).to_have_count(0)

    await choose_with_keyboard(page, "Old report", "Archive")
    await expect(threads.get_by_role("link", name="Old report")).to_have_count(0)
    archived = page.get_by_role("navigation", name="Archived")
    await archived.get_by_role("button", name="Archived").click()
    await expect(archived.get_by_role("link", name="Old report")).to_be_visible()

    # As the server has it, after a reload.
    await page.reload()
    await expect(threads.get_by_role("link", name="Plain chat")).to_be_visible()
    await expect(pinned.get_by_role("link", name="Pinned list")).to_be_visible()
    await expect(threads.get_by_role("link")).to_have_count(1)
    await projects.click()
    await expect(folders.get_by_role("link")).to_have_count(2)
