"""One pure-ASGI middleware for what every response needs: the Host allow-list, request id,
security headers, body size limit, access log, and a problem+json answer when something
unexpected breaks."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confide.errors import PROBLEM_JSON, problem_body
from confide.hosts import AllowedHosts
from confide.logs import RESERVED_FIELDS, redact_path, redact_query, request_id_var

log = logging.getLogger("confide.http")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HOST_DETAIL = "The Host header names a host this server does not serve (CONFIDE_ALLOWED_HOSTS)."
ACCESS_LOG_STATE = "access_log"
_LINE_FIELDS = frozenset({"method", "path", "query", "status", "close", "duration_ms"})


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit (FastAPI re-raises it)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is larger than allowed.")


class HttpHygieneMiddleware:
    """For every HTTP request and WebSocket connection, before anything else: the Host check,
    then a request id, security headers, the body size limit and one access line.

    The access line (`confide.http`, message `request`) holds the method (`WS` for a
    WebSocket), the path, the query string with only allow-listed values (logs.py), the
    status (a WebSocket's handshake answer: 101 when accepted; and `close`, its close code)
    and the duration. An endpoint adds its own fields with `access_log_fields(request)`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        hsts: bool,
        body_limits: Mapping[str, int] | None = None,
        allowed_hosts: AllowedHosts | None = None,
        docs_paths: Iterable[str] = (),
        docs_csp: str = API_CSP,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Paths that take larger bodies (uploads): exact path -> their own limit.
        self.body_limits = dict(body_limits or {})
        self.allowed_hosts = allowed_hosts
        # Request ids need to be unique, not secret: a random per-process prefix and a counter.
        self.id_prefix = secrets.token_hex(4)
        self.id_counter = itertools.count(1)
        self.docs_paths = tuple(docs_paths)
        base: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if hsts:
            base.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        self.api_headers = [*base, (b"content-security-policy", API_CSP.encode())]
        self.docs_headers = [*base, (b"content-security-policy", docs_csp.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or f"{self.id_prefix}{next(self.id_counter):08x}"
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})  # the endpoint's access_log_fields land in this dict
        path: str = scope["path"]
        extra = list(self.docs_headers if path in self.docs_paths else self.api_headers)
        extra.append((b"x-request-id", request_id.encode()))
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = (
                    [h for h in message.get("headers", ()) if h[0].lower() != b"cache-control"]
                    if path.startswith("/api/")
                    else list(message.get("headers", ()))
                )
                # A response with its own policy (the web app's pages) keeps it.
                if any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.extend(h for h in extra if h[0] != b"content-security-policy")
                else:
                    headers.extend(extra)
                message["headers"] = headers
            await send(message)

        try:
            if not self._host_allowed(scope):
                await _send_problem(send_wrapper, 400, "host_not_allowed", request_id, HOST_DETAIL)
                return
            length = _content_length(scope)
            limit = self.body_limits.get(path, self.max_body_bytes)
            if length is not None and length > limit:
                await _send_problem(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    request_id,
                    "The request body is larger than allowed.",
                )
                return
            await self.app(scope, self._limited(receive, limit), send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"path": redact_path(path)})
            if not response_started:
                await _send_problem(
                    send_wrapper,
                    500,
                    "internal_error",
                    request_id,
                    "Something went wrong on our side.",
                )
        finally:
            _log_access(scope, method=scope["method"], status=status, started=started)
            request_id_var.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or f"{self.id_prefix}{next(self.id_counter):08x}"
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})
        headers = [*self.api_headers, (b"x-request-id", request_id.encode())]
        # The handshake's answer: 101 accepted, 403 closed before accepting (what the server
        # then answers), or the status of a denial response; 500 if the app sent nothing.
        status: int | None = None
        close: int | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal status, close
            kind = message["type"]
            if kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close":
                status = 403 if status is None else status
                close = message.get("code", 1000) if close is None else close
            elif kind == "websocket.http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        async def receive_wrapper() -> Message:
            nonlocal close
            message = await receive()
            if message["type"] == "websocket.disconnect" and close is None:
                close = message.get("code", 1005)
            return message

        try:
            if not self._host_allowed(scope):
                await _refuse_websocket(scope, receive_wrapper, send_wrapper, request_id)
                return
            await self.app(scope, receive_wrapper, send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"path": scope["path"]})
            if close is None:
                with contextlib.suppress(Exception):
                    await send_wrapper({"type": "websocket.close", "code": 1011})
        finally:
            _log_access(
                scope,
                method="WS",
                status=500 if status is None else status,
                started=started,
                close=close,
            )
            request_id_var.reset(token)

    def _host_allowed(self, scope: Scope) -> bool:
        if self.allowed_hosts is None:
            return True
        host: str | None = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        return self.allowed_hosts.allows(host, scope.get("scheme", "http"))

    def _limited(self, receive: Receive, limit: int) -> Receive:
        remaining = limit

        async def limited_receive() -> Message:
            nonlocal remaining
            message = await receive()
            if message["type"] == "http.request":
                remaining -= len(message.get("body", b""))
                if remaining < 0:
                    raise BodyTooLarge
            return message

        return limited_receive


def access_log_fields(connection: HTTPConnection) -> dict[str, Any]:
    """The fields this request's access line adds to its own (a dict the endpoint fills).

    It is `scope["state"]["access_log"]` (so also `request.state.access_log`, which an
    endpoint may set to a dict of its own instead), read when the response has ended: an
    endpoint streaming a run can record its outcome once the stream is over. Values are
    logged as given, through the same redaction as every log field (a key that looks like a
    secret, such as `..._code` or `..._token`, is logged as [redacted]); a key the line has
    already (method, path, query, status, close, duration_ms) is logged as `app_<key>`.
    """
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    fields = state.get(ACCESS_LOG_STATE)
    if not isinstance(fields, dict):
        fields = state[ACCESS_LOG_STATE] = {}
    return fields


def _log_access(
    scope: Scope, *, method: str, status: int, started: float, close: int | None = None
) -> None:
    # A share link's path holds its token: redacted here, whatever formats the record.
    fields: dict[str, Any] = {"method": method, "path": redact_path(scope["path"])}
    query: bytes = scope.get("query_string", b"")
    if query:
        fields["query"] = redact_query(query.decode("latin-1"))
    fields["status"] = status
    if close is not None:
        fields["close"] = close
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    added = (scope.get("state") or {}).get(ACCESS_LOG_STATE)
    if isinstance(added, Mapping):
        for key, value in added.items():
            name = str(key)
            if name in fields or name in _LINE_FIELDS or name in RESERVED_FIELDS:
                name = f"app_{name}"
            fields[name] = value
    log.info("request", extra=fields)


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
    """Refuse the handshake: a 400 problem where the server can send one, else a close."""
    if (await receive())["type"] != "websocket.connect":
        return
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    headers, body = _problem(400, "host_not_allowed", request_id, HOST_DETAIL)
    await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _REQUEST_ID.match(candidate) else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _problem(
    status: int, code: str, request_id: str, detail: str
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        problem_body(status=status, code=code, detail=detail, request_id=request_id)
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return headers, body


async def _send_problem(send: Send, status: int, code: str, request_id: str, detail: str) -> None:
    headers, body = _problem(status, code, request_id, detail)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json like every error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        detail = bytes(response.body).decode()
        headers = {
            k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
        }
        return JSONResponse(
            problem_body(status=400, code="cors_refused", detail=detail),
            status_code=400,
            headers=headers,
            media_type=PROBLEM_JSON,
        )
