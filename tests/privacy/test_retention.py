"""Retention: the daily job deletes the threads idle past their owner's retention, only those,
never one with a run in progress."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import insert, select, update

from confide.config import Settings
from confide.db.base import utcnow
from confide.privacy.retention import RETENTION_JOB, Retention
from confide.runs.models import Run
from confide.threads.models import Message, Thread
from tests.conftest import client_for
from tests.factories import signed_up
from tests.privacy.helpers import thread_with


async def _idle_for(app: FastAPI, thread_id: str, days: float) -> None:
    async with app.state.database.begin() as conn:
        await conn.execute(
            update(Thread)
            .where(Thread.id == uuid.UUID(thread_id))
            .values(last_activity_at=utcnow() - timedelta(days=days))
        )


async def _threads(app: FastAPI) -> set[str]:
    async with app.state.database.session() as db:
        return {str(t) for t in (await db.execute(select(Thread.id))).scalars()}


async def test_the_deployments_retention_deletes_only_threads_idle_for_longer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    old = await thread_with(app, client, alice, "old", "long ago")
    recent = await thread_with(app, client, alice, "recent", "last week")
    bobs_old = await thread_with(app, client, bob, "bob's old", "long ago too")
    await _idle_for(app, old, 31)
    await _idle_for(app, recent, 29)
    await _idle_for(app, bobs_old, 45)

    deleted = await Retention(app.state.database, days=30).purge()

    assert deleted == 2
    assert await _threads(app) == {recent}
    async with app.state.database.session() as db:
        left = (await db.execute(select(Message.thread_id))).scalars().all()
    assert {str(t) for t in left} == {recent}  # the messages went with their threads


async def _retention(client: httpx.AsyncClient, headers: dict[str, str], days: int | None) -> None:
    response = await client.patch(
        "/api/me/settings", json={"retention_days": days}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["retention_days"] == days


async def test_a_users_own_retention_applies_to_their_threads_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, brief = await signed_up(client)  # keeps threads 7 days
    _, keeper = await signed_up(client)  # no setting: kept for ever here
    _, later = await signed_up(client)  # 30 days
    await _retention(client, brief, 7)
    await _retention(client, later, 30)
    brief_old = await thread_with(app, client, brief, "brief old", "8 days")
    brief_new = await thread_with(app, client, brief, "brief new", "6 days")
    keeper_old = await thread_with(app, client, keeper, "keeper old", "a year")
    later_mid = await thread_with(app, client, later, "later mid", "8 days")
    later_old = await thread_with(app, client, later, "later old", "31 days")
    for thread_id, days in (
        (brief_old, 8),
        (brief_new, 6),
        (keeper_old, 365),
        (later_mid, 8),
        (later_old, 31),
    ):
        await _idle_for(app, thread_id, days)

    assert await Retention(app.state.database, days=None).purge() == 2
    assert await _threads(app) == {brief_new, keeper_old, later_mid}


async def test_the_shorter_of_the_users_and_the_deployments_retention_applies(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, shorter = await signed_up(client)  # 5 days, under the deployment's 20
    _, longer = await signed_up(client)  # asks for 100 days: the deployment's 20 still apply
    _, default = await signed_up(client)
    await _retention(client, shorter, 5)
    await _retention(client, longer, 100)
    threads = {
        "shorter 6": (await thread_with(app, client, shorter, "s6", "x"), 6),
        "shorter 4": (await thread_with(app, client, shorter, "s4", "x"), 4),
        "longer 21": (await thread_with(app, client, longer, "l21", "x"), 21),
        "longer 19": (await thread_with(app, client, longer, "l19", "x"), 19),
        "default 21": (await thread_with(app, client, default, "d21", "x"), 21),
        "default 6": (await thread_with(app, client, default, "d6", "x"), 6),
    }
    for thread_id, days in threads.values():
        await _idle_for(app, thread_id, days)

    assert await Retention(app.state.database, days=20).purge() == 3
    kept = {name for name, (thread_id, _) in threads.items() if thread_id in await _threads(app)}
    assert kept == {"shorter 4", "longer 19", "default 6"}


async def test_a_thread_with_a_run_in_progress_is_kept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    busy = await thread_with(app, client, headers, "busy", "still answering")
    await _idle_for(app, busy, 400)
    async with app.state.database.begin() as conn:
        await conn.execute(
            insert(Run).values(
                id=uuid.uuid4(),
                thread_id=uuid.UUID(busy),
                user_id=uuid.UUID(user["id"]),
                agent_id="assistant",
                model="scripted",
                status="running",
            )
        )
    assert await Retention(app.state.database, days=1).purge() == 0
    assert await _threads(app) == {busy}


async def test_without_a_retention_nothing_is_deleted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    ancient = await thread_with(app, client, headers, "ancient", "kept for ever")
    await _idle_for(app, ancient, 10_000)
    assert await Retention(app.state.database, days=None).purge() == 0
    assert await _threads(app) == {ancient}


async def test_deletion_goes_in_batches(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    ids = [await thread_with(app, client, headers, f"t{n}", "old") for n in range(5)]
    for thread_id in ids:
        await _idle_for(app, thread_id, 90)
    assert await Retention(app.state.database, days=60, batch=2).purge() == 5
    assert await _threads(app) == set()


async def test_the_job_is_a_daily_cron_job_reading_the_setting(
    app_factory: Callable[..., FastAPI],
) -> None:
    application = app_factory(retention_days=7)
    job = application.state.jobs.jobs[RETENTION_JOB]
    minute, hour, *every_day = job.cron.split()
    assert every_day == ["*", "*", "*"]
    assert minute.isdigit()
    assert hour.isdigit()
    async with client_for(application) as client:
        _, headers = await signed_up(client)
        week = await thread_with(application, client, headers, "week", "8 days ago")
        day = await thread_with(application, client, headers, "day", "yesterday")
        await _idle_for(application, week, 8)
        await _idle_for(application, day, 1)
        await job.function()
        assert await _threads(application) == {day}


def test_the_setting_is_unset_by_default_and_empty_means_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(_env_file=None).retention_days is None  # type: ignore[call-arg]
    monkeypatch.setenv("CONFIDE_RETENTION_DAYS", "")
    assert Settings(_env_file=None).retention_days is None  # type: ignore[call-arg]
    monkeypatch.setenv("CONFIDE_RETENTION_DAYS", "90")
    assert Settings(_env_file=None).retention_days == 90  # type: ignore[call-arg]
    monkeypatch.setenv("CONFIDE_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="retention_days"):
        Settings(_env_file=None)  # type: ignore[call-arg]
