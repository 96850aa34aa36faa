"""What every response gets: problem+json errors, security headers, request ids, the body
size limit, CORS and structured logs that never hold a secret."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.logs import REDACTED, JsonFormatter, configure_logging, redact, request_id_var
from tests.conftest import TEST_SECRET, client_for
from tests.factories import PASSWORD, assert_problem, bearer, login, register, unique_email

MiB = 1024 * 1024
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin-when-cross-origin"}
BOOM_MARKER = "kaboom-internal-detail-7f3a"


async def _boom() -> None:
    raise RuntimeError(f"{BOOM_MARKER} while talking to the database")


@pytest.fixture
async def boom_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    """The real app plus one route that fails the way a bug would."""
    application = app_factory()
    application.add_api_route("/api/boom", _boom)
    yield application
    await application.state.database.dispose()


@pytest.fixture
async def boom_client(boom_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(boom_app) as c:
        yield c


def padded_json(body: dict[str, Any], size: int) -> bytes:
    """Valid JSON of exactly `size` bytes (trailing whitespace is still JSON)."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def assert_no_leak(response: httpx.Response) -> None:
    text = response.text
    for needle in ("Traceback", "RuntimeError", BOOM_MARKER, 'File "', "site-packages"):
        assert needle not in text, text


# Problem+json ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/no-such-thing", "/docs/no-such-page", "/api/auth/nope"])
async def test_unknown_route_is_not_found_problem(client: httpx.AsyncClient, path: str) -> None:
    body = assert_problem(await client.get(path), 404, "not_found")
    assert body["type"].endswith("not_found") or body["type"] == "about:blank"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/health"), ("DELETE", "/api/ready"), ("GET", "/api/auth/login")],
)
async def test_wrong_method_is_method_not_allowed(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert_problem(response, 405, "method_not_allowed")
    assert "allow" in response.headers


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login", "/api/auth/refresh"])
@pytest.mark.parametrize("body", [b"{bad", b'{"email": "a@example.org", ', b"\xff\xfe{}"])
async def test_malformed_json_is_400(client: httpx.AsyncClient, path: str, body: bytes) -> None:
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    problem = assert_problem(response, 400, "malformed_json")
    assert "Traceback" not in response.text
    assert problem["status"] == 400


async def test_validation_error_does_not_echo_the_input(client: httpx.AsyncClient) -> None:
    secret = "hunter2-but-too-long-" * 60  # over the 1024 character limit
    response = await client.post(
        "/api/auth/register", json={"email": unique_email(), "password": secret}
    )
    body = assert_problem(response, 422, "validation_error")
    assert "hunter2" not in response.text
    assert body["errors"]
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])


async def test_unhandled_exception_is_opaque_500(boom_client: httpx.AsyncClient) -> None:
    response = await boom_client.get("/api/boom", headers={"X-Request-ID": "boom-request-0001"})
    body = assert_problem(response, 500, "internal_error")
    assert_no_leak(response)
    assert body["request_id"] == "boom-request-0001"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # The app is still fine afterwards.
    assert (await boom_client.get("/api/health")).status_code == 200


async def test_problem_carries_request_id_and_instance(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    body = assert_problem(response, 401, "not_authenticated")
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["instance"] == "/api/auth/me"
    assert body["type"]
    assert body["title"]


# Security headers ------------------------------------------------------------------------------

Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def _ok(c: httpx.AsyncClient) -> httpx.Response:
    return await c.get("/api/health")


async def _unauthenticated(c: httpx.AsyncClient) -> httpx.Response:
    return await c.get("/api/auth/me")


async def _not_found(c: httpx.AsyncClient) -> httpx.Response:
    return await c.get("/api/nothing-here")


async def _too_large(c: httpx.AsyncClient) -> httpx.Response:
    return await c.post(
        "/api/auth/register",
        content=b"{" + b" " * MiB + b"}",
        headers={"content-type": "application/json"},
    )


async def _too_large_streamed(c: httpx.AsyncClient) -> httpx.Response:
    return await c.post(
        "/api/auth/register",
        content=chunks(b"{" + b" " * MiB + b"}"),
        headers={"content-type": "application/json"},
    )


async def _invalid(c: httpx.AsyncClient) -> httpx.Response:
    return await c.post("/api/auth/register", json={})


async def _malformed(c: httpx.AsyncClient) -> httpx.Response:
    return await c.post(
        "/api/auth/login", content=b"{", headers={"content-type": "application/json"}
    )


async def _wrong_method(c: httpx.AsyncClient) -> httpx.Response:
    return await c.put("/api/health")


async def _crash(c: httpx.AsyncClient) -> httpx.Response:
    return await c.get("/api/boom")


ALL_KINDS: list[tuple[int, Call]] = [
    (200, _ok),
    (401, _unauthenticated),
    (404, _not_found),
    (413, _too_large),
    (413, _too_large_streamed),
    (422, _invalid),
    (400, _malformed),
    (405, _wrong_method),
    (500, _crash),
]
KIND_IDS = [
    "200",
    "401",
    "404",
    "413-length",
    "413-streamed",
    "422",
    "400",
    "405",
    "500",
]


@pytest.mark.parametrize(("status", "call"), ALL_KINDS, ids=KIND_IDS)
async def test_security_headers_on_every_response(
    boom_client: httpx.AsyncClient, status: int, call: Call
) -> None:
    response = await call(boom_client)
    assert response.status_code == status, response.text
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in SAFE_REFERRER_POLICIES
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert REQUEST_ID.match(headers["x-request-id"])
    assert "no-store" in headers["cache-control"]
    assert "strict-transport-security" not in headers  # development
    if status >= 400:
        assert headers["content-type"].startswith("application/problem+json")
        assert_no_leak(response)


async def test_auth_responses_are_never_cached(client: httpx.AsyncClient) -> None:
    email = unique_email()
    created = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    signed_in = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    tokens = signed_in.json()
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    failed = await client.post("/api/auth/login", json={"email": email, "password": "wrong" * 4})
    for response in (created, signed_in, me, refreshed, failed):
        assert response.status_code in (200, 201, 401), response.text
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("call", [_ok, _not_found, _too_large, _unauthenticated])
async def test_hsts_only_in_production(app_factory: Callable[..., FastAPI], call: Call) -> None:
    production = app_factory(env="production", cookie_secure=True)
    development = app_factory()
    try:
        async with client_for(production) as c:
            hsts = (await call(c)).headers.get("strict-transport-security", "")
        max_age = re.search(r"max-age=(\d+)", hsts)
        assert max_age, hsts
        assert int(max_age.group(1)) >= 180 * 86400
        async with client_for(development) as c:
            assert "strict-transport-security" not in (await call(c)).headers
    finally:
        await production.state.database.dispose()
        await development.state.database.dispose()


# Request ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["abcdefgh", "client.req-0001_x", "A" * 64])
async def test_valid_request_id_is_echoed(client: httpx.AsyncClient, sent: str) -> None:
    ok = await client.get("/api/health", headers={"X-Request-ID": sent})
    assert ok.headers["x-request-id"] == sent
    failed = await client.get("/api/auth/me", headers={"X-Request-ID": sent})
    assert failed.headers["x-request-id"] == sent
    assert failed.json()["request_id"] == sent


@pytest.mark.parametrize(
    "sent", ["short", "A" * 65, "has space 123", "<script>alert(1)</script>", "a/b/c/d/e/f"]
)
async def test_invalid_request_id_is_replaced(client: httpx.AsyncClient, sent: str) -> None:
    response = await client.get("/api/auth/me", headers={"X-Request-ID": sent})
    generated = response.headers["x-request-id"]
    assert generated != sent
    assert REQUEST_ID.match(generated)
    assert response.json()["request_id"] == generated
    assert sent not in response.text


async def test_request_id_generated_per_request(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/api/health")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(REQUEST_ID.match(value) for value in ids)


# Body size limit -------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
async def test_body_over_limit_is_413_and_changes_nothing(
    client: httpx.AsyncClient, streamed: bool
) -> None:
    email = unique_email("big")
    body = padded_json({"email": email, "password": PASSWORD}, MiB + 1)
    content: bytes | AsyncIterator[bytes] = chunks(body) if streamed else body
    response = await client.post(
        "/api/auth/register", content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")
    assert ("content-length" in response.request.headers) is not streamed
    # Nothing was created: the same email can still sign up, and could not sign in before.
    failed = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert_problem(failed, 401, "invalid_credentials")
    await register(client, email=email)


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
async def test_body_at_limit_is_accepted(client: httpx.AsyncClient, streamed: bool) -> None:
    email = unique_email("edge")
    body = padded_json({"email": email, "password": PASSWORD}, MiB)
    content: bytes | AsyncIterator[bytes] = chunks(body) if streamed else body
    response = await client.post(
        "/api/auth/register", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    await login(client, email=email)


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
async def test_oversized_form_login_is_413(client: httpx.AsyncClient, streamed: bool) -> None:
    user = await register(client)
    form = f"username={user['email']}&password={PASSWORD}&scope=".encode() + b"x" * MiB
    content: bytes | AsyncIterator[bytes] = chunks(form) if streamed else form
    response = await client.post(
        "/api/auth/login",
        content=content,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 413, "payload_too_large")
    assert "access_token" not in response.text


async def test_configured_limit_is_used(app_factory: Callable[..., FastAPI]) -> None:
    application = app_factory(max_body_bytes=2048)
    try:
        async with client_for(application) as c:
            body = padded_json({"email": unique_email(), "password": PASSWORD}, 2049)
            response = await c.post(
                "/api/auth/register", content=body, headers={"content-type": "application/json"}
            )
            assert_problem(response, 413, "payload_too_large")
            body = padded_json({"email": unique_email(), "password": PASSWORD}, 2048)
            response = await c.post(
                "/api/auth/register", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 201, response.text
    finally:
        await application.state.database.dispose()


# CORS ------------------------------------------------------------------------------------------

ALLOWED_ORIGIN = "https://app.example.org"


@pytest.fixture
async def cors_client(app_factory: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    application = app_factory(cors_origins=[ALLOWED_ORIGIN])
    async with client_for(application) as c:
        yield c
    await application.state.database.dispose()


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type,x-csrf-token",
    }


async def test_preflight_from_allowed_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.options("/api/auth/login", headers=preflight(ALLOWED_ORIGIN))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "x-csrf-token" in allowed_headers
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.org",
        "http://app.example.org",
        "https://app.example.org.evil.com",
        "https://app.example.org:8443",
        "null",
    ],
)
async def test_preflight_from_other_origin_is_not_allowed(
    cors_client: httpx.AsyncClient, origin: str
) -> None:
    response = await cors_client.options("/api/auth/login", headers=preflight(origin))
    # Without Allow-Origin the browser refuses, whatever else the preflight says.
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code >= 400


async def test_refused_preflight_is_a_problem(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.options(
        "/api/auth/login", headers=preflight("https://evil.example.org")
    )
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_simple_request_origin_is_echoed_only_when_allowed(
    cors_client: httpx.AsyncClient,
) -> None:
    allowed = await cors_client.get("/api/health", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    other = await cors_client.get("/api/health", headers={"Origin": "https://evil.example.org"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


async def test_no_cors_without_configured_origins(client: httpx.AsyncClient) -> None:
    response = await client.options("/api/auth/login", headers=preflight(ALLOWED_ORIGIN))
    assert "access-control-allow-origin" not in response.headers
    simple = await client.get("/api/health", headers={"Origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


# Logs ------------------------------------------------------------------------------------------


def parse_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_logs_are_json_with_request_ids_and_hold_no_secrets(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    email = unique_email("logs")
    wrong_password = "not-the-password-31337"
    await register(client, email=email)
    tokens = await login(client, email=email)
    me = await client.get(
        "/api/auth/me",
        headers={**bearer(tokens["access_token"]), "X-Request-ID": "me-request-0001"},
    )
    assert me.status_code == 200
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    new_tokens = refreshed.json()
    reused = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    failed = await client.post("/api/auth/login", json={"email": email, "password": wrong_password})
    assert_problem(failed, 401, "invalid_credentials")
    form = await client.post(
        "/api/auth/login",
        data={"username": email, "password": PASSWORD, "grant_type": "password"},
    )
    assert form.status_code == 200, form.text
    cookie_login = await client.post(
        "/api/auth/login", json={"email": email, "password": PASSWORD, "mode": "cookie"}
    )
    assert cookie_login.status_code == 200, cookie_login.text
    csrf_token = cookie_login.json()["csrf_token"]
    cookie_values = [cookie.value for cookie in client.cookies.jar]
    assert cookie_values
    cookie_me = await client.get("/api/auth/me")
    assert cookie_me.status_code == 200

    text = log_lines.getvalue()
    secrets = [
        PASSWORD,
        wrong_password,
        tokens["access_token"],
        tokens["refresh_token"],
        new_tokens["access_token"],
        new_tokens["refresh_token"],
        form.json()["access_token"],
        form.json()["refresh_token"],
        csrf_token,
        TEST_SECRET,
        *cookie_values,
    ]
    for secret in secrets:
        assert secret not in text
    # A JWT's signature alone is enough to replay it.
    assert tokens["access_token"].rsplit(".", 1)[1] not in text

    entries = parse_lines(text)
    requests = [entry for entry in entries if entry.get("msg") == "request"]
    assert len(requests) >= 9
    for entry in entries:
        assert REQUEST_ID.match(entry["request_id"]), entry
        assert {"ts", "level", "logger", "msg"} <= entry.keys()
    for entry in requests:
        assert {"method", "path", "status", "duration_ms"} <= entry.keys()
    me_lines = [entry for entry in requests if entry["request_id"] == "me-request-0001"]
    assert [(e["path"], e["status"]) for e in me_lines] == [("/api/auth/me", 200)]
    assert any(entry["status"] == 401 and entry["path"] == "/api/auth/login" for entry in requests)


async def test_query_string_secrets_are_not_logged(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    await client.get("/api/auth/me?access_token=leaky-token-value-123&code=987654")
    text = log_lines.getvalue()
    assert "leaky-token-value-123" not in text
    assert "987654" not in text
    assert any(entry.get("path") == "/api/auth/me" for entry in parse_lines(text))


async def test_unhandled_exception_is_logged_with_request_id(
    boom_client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    await boom_client.get("/api/boom", headers={"X-Request-ID": "crash-request-01"})
    entries = [
        e for e in parse_lines(log_lines.getvalue()) if e["request_id"] == "crash-request-01"
    ]
    errors = [e for e in entries if e["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["exc_type"] == "RuntimeError"
    assert errors[0]["path"] == "/api/boom"
    assert [e["status"] for e in entries if e["msg"] == "request"] == [500]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers; put them back for the other tests."""
    names = ("confide", "uvicorn", "uvicorn.error")
    saved = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).level,
            logging.getLogger(name).propagate,
        )
        for name in names
    }
    access_disabled = logging.getLogger("uvicorn.access").disabled
    try:
        yield
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        logging.getLogger("uvicorn.access").disabled = access_disabled


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    token = request_id_var.set("configure-test-01")
    try:
        logging.getLogger("confide.test").info(
            "signed in with Bearer abc.def.ghi",
            extra={"password": "pw-in-extra", "user_id": "u-1", "headers": {"cookie": "c=1"}},
        )
        logging.getLogger("confide.test").debug("not at INFO")
    finally:
        request_id_var.reset(token)
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    captured = capsys.readouterr()
    assert captured.out == ""
    first, second = parse_lines(captured.err)
    assert first["request_id"] == "configure-test-01"
    assert first["level"] == "info"
    assert first["logger"] == "confide.test"
    assert first["user_id"] == "u-1"
    assert first["password"] == REDACTED
    assert first["headers"] == {"cookie": REDACTED}
    assert "abc.def.ghi" not in captured.err
    assert "pw-in-extra" not in captured.err
    assert second["logger"] == "uvicorn.error"
    assert "request_id" not in second
    assert logging.getLogger("uvicorn.access").disabled


def test_formatter_redacts_exception_text() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    try:
        raise ValueError(f"bad token {jwt}")
    except ValueError:
        record = logging.getLogger("confide.test").makeRecord(
            "confide.test", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["exc_type"] == "ValueError"
    assert jwt not in line["exc"]
    assert REDACTED in line["exc"]


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "passwd",
        "access_token",
        "refresh_token",
        "secret",
        "secret_key",
        "cookie",
        "Set-Cookie",
        "Authorization",
        "csrf_token",
        "X-CSRF-Token",
        "code",
        "otp",
        "api_key",
        "credentials",
    ],
)
def test_redact_secret_keys(key: str) -> None:
    assert redact({key: "value"}) == {key: REDACTED}
    assert redact({key: {"nested": "x"}}) == {key: REDACTED}
    assert redact({key: 12345}) == {key: REDACTED}


@pytest.mark.parametrize(
    "value",
    [
        "Bearer abcdef123456",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.",
    ],
)
def test_redact_token_looking_values(value: str) -> None:
    assert value not in str(redact({"note": f"header was {value} here"}))
    assert value not in redact(value)


def test_redact_keeps_what_is_safe_and_recurses() -> None:
    data = {
        "user_id": "u-1",
        "email": "alice@example.org",
        "status": 200,
        "ok": True,
        "nothing": None,
        "nested": {"password": "pw", "path": "/api/auth/me"},
        "items": [{"refresh_token": "rt"}, "plain", ("Bearer xyz12345",)],
    }
    assert redact(data) == {
        "user_id": "u-1",
        "email": "alice@example.org",
        "status": 200,
        "ok": True,
        "nothing": None,
        "nested": {"password": REDACTED, "path": "/api/auth/me"},
        "items": [{"refresh_token": REDACTED}, "plain", [REDACTED]],
    }
    assert redact("hello") == "hello"
    assert redact(42) == 42
    assert redact("anything", "password") == REDACTED
