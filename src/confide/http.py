"""One pure-ASGI middleware for what every response needs: request id, security headers,
body size limit, access log, and a problem+json answer when something unexpected breaks."""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confide.errors import PROBLEM_JSON, problem_body
from confide.logs import request_id_var

log = logging.getLogger("confide.http")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit (FastAPI re-raises it)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is larger than allowed.")


class HttpHygieneMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        hsts: bool,
        docs_paths: Iterable[str] = (),
        docs_csp: str = API_CSP,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or f"{self.id_prefix}{next(self.id_counter):08x}"
        token = request_id_var.set(request_id)
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
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                await _send_problem(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    request_id,
                    "The request body is larger than allowed.",
                )
                return
            await self.app(scope, self._limited(receive), send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"path": path})
            if not response_started:
                await _send_problem(
                    send_wrapper,
                    500,
                    "internal_error",
                    request_id,
                    "Something went wrong on our side.",
                )
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)

    def _limited(self, receive: Receive) -> Receive:
        remaining = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal remaining
            message = await receive()
            if message["type"] == "http.request":
                remaining -= len(message.get("body", b""))
                if remaining < 0:
                    raise BodyTooLarge
            return message

        return limited_receive


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


async def _send_problem(send: Send, status: int, code: str, request_id: str, detail: str) -> None:
    body = json.dumps(
        problem_body(status=status, code=code, detail=detail, request_id=request_id)
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
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
