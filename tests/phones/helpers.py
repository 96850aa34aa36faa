"""Helpers for the phone tests: the SMS outbox, a verified phone through the API."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import AuthSession
from confide.db.base import utcnow
from confide.notify.outbox import OutboxEntry, read_outbox
from tests.conftest import settle_jobs

PHONE = "/api/auth/phone"
NUMBER = "+4915112345678"


async def texts(app: FastAPI, to: str | None = None) -> list[OutboxEntry]:
    """Every SMS in the outbox (to one number), oldest first, once the jobs are done."""
    await settle_jobs(app)
    entries = read_outbox(Path(app.state.settings.data_dir) / "outbox")
    return [e for e in entries if e.kind == "sms" and (to is None or e.recipient == to)]


async def texted_code(app: FastAPI, to: str, purpose: str) -> str:
    """The 6-digit code of the last SMS to `to` for `purpose`."""
    sent = [e for e in await texts(app, to) if e.purpose == purpose]
    assert sent, await texts(app)
    found = re.search(r"\b(\d{6})\b", sent[-1].text)
    assert found is not None, sent[-1].text
    return found.group(1)


async def verified_phone(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], number: str = NUMBER
) -> None:
    """Add `number` to the account and verify it with the code texted to it."""
    added = await client.put(PHONE, json={"number": number}, headers=headers)
    assert added.status_code == 202, added.text
    code = await texted_code(app, number, "phone_verify")
    verified = await client.post(f"{PHONE}/verify", json={"code": code}, headers=headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True


async def age_sessions(app: FastAPI, minutes: int = 11) -> None:
    """Every session last proved who it is `minutes` ago (past the step-up window)."""
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
        )
