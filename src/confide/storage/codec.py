"""The one storage codec every piece of message content passes through.

Today it stores text as it is; encryption at rest replaces `PlainCodec` with an encrypting
codec without touching any caller.
"""

from __future__ import annotations

import json
from typing import Any, Protocol


class ContentCodec(Protocol):
    """Turns user content into what is stored, and back."""

    def encode(self, text: str) -> str:
        """The stored form of `text`."""

    def decode(self, stored: str) -> str:
        """The text a stored form holds."""


class PlainCodec:
    """Stores text unchanged (until encryption at rest arrives)."""

    def encode(self, text: str) -> str:
        return text

    def decode(self, stored: str) -> str:
        return stored


def encode_json(codec: ContentCodec, value: Any) -> str:
    """Structured content (tool calls, event data) goes through the same codec as text."""
    return codec.encode(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def decode_json(codec: ContentCodec, stored: str) -> Any:
    return json.loads(codec.decode(stored))
