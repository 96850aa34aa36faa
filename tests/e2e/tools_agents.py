"""A `confide serve` whose agents file has tools that wait for the user, for the approval and
MCP pages' browser tests: the `approver` agent (scripted) with `calculator` (needs approval)
and `ask_user`, a stdio MCP server `files` (its `add` needs approval) and a Streamable HTTP
MCP server `tracker` whose users connect their own account (auth = "user"). Both MCP servers
are tests/mcp/servers/tools_server.py, written with the MCP SDK."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import Server, _serve
from tests.e2e.flows import messages, signed_in, start_chat
from tests.mcp.conftest import TOOLS_SERVER
from tests.mockllm_server import free_port

AGENT = "approver"


def agents_file(tracker_url: str) -> str:
    return f"""
[[agents]]
id = "{AGENT}"
name = "Approver"
description = "Asks before it calculates."
default = true
tools = ["calculator", "ask_user"]
requires_approval = ["calculator"]

[agents.model]
provider = "scripted"

[[agents.mcp]]
id = "files"
command = "{sys.executable}"
args = ["{TOOLS_SERVER}"]
tools = ["echo", "add"]
requires_approval = ["add"]

[[agents.mcp]]
id = "tracker"
url = "{tracker_url}"
auth = "user"
tools = ["whoami"]
"""


@pytest.fixture(scope="session")
def tools_server(mock_llm_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("e2e-tools")
    port = free_port()
    log = (home / "tracker.log").open("wb")
    tracker = subprocess.Popen(
        [sys.executable, str(TOOLS_SERVER), "http", str(port)], stdout=log, stderr=log
    )
    agents = home / "agents.toml"
    agents.write_text(agents_file(f"http://127.0.0.1:{port}/mcp"), encoding="utf-8")
    try:
        with _serve(home, mock_llm_url, agents_file=str(agents)) as running:
            yield running
    finally:
        tracker.terminate()
        tracker.wait(timeout=10)
        log.close()


def approval_cards(page: Page) -> Locator:
    return page.get_by_test_id("approval-card")


def pending_card(page: Page, tool: str) -> Locator:
    return page.get_by_role("region", name=f"Approve {tool}?")


async def ask(page: Page, message: str) -> str:
    """A new chat with the approver agent; returns the thread id."""
    return await start_chat(page, message, agent=AGENT)


async def waiting_on_calculator(page: Page, expression: str = "6*7") -> str:
    """A chat whose run waits for approval of `calculator(expression)`."""
    thread = await ask(page, f'call calculator with {{"expression": "{expression}"}}')
    await expect(pending_card(page, "calculator")).to_be_visible()
    return thread


def last_answer(page: Page) -> Locator:
    return messages(page, "assistant").last


__all__ = ["AGENT", "signed_in", "tools_server"]
