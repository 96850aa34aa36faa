"""The `RateLimit-*` headers of a response: the tightest budget the request counted against.

Whatever counts a budget records its `Quota` in the request's state (`record`); the middleware
adds the headers when the response starts, errors included.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from confide.ratelimit.errors import RateLimited
from confide.ratelimit.service import Quota

QUOTA_STATE = "confide.rate_limit"


def record(state: MutableMapping[str, Any], quota: Quota) -> None:
    """Remember `quota` for the response's headers (the tighter of it and any before)."""
    state[QUOTA_STATE] = quota.tighter(state.get(QUOTA_STATE))


def record_refusal(state: MutableMapping[str, Any], refused: RateLimited) -> None:
    state[QUOTA_STATE] = Quota(limit=refused.limit, remaining=0, reset_seconds=refused.retry_after)


def quota_headers(quota: Quota) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(quota.limit).encode()),
        (b"ratelimit-remaining", str(quota.remaining).encode()),
        (b"ratelimit-reset", str(quota.reset_seconds).encode()),
    ]
