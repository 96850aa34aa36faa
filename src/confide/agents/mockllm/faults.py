"""Fault markers (`[[mock:...]]`): read the one a request asks for, strip them all."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from confide.agents.models.scripted import message_text, stream_chunks

MAX_DELAY_SECONDS = 30.0
HANG_SECONDS = 30.0
MAX_DRIP_MS = 5000
DRIP_TEXT = (
    "This is a long answer from Confide's mock model, sent one word at a time at a steady "
    "pace, so that a test can watch a client show a stream as it grows, stop it halfway "
    "or give up waiting."
)
_SECONDS = r"\d+(?:\.\d+)?"
_FAULT = re.compile(
    rf"\[\[mock:(error500|error400|malformed|empty|hang-stream(?:={_SECONDS})?"
    rf"|slow={_SECONDS}|drip=\d+)\]\]"
)
# kind -> (status, message, error type, error code) of the error the fault answers with
FAULT_ERRORS: dict[str, tuple[int, str, str, str | None]] = {
    "error500": (500, "The mock model failed on purpose.", "server_error", "mock_fault"),
    "error400": (400, "The mock model refused on purpose.", "invalid_request_error", None),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Fault:
    """A fault a request asked for: its kind (the marker's name) and any wait it sets."""

    kind: str
    seconds: float = 0.0  # slow, hang-stream: the wait; drip: the wait before each word


def take_fault(messages: list[dict[str, Any]]) -> Fault | None:
    """The fault asked for in the last user message, with every marker removed from the thread."""
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    # Only its last paragraph: Confide sends two user messages in a row (the run between
    # them failed) as one, and the earlier one's marker must not fail the retry too.
    last_paragraph = message_text(last_user).rsplit("\n\n", 1)[-1] if last_user else ""
    match = _FAULT.search(last_paragraph)
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = _FAULT.sub("", content).strip()
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    part["text"] = _FAULT.sub("", part["text"]).strip()
    if match is None:
        return None
    kind, _, value = match.group(1).partition("=")
    if kind == "drip":
        return Fault(kind, min(int(value), MAX_DRIP_MS) / 1000)
    if kind in ("slow", "hang-stream"):
        return Fault(kind, min(float(value), MAX_DELAY_SECONDS) if value else HANG_SECONDS)
    return Fault(kind)


def answer_delay(fault: Fault | None, *, stream: bool) -> float:
    """Seconds to wait before answering at all: `slow`'s, or a drip's whole length unstreamed."""
    if fault and fault.kind == "slow":
        return fault.seconds
    if fault and fault.kind == "drip" and not stream:
        return fault.seconds * len(stream_chunks(DRIP_TEXT))
    return 0.0
