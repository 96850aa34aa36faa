"""GET /api/agents and /api/agents/{id}: what each caller may use, and never the set-up secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.agents.endpoints import router
from confide.agents.registry import AgentRegistry
from tests.conftest import client_for
from tests.factories import assert_problem, bearer, grant_role, login, register, signed_up

AGENTS = "/api/agents"
KNOWN_TOOLS = frozenset({"add", "calculator", "current_time"})
SECRET_URL = "http://llm.internal.example:8080/v1"
KEY_VARIABLE = "INTERNAL_LLM_KEY"
PROMPT_MARKER = "confidential-operator-instructions"

AGENTS_TOML = f"""\
[[agents]]
id = "assistant"
name = "Assistant"
description = "Answers questions."
tools = ["add", "calculator", "current_time"]
system_prompt = "You help {{user_name}}. {PROMPT_MARKER}"
[agents.model]
provider = "scripted"

[[agents]]
id = "local"
name = "Local model"
description = "A model on the operator's network."
default = true
tools = ["current_time"]
system_prompt = "{PROMPT_MARKER}"
[agents.model]
provider = "openai"
name = "llama3.2"
base_url = "{SECRET_URL}"
api_key_env = "{KEY_VARIABLE}"
[agents.generation]
temperature = 0.3

[[agents]]
id = "ops"
name = "Operations"
description = "For administrators."
admin_only = true
system_prompt = "{PROMPT_MARKER}"
[agents.model]
provider = "openai"
name = "gpt-4o"
base_url = "{SECRET_URL}"
"""

ASSISTANT = {
    "id": "assistant",
    "name": "Assistant",
    "description": "Answers questions.",
    "default": False,
    "tools": ["add", "calculator", "current_time"],
    "model": {"provider": "scripted", "name": "confide-scripted"},
    "vision": False,
}
LOCAL = {
    "id": "local",
    "name": "Local model",
    "description": "A model on the operator's network.",
    "default": True,
    "tools": ["current_time"],
    "model": {"provider": "openai", "name": "llama3.2"},
    "vision": False,
}
OPS = {
    "id": "ops",
    "name": "Operations",
    "description": "For administrators.",
    "default": False,
    "tools": [],
    "model": {"provider": "openai", "name": "gpt-4o"},
    "vision": False,
}


@pytest.fixture
async def agents_app(app_factory: Callable[..., FastAPI], tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app whose agents come from AGENTS_TOML."""
    path = tmp_path / "agents.toml"
    path.write_text(AGENTS_TOML, encoding="utf-8")
    app = app_factory(agents_file=path)
    app.state.agents = AgentRegistry.from_settings(app.state.settings, KNOWN_TOOLS)
    if not any(getattr(route, "path", None) == AGENTS for route in app.routes):
        app.include_router(router)
    yield app
    await app.state.database.dispose()


@pytest.fixture
async def client(agents_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(agents_app) as c:
        yield c


async def make_admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """A new user made admin in the database, then signed in (so the session knows it)."""
    user = await register(client)
    await grant_role(app, user["id"])
    tokens = await login(client, email=user["email"])
    return bearer(tokens["access_token"])


def without_request_details(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in ("instance", "request_id")}


async def test_agents_need_authentication(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(AGENTS), 401, "not_authenticated")
    assert_problem(await client.get(f"{AGENTS}/assistant"), 401, "not_authenticated")
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (await client.get(AGENTS, headers=bad_token)).status_code == 401


async def test_a_user_lists_the_agents_they_may_use(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)

    response = await client.get(AGENTS, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"items": [ASSISTANT, LOCAL], "next_cursor": None}


async def test_a_user_reads_one_agent(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)

    response = await client.get(f"{AGENTS}/local", headers=headers)

    assert response.status_code == 200
    assert response.json() == LOCAL


async def test_admin_only_agents_are_unknown_to_other_users(
    agents_app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)

    hidden = assert_problem(
        await client.get(f"{AGENTS}/ops", headers=headers), 404, "agent_not_found"
    )
    missing = assert_problem(
        await client.get(f"{AGENTS}/nobody", headers=headers), 404, "agent_not_found"
    )

    assert without_request_details(hidden) == without_request_details(missing)
    listed = (await client.get(AGENTS, headers=headers)).json()["items"]
    assert "ops" not in [agent["id"] for agent in listed]


async def test_admins_see_every_agent(agents_app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = await make_admin(agents_app, client)

    listed = await client.get(AGENTS, headers=headers)
    one = await client.get(f"{AGENTS}/ops", headers=headers)

    assert listed.json() == {"items": [ASSISTANT, LOCAL, OPS], "next_cursor": None}
    assert one.status_code == 200
    assert one.json() == OPS


async def test_no_set_up_detail_reaches_any_caller(
    agents_app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(agents_app, client)
    _, user = await signed_up(client)

    for headers in (admin, user):
        for path in (AGENTS, f"{AGENTS}/local", f"{AGENTS}/assistant"):
            text = (await client.get(path, headers=headers)).text
            for secret in (
                SECRET_URL,
                "llm.internal.example",
                KEY_VARIABLE,
                PROMPT_MARKER,
                "base_url",
                "api_key",
                "system_prompt",
                "temperature",
                "admin_only",
            ):
                assert secret not in text, (path, secret)


async def test_the_list_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)

    first = (await client.get(AGENTS, params={"limit": 1}, headers=headers)).json()
    assert [agent["id"] for agent in first["items"]] == ["assistant"]
    assert first["next_cursor"]
    second = await client.get(
        AGENTS, params={"limit": 1, "cursor": first["next_cursor"]}, headers=headers
    )
    assert second.json() == {"items": [LOCAL], "next_cursor": None}


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "Wy0xXQ", "W3RydWVd", "WzEsMl0"])
async def test_a_bad_cursor_is_refused(client: httpx.AsyncClient, cursor: str) -> None:
    # Undecodable; ["x"]; [-1]; [true]; [1,2].
    _, headers = await signed_up(client)

    response = await client.get(AGENTS, params={"cursor": cursor}, headers=headers)

    assert_problem(response, 400, "invalid_cursor")


async def test_a_bad_limit_is_a_validation_error(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)

    for limit in ("0", "101", "many"):
        response = await client.get(AGENTS, params={"limit": limit}, headers=headers)
        assert_problem(response, 422, "validation_error")


async def test_the_built_in_set_is_served_without_an_agents_file(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(llm_base_url=SECRET_URL, llm_model="llama3.2")
    app.state.agents = AgentRegistry.from_settings(app.state.settings, KNOWN_TOOLS)
    if not any(getattr(route, "path", None) == AGENTS for route in app.routes):
        app.include_router(router)
    try:
        async with client_for(app) as client:
            _, headers = await signed_up(client)
            response = await client.get(AGENTS, headers=headers)
    finally:
        await app.state.database.dispose()

    items = response.json()["items"]
    assert [(agent["id"], agent["default"]) for agent in items] == [
        ("assistant", True),
        ("calculator", False),
        ("llm", False),
    ]
    assert items[2]["model"] == {"provider": "openai", "name": "llama3.2"}
    assert SECRET_URL not in response.text


async def test_agents_follow_the_caller_s_roles(
    agents_app: FastAPI, client: httpx.AsyncClient
) -> None:
    """`agents:use:<id>` opens one agent (an admin_only one included); `agents:use:*` every
    agent not admin_only; a role without either sees no agent."""
    admin = await make_admin(agents_app, client)
    grants = {
        "ops-desk": ["threads:read", "threads:write", "agents:use:*", "agents:use:ops"],
        "assistant-only": ["threads:read", "threads:write", "agents:use:assistant"],
        "no-agents": ["threads:read", "threads:write"],
    }
    seen: dict[str, list[str]] = {}
    for role, permissions in grants.items():
        made = await client.post(
            "/api/admin/roles", json={"name": role, "permissions": permissions}, headers=admin
        )
        assert made.status_code == 201, made.text
        user = await register(client)
        given = await client.put(
            f"/api/admin/users/{user['id']}/roles", json={"roles": [role]}, headers=admin
        )
        assert given.status_code == 200, given.text
        headers = bearer((await login(client, email=user["email"]))["access_token"])
        answer = await client.get(AGENTS, headers=headers)
        assert answer.status_code == 200, answer.text
        listed = answer.json()["items"]
        seen[role] = [agent["id"] for agent in listed]
        for agent_id in ("assistant", "local", "ops"):
            one = await client.get(f"{AGENTS}/{agent_id}", headers=headers)
            assert one.status_code == (200 if agent_id in seen[role] else 404), (role, agent_id)
        # A thread without a named agent gets one the caller may use, or none at all.
        thread = await client.post("/api/threads", json={}, headers=headers)
        if seen[role]:
            assert thread.status_code == 201, thread.text
            assert thread.json()["agent_id"] in seen[role]
        else:
            assert_problem(thread, 404, "agent_not_found")
    assert seen == {
        "ops-desk": ["assistant", "local", "ops"],
        "assistant-only": ["assistant"],
        "no-agents": [],
    }
