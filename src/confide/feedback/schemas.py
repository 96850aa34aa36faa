"""Request and response bodies of /api/me/channels."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from confide.feedback.service import ChannelName


class ChannelsOut(BaseModel):
    order: list[ChannelName] = Field(
        description="The channels that tell you about a waiting run, tried in this order (the "
        "next one when one cannot deliver); the web app is always on."
    )
    slack_user_id: str | None = Field(description="Your Slack member id (U0123ABCD).")
    slack_available: bool = Field(description="This server has a Slack app set up.")
    email_available: bool = Field(description="Your email address is verified.")


class ChannelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: list[ChannelName] = Field(max_length=2)
    slack_user_id: str | None = Field(default=None, max_length=32)
