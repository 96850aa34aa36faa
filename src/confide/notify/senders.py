"""What features need of the notification service (`app.state.notify`, service.py): small
Protocols, so a feature depends on queueing a message, not on how it is delivered."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class EmailSender(Protocol):
    async def email(
        self,
        session: AsyncSession,
        *,
        to: str,
        subject: str,
        text: str,
        purpose: str,
        user_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue an email in `session`'s transaction (sent by a job once it commits)."""
        ...


class SmsSender(Protocol):
    async def sms(
        self,
        session: AsyncSession,
        *,
        to: str,
        text: str,
        purpose: str,
        user_id: uuid.UUID | None = None,
        fallback_email: str | None = None,
    ) -> uuid.UUID:
        """Queue an SMS (an email to `fallback_email` if it cannot be delivered)."""
        ...


class Sender(EmailSender, SmsSender, Protocol):
    """Both."""
