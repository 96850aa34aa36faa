"""The live-session cache: concurrent requests share one database check."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.auth.service import AuthService
from tests.factories import signed_up


async def test_concurrent_requests_of_a_cold_session_share_one_load(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, headers = await signed_up(client)
    loads = 0
    original = AuthService.load_principal

    async def counting(self: AuthService, *args: Any) -> Any:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0)  # let the other requests arrive while this load is in flight
        return await original(self, *args)

    monkeypatch.setattr(AuthService, "load_principal", counting)
    responses = await asyncio.gather(
        *(client.get("/api/auth/me", headers=headers) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    assert loads == 1
    assert app.state.auth.loading == {}


async def test_a_failed_shared_load_fails_every_waiter(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    responses = await asyncio.gather(
        *(client.get("/api/auth/me", headers=headers) for _ in range(5))
    )
    assert {r.json()["code"] for r in responses} == {"session_expired"}
    assert app.state.auth.loading == {}
