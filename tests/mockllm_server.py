"""`confide mock-llm` served by a real uvicorn on a free local port, for tests over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette

from confide.agents.mockllm import DEFAULT_MODEL, create_mock_llm_app

STARTUP_SECONDS = 20.0
SHUTDOWN_SECONDS = 15.0


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port() -> int:
    """A port that was just bound and released: connecting to it is refused."""
    return free_port()


@contextmanager
def serve_mock_llm(*, allow_faults: bool = True) -> Iterator[str]:
    """Serve the mock LLM in a background thread; yield its base URL (`http://.../v1`).

    On exit the server stops (requests still sleeping on a `slow` marker are cut after two
    seconds) and the thread is joined.
    """
    with serve_mock_llm_app(allow_faults=allow_faults) as (base_url, _app):
        yield base_url


@contextmanager
def serve_mock_llm_app(
    *, allow_faults: bool = True, model_name: str = DEFAULT_MODEL
) -> Iterator[tuple[str, Starlette]]:
    """As `serve_mock_llm`, yielding the base URL and the app itself.

    The app's `state.received` lists the requests it got and how each answer ended;
    `state.wait_for(predicate, timeout)` waits for one from the test's thread.
    """
    app = create_mock_llm_app(model_name=model_name, allow_faults=allow_faults)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        ws="none",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mock-llm", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(base_url, thread)
        yield base_url, app
    finally:
        server.should_exit = True
        thread.join(timeout=SHUTDOWN_SECONDS)
        if thread.is_alive():
            raise RuntimeError(f"the mock LLM did not stop within {SHUTDOWN_SECONDS:g}s")


def _wait_until_serving(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the mock LLM stopped before answering")
        try:
            httpx.get(f"{base_url}/models", timeout=2).raise_for_status()
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        return
    raise RuntimeError(f"the mock LLM did not answer within {STARTUP_SECONDS:g}s")
