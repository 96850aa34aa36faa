"""Which failures are an outage (503 `unavailable`, logged once as a warning) and which stay
the 500 of a bug; over HTTP and WebSockets. The failures are real: a database port nobody
listens on, SQLite refusing a statement or busy with another writer."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, WebSocket
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from confide.db.engine import Database, DatabaseUnreachable, SessionDep
from confide.error_handlers import DATABASE, REDIS, unavailable_part
from tests.factories import assert_problem
from tests.live_server import serve

# The app runs on SQLite: the failures come from elsewhere.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PASSWORD = "hunter2-db-password"
SECRET = "secret-parameter-value"
# Nobody listens on port 1: connecting is refused at once.
UNREACHABLE_URL = f"postgresql+asyncpg://confide:{PASSWORD}@127.0.0.1:1/confide"
DETAIL = "The database is not answering right now; try again in a moment."


def log_entries(lines: io.StringIO, logger: str) -> list[dict[str, Any]]:
    return [e for e in map(json.loads, lines.getvalue().splitlines()) if e["logger"] == logger]


@pytest.fixture
async def unreachable() -> AsyncIterator[Database]:
    database = Database(UNREACHABLE_URL)
    yield database
    await database.dispose()


@pytest.fixture
async def app(app_factory: Callable[..., FastAPI], unreachable: Database) -> AsyncIterator[FastAPI]:
    """The real app plus routes that fail as the database or a bug would."""
    application = app_factory()

    async def unreachable_database() -> None:
        async with unreachable.session() as session:
            await session.execute(text("SELECT 1"))

    async def missing_table(db: SessionDep) -> None:
        await db.execute(text("SELECT * FROM no_such_table"))

    async def locked(request: Request) -> None:
        # The app's file, without the busy timeout of the app's own connections.
        url = f"sqlite+aiosqlite:///{request.app.state.settings.sqlite_path}"
        engine = create_async_engine(url, connect_args={"timeout": 0})
        try:
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE users SET display_name = :x"), {"x": SECRET})
        finally:
            await engine.dispose()

    async def missing_file() -> None:
        open("/no/such/confide/file").close()

    async def socket_before_accept(websocket: WebSocket) -> None:
        await unreachable.ping()

    async def socket_after_accept(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await unreachable.ping()

    routes: dict[str, Callable[..., Awaitable[None]]] = {
        "/api/test/unreachable": unreachable_database,
        "/api/test/missing-table": missing_table,
        "/api/test/locked": locked,
        "/api/test/missing-file": missing_file,
    }
    for path, route in routes.items():
        application.add_api_route(path, route)
    application.add_api_websocket_route("/api/test/ws-before", socket_before_accept)
    application.add_api_websocket_route("/api/test/ws-after", socket_after_accept)
    yield application
    await application.state.database.dispose()


@ON_SQLITE
async def test_an_unreachable_database_is_503_logged_once_without_the_password(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    response = await client.get("/api/test/unreachable")
    body = assert_problem(response, 503, "unavailable")
    assert body["title"] == "Service temporarily unavailable"
    assert body["detail"] == DETAIL
    assert response.headers["retry-after"] == "2"
    for leak in ("127.0.0.1", "Errno", "asyncpg", "Traceback", PASSWORD):
        assert leak not in response.text
    [warning] = log_entries(log_lines, "confide.errors")
    assert warning["level"] == "warning"
    assert warning["path"] == "/api/test/unreachable"
    assert warning["error"].startswith("DatabaseUnreachable: ")
    assert PASSWORD not in log_lines.getvalue()
    assert not [e for e in log_entries(log_lines, "confide.http") if e["level"] == "error"]


@ON_SQLITE
async def test_sqlite_busy_is_503_and_its_statement_is_not_logged(
    app: FastAPI, client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    # Another process writing, for longer than a writer here may wait.
    with contextlib.closing(sqlite3.connect(app.state.settings.sqlite_path)) as writer:
        writer.execute("BEGIN IMMEDIATE")
        response = await client.get("/api/test/locked")
        writer.rollback()
    assert_problem(response, 503, "unavailable")
    [warning] = log_entries(log_lines, "confide.errors")
    assert warning["error"] == "OperationalError: database is locked"
    assert SECRET not in log_lines.getvalue()
    assert "UPDATE" not in log_lines.getvalue()


@ON_SQLITE
@pytest.mark.parametrize("path", ["/api/test/missing-table", "/api/test/missing-file"])
async def test_a_bug_stays_an_opaque_500(
    client: httpx.AsyncClient, log_lines: io.StringIO, path: str
) -> None:
    """A statement SQLite refuses (an OperationalError too) or a missing file (an OSError
    too) is a mistake of ours, not an outage to wait out."""
    response = await client.get(path)
    assert_problem(response, 500, "internal_error")
    assert "retry-after" not in response.headers
    assert log_entries(log_lines, "confide.errors") == []
    [error] = [e for e in log_entries(log_lines, "confide.http") if e["level"] == "error"]
    assert error["path"] == path


@ON_SQLITE
async def test_a_websocket_refused_before_accept_hears_503(app: FastAPI) -> None:
    async with serve(app, ws="websockets-sansio") as address:
        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(f"ws://{address}/api/test/ws-before"):
                pass
    response = refused.value.response
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert json.loads(response.body)["code"] == "unavailable"


@ON_SQLITE
async def test_an_open_websocket_is_closed_try_again_later(app: FastAPI) -> None:
    async with (
        serve(app, ws="websockets-sansio") as address,
        ws_connect(f"ws://{address}/api/test/ws-after") as socket,
    ):
        await socket.send("go")
        with pytest.raises(ConnectionClosedError) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1013, "unavailable")


def test_what_counts_as_unavailable() -> None:
    invalidated = sa_errors.DBAPIError("SELECT 1", None, Exception(), connection_invalidated=True)
    assert unavailable_part(invalidated) == DATABASE
    assert unavailable_part(DatabaseUnreachable("refused")) == DATABASE
    assert unavailable_part(sa_errors.TimeoutError("pool")) == DATABASE
    # asyncpg's errors carry their SQLSTATE; SQLAlchemy's wrapper of them passes it on.
    for sqlstate, part in {
        "57P01": DATABASE,  # admin_shutdown: a terminated backend
        "57014": DATABASE,  # query_canceled: statement_timeout
        "08006": DATABASE,  # connection_failure
        "53300": DATABASE,  # too_many_connections
        "28P01": DATABASE,  # invalid_password (only ever at connect)
        "23505": None,  # unique_violation: a bug or a race of ours
        "42P01": None,  # undefined_table
        "40001": None,  # serialization_failure
    }.items():
        orig = type("DriverError", (Exception,), {"sqlstate": sqlstate})()
        assert unavailable_part(sa_errors.DBAPIError("SELECT 1", None, orig)) == part, sqlstate
    # A broken connection the driver reports without invalidating it: still a bug's signature.
    assert unavailable_part(sa_errors.InterfaceError("SELECT 1", None, Exception())) is None
    assert unavailable_part(ConnectionRefusedError()) is None  # not the database's (a model's?)
    assert unavailable_part(OSError()) is None
    assert unavailable_part(redis_errors.ConnectionError()) == REDIS
    assert unavailable_part(redis_errors.TimeoutError()) == REDIS
    assert unavailable_part(redis_errors.ResponseError("WRONGTYPE")) is None
