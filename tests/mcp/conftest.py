"""MCP servers for the tests: the SDK-written ones under servers/, over stdio or HTTP."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from confide.agents.definitions import AgentSet, parse_agents
from confide.agents.tools import builtin_tools
from confide.mcp.manager import McpManager

SERVERS = Path(__file__).parent / "servers"
TOOLS_SERVER = SERVERS / "tools_server.py"


def agent_file(*servers: str, agent_id: str = "helper") -> str:
    """An agents file of one scripted agent with these `[[agents.mcp]]` bodies."""
    tables = "".join(f"\n[[agents.mcp]]\n{body.strip()}\n" for body in servers)
    return (
        f'[[agents]]\nid = "{agent_id}"\nname = "Helper"\ntools = ["calculator"]\n'
        f'[agents.model]\nprovider = "scripted"\n{tables}'
    )


def stdio_server(server_id: str = "t", *, script: Path = TOOLS_SERVER, extra: str = "") -> str:
    return f'id = "{server_id}"\ncommand = "{sys.executable}"\nargs = ["{script}"]\n{extra}'


def http_server(url: str, server_id: str = "web", *, extra: str = "") -> str:
    return f'id = "{server_id}"\nurl = "{url}"\n{extra}'


def load(text: str) -> AgentSet:
    return parse_agents(text, source="agents.toml", known_tools=builtin_tools().names())


@pytest.fixture
async def manager_of() -> AsyncIterator[list[McpManager]]:
    """Managers a test starts (quick back-off), all closed after it."""
    made: list[McpManager] = []
    yield made
    for manager in made:
        await manager.aclose()


def start(made: list[McpManager], agents: AgentSet, **options: float) -> McpManager:
    manager = McpManager(agents.agents, backoff_seconds=0.05, **options)  # type: ignore[arg-type]
    made.append(manager)
    manager.start()
    return manager


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(*extra: str) -> Iterator[str]:
    """tools_server.py over Streamable HTTP in a process of its own (the manager's back-off
    covers the moment before it listens)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(TOOLS_SERVER), "http", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()  # uvicorn would wait for the clients' open streams
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def http_tools_url() -> Iterator[str]:
    with served() as url:
        yield url


@pytest.fixture(scope="module")
def http_private_url() -> Iterator[str]:
    """The same, answering only requests with a token."""
    with served("private") as url:
        yield url
