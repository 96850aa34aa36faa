"""A phone number in the browser: add it in the settings, verify it with the code texted to
it (read from the outbox channel's SMS files), then finish a password sign-in with a code
sent by "Text me a code". TOTP is enrolled through the API first: a phone alone never turns
the second step on."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time

import pyotp
from playwright.async_api import expect

from tests.e2e.conftest import STARTUP_SECONDS, NewContext, Server
from tests.e2e.flows import api_as, create_account
from tests.e2e.test_mfa import password_step


async def texted_code(server: Server, to: str, purpose: str, *, after: set[str]) -> str:
    """The code in the newest SMS to `to` for `purpose` that is not one of `after` (the
    files seen before), once the delivery job has written it."""
    outbox = server.home / "data" / "outbox"
    deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        for path in sorted(outbox.glob("*-sms-*.json"), reverse=True) if outbox.is_dir() else []:
            if path.name in after:
                continue
            record = json.loads(path.read_text(encoding="utf-8"))
            if record["to"] == to and record["purpose"] == purpose:
                found = re.search(r"\b(\d{6})\b", record["text"])
                assert found is not None, record["text"]
                return found.group(1)
        await asyncio.sleep(0.1)  # the delivery job writes the file; nothing to wait on but it
    raise AssertionError(f"no {purpose} SMS to {to} in {outbox}")


def seen(server: Server) -> set[str]:
    outbox = server.home / "data" / "outbox"
    return {p.name for p in outbox.glob("*.json")} if outbox.is_dir() else set()


async def test_verify_a_phone_then_sign_in_with_a_texted_code(
    new_context: NewContext, server: Server
) -> None:
    context = await new_context()
    email = await create_account(context)
    async with api_as(server.url, email) as api:
        started = await api.post("/api/auth/mfa/totp")
        assert started.status_code == 200, started.text
        totp = pyotp.TOTP(started.json()["secret"])
        confirmed = await api.post("/api/auth/mfa/totp/confirm", json={"code": totp.now()})
        assert confirmed.status_code == 200, confirmed.text
    page = await context.new_page()
    await password_step(page, email)
    await page.get_by_label("Authentication code").fill(totp.at(time.time() + 30))
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("link", name="Account")).to_be_visible()

    number = f"+4477009{secrets.randbelow(10**5):05d}"
    await page.goto("/settings")
    section = page.get_by_role("region", name="Phone number")
    before = seen(server)
    await section.get_by_label("Phone number").fill(f"{number[:3]} {number[3:7]} {number[7:]}")
    await section.get_by_role("button", name="Add phone number").click()
    state = section.get_by_test_id("phone-state")
    await expect(state).to_have_text("Not verified yet")
    await expect(section.get_by_test_id("phone")).to_contain_text(number)
    code = await texted_code(server, number, "phone_verify", after=before)
    await section.get_by_label("Code from the text message").fill(code)
    await section.get_by_role("button", name="Verify number").click()
    await expect(state).to_contain_text("Verified")

    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await password_step(page, email)
    before = seen(server)
    await page.get_by_role("button", name="Text me a code").click()
    await expect(page.get_by_test_id("mfa-code-sent")).to_contain_text("text message")
    code = await texted_code(server, number, "mfa_code", after=before)
    await page.get_by_label("Authentication code").fill(code)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("link", name="Account")).to_be_visible()
    me = await context.request.get("/api/auth/me")
    assert me.status == 200
    assert (await me.json())["email"] == email
