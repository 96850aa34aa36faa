"""What does a tool over MCP cost? Chat turns through the app (scripted model, one tool call
each) calling the built-in `add`, then the same kind of tool over MCP stdio and over
Streamable HTTP (tests/mcp/servers/tools_server.py, the SDK's own server, on this machine).

Reported per kind: p50 and p99 of a whole turn (`POST /api/threads/{id}/messages`, JSON: the
run's messages stored, the answer back), and p50 of the call alone (`ToolRegistry.execute`),
whose difference from the built-in call is the per-call overhead of MCP. Turns alternate
between the kinds in rounds, so all three see the same machine.

    .venv/bin/python bench/mcp_bench.py
    .venv/bin/python bench/mcp_bench.py --rounds 20 --turns 25 --calls 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from confide.agents.tools import ToolContext
from confide.app import create_app
from confide.crypto.keystore import load_key_ring
from confide.db.migrate import upgrade
from search_bench import percentile, settings_for, signed_up

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "mcp" / "servers" / "tools_server.py"
RUN_BUDGETS = (
    "rate_limit_runs_per_user",
    "rate_limit_runs_per_session",
    "rate_limit_runs_per_channel",
)
KINDS = {
    "built-in": ("add", {"a": 2, "b": 3}),
    "MCP stdio": ("local_add", {"a": 2, "b": 3}),
    "MCP HTTP": ("web_add", {"a": 2, "b": 3}),
}


def agents_file(url: str) -> str:
    return f"""
[[agents]]
id = "bench"
name = "Bench"
tools = ["add"]
[agents.model]
provider = "scripted"

[[agents.mcp]]
id = "local"
command = "{sys.executable}"
args = ["{SERVER}"]

[[agents.mcp]]
id = "web"
url = "{url}"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run(args: argparse.Namespace, url: str) -> dict[str, dict[str, float]]:
    turns: dict[str, list[float]] = {kind: [] for kind in KINDS}
    calls: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="confide-mcp-bench-") as tmp:
        agents = Path(tmp) / "agents.toml"
        agents.write_text(agents_file(url), encoding="utf-8")
        settings = settings_for(Path(tmp) / "data", None).model_copy(
            update={
                "agents_file": agents,
                "tool_log": False,
                **dict.fromkeys(RUN_BUDGETS, "1000000/minute"),
            }
        )
        await upgrade(settings.effective_database_url, key_ring=load_key_ring(settings))
        app = create_app(settings)
        manager = app.state.mcp
        manager.start()
        await manager.wait_until(
            lambda: all(server.state == "ready" for server in manager.servers.values())
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            _, headers = await signed_up(c)
            tools = app.state.runs.agent_tools(app.state.agents.agents.get("bench"))
            context = ToolContext(user_id="bench")
            for _ in range(args.rounds):
                for kind, (tool, arguments) in KINDS.items():
                    thread = (await c.post("/api/threads", json={}, headers=headers)).json()
                    content = f"call {tool} with {json_text(arguments)}"
                    for _ in range(args.turns):
                        started = time.perf_counter()
                        response = await c.post(
                            f"/api/threads/{thread['id']}/messages",
                            json={"content": content},
                            headers=headers,
                        )
                        turns[kind].append((time.perf_counter() - started) * 1000)
                        response.raise_for_status()
                    for _ in range(args.calls // args.rounds):
                        started = time.perf_counter()
                        outcome = await tools.execute(
                            tool, arguments, context=context, timeout_seconds=10
                        )
                        calls[kind].append((time.perf_counter() - started) * 1000)
                        assert outcome.ok, outcome.content
        await manager.aclose()
        await app.state.database.dispose()
    builtin_call = percentile(calls["built-in"], 0.5)
    return {
        kind: {
            "turn_p50_ms": percentile(turns[kind], 0.5),
            "turn_p99_ms": percentile(turns[kind], 0.99),
            "call_p50_ms": percentile(calls[kind], 0.5),
            "call_overhead_ms": percentile(calls[kind], 0.5) - builtin_call,
        }
        for kind in KINDS
    }


def json_text(value: Any) -> str:
    return json.dumps(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--turns", type=int, default=20, help="turns per kind per round")
    parser.add_argument("--calls", type=int, default=500, help="direct calls per kind")
    args = parser.parse_args()
    port = free_port()
    http_server = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        results = asyncio.run(run(args, f"http://127.0.0.1:{port}/mcp"))
    finally:
        http_server.kill()  # uvicorn would wait for open streams
        http_server.wait(timeout=10)
    print(f"{'':<10} {'turn p50':>9} {'turn p99':>9} {'call p50':>9} {'overhead':>9}  (ms)")
    for kind, row in results.items():
        print(
            f"{kind:<10} {row['turn_p50_ms']:9.2f} {row['turn_p99_ms']:9.2f} "
            f"{row['call_p50_ms']:9.3f} {row['call_overhead_ms']:9.3f}"
        )


if __name__ == "__main__":
    main()
