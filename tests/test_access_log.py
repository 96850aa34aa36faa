"""No ticket, token or code in any log line: the access line's query string, WebSockets' access
line, uvicorn's own lines (its WebSocket lines print the request target) and the fields an
endpoint adds to its access line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect_sync

from confide.http import access_log_fields
from confide.logs import (
    REDACTED,
    UVICORN_LOGGERS,
    JsonFormatter,
    RequestTargetFilter,
    configure_logging,
    redact_query,
    redact_targets,
)
from tests.conftest import client_for
from tests.factories import PASSWORD, bearer, login, register, unique_email
from tests.live_server import serve
from tests.test_cli import SECRET, Server, cli_env, free_port

TICKET = "SECRET-ticket-4f1c9a.e2b7"

# Redaction ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("ticket=abc.def", f"ticket={REDACTED}"),
        ("mode=cookie", "mode=cookie"),
        ("limit=5&cursor=eyJ4IjoxfQ&order=desc", "limit=5&cursor=eyJ4IjoxfQ&order=desc"),
        ("agent_id=calculator&after=3", "agent_id=calculator&after=3"),
        ("q=my+private+search&limit=5", f"q={REDACTED}&limit=5"),
        ("access_token=t0k&code=987654", f"access_token={REDACTED}&code={REDACTED}"),
        ("ticket", f"ticket={REDACTED}"),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", REDACTED),  # a bare secret, no name
        ("%74icket=x", f"ticket={REDACTED}"),
        ("a=1&&b=2", f"a={REDACTED}&b={REDACTED}"),
        ("", ""),
    ],
)
def test_redact_query(query: str, logged: str) -> None:
    assert redact_query(query) == logged


def test_redact_targets_in_text() -> None:
    text = 'x - "WebSocket /api/ws?ticket=abc.def&mode=cookie" 403 and /api/health fine?'
    assert redact_targets(text) == (
        f'x - "WebSocket /api/ws?ticket={REDACTED}&mode=cookie" 403 and /api/health fine?'
    )
    url = "calling https://llm.example/v1/models?api_key=sk-123 failed"
    assert "sk-123" not in redact_targets(url)


# The exact calls uvicorn makes (protocols/websockets/*_impl.py and http/*_impl.py).
UVICORN_RECORDS = [
    (
        "uvicorn.error",
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", f"/api/ws?ticket={TICKET}"),
    ),
    ("uvicorn.error", '%s - "WebSocket %s" 403', ("127.0.0.1:5000", f"/api/ws?ticket={TICKET}")),
    (
        "uvicorn.error",
        '%s - "WebSocket %s" %d',
        ("127.0.0.1:5000", f"/api/ws?ticket={TICKET}", 400),
    ),
    (
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/ws?ticket={TICKET}", "1.1", 101),
    ),
]


@pytest.mark.parametrize(("logger", "msg", "args"), UVICORN_RECORDS)
def test_the_filter_rewrites_uvicorns_records(logger: str, msg: str, args: tuple[Any, ...]) -> None:
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, msg, args, None)
    assert RequestTargetFilter().filter(record)
    line = JsonFormatter().format(record)
    assert TICKET not in line
    assert f"/api/ws?ticket={REDACTED}" in json.loads(line)["msg"]


def test_the_formatter_redacts_a_target_in_any_message() -> None:
    record = logging.LogRecord(
        "other", logging.INFO, __file__, 1, "GET %s", (f"/x?ticket={TICKET}",), None
    )
    assert TICKET not in JsonFormatter().format(record)


# Captured logs of a configured process --------------------------------------------------------


@pytest.fixture
def configured_logs() -> Iterator[io.StringIO]:
    """configure_logging as `confide serve` calls it, plus a copy of every line to read back;
    the loggers are put back afterwards."""
    names = ("confide", *UVICORN_LOGGERS)
    saved = {
        name: (
            list(logger.handlers),
            list(logger.filters),
            logger.level,
            logger.propagate,
            logger.disabled,
        )
        for name in names
        for logger in [logging.getLogger(name)]
    }
    configure_logging("INFO")
    stream = io.StringIO()
    copy = logging.StreamHandler(stream)
    copy.setFormatter(JsonFormatter())
    for name in ("confide", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).addHandler(copy)
    try:
        yield stream
    finally:
        for name, (handlers, filters, level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.filters[:] = filters
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def entries(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def access_lines(text: str, method: str) -> list[dict[str, Any]]:
    return [e for e in entries(text) if e.get("msg") == "request" and e.get("method") == method]


async def bearer_ticket(client: httpx.AsyncClient) -> str:
    user = await register(client, email=unique_email("ws"))
    tokens = await login(client, email=user["email"])
    response = await client.post("/api/auth/ws-ticket", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    ticket: str = response.json()["ticket"]
    return ticket


@pytest.fixture
async def served_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    application = app_factory()
    yield application
    await application.state.database.dispose()


async def test_no_ticket_in_any_line_of_an_in_process_uvicorn(
    served_app: FastAPI, configured_logs: io.StringIO
) -> None:
    # The implementation `auto` picks; the others log the same lines (see UVICORN_RECORDS).
    async with serve(served_app, ws="websockets-sansio") as address:
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client:
            ticket = await bearer_ticket(client)
            health = await client.get("/api/health", params={"ticket": TICKET, "limit": 5})
            assert health.status_code == 200
        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(f"ws://{address}/api/ws?ticket={TICKET}"):
                pass
        assert refused.value.response.status_code == 403
        async with ws_connect(f"ws://{address}/api/ws?ticket={ticket}&mode=x") as socket:
            await socket.close()
    # The server has stopped: every connection's line is written.
    text = configured_logs.getvalue()
    assert TICKET not in text
    assert ticket not in text
    assert ticket.rsplit(".", 1)[1] not in text
    uvicorn_lines = [e["msg"] for e in entries(text) if e["logger"] == "uvicorn.error"]
    assert any(f'"WebSocket /api/ws?ticket={REDACTED}" 403' in m for m in uvicorn_lines)
    assert any(
        f'"WebSocket /api/ws?ticket={REDACTED}&mode=x" [accepted]' in m for m in uvicorn_lines
    )
    refused_line, accepted_line = access_lines(text, "WS")
    assert refused_line["path"] == "/api/ws"
    assert refused_line["query"] == f"ticket={REDACTED}"
    assert (refused_line["status"], refused_line["close"]) == (403, 4401)
    assert accepted_line["query"] == f"ticket={REDACTED}&mode=x"
    assert (accepted_line["status"], accepted_line["close"]) == (101, 1000)
    assert {"request_id", "duration_ms"} <= accepted_line.keys()
    [health_line] = [e for e in access_lines(text, "GET") if e["path"] == "/api/health"]
    assert health_line["query"] == f"ticket={REDACTED}&limit=5"


def test_no_ticket_in_the_log_of_confide_serve(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path, CONFIDE_SECRET_KEY=SECRET, CONFIDE_PORT=str(port))
    server = Server([], cwd=tmp_path, env=env, port=port)
    try:
        assert server.wait_until_healthy().status_code == 200
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            email = unique_email("serve")
            created = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
            assert created.status_code == 201, created.text
            tokens = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            ticket = client.post(
                "/api/auth/ws-ticket", headers=bearer(tokens.json()["access_token"])
            ).json()["ticket"]
            client.get("/api/health", params={"ticket": TICKET})
        url = f"ws://127.0.0.1:{port}/api/ws"
        with pytest.raises(InvalidStatus), ws_connect_sync(f"{url}?ticket={TICKET}"):
            pass
        with ws_connect_sync(f"{url}?ticket={ticket}") as socket:
            socket.close()
    finally:
        server.stop()
        log = server.log()
        server.stdout.close()
        server.stderr.close()
    assert TICKET not in log
    assert ticket not in log
    assert any(f'"WebSocket /api/ws?ticket={REDACTED}" 403' in e["msg"] for e in entries(log))
    statuses = [(e["status"], e.get("close")) for e in access_lines(log, "WS")]
    assert statuses == [(403, 4401), (101, 1000)]


# Fields an endpoint adds -----------------------------------------------------------------------


async def _plain(request: Request) -> dict[str, str]:
    fields = access_log_fields(request)
    fields["outcome"] = "completed"
    fields["status"] = "the endpoint's own"
    fields["ticket_token"] = TICKET
    fields["note"] = f"sent /api/ws?ticket={TICKET}"
    return {"ok": "yes"}


async def _via_state(request: Request) -> dict[str, str]:
    request.state.access_log = {"outcome": "set on request.state", "events": 3}
    return {"ok": "yes"}


async def _streamed(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"first\n"
        access_log_fields(request)["outcome"] = "known once the stream ended"
        yield b"last\n"

    return StreamingResponse(body(), media_type="text/plain")


@pytest.fixture
async def hooked_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    application = app_factory()
    application.add_api_route("/api/test/plain", _plain)
    application.add_api_route("/api/test/state", _via_state)
    application.add_api_route("/api/test/streamed", _streamed)
    yield application
    await application.state.database.dispose()


async def test_an_endpoint_adds_fields_to_its_access_line(
    hooked_app: FastAPI, log_lines: io.StringIO
) -> None:
    async with client_for(hooked_app) as client:
        assert (await client.get("/api/test/plain")).status_code == 200
        assert (await client.get("/api/test/state")).status_code == 200
        streamed = await client.get("/api/test/streamed")
        assert streamed.text == "first\nlast\n"
        assert (await client.get("/api/health")).status_code == 200
    text = log_lines.getvalue()
    assert TICKET not in text
    lines = {e["path"]: e for e in access_lines(text, "GET")}
    plain = lines["/api/test/plain"]
    assert plain["outcome"] == "completed"
    assert plain["status"] == 200
    assert plain["app_status"] == "the endpoint's own"
    assert plain["ticket_token"] == REDACTED
    assert plain["note"] == f"sent /api/ws?ticket={REDACTED}"
    assert lines["/api/test/state"]["outcome"] == "set on request.state"
    assert lines["/api/test/state"]["events"] == 3
    assert lines["/api/test/streamed"]["outcome"] == "known once the stream ended"
    assert "outcome" not in lines["/api/health"]
