"""The one place errors become responses: RFC 9457 problem+json, never a stack trace."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler
from starlette.websockets import WebSocket, WebSocketState

from confide.db.engine import DatabaseUnreachable
from confide.errors import PROBLEM_JSON, ConfideError, Unavailable, problem_body
from confide.logs import request_id_var

log = logging.getLogger("confide.errors")

DATABASE = "the database"
REDIS = "Redis"
# RFC 6455's "Try Again Later", for a WebSocket already open when a dependency fails.
CLOSE_TRY_AGAIN_LATER = 1013

# What the database server says when it cannot serve now, rather than that the statement is
# wrong (SQLSTATE, PostgreSQL appendix A). Classes: 08 connection exception, 53 insufficient
# resources (too many connections, disk full, out of memory), 57 operator intervention
# (terminated backend, shutdown, starting up, and 57014: statement_timeout).
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
# Codes only a connection attempt gets: the server refuses this configuration (an operator's
# matter, logged as such; to the client the database is just unavailable). 58030: I/O error.
_UNAVAILABLE_SQLSTATES = frozenset({"28000", "28P01", "3D000", "58030"})
# SQLite's own words for "busy" or "cannot reach the file" (its result codes, and the message
# db/sqlite.py raises when a writer's turn does not come in time).
_UNAVAILABLE_SQLITE_CODES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")
_UNAVAILABLE_SQLITE_MESSAGES = frozenset({"database is locked", "unable to open database file"})

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def problem_response(
    request: HTTPConnection,
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_var.get(),
        extra=extra,
    )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _confide_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConfideError)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problem = validation_problem(exc.errors())
    if problem.code == "malformed_json":
        return problem_response(request, status=400, code=problem.code, detail=problem.detail)
    return problem_response(
        request,
        status=422,
        code=problem.code,
        title="The request is not valid",
        detail=problem.detail,
        extra={"errors": problem.errors},
    )


@dataclass(frozen=True, slots=True)
class ValidationProblem:
    code: str  # validation_error, or malformed_json
    detail: str
    errors: list[dict[str, Any]]


def validation_problem(errors: Sequence[Any], *, prefix: tuple[str, ...] = ()) -> ValidationProblem:
    """How every adapter (HTTP, WebSocket) describes input it refuses: where and what, never
    the rejected input itself (it may be a password)."""
    errors = list(errors)
    if any(error.get("type") == "json_invalid" for error in errors):
        return ValidationProblem("malformed_json", "The request body is not valid JSON.", [])
    shown = [
        {
            "loc": [*prefix, *(str(part) for part in error.get("loc", ()))],
            "msg": str(error.get("msg", "")).removeprefix("Value error, "),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in shown)
    return ValidationProblem("validation_error", detail, shown)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404:
        detail = "Nothing here."
    elif exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # FastAPI's answer to a body it could not decode (e.g. JSON that is not UTF-8).
        code, detail = "malformed_json", "The request body is not valid JSON."
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


def unavailable_part(exc: BaseException) -> str | None:
    """The part Confide depends on that `exc` says cannot serve right now (`DATABASE`,
    `REDIS`), or None: anything else, a bug above all, stays the 500 it is."""
    if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
        return REDIS
    # sa_errors.TimeoutError: no pooled connection came free in CONFIDE_DB_POOL_TIMEOUT_SECONDS.
    if isinstance(exc, DatabaseUnreachable | sa_errors.TimeoutError):
        return DATABASE
    if isinstance(exc, sa_errors.DBAPIError) and (
        # The connection broke under the statement (SQLAlchemy has dropped it from the pool).
        exc.connection_invalidated or _server_cannot_serve(exc.orig)
    ):
        return DATABASE
    return None


def _server_cannot_serve(error: BaseException | None) -> bool:
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in _UNAVAILABLE_SQLSTATES
    if isinstance(error, sqlite3.OperationalError):
        name = getattr(error, "sqlite_errorname", None) or ""
        return name.startswith(_UNAVAILABLE_SQLITE_CODES) or (
            str(error) in _UNAVAILABLE_SQLITE_MESSAGES
        )
    return False


def _cause(exc: BaseException) -> str:
    """What went wrong, for the log: the driver's error, never SQLAlchemy's message (it
    holds the statement and its parameters) nor a URL."""
    if isinstance(exc, sa_errors.DBAPIError) and exc.orig is not None:
        exc = exc.orig.__cause__ or exc.orig
    return f"{type(exc).__name__}: {exc}"[:300]


async def _unavailable(conn: HTTPConnection, exc: Exception) -> Response | None:
    part = unavailable_part(exc)
    if part is None:
        raise exc  # as if no handler were installed: the 500 path, with its traceback
    log.warning("%s is unavailable", part, extra={"path": conn.url.path, "error": _cause(exc)})
    error = Unavailable(part)
    response = problem_response(
        conn,
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        headers=error.headers,
    )
    if not isinstance(conn, WebSocket):
        return response
    if conn.application_state is WebSocketState.CONNECTING:
        if "websocket.http.response" in conn.scope.get("extensions", {}):
            return response  # the handshake's answer: the same 503 as over HTTP
        await conn.close(code=CLOSE_TRY_AGAIN_LATER)  # refused (servers say 403)
    elif conn.client_state is WebSocketState.CONNECTED:
        await conn.close(code=CLOSE_TRY_AGAIN_LATER, reason=error.code)
    return None


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConfideError, _confide_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # The database or Redis failing is a 503 `unavailable` wherever it surfaces (before an
    # SSE stream starts included; a stream already running can only be cut).
    for error in (
        sa_errors.DBAPIError,
        sa_errors.TimeoutError,
        DatabaseUnreachable,
        redis_errors.ConnectionError,
        redis_errors.TimeoutError,
    ):
        # One handler for both kinds of connection (Starlette types them apart).
        app.add_exception_handler(error, cast(ExceptionHandler, _unavailable))
