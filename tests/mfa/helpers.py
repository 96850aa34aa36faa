"""Helpers for the MFA tests: a clock the test moves, enrolment through the API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
from fastapi import FastAPI

from tests.factories import PASSWORD, signed_up


@dataclass
class Clock:
    """The MFA feature's clock (app.state.mfa.clock), moved by the test."""

    now: float = field(default_factory=lambda: float(int(time.time()) // 30 * 30 + 10))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def use_clock(app: FastAPI) -> Clock:
    clock = Clock()
    app.state.mfa.clock = clock
    return clock


@dataclass
class Enrolled:
    user: dict[str, Any]
    headers: dict[str, str]
    totp: pyotp.TOTP
    backup_codes: list[str]

    @property
    def email(self) -> str:
        return str(self.user["email"])


async def enrolled(client: httpx.AsyncClient, clock: Clock, **kwargs: Any) -> Enrolled:
    """A new account with TOTP on (the confirm used the clock's current step; the clock is
    moved on a step, so the next code is a new one)."""
    user, headers = await signed_up(client, **kwargs)
    started = await client.post("/api/auth/mfa/totp", headers=headers)
    assert started.status_code == 200, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        "/api/auth/mfa/totp/confirm", json={"code": totp.at(clock.now)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    clock.advance(30)
    return Enrolled(user, headers, totp, confirmed.json()["backup_codes"])


async def challenge(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **params: str
) -> dict[str, Any]:
    """Sign in with the password; the MFA challenge body (asserts there is one)."""
    response = await client.post(
        "/api/auth/login", json={"email": email, "password": password}, params=params
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["mfa_required"] is True, body
    return body
