"""Clients from chosen addresses, a clock the tests move, and sign-in helpers."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI

LOGIN = "/api/auth/login"
WRONG = "not-the-password-at-all"


class Clock:
    """The throttle's time, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def use_clock(app: FastAPI) -> Clock:
    clock = Clock()
    app.state.throttle.clock = clock
    return clock


def client_from(app: FastAPI, ip: str) -> httpx.AsyncClient:
    """An in-process client whose requests come from `ip` (as the ASGI scope says)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 40000)), base_url="http://testserver"
    )


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})
