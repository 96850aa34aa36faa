"""How the mock LLM sends an answer: a chat.completion, or chat.completion.chunk objects as SSE."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from confide.agents.mockllm.faults import Fault
from confide.agents.mockllm.received import Outcome, ReceivedRequest, RequestLog
from confide.agents.models.scripted import ScriptedReply, stream_chunks


class Completion:
    """One scripted reply rendered as a chat.completion or as chat.completion.chunk objects."""

    def __init__(self, *, model: str, reply: ScriptedReply, prompt_tokens: int) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self.reply = reply
        self.finish_reason = "tool_calls" if reply.tool_calls else "stop"
        self.calls: list[dict[str, Any]] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in reply.tool_calls
        ]
        completion_tokens = len((reply.text or "").split()) + sum(
            1 + len(call["function"]["arguments"].split()) for call in self.calls
        )
        self.usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def body(self) -> dict[str, Any]:
        """The reply as one chat.completion object."""
        message: dict[str, Any] = {"role": "assistant", "content": self.reply.text}
        if self.calls:
            message["tool_calls"] = self.calls
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
        }

    def chunks(self, *, include_usage: bool) -> list[dict[str, Any]]:
        """The reply as chat.completion.chunk objects, in the order they are streamed."""
        # As OpenAI does: content "" opens a text answer, null one without text.
        role = {"role": "assistant", "content": None if self.reply.text is None else ""}
        deltas: list[dict[str, Any]] = [role]
        deltas.extend({"content": piece} for piece in stream_chunks(self.reply.text or ""))
        for index, call in enumerate(self.calls):
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            head = {"index": index, "id": call["id"], "type": "function"}
            deltas.append({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
            # Two pieces, so a client has to assemble the arguments as it would from a real API.
            middle = len(arguments) // 2
            for piece in (arguments[:middle], arguments[middle:]):
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        chunks = [self._chunk(delta, None, include_usage) for delta in deltas]
        chunks.append(self._chunk({}, self.finish_reason, include_usage))
        if include_usage:
            chunks.append(
                {**self._chunk({}, None, include_usage), "choices": [], "usage": self.usage}
            )
        return chunks

    def _chunk(
        self, delta: dict[str, Any], finish_reason: str | None, include_usage: bool
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage:
            chunk["usage"] = None
        return chunk


def sse_events(chunks: list[dict[str, Any]], *, fault: Fault | None) -> list[tuple[float, str]]:
    """The SSE events to send, each with the seconds to wait before it."""
    kind, pause = (fault.kind, fault.seconds) if fault else (None, 0.0)
    misbehave_at = min(3, len(chunks) - 1)  # after the role chunk and a couple more
    events: list[tuple[float, str]] = []
    for number, chunk in enumerate(chunks):
        words = bool(chunk["choices"] and chunk["choices"][0]["delta"].get("content"))
        if number == misbehave_at and kind == "malformed":
            events.append((0.0, 'data: {"id": "chatcmpl-broken", "choices": [\n\n'))
        hangs = number == misbehave_at and kind == "hang-stream"
        wait = pause if hangs or (words and kind == "drip") else 0.0
        events.append((wait, f"data: {json.dumps(chunk)}\n\n"))
    events.append((0.0, "data: [DONE]\n\n"))
    return events


class RecordedStream(StreamingResponse):
    """An SSE response that notes in the request log each event sent and how the stream ended."""

    def __init__(
        self,
        events: list[tuple[float, str]],
        *,
        request: Request,
        log: RequestLog,
        record: ReceivedRequest,
        ok: bool,
    ) -> None:
        self._log, self._record, self._ok = log, record, ok
        self._finished = False
        super().__init__(
            self._send(events, request),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache"},
        )

    async def _send(self, events: list[tuple[float, str]], request: Request) -> AsyncIterator[str]:
        for wait, event in events:
            if wait:
                await asyncio.sleep(wait)
            # Starlette cancels this generator when the client leaves; checking too keeps the
            # record right on servers that only report it when a send fails (ASGI spec 2.4).
            if await request.is_disconnected():
                return
            yield event
            self._log.sent_chunk(self._record)  # resumed: the event was handed to the server
        self._finished = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outcome: Outcome = "error"  # cancelled by the server itself (a shutdown) or crashed
        try:
            await super().__call__(scope, receive, send)
            if not self._finished:
                outcome = "disconnected"
            elif self._ok:
                outcome = "completed"
        except (ClientDisconnect, OSError):
            outcome = "disconnected"
            raise
        finally:
            self._log.update(self._record, outcome)


async def client_left_during(request: Request, seconds: float) -> bool:
    """Wait `seconds`, or less if the client disconnects first; whether it did."""
    try:
        async with asyncio.timeout(seconds):
            while (await request.receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True
