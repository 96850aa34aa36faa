"""The caller's channels (/api/me/channels): defaults, choices, and what is refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import select

from confide.feedback.models import FeedbackChannels
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.feedback.conftest import MEMBER_ID, verified_user

CHANNELS = "/api/me/channels"


async def test_no_channel_until_chosen_then_the_choice_is_kept(
    channel_app: Callable[..., FastAPI],
) -> None:
    app = channel_app()
    async with client_for(app) as client:
        user, headers = await verified_user(app, client)
        first = await client.get(CHANNELS, headers=headers)
        assert first.status_code == 200
        assert first.json() == {
            "order": [],
            "slack_user_id": None,
            "slack_available": True,
            "email_available": True,
        }
        chosen = await client.put(
            CHANNELS,
            json={"order": ["slack", "email"], "slack_user_id": MEMBER_ID},
            headers=headers,
        )
        assert chosen.status_code == 200, chosen.text
        again = await client.get(CHANNELS, headers=headers)
        assert again.json()["order"] == ["slack", "email"]
        assert again.json()["slack_user_id"] == MEMBER_ID
        assert again.headers["cache-control"] == "no-store"

        async with app.state.database.begin() as conn:
            stored = (
                await conn.execute(
                    select(FeedbackChannels.slack_user_id).where(
                        FeedbackChannels.user_id == uuid.UUID(user["id"])
                    )
                )
            ).scalar_one()
        assert MEMBER_ID.encode() not in bytes(stored)  # sealed under the user's key

        web_only = await client.put(CHANNELS, json={"order": []}, headers=headers)
        assert web_only.json()["order"] == []
        assert web_only.json()["slack_user_id"] is None


async def test_choices_that_cannot_reach_the_user_are_refused(
    channel_app: Callable[..., FastAPI],
) -> None:
    app = channel_app()
    async with client_for(app) as client:
        _, headers = await verified_user(app, client)
        for body in (
            {"order": ["slack"]},  # no member id
            {"order": ["slack"], "slack_user_id": "ada"},  # not a member id
            {"order": ["email", "email"]},
        ):
            refused = await client.put(CHANNELS, json=body, headers=headers)
            assert_problem(refused, 422, "channel_unavailable")
        unknown = await client.put(CHANNELS, json={"order": ["sms"]}, headers=headers)
        assert_problem(unknown, 422, "validation_error")

        _, unverified = await signed_up(client)
        got = await client.get(CHANNELS, headers=unverified)
        assert got.json()["email_available"] is False
        refused = await client.put(CHANNELS, json={"order": ["email"]}, headers=unverified)
        assert_problem(refused, 422, "channel_unavailable")
        assert (await client.get(CHANNELS, headers=unverified)).json()["order"] == []


async def test_channels_need_a_session(channel_app: Callable[..., FastAPI]) -> None:
    app = channel_app()
    async with client_for(app) as client:
        assert_problem(await client.get(CHANNELS), 401, "not_authenticated")
