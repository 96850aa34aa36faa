"""Per-user credentials through the app: connections, isolation, OAuth 2.1 + PKCE, admin view."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from confide.agents.tools import ToolContext, ToolRegistry
from confide.mcp.manager import McpManager
from confide.mcp.models import McpCredential
from tests.conftest import client_for
from tests.factories import assert_problem, grant_role, login, signed_up
from tests.live_server import serve
from tests.mcp.conftest import agent_file, http_server, stdio_server


def oauth_server() -> tuple[Starlette, dict[str, Any]]:
    """An authorization server speaking the code flow with PKCE S256 and refresh tokens."""
    seen: dict[str, Any] = {"codes": {}, "refreshed": 0}

    async def authorize(request: Request) -> RedirectResponse:
        query = request.query_params
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(8)
        seen["codes"][code] = (query["code_challenge"], query["redirect_uri"])
        location = f"{query['redirect_uri']}?code={code}&state={query['state']}"
        return RedirectResponse(location, status_code=302)

    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        if form["grant_type"] == "refresh_token":
            seen["refreshed"] += 1
            return JSONResponse({"access_token": "renewed-token", "expires_in": 3600})
        challenge, redirect_uri = seen["codes"].pop(form["code"], (None, None))
        digest = hashlib.sha256(str(form["code_verifier"]).encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if challenge != expected or redirect_uri != form["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        # Already expired: the first call must renew it with the refresh token.
        return JSONResponse(
            {"access_token": "first-token", "refresh_token": "refresh-1", "expires_in": 0}
        )

    app = Starlette(
        routes=[Route("/authorize", authorize), Route("/token", token, methods=["POST"])]
    )
    return app, seen


@pytest.fixture
async def oauth() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    app, seen = oauth_server()
    async with serve(app) as address:  # type: ignore[arg-type]
        yield f"http://{address}", seen


def write_agents(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def mcp_app(
    app_factory: Callable[..., FastAPI],
    tmp_path: Path,
    http_tools_url: str,
    http_private_url: str,
    oauth: tuple[str, dict[str, Any]],
) -> AsyncIterator[FastAPI]:
    oauth_url, _ = oauth
    text = agent_file(
        http_server(http_tools_url, "mine", extra='auth = "user"'),
        http_server(
            http_tools_url,
            "signin",
            extra=(
                'auth = "user"\n[agents.mcp.oauth]\n'
                f'authorize_url = "{oauth_url}/authorize"\ntoken_url = "{oauth_url}/token"\n'
                'client_id = "confide"\nscopes = ["read"]'
            ),
        ),
        stdio_server("t", extra='tools = ["echo"]'),
        http_server(http_private_url, "private", extra='auth = "user"'),
    )
    app = app_factory(agents_file=write_agents(tmp_path, text))
    app.state.mcp.backoff_seconds = 0.05
    app.state.mcp.backoff_max_seconds = 0.5
    app.state.mcp.start()
    try:
        yield app
    finally:
        await app.state.mcp.aclose()


async def whoami(app: FastAPI, user_id: str, tool: str = "mine_whoami") -> tuple[str, str]:
    manager = app.state.mcp
    agent = app.state.agents.agents.default
    await manager.wait_until(lambda: any(t.name == "whoami" for t in manager.servers["mine"].tools))
    tools = ToolRegistry(manager.tools_for(agent))
    outcome = await tools.execute(
        tool, {}, context=ToolContext(user_id=user_id), timeout_seconds=10
    )
    return outcome.status, outcome.content


async def test_each_user_calls_with_their_own_token(mcp_app: FastAPI) -> None:
    async with client_for(mcp_app) as client:
        alice, alice_auth = await signed_up(client)
        bob, bob_auth = await signed_up(client)
        carol, _ = await signed_up(client)
        listed = (await client.get("/api/me/connections", headers=alice_auth)).json()["items"]
        assert [(c["server_id"], c["connected"], c["oauth"]) for c in listed] == [
            ("mine", False, False),
            ("signin", False, True),
            ("private", False, False),
        ]
        for auth, token in ((alice_auth, "alice-secret"), (bob_auth, "bob-secret")):
            response = await client.put(
                "/api/me/connections/mine", json={"token": token}, headers=auth
            )
            assert response.status_code == 204
        listed = (await client.get("/api/me/connections", headers=alice_auth)).json()["items"]
        assert listed[0]["connected"]
        assert listed[0]["connected_at"]
        assert "alice-secret" not in str(listed)

    assert await whoami(mcp_app, alice["id"]) == ("ok", "Bearer alice-secret")
    assert await whoami(mcp_app, bob["id"]) == ("ok", "Bearer bob-secret")
    assert await whoami(mcp_app, carol["id"]) == (
        "error",
        "Error: connect mine first (Settings → Connections)",
    )
    # Sealed at rest: the token is not in the stored bytes.
    async with mcp_app.state.database.begin() as conn:
        stored = (await conn.execute(select(McpCredential.secret))).scalars().all()
    assert len(stored) == 2
    assert not any(b"alice-secret" in bytes(s) for s in stored)

    async with client_for(mcp_app) as client:
        response = await client.delete("/api/me/connections/mine", headers=alice_auth)
        assert response.status_code == 204
    assert (await whoami(mcp_app, alice["id"]))[0] == "error"
    assert await whoami(mcp_app, bob["id"]) == ("ok", "Bearer bob-secret")


async def test_a_refused_token_says_connect_again(mcp_app: FastAPI) -> None:
    async with client_for(mcp_app) as client:
        user, auth = await signed_up(client)
        response = await client.put(
            "/api/me/connections/mine", json={"token": "revoked"}, headers=auth
        )
        assert response.status_code == 204
    assert await whoami(mcp_app, user["id"]) == (
        "error",
        "Error: mine refused your credentials: connect it again (Settings → Connections)",
    )


async def test_a_server_listing_tools_only_to_users_learns_them_from_a_token(
    mcp_app: FastAPI,
) -> None:
    manager = mcp_app.state.mcp
    await manager.wait_until(lambda: manager.servers["private"].state == "down")
    assert not manager.servers["private"].tools
    async with client_for(mcp_app) as client:
        user, auth = await signed_up(client)
        response = await client.put(
            "/api/me/connections/private", json={"token": "key-1"}, headers=auth
        )
        assert response.status_code == 204
    await manager.wait_until(lambda: manager.servers["private"].state == "ready")
    tools = ToolRegistry(manager.tools_for(mcp_app.state.agents.agents.default))
    outcome = await tools.execute(
        "private_whoami", {}, context=ToolContext(user_id=user["id"]), timeout_seconds=10
    )
    assert (outcome.status, outcome.content) == ("ok", "Bearer key-1")
    # The anonymous connection still fails; the server stays usable.
    restarts = manager.servers["private"].restarts
    await manager.wait_until(lambda: manager.servers["private"].restarts > restarts)
    assert manager.servers["private"].state == "ready"
    # Another process (or this one restarted) reads them with the latest user's token.
    again = McpManager(mcp_app.state.agents.agents, tokens=manager.tokens, backoff_seconds=0.05)
    again.start()
    try:
        await again.wait_until(lambda: again.servers["private"].state == "ready")
        assert any(tool.name == "whoami" for tool in again.servers["private"].tools)
    finally:
        await again.aclose()


async def test_unknown_servers_are_404(mcp_app: FastAPI) -> None:
    async with client_for(mcp_app) as client:
        _, auth = await signed_up(client)
        for server in ("nope", "t"):  # "t" exists but takes no user credentials
            response = await client.put(
                f"/api/me/connections/{server}", json={"token": "x"}, headers=auth
            )
            assert_problem(response, 404, "mcp_server_not_found")
        response = await client.post("/api/me/connections/mine/oauth", headers=auth)
        assert_problem(response, 400, "oauth_not_offered")


async def test_oauth_with_pkce_and_refresh(
    mcp_app: FastAPI, oauth: tuple[str, dict[str, Any]]
) -> None:
    _, seen = oauth
    async with client_for(mcp_app) as client:
        user, auth = await signed_up(client)
        response = await client.post("/api/me/connections/signin/oauth", headers=auth)
        assert response.status_code == 200, response.text
        authorize_url = response.json()["authorize_url"]
        query = parse_qs(urlsplit(authorize_url).query)
        assert query["client_id"] == ["confide"]
        assert query["scope"] == ["read"]
        async with httpx.AsyncClient() as browser:
            sent_back = await browser.get(authorize_url)
        assert sent_back.status_code == 302
        callback = urlsplit(sent_back.headers["location"])
        assert callback.path == "/api/me/connections/signin/oauth/callback"
        done = await client.get(f"{callback.path}?{callback.query}", headers=auth)
        assert done.status_code == 303
        assert done.headers["location"] == "/settings/connections?connected=signin"
        # The state is good once.
        again = await client.get(f"{callback.path}?{callback.query}", headers=auth)
        assert again.headers["location"] == "/settings/connections?error=oauth_state_invalid"
        listed = (await client.get("/api/me/connections", headers=auth)).json()["items"]
        assert [c["connected"] for c in listed if c["server_id"] == "signin"] == [True]

    # The access token came expired: the call renews it first, then sends the new one.
    assert await whoami(mcp_app, user["id"], "signin_whoami") == ("ok", "Bearer renewed-token")
    assert seen["refreshed"] == 1


async def test_another_users_state_does_not_connect(mcp_app: FastAPI) -> None:
    async with client_for(mcp_app) as client:
        _, alice_auth = await signed_up(client)
        _, bob_auth = await signed_up(client)
        url = (await client.post("/api/me/connections/signin/oauth", headers=alice_auth)).json()[
            "authorize_url"
        ]
        state = parse_qs(urlsplit(url).query)["state"][0]
        done = await client.get(
            f"/api/me/connections/signin/oauth/callback?code=x&state={state}", headers=bob_auth
        )
        assert done.headers["location"] == "/settings/connections?error=oauth_state_invalid"


async def test_admin_sees_every_server(mcp_app: FastAPI) -> None:
    async with client_for(mcp_app) as client:
        user, auth = await signed_up(client)
        response = await client.get("/api/admin/mcp", headers=auth)
        assert_problem(response, 403, "forbidden")
        await grant_role(mcp_app, user["id"])
        tokens = await login(client, email=user["email"])
        manager = mcp_app.state.mcp
        await manager.wait_until(lambda: manager.servers["t"].state == "ready")
        response = await client.get(
            "/api/admin/mcp", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert response.status_code == 200
        servers = {server["id"]: server for server in response.json()["items"]}
        assert set(servers) == {"mine", "signin", "t", "private"}
        first = await client.get(
            "/api/admin/mcp?limit=1", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        rest = await client.get(
            f"/api/admin/mcp?cursor={first.json()['next_cursor']}",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        paged = [s["id"] for s in first.json()["items"] + rest.json()["items"]]
        assert paged == [s["id"] for s in response.json()["items"]]
        assert servers["t"]["transport"] == "stdio"
        assert servers["t"]["state"] == "ready"
        assert servers["mine"]["auth"] == "user"
        assert servers["t"]["agents"] == ["helper"]
        echo = next(tool for tool in servers["t"]["tools"] if tool["name"] == "echo")
        assert echo["model_name"] == "t_echo"
        assert echo["requires_approval"] is False
        assert uuid.UUID(user["id"])
