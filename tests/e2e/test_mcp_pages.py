"""The MCP pages in the browser: the admin's "MCP servers" (state, tools, which need approval)
and a user's Settings → Connections (a pasted token: stored, never shown again, then sent with
that user's calls), reached from the "connect first" tool result."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import open_admin, sign_in, signed_in, tool_cards, wait_until_idle
from tests.e2e.tools_agents import AGENT, ask, last_answer, tools_server
from tests.factories import unique_email

__all__ = ["tools_server"]  # the fixture, used by name


async def test_the_admin_sees_each_mcp_server_with_its_state_and_tools(
    new_context: NewContext, tools_server: Server
) -> None:
    email = unique_email("e2e-admin")
    tools_server.create_user(email, admin=True)
    page = await (await new_context(base_url=tools_server.url)).new_page()
    await sign_in(page, email)
    await open_admin(page, "MCP servers")

    files = page.locator('[data-testid="mcp-server"][data-server="files"]')
    await expect(files).to_have_attribute("data-state", "ready")
    await expect(files).to_contain_text("Local process (stdio)")
    await expect(files).to_contain_text(f"agents: {AGENT}")
    tools = files.get_by_test_id("mcp-tool")
    await expect(tools.filter(has_text="files_add")).to_contain_text("needs approval")
    await expect(tools.filter(has_text="files_echo")).not_to_contain_text("needs approval")

    tracker = page.locator('[data-testid="mcp-server"][data-server="tracker"]')
    await expect(tracker).to_contain_text("Streamable HTTP")
    await expect(tracker).to_contain_text("each user connects their own account")


async def test_a_user_connects_a_server_with_a_pasted_token_from_the_tool_result(
    new_context: NewContext, tools_server: Server
) -> None:
    page = await signed_in(await new_context(base_url=tools_server.url))
    await ask(page, "call tracker_whoami with {}")
    await expect(tool_cards(page)).to_have_count(1)
    hint = page.get_by_test_id("connect-hint")
    await expect(hint).to_contain_text("tracker")
    await wait_until_idle(page)
    thread_url = page.url

    await hint.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(r"/settings/connections$"))
    card = page.locator('[data-testid="connection"][data-server="tracker"]')
    await expect(card).to_contain_text("Not connected")
    token = card.get_by_label("Token for tracker")
    await token.fill("tracker-token-e2e")
    await card.get_by_role("button", name="Save token").click()
    await expect(card).to_have_attribute("data-connected", "true")
    await expect(card.get_by_role("status")).to_contain_text("Connected.")
    # The field is empty and the token is nowhere on the page, even after a reload.
    await expect(card.get_by_label("Replace the token for tracker")).to_have_value("")
    await page.reload()
    await expect(card).to_have_attribute("data-connected", "true")
    assert "tracker-token-e2e" not in await page.content()

    # The user's calls to that server now carry their token.
    await page.goto(thread_url)
    await ask(page, "call tracker_whoami with {}")
    await expect(last_answer(page)).to_contain_text("tracker-token-e2e")
    await expect(page.get_by_test_id("connect-hint")).to_have_count(0)

    # Disconnected: the next call is asked to connect again.
    await page.goto("/settings/connections")
    await card.get_by_role("button", name="Disconnect").click()
    await expect(card).to_have_attribute("data-connected", "false")


async def test_settings_links_to_connections_and_saves_notification_channels(
    new_context: NewContext, tools_server: Server
) -> None:
    # Made with `confide users create`: a verified address, which email answers need.
    address = unique_email("e2e")
    tools_server.create_user(address)
    page = await (await new_context(base_url=tools_server.url)).new_page()
    await sign_in(page, address)
    await page.goto("/settings")
    notifications = page.get_by_role("region", name="Notifications")
    email = notifications.get_by_role("checkbox", name=re.compile("Email"))
    await expect(email).not_to_be_checked()  # the web app only, until chosen
    # This server has no Slack app: Slack cannot be chosen.
    await expect(notifications.get_by_role("checkbox", name=re.compile("Slack"))).to_be_disabled()
    await email.check()
    await notifications.get_by_role("button", name="Save").click()
    await expect(notifications.get_by_role("status")).to_have_text("Saved: Email, and this app.")
    await page.reload()
    await expect(notifications.get_by_role("checkbox", name=re.compile("Email"))).to_be_checked()

    await page.get_by_role("link", name="Manage connections").click()
    await expect(page.get_by_role("heading", level=1, name="Connections")).to_be_visible()
