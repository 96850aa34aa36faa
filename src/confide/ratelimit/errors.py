"""429 `rate_limited`: past a budget, with the wait in `Retry-After` and in the problem."""

from __future__ import annotations

from confide.errors import ConfideError


class RateLimited(ConfideError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, *, what: str, retry_after: int, limit: int) -> None:
        super().__init__(
            f"Too many {what}; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )
        self.retry_after = retry_after
        self.limit = limit  # the budget's size, for the RateLimit-Limit header
