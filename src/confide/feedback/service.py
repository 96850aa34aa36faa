"""Users' channel choice: which channels tell them about a waiting run, in fallback order.
Never commits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.repository import get_user
from confide.feedback import repository
from confide.feedback.errors import ChannelUnavailable
from confide.storage.codec import ContentCodec

ChannelName = Literal["email", "slack"]
CHANNELS: tuple[str, ...] = get_args(ChannelName)
TABLE, SLACK_COLUMN = "feedback_channels", "slack_user_id"
# A Slack member id: U (or W, Enterprise Grid) and upper-case letters and digits.
SLACK_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


@dataclass(frozen=True, slots=True)
class Channels:
    order: list[ChannelName]
    slack_user_id: str | None


NONE = Channels(order=[], slack_user_id=None)


async def channels_of(db: AsyncSession, codec: ContentCodec, user_id: uuid.UUID) -> Channels:
    """The user's channels (none until chosen: the web app only)."""
    row = await repository.channels_of(db, user_id)
    if row is None:
        return NONE
    member = (
        codec.decode(row.slack_user_id, table=TABLE, column=SLACK_COLUMN, row_id=str(user_id))
        if row.slack_user_id is not None
        else None
    )
    order = [name for name in row.channel_order.split(",") if name in CHANNELS]
    return Channels(order=order, slack_user_id=member)  # type: ignore[arg-type]


async def email_available(db: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The user's address if it may carry answer links: only a verified one (a link decides
    an approval, so it must reach an address the user proved is theirs)."""
    user = await get_user(db, user_id)
    if user is None or user.email_verified_at is None:
        return None
    return user.email


async def update_channels(
    db: AsyncSession,
    codec: ContentCodec,
    user_id: uuid.UUID,
    *,
    order: list[ChannelName],
    slack_user_id: str | None,
    slack_available: bool,
) -> Channels:
    """Choose the channels (no name twice); Slack needs the server's Slack app and a member
    id, email a verified address."""
    if len(set(order)) != len(order):
        raise ChannelUnavailable("Name each channel once.")
    if slack_user_id is not None and not SLACK_MEMBER_ID.fullmatch(slack_user_id):
        raise ChannelUnavailable(
            "A Slack member id looks like U0123ABCD (Slack: your profile → ⋮ → Copy member ID)."
        )
    if "slack" in order and not slack_available:
        raise ChannelUnavailable("Slack is not set up on this server.")
    if "slack" in order and slack_user_id is None:
        raise ChannelUnavailable("Slack needs your Slack member id.")
    if "email" in order and await email_available(db, user_id) is None:
        raise ChannelUnavailable("Email needs a verified address (Settings → Email).")
    sealed = (
        codec.encode(slack_user_id, table=TABLE, column=SLACK_COLUMN, row_id=str(user_id))
        if slack_user_id is not None
        else None
    )
    await repository.save_channels(db, user_id=user_id, order=",".join(order), slack_user_id=sealed)
    return Channels(order=list(order), slack_user_id=slack_user_id)
