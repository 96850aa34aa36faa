"""An MCP server for the tests, written with the MCP SDK: `python tools_server.py` serves
stdio, `python tools_server.py http PORT [private]` Streamable HTTP on 127.0.0.1:PORT (private: to
clients with a token only)."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("confide-test-tools")
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 24).decode()


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


@server.tool()
def add(a: int, b: int) -> dict[str, int]:
    """Add two numbers (a structured result)."""
    return {"sum": a + b}


@server.tool(name="dotted.name")
def dotted() -> str:
    """A name with a character models refuse."""
    return "dotted"


@server.tool()
def picture() -> list[object]:
    """A caption and a small PNG."""
    from mcp.types import ImageContent, TextContent

    return [
        TextContent(type="text", text="a picture"),
        ImageContent(type="image", data=PNG, mime_type="image/png"),
    ]


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ValueError("the disk is on fire")


@server.tool()
async def hang() -> str:
    """Never answers."""
    await asyncio.Event().wait()
    return "never"


@server.tool()
def crash() -> str:
    """Exits the process in the middle of the call."""
    os._exit(3)


@server.tool()
def pid() -> int:
    """This process's id."""
    return os.getpid()


@server.tool()
def whoami(ctx: Context) -> str:
    """The Authorization header this call came with."""
    headers = ctx.headers or {}
    return headers.get("authorization", "anonymous")


@server.tool()
async def grow(ctx: Context) -> str:
    """Adds the tool `extra` and says the list changed."""

    def extra(x: int) -> int:
        """One more than x."""
        return x + 1

    server.add_tool(extra, name="extra")
    await ctx.notify_tools_changed()
    return "grown"


def refusing_revoked(app: Any, *, private: bool) -> Any:
    """401 for the token `revoked`, as a server does for credentials it no longer accepts,
    and with `private` for every request without a token."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        token = headers.get(b"authorization")
        if scope["type"] == "http" and (token == b"Bearer revoked" or (private and token is None)):
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return guarded


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        import uvicorn

        uvicorn.run(
            refusing_revoked(server.streamable_http_app(), private=sys.argv[3:] == ["private"]),
            host="127.0.0.1",
            port=int(sys.argv[2]),
            log_level="error",
        )
    else:
        server.run()
