"""Domain errors and their one rendering: RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"


class ConfideError(Exception):
    """A failure the client should hear about, with a stable machine-readable code."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    # True when what the request changed before failing must still be stored (a revocation).
    keep_changes: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.detail)


class BadRequest(ConfideError):
    status, code, title = 400, "bad_request", "Bad request"


class ValidationFailed(ConfideError):
    status, code, title = 422, "validation_error", "The request is not valid"


class NotAuthenticated(ConfideError):
    status, code, title = 401, "not_authenticated", "Authentication required"

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ConfideError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(ConfideError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ConfideError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ConfideError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class ServiceUnavailable(ConfideError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class Unavailable(ServiceUnavailable):
    """A part Confide depends on ("the database", "Redis") cannot serve right now: an outage
    to wait out, not a fault of the request, so the client may send it again."""

    status, code, title = 503, "unavailable", "Service temporarily unavailable"
    retry_after_seconds = 2

    def __init__(self, part: str) -> None:
        super().__init__(
            f"{part[:1].upper()}{part[1:]} is not answering right now; try again in a moment.",
            headers={"Retry-After": str(self.retry_after_seconds)},
        )
        self.part = part


def problem_body(
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON object of a problem response."""
    if title is None:
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
    body: dict[str, Any] = {
        "type": f"urn:confide:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail or title,
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return body
