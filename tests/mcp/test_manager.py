"""The manager against real MCP servers: discovery, calls, results, failures, supervision."""

from __future__ import annotations

import logging
import os
import shutil
import sys

import pytest

from confide.agents.tools import ToolContext, ToolRegistry
from confide.mcp.manager import McpManager
from tests.mcp.conftest import (
    SERVERS,
    agent_file,
    http_server,
    load,
    start,
    stdio_server,
)

CONTEXT = ToolContext(user_id="00000000-0000-4000-8000-0000000000aa", agent_id="helper")


async def ready(manager: McpManager, server_id: str = "t") -> None:
    await manager.wait_until(lambda: manager.servers[server_id].state == "ready")


def registry(manager: McpManager, agents: object) -> ToolRegistry:
    return ToolRegistry(manager.tools_for(agents.default))  # type: ignore[attr-defined]


async def call(tools: ToolRegistry, name: str, **arguments: object) -> tuple[str, str]:
    outcome = await tools.execute(name, arguments, context=CONTEXT, timeout_seconds=10)
    return outcome.status, outcome.content


async def test_stdio_tools_are_discovered_prefixed_and_called(manager_of: list) -> None:
    agents = load(agent_file(stdio_server(extra='requires_approval = ["echo"]')))
    manager = start(manager_of, agents)
    await ready(manager)
    tools = registry(manager, agents)
    assert {"t_echo", "t_add", "t_picture", "t_dotted_name", "t_fail"} <= set(tools.names())
    echo = tools.get("t_echo")
    assert echo is not None
    assert echo.server_id == "t"
    assert echo.requires_approval
    assert echo.parameters["properties"]["text"]["type"] == "string"  # the server's schema
    assert not tools.get("t_add").requires_approval  # type: ignore[union-attr]
    assert await call(tools, "t_echo", text="hello") == ("ok", "hello")
    status, content = await call(tools, "t_add", a=2, b=3)
    assert status == "ok"
    assert '"sum": 5' in content
    assert await call(tools, "t_picture") == ("ok", "a picture\n[image: image/png, 32 bytes]")
    assert await call(tools, "t_dotted_name") == ("ok", "dotted")
    status, content = await call(tools, "t_fail")
    assert status == "error"
    assert content.startswith("Error: ")
    assert "fail" in content


async def test_allow_list_and_prefix(manager_of: list) -> None:
    agents = load(agent_file(stdio_server(extra='tools = ["echo"]\nprefix = "box"')))
    manager = start(manager_of, agents)
    await ready(manager)
    assert registry(manager, agents).names() == ["box_echo"]


async def test_a_hanging_call_times_out(manager_of: list) -> None:
    agents = load(agent_file(stdio_server(extra="timeout_seconds = 0.5")))
    manager = start(manager_of, agents)
    await ready(manager)
    tools = registry(manager, agents)
    assert await call(tools, "t_hang") == ("timeout", "Error: tool timed out after 0.5 s")
    assert await call(tools, "t_echo", text="still here") == ("ok", "still here")


async def test_a_crash_mid_call_is_unavailable_then_restarted(
    manager_of: list, caplog: pytest.LogCaptureFixture
) -> None:
    agents = load(agent_file(stdio_server()))
    manager = start(manager_of, agents)
    await ready(manager)
    tools = registry(manager, agents)
    _, first_pid = await call(tools, "t_pid")
    with caplog.at_level(logging.WARNING, logger="confide.mcp"):
        status, content = await call(tools, "t_crash")
    assert status == "error"
    assert content.startswith("Error: the tool t_crash is unavailable: ")
    assert any("t_crash is unavailable" in r.getMessage() for r in caplog.records)
    await manager.wait_until(
        lambda: manager.servers["t"].restarts >= 1 and manager.servers["t"].state == "ready"
    )
    status, second_pid = await call(tools, "t_pid")
    assert status == "ok"
    assert second_pid != first_pid


async def test_a_server_that_dies_at_start_is_down_and_others_work(manager_of: list) -> None:
    agents = load(
        agent_file(stdio_server("broken", script=SERVERS / "crash_on_start.py"), stdio_server("t"))
    )
    manager = start(manager_of, agents)
    await ready(manager)
    await manager.wait_until(lambda: manager.servers["broken"].restarts >= 2)
    broken = manager.servers["broken"]
    assert broken.state in ("down", "starting")
    assert broken.last_error
    tools = registry(manager, agents)
    assert not [name for name in tools.names() if name.startswith("broken_")]
    assert await call(tools, "t_echo", text="fine") == ("ok", "fine")


async def test_list_changed_refreshes_the_tools(manager_of: list) -> None:
    agents = load(agent_file(stdio_server()))
    manager = start(manager_of, agents)
    await ready(manager)
    assert "t_extra" not in registry(manager, agents)
    assert await call(registry(manager, agents), "t_grow") == ("ok", "grown")
    await manager.wait_until(lambda: any(t.name == "extra" for t in manager.servers["t"].tools))
    assert await call(registry(manager, agents), "t_extra", x=41) == ("ok", "42")


async def test_stopping_leaves_no_process(manager_of: list) -> None:
    agents = load(agent_file(stdio_server()))
    manager = start(manager_of, agents)
    await ready(manager)
    status, pid = await call(registry(manager, agents), "t_pid")
    assert status == "ok"
    os.kill(int(pid), 0)  # alive
    await manager.aclose()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)


async def test_a_missing_environment_variable_is_the_last_error(manager_of: list) -> None:
    agents = load(agent_file(stdio_server(extra='env = ["CONFIDE_TEST_UNSET_VARIABLE"]')))
    manager = McpManager(agents.agents, environ={}, backoff_seconds=0.05)
    manager_of.append(manager)
    manager.start()
    await manager.wait_until(lambda: manager.servers["t"].state == "down")
    assert "CONFIDE_TEST_UNSET_VARIABLE is not set" in (manager.servers["t"].last_error or "")


async def test_streamable_http_server(manager_of: list, http_tools_url: str) -> None:
    agents = load(agent_file(http_server(http_tools_url)))
    manager = start(manager_of, agents)
    await ready(manager, "web")
    tools = registry(manager, agents)
    assert await call(tools, "web_echo", text="over http") == ("ok", "over http")
    assert await call(tools, "web_whoami") == ("ok", "anonymous")


async def test_an_unreachable_http_server_is_down(manager_of: list) -> None:
    agents = load(agent_file(http_server("http://127.0.0.1:9/mcp")))
    manager = start(manager_of, agents)
    await manager.wait_until(lambda: manager.servers["web"].state == "down")
    assert manager.servers["web"].last_error


@pytest.mark.skipif(
    shutil.which("mcp-server-time", path=os.path.dirname(sys.executable)) is None,
    reason="mcp-server-time (the dev extra) is not installed",
)
async def test_the_published_time_server(manager_of: list) -> None:
    command = os.path.join(os.path.dirname(sys.executable), "mcp-server-time")
    agents = load(
        agent_file(f'id = "time"\ncommand = "{command}"\nargs = ["--local-timezone", "UTC"]')
    )
    manager = start(manager_of, agents)
    await ready(manager, "time")
    tools = registry(manager, agents)
    assert "time_get_current_time" in tools
    status, content = await call(tools, "time_get_current_time", timezone="Europe/Paris")
    assert status == "ok"
    assert "Europe/Paris" in content
    status, content = await call(
        tools,
        "time_convert_time",
        source_timezone="UTC",
        time="12:00",
        target_timezone="Asia/Tokyo",
    )
    assert status == "ok"
    assert "21:00" in content
