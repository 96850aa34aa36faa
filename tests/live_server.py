"""An app served by a real uvicorn inside the test's event loop, for what only a network shows:
the Host and scheme uvicorn hands over, its WebSocket protocols, the lines it logs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI

STARTUP_SECONDS = 20


class _InLoopServer(uvicorn.Server):
    # Serving inside the test's event loop: pytest keeps its own signal handlers.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(app: FastAPI, **config: Any) -> AsyncIterator[str]:
    """Serve `app` on a free 127.0.0.1 port; yields `127.0.0.1:<port>`. `config`: uvicorn's."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {
        "lifespan": "off",
        "log_config": None,
        "timeout_graceful_shutdown": 5,
        **config,
    }
    server = _InLoopServer(uvicorn.Config(app, **options))
    with sock:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(STARTUP_SECONDS * 100):
                if server.started or serving.done():
                    break
                await asyncio.sleep(0.01)
            assert server.started, "the live server did not start"
            yield f"127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serving
