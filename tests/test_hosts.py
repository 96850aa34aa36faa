"""The Host allow-list (DNS rebinding) and the scheme in the same-origin check."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from confide.config import SettingsError, load_settings
from confide.hosts import AllowedHosts, parse_host_pattern
from tests.conftest import TEST_MASTER_KEYS
from tests.factories import PASSWORD, assert_problem, register, unique_email
from tests.live_server import serve

GOOD_SECRET = "s" * 48


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CONFIDE_* variable from the caller and no .env file."""
    for name in list(os.environ):
        if name.upper().startswith("CONFIDE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# Entries and matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "chat.example.org",
        "Chat.Example.ORG",
        "chat.example.org:8443",
        "localhost",
        "127.0.0.1",
        "::1",
        "[::1]",
        "[::1]:8000",
        "*.example.org",
        "*.example.org:443",
        "*",
        "my_host.lan",
    ],
)
def test_valid_entries(entry: str) -> None:
    parse_host_pattern(entry)


@pytest.mark.parametrize(
    "entry",
    [
        "",
        "https://chat.example.org",
        "chat.example.org/",
        "chat.example.org:0",
        "chat.example.org:99999",
        "chat.example.org:http",
        "chat.*.org",
        "*example.org",
        "*:8000",
        "user@chat.example.org",
        "[::1",
        "[not-v6]",
        "a..b",
        "-bad.example.org",
        "chat example.org",
    ],
)
def test_invalid_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="is not a host name"):
        parse_host_pattern(entry)


ALLOWED = AllowedHosts(["chat.example.org", "api.example.org:8443", "*.users.example.org", "::1"])


@pytest.mark.parametrize(
    ("host", "scheme", "allowed"),
    [
        ("chat.example.org", "http", True),
        ("CHAT.example.org", "https", True),
        ("chat.example.org.", "https", True),
        ("chat.example.org:8000", "http", True),  # no port in the entry: any port
        ("chat.example.org.evil.example", "http", False),
        ("evilchat.example.org", "http", False),
        ("api.example.org:8443", "https", True),
        ("api.example.org:443", "https", False),
        ("api.example.org", "https", False),  # 443, not 8443
        ("alice.users.example.org", "https", True),
        ("a.b.users.example.org:9", "wss", True),
        ("users.example.org", "https", False),  # the wildcard is for subdomains only
        ("evilusers.example.org", "https", False),
        ("[::1]:8000", "http", True),
        ("[::1]", "ws", True),
        ("[::2]:8000", "http", False),
        ("rebind.attacker.example", "http", False),
        ("", "http", False),
        ("chat.example.org:abc", "http", False),
        ("chat.example.org:8000:1", "http", False),
        (None, "http", False),
    ],
)
def test_allowed_hosts_match(host: str | None, scheme: str, allowed: bool) -> None:
    assert ALLOWED.allows(host, scheme) is allowed


def test_a_port_entry_matches_the_schemes_default_port() -> None:
    hosts = AllowedHosts(["chat.example.org:443"])
    assert hosts.allows("chat.example.org", "https")
    assert hosts.allows("chat.example.org", "wss")
    assert not hosts.allows("chat.example.org", "http")


def test_a_bare_star_allows_any_host() -> None:
    assert AllowedHosts(["*"]).allows("whatever.example", "http")
    assert AllowedHosts(["*"]).allows(None, "http")


# Settings ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("chat.example.org", ["chat.example.org"]),
        (" chat.example.org , [::1]:8000 ", ["chat.example.org", "[::1]:8000"]),
        ('["chat.example.org", "*.example.org"]', ["chat.example.org", "*.example.org"]),
    ],
)
def test_allowed_hosts_from_env(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("CONFIDE_ALLOWED_HOSTS", raw)
    settings = load_settings()
    assert settings.allowed_hosts == expected
    assert settings.effective_allowed_hosts == expected


@pytest.mark.usefixtures("clean_environment")
def test_default_is_the_bind_host_and_the_loopback_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().effective_allowed_hosts == ["127.0.0.1", "localhost", "::1"]
    monkeypatch.setenv("CONFIDE_ALLOWED_HOSTS", "")  # empty means unset
    monkeypatch.setenv("CONFIDE_HOST", "chat.lan")
    assert load_settings().effective_allowed_hosts == ["chat.lan", "localhost", "127.0.0.1", "::1"]


@pytest.mark.usefixtures("clean_environment")
def test_a_bad_entry_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIDE_ALLOWED_HOSTS", "chat.example.org,https://chat.example.org")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith("CONFIDE_ALLOWED_HOSTS: ")
    assert "https://chat.example.org" in problem


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("value", "reason"),
    [(None, "must be set in production"), ("*", "bare *"), ("chat.example.org,*", "bare *")],
)
def test_production_needs_explicit_hosts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str | None, reason: str
) -> None:
    monkeypatch.setenv("CONFIDE_ENV", "production")
    monkeypatch.setenv("CONFIDE_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("CONFIDE_MASTER_KEYS", TEST_MASTER_KEYS)
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path / "data"))
    if value is not None:
        monkeypatch.setenv("CONFIDE_ALLOWED_HOSTS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith("CONFIDE_ALLOWED_HOSTS: ")
    assert reason in problem
    monkeypatch.setenv("CONFIDE_ALLOWED_HOSTS", "chat.example.org,*.users.example.org")
    assert load_settings().production_problems() == []


# Requests ----------------------------------------------------------------------------------------


def client_with_host(app: FastAPI, host: str, scheme: str = "http") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://{host}")


@pytest.mark.parametrize("path", ["/api/health", "/api/ready", "/", "/docs", "/api/nothing"])
async def test_an_unknown_host_is_refused_everywhere(app: FastAPI, path: str) -> None:
    async with client_with_host(app, "rebind.attacker.example") as client:
        response = await client.get(path)
    body = assert_problem(response, 400, "host_not_allowed")
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_a_rebinding_page_cannot_register_or_sign_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Host and Origin agree with each other (the page's own name): refused before the app."""
    email = unique_email("rebind")
    page = {"Origin": "http://rebind.attacker.example:8000"}
    async with client_with_host(app, "rebind.attacker.example:8000") as attacker:
        registered = await attacker.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}, headers=page
        )
        assert_problem(registered, 400, "host_not_allowed")
        signed_in = await attacker.post(
            "/api/auth/login",
            params={"mode": "cookie"},
            json={"email": email, "password": PASSWORD},
            headers=page,
        )
        assert_problem(signed_in, 400, "host_not_allowed")
        assert signed_in.headers.get_list("set-cookie") == []
    # Nothing ran: the email is still free.
    await register(client, email=email)


async def test_an_allowed_host_passes_on_any_port(app: FastAPI) -> None:
    for host in ("testserver", "testserver:8443", "localhost:8000", "127.0.0.1:9", "[::1]:8000"):
        async with client_with_host(app, host) as client:
            response = await client.get("/api/health")
        assert response.status_code == 200, (host, response.text)


async def test_a_host_with_a_port_entry(app_factory: Callable[..., FastAPI]) -> None:
    application = app_factory(allowed_hosts=["chat.example.org:8443", "*.example.net"])
    try:
        for host, status in [
            ("chat.example.org:8443", 200),
            ("chat.example.org:9000", 400),
            ("chat.example.org", 400),
            ("a.example.net", 200),
            ("example.net", 400),
            ("testserver", 400),  # an explicit list replaces the default
            ("localhost", 400),
        ]:
            async with client_with_host(application, host) as client:
                response = await client.get("/api/health")
            assert response.status_code == status, (host, response.text)
    finally:
        await application.state.database.dispose()


async def test_a_request_without_a_host_header_is_refused(app: FastAPI) -> None:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.0",
        "method": "GET",
        "scheme": "http",
        "path": "/api/health",
        "raw_path": b"/api/health",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    assert b"host_not_allowed" in sent[1]["body"]  # type: ignore[operator]


# WebSockets --------------------------------------------------------------------------------------


def test_a_websocket_to_an_unknown_host_is_refused_before_accepting(
    app_factory: Callable[..., FastAPI],
) -> None:
    with TestClient(app_factory(), base_url="http://testserver") as client:
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            client.websocket_connect("ws://rebind.attacker.example/api/ws"),
        ):
            pass
        assert denied.value.status_code == 400
        assert denied.value.json()["code"] == "host_not_allowed"
        assert "x-request-id" in denied.value.headers
        # The same socket on an allowed host reaches the endpoint (which wants a sign-in).
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/api/ws") as socket,
        ):
            socket.receive_json()
        assert closed.value.code == 4401


# The scheme of the Origin ------------------------------------------------------------------------


async def cookie_login_status(client: httpx.AsyncClient, origin: str) -> int:
    user = await register(client)
    response = await client.post(
        "/api/auth/login",
        params={"mode": "cookie"},
        json={"email": user["email"], "password": PASSWORD},
        headers={"Origin": origin},
    )
    client.cookies.clear()
    return response.status_code


@pytest.mark.parametrize(
    ("scheme", "origin", "status"),
    [
        ("http", "http://testserver", 200),
        ("http", "https://testserver", 403),
        ("https", "https://testserver", 200),
        ("https", "http://testserver", 403),
        ("https", "https://testserver:8443", 403),
        ("http", "http://[testserver", 403),  # not a URL at all
    ],
)
async def test_an_origin_counts_as_this_host_only_with_the_requests_scheme(
    app: FastAPI, scheme: str, origin: str, status: int
) -> None:
    async with client_with_host(app, "testserver", scheme) as client:
        assert await cookie_login_status(client, origin) == status


@pytest.mark.parametrize(
    ("origin", "close"),
    [("http://testserver", 4401), ("https://testserver", 4403)],
)
def test_a_websocket_origin_is_compared_with_its_http_scheme(
    app_factory: Callable[..., FastAPI], origin: str, close: int
) -> None:
    """ws:// is opened from an http:// page: past the origin check, the sign-in is missing."""
    with TestClient(app_factory(), base_url="http://testserver") as client:
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/api/ws", headers={"Origin": origin}) as socket,
        ):
            socket.receive_json()
        assert closed.value.code == close


@pytest.fixture
async def proxied_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    application = app_factory()
    yield application
    await application.state.database.dispose()


@pytest.mark.parametrize(
    ("trusted", "forwarded", "origin", "status"),
    [
        ("127.0.0.1", "https", "https", 200),
        ("127.0.0.1", None, "https", 403),
        ("127.0.0.1", "https", "http", 403),
        ("10.9.8.7", "https", "https", 403),  # the proxy header of an untrusted client
        ("10.9.8.7", "https", "http", 200),
    ],
)
async def test_the_scheme_honours_a_trusted_proxy(
    proxied_app: FastAPI, trusted: str, forwarded: str | None, origin: str, status: int
) -> None:
    """Behind a TLS proxy the connection is plain http; X-Forwarded-Proto says https."""
    async with serve(proxied_app, proxy_headers=True, forwarded_allow_ips=trusted) as address:
        headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
        async with httpx.AsyncClient(
            base_url=f"http://{address}", headers=headers, timeout=30
        ) as client:
            assert await cookie_login_status(client, f"{origin}://{address}") == status
