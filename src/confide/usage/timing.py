"""What one model request of a run cost: its tokens (from the provider) and its wall time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic_ai.messages import ModelResponse

from confide.threads.schemas import MessageUsage


@dataclass(slots=True)
class RequestClock:
    """Times one model request at a time: `start` before it, `heard` at each piece of text
    (the first one counts), `usage` once its response is whole."""

    started: float = 0.0
    first: float | None = None

    def start(self) -> None:
        self.started, self.first = time.perf_counter(), None

    def heard(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def usage(self, response: ModelResponse) -> MessageUsage:
        """The response's usage: tokens as the provider counted them (None when it sent no
        usage: pydantic-ai then reports zeros, which no real answer costs), times in ms."""
        done = time.perf_counter()
        tokens = response.usage
        told = tokens.input_tokens > 0 or tokens.output_tokens > 0
        return MessageUsage(
            input_tokens=tokens.input_tokens if told else None,
            output_tokens=tokens.output_tokens if told else None,
            model_ms=_ms(done - self.started),
            first_token_ms=None if self.first is None else _ms(self.first - self.started),
            model=response.model_name,
        )

    def so_far(self) -> MessageUsage:
        """An answer cut short: the time it streamed (a provider tells tokens only at the
        end of a stream, so none)."""
        cut = time.perf_counter()
        return MessageUsage(
            model_ms=_ms(cut - self.started),
            first_token_ms=None if self.first is None else _ms(self.first - self.started),
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
