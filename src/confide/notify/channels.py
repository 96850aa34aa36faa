"""The one Protocol every notification channel implements, and what goes through it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

MessageKind = Literal["email", "sms"]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to send. `subject` is empty for an SMS; `purpose` names why it is sent
    ("password_reset", "mfa_code", ...) for the outbox listing and the logs."""

    kind: MessageKind
    to: str
    subject: str
    text: str
    purpose: str
    message_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Sent:
    """Accepted by the channel; `provider_ref` is its reference for the message (a Message-ID,
    a Telesign reference_id, an outbox file name)."""

    provider_ref: str
    # Taken, but whether it reached the recipient is not known yet: the service asks the
    # channel later (`ReportingChannel.report`).
    pending: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a provider says of a message it took: `detail` is its code and description."""

    outcome: Literal["delivered", "failed", "pending"]
    detail: str


class DeliveryFailed(Exception):
    """The channel did not take the message. `retryable`: worth trying again later (a server
    down, a timeout, a 4xx SMTP reply), or not (the recipient refused, a bad number)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(Protocol):
    """Where messages of one kind go."""

    @property
    def name(self) -> str:
        """The channel's name in the attempts table ("outbox", "smtp", "telesign")."""

    async def send(self, message: OutgoingMessage) -> Sent:
        """Hand the message over; raise DeliveryFailed when it was not taken."""


@runtime_checkable
class ReportingChannel(Channel, Protocol):
    """A channel that can say later whether a message it took was delivered (Telesign)."""

    async def report(self, provider_ref: str) -> DeliveryReport:
        """The delivery outcome so far; raise DeliveryFailed when it cannot be asked."""
