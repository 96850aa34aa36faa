"""One model request of a run: always streamed, timed by silence, capped in length.

A real model (a local llama.cpp, a busy vLLM) can stream a long answer for minutes, steadily;
what marks it as broken is silence. So `timeout_seconds` is the longest wait for the first
event and between two events, and `max_duration_seconds` caps the whole request. The request
is streamed even for a JSON client: when the run gives up or is cancelled, leaving the stream
closes the upstream connection, and the model server stops generating.

Errors become a `RunFailure` whose reason is fit for any user (no upstream body: it may name
internal hosts, org ids or key tails); what the endpoint said goes to the server log and to
admins (`detail`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelTimeoutError,
    UnexpectedModelBehavior,
)
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.settings import ModelSettings

from confide.agents.models.scripted import stream_chunks

log = logging.getLogger("confide.runs")

# How much of a model endpoint's error message reaches the log and admins.
UPSTREAM_MESSAGE_LENGTH = 500


class RunFailure(Exception):
    """Why a run failed: a stable code, a reason for the user, and (for the log and admins
    only) what the upstream said."""

    def __init__(self, code: str, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ModelLimits:
    silence_seconds: float  # first event, and between two events
    max_duration_seconds: float  # the whole request
    silence_setting: str  # where the limit comes from, named in the failure message
    duration_setting: str


async def stream_response(
    model: Model,
    messages: list[ModelMessage],
    settings: ModelSettings,
    parameters: ModelRequestParameters,
    *,
    limits: ModelLimits,
    on_text: Callable[[str], None],
) -> ModelResponse:
    """Stream one model response; `on_text` hears each piece of text as it comes."""
    if isinstance(model, FunctionModel):
        return await _in_process(model, messages, settings, parameters, on_text=on_text)
    silence = limits.silence_seconds
    try:
        async with asyncio.timeout(limits.max_duration_seconds) as whole:
            try:
                async with AsyncExitStack() as stack:
                    async with asyncio.timeout(silence):
                        stream = await stack.enter_async_context(
                            model.request_stream(messages, settings, parameters)
                        )
                    events = aiter(stream)
                    while True:
                        async with asyncio.timeout(silence):
                            try:
                                event = await anext(events)
                            except StopAsyncIteration:
                                break
                        text = _text_delta(event)
                        if text:
                            on_text(text)
                    return stream.get()
            except TimeoutError:
                if whole.expired():
                    raise
                raise RunFailure(
                    "model_timeout",
                    f"The model sent nothing for {silence:g} s ({limits.silence_setting}).",
                ) from None
    except TimeoutError:
        raise RunFailure(
            "model_timeout",
            f"The model's answer took longer than {limits.max_duration_seconds:g} s "
            f"({limits.duration_setting}).",
        ) from None
    except ModelTimeoutError:
        raise RunFailure(
            "model_timeout",
            f"The model endpoint timed out (no data for {silence:g} s).",
        ) from None
    except ModelConnectionError as exc:
        raise RunFailure(
            "model_unreachable", "The model endpoint cannot be reached.", detail=str(exc)
        ) from None
    except ModelAPIError as exc:
        status = getattr(exc, "status_code", None)
        reason = (
            f"The model endpoint answered with HTTP {status}."
            if status
            else "The model endpoint failed."
        )
        raise RunFailure("model_error", reason, detail=upstream_detail(exc)) from None
    except UnexpectedModelBehavior as exc:
        raise RunFailure(
            "model_error", "The model answered something unusable.", detail=str(exc)
        ) from None
    except (ValueError, KeyError, TypeError) as exc:  # malformed data from the endpoint
        raise RunFailure(
            "model_error",
            "The model endpoint sent malformed data.",
            detail=f"{type(exc).__name__}: {exc}",
        ) from None


async def _in_process(
    model: FunctionModel,
    messages: list[ModelMessage],
    settings: ModelSettings,
    parameters: ModelRequestParameters,
    *,
    on_text: Callable[[str], None],
) -> ModelResponse:
    """The scripted model answers in-process, at once: nothing upstream to close, no silence
    to time. Its answer is taken whole and its text told in the pieces its stream would send:
    pydantic-ai's streaming machinery costs 690 us a step here against 110 us for `request`
    (2 steps a turn; bench/chat_bench.py's one-client turn, 4.3 ms before the redesign)."""
    # A turn of the loop first, as a real request gives: the SSE response sends the run's
    # first event now, not once the run's first write (inline SQLite never waits) is done.
    await asyncio.sleep(0)
    response = await model.request(messages, settings, parameters)
    for part in response.parts:
        if isinstance(part, TextPart):
            for piece in stream_chunks(part.content):
                on_text(piece)
    return response


def _text_delta(event: object) -> str | None:
    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
        return event.part.content or None
    if isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
        return event.delta.content_delta or None
    return None


def upstream_detail(exc: ModelAPIError) -> str:
    """What a model endpoint's error said (status and message), for the log and admins."""
    status = getattr(exc, "status_code", None)
    said = _error_message(getattr(exc, "body", None)) or _trim(str(exc))
    head = f"HTTP {status}" if status else "error"
    return f"{head}: {said}" if said else head


def _error_message(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error", body)
        body = error.get("message") if isinstance(error, dict) else error
    if not isinstance(body, str):
        return None
    return _trim(body)


def _trim(text: str) -> str | None:
    words = " ".join(text.split())
    if len(words) <= UPSTREAM_MESSAGE_LENGTH:
        return words or None
    return words[: UPSTREAM_MESSAGE_LENGTH - 1] + "…"
