"""The one place errors become responses: RFC 9457 problem+json, never a stack trace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from confide.errors import PROBLEM_JSON, ConfideError, problem_body
from confide.logs import request_id_var

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
    request: Request,
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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConfideError, _confide_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
