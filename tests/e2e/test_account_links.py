"""Email verification and password recovery in the browser, with the links read from the
outbox channel's files (the zero-configuration mail channel), under the default policy for
unverified accounts (`chat`: everything but sharing)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import STARTUP_SECONDS, NewContext, Server, _serve
from tests.factories import PASSWORD, unique_email

NEW_PASSWORD = "quartz-lantern-meadow-77"


@pytest.fixture(scope="module")
def links_server(mock_llm_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("e2e-links")
    with _serve(home, mock_llm_url, unverified_users="chat") as running:
        yield running


async def link_in_mail(server: Server, to: str, page: str) -> str:
    """The link to `page` in the newest mail to `to`, once the delivery job has written it."""
    outbox = server.home / "data" / "outbox"
    pattern = re.compile(rf"https?://\S+/{page}\?token=[A-Za-z0-9_-]+")
    deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        for path in sorted(outbox.glob("*.eml"), reverse=True) if outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if to not in str(message["To"]):
                continue
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = pattern.search(body.get_content())
            if found:
                return found.group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {page} link mailed to {to} in {Path(outbox)}")


async def test_verify_the_address_then_recover_the_password(
    new_context: NewContext, links_server: Server
) -> None:
    context = await new_context(base_url=links_server.url)
    page = await context.new_page()
    address = unique_email("e2e-links")
    await page.goto("/register")
    await page.get_by_label("Email", exact=True).fill(address)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    banner = page.get_by_test_id("verify-banner")
    await expect(banner).to_contain_text(address)
    await expect(banner).to_contain_text("cannot share")

    await page.goto(await link_in_mail(links_server, address, "verify-email"))
    await expect(page.get_by_test_id("verify-done")).to_be_visible()
    assert "token=" not in page.url  # taken out of the address bar
    await page.goto("/")
    await expect(page.get_by_role("link", name="Account")).to_be_visible()
    await expect(banner).to_have_count(0)

    # Signed out, the password forgotten.
    await page.get_by_role("button", name="Sign out").click()
    await page.goto("/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email", exact=True).fill(address)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_test_id("forgot-sent")).to_contain_text(address)

    await page.goto(await link_in_mail(links_server, address, "reset-password"))
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("New password again", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the password").click()
    await expect(page.get_by_test_id("reset-done")).to_be_visible()

    await page.get_by_role("link", name="Sign in with the new password").click()
    await page.get_by_label("Email", exact=True).fill(address)
    await page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("link", name="Account")).to_be_visible()
