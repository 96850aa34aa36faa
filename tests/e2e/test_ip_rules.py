"""The admin "IP rules" page in the browser (add with CIDR, action, note and expiry; the
blocks-self refusal; delete), and the sign-in form's wait message once an account is locked."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import api_as, open_admin, sign_in
from tests.factories import PASSWORD, unique_email


async def test_an_admin_adds_and_deletes_ip_rules(new_context: NewContext, server: Server) -> None:
    email = unique_email("e2e-admin")
    server.create_user(email, admin=True)
    page = await (await new_context()).new_page()
    await sign_in(page, email)
    await open_admin(page, "IP rules")

    await page.get_by_label("Address or range").fill("198.51.100.0/24")
    await page.get_by_label("Action").select_option("block")
    await page.get_by_label("Note (optional)").fill("e2e scanner")
    await page.get_by_label("Expires (optional)").fill("2035-06-01T12:00")
    await page.get_by_role("button", name="Add rule").click()
    row = page.get_by_test_id("ip-rule-row").filter(has_text="198.51.100.0/24")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("e2e scanner")
    await expect(row).to_contain_text("Block")
    await expect(row).to_contain_text("2035")

    # The browser comes from 127.0.0.1: a rule blocking it is refused, and says why.
    await page.get_by_label("Address or range").fill("127.0.0.0/8")
    await page.get_by_role("button", name="Add rule").click()
    await expect(page.get_by_role("alert")).to_contain_text("your own address")

    async with api_as(server.url, email) as client:
        rules = (await client.get("/api/admin/ip-rules")).json()["items"]
        assert [
            (r["cidr"], r["action"], r["note"]) for r in rules if r["note"] == "e2e scanner"
        ] == [("198.51.100.0/24", "block", "e2e scanner")]

    await page.get_by_role("button", name="Delete the block rule for 198.51.100.0/24").click()
    await expect(row).to_have_count(0)
    async with api_as(server.url, email) as client:
        rules = (await client.get("/api/admin/ip-rules")).json()["items"]
        assert all(r["cidr"] != "198.51.100.0/24" for r in rules)


async def test_the_sign_in_form_says_how_long_to_wait(
    new_context: NewContext, server: Server
) -> None:
    email = unique_email("e2e")
    server.create_user(email)
    async with httpx.AsyncClient(base_url=server.url) as client:
        for _ in range(5):
            response = await client.post(
                "/api/auth/login", json={"email": email, "password": "wrong-password-123"}
            )
            assert response.status_code == 401, response.text
    page = await (await new_context()).new_page()
    await page.goto("/login")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)  # correct, and still refused
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"Too many attempts — try again in \d+ s\.")
    )
    await expect(page).to_have_url(re.compile(r"/login"))
