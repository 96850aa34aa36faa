"""Counting budgets: one `limits` sliding-window-counter hit per budget.

The sliding window counter keeps two counters per key (this window and the last), so a hit
costs the same whatever the budget's size, where a moving window keeps one entry per hit.
A hit and the read of what it leaves (the headers' figures) are one `Counter.acquire`
(storage.py: one round trip on Redis); a run start's three budgets are one
`Counter.acquire_many` (one round trip for the three).
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from limits import RateLimitItem
from redis.exceptions import RedisError

from confide.auth.cache import Principal
from confide.error_handlers import unavailable_part
from confide.ratelimit.budgets import BudgetTable, parse_budget
from confide.ratelimit.errors import RateLimited
from confide.ratelimit.storage import Counter, Window, make_counter

log = logging.getLogger("confide.ratelimit")

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from confide.config import Settings

Channel = Literal["http", "websocket"]


@dataclass(frozen=True, slots=True)
class Quota:
    """What is left of one budget after a request: the `RateLimit-*` headers' values."""

    limit: int
    remaining: int
    reset_seconds: int  # until the budget has room again (at least 1)

    def tighter(self, other: Quota | None) -> Quota:
        """The one of two quotas nearer to running out (the one the headers show)."""
        if other is None:
            return self
        if (self.remaining, -self.reset_seconds) <= (other.remaining, -other.reset_seconds):
            return self
        return other


class RateLimits:
    """Every budget of the deployment, counted in one storage."""

    def __init__(
        self, counter: Counter, budgets: BudgetTable, ip_routes: dict[str, IpBudget]
    ) -> None:
        self.counter = counter
        self.budgets = budgets
        self.ip_routes = ip_routes

    async def hit(self, item: RateLimitItem, *key: str, what: str) -> Quota:
        """Spend one unit of `item` for `key`; RateLimited past it."""
        expiry = item.get_expiry()
        allowed, window = await self.counter.acquire(_key(item, key), item.amount, expiry)
        return _quota(item, allowed, window, what)

    async def hit_all(self, hits: list[Hit]) -> Quota:
        """Spend one unit of each budget in turn, in one call of the counter (one round trip
        on Redis); RateLimited at the first one past it, the budgets after it not counted.
        The tightest quota of them."""
        counted = await self.counter.acquire_many(
            [(_key(item, key), item.amount, item.get_expiry()) for item, key, _ in hits]
        )
        quota: Quota | None = None
        for (item, _, what), (allowed, window) in zip(hits, counted, strict=False):
            left = _quota(item, allowed, window, what)  # raises for the one that refused
            quota = left if quota is None else quota.tighter(left)
        assert quota is not None, "no budgets"
        return quota

    async def api(self, principal: Principal) -> Quota | None:
        """One API request of the caller's. None when the storage (Redis) cannot be reached:
        the per-user budgets are about fair use, so a Redis outage lets requests through
        uncounted (a warning each) and the API keeps working on the database, as sessions do
        (docs/deployment.md); the per-IP budgets of the sign-in routes fail closed instead."""
        budgets = self.budgets.for_roles(principal.roles)
        try:
            return await self.hit(
                budgets.api_per_user, "api", _id(principal.user_id), what="requests"
            )
        except RedisError as exc:
            _uncounted(exc, "api")
            return None

    async def run(self, principal: Principal, channel: Channel) -> Quota | None:
        """Starting one chat run (None, uncounted, when Redis cannot be reached: see `api`)."""
        try:
            return await self._run(principal, channel)
        except RedisError as exc:
            _uncounted(exc, "runs")
            return None

    async def api_and_run(self, principal: Principal, channel: Channel) -> Quota | None:
        """`api` and `run` at once, for a request that starts a run: the four budgets in one
        call of the counter, the API budget first (a request it refuses counts no run).

        Speed: one Redis round trip instead of two per chat turn; the two were 0.5 ms of a
        tool turn's 11.9 ms of serve CPU on PostgreSQL + Redis (py-spy, hosts_bench.py
        pg-redis-1 at 32 clients, 2026-12-05)."""
        budgets = self.budgets.for_roles(principal.roles)
        api: Hit = (budgets.api_per_user, ("api", _id(principal.user_id)), "requests")
        try:
            return await self.hit_all([api, *self._run_hits(principal, channel)])
        except RedisError as exc:
            _uncounted(exc, "api and runs")
            return None

    async def _run(self, principal: Principal, channel: Channel) -> Quota:
        return await self.hit_all(self._run_hits(principal, channel))

    def _run_hits(self, principal: Principal, channel: Channel) -> list[Hit]:
        """The session's, the channel's and the user's run budgets (the narrowest first: a
        run one refuses is not counted by the wider ones)."""
        budgets = self.budgets.for_roles(principal.roles)
        user = _id(principal.user_id)
        over = "the WebSocket" if channel == "websocket" else "HTTP"
        return [
            (
                budgets.runs_per_session,
                ("runs-session", _id(principal.session_id)),
                "messages in this session",
            ),
            (
                budgets.runs_per_channel,
                ("runs-channel", user, channel),
                f"messages over {over}",
            ),
            (budgets.runs_per_user, ("runs-user", user), "messages"),
        ]

    async def ip(self, budget: IpBudget, client: str) -> Quota:
        """One request of a client IP (or /64) to a route with a per-IP budget."""
        return await self.hit(budget.item, "ip", budget.name, client, what=budget.what)


# One budget of `hit_all`: the item, the identifiers of its key, what its 429 says.
Hit = tuple[RateLimitItem, tuple[str, ...], str]


def _quota(item: RateLimitItem, allowed: bool, window: Window, what: str) -> Quota:
    """The quota a hit of `item` left; RateLimited if the hit was refused."""
    remaining, reset_in = window_stats(item.amount, item.get_expiry(), window)
    reset = max(1, math.ceil(reset_in))
    if not allowed:
        raise RateLimited(what=what, retry_after=reset, limit=item.amount)
    return Quota(limit=item.amount, remaining=remaining, reset_seconds=reset)


def window_stats(amount: int, expiry: int, window: Window) -> tuple[int, float]:
    """What is left of a budget and the seconds until it has room again, from a read of its
    window: limits' `SlidingWindowCounterRateLimiter.get_window_stats`, on a window already
    read (the strategy would read it again)."""
    previous_count, previous_expires_in, current_count, current_expires_in = window
    weighted = previous_count * previous_expires_in / expiry + current_count
    remaining = max(0, amount - math.floor(weighted))
    if not (previous_count or current_count):
        return remaining, 0.0
    previous_reset_in = (
        previous_expires_in % (expiry / previous_count) if previous_count else math.inf
    )
    current_reset_in = current_expires_in % expiry if current_count else math.inf
    return remaining, min(previous_reset_in, current_reset_in)


@dataclass(frozen=True, slots=True)
class IpBudget:
    name: str  # login, register, reset, codes: the routes of one name share the budget
    item: RateLimitItem
    what: str  # for the 429's message


def _uncounted(exc: RedisError, budget: str) -> None:
    if unavailable_part(exc) is None:
        raise exc
    log.warning("rate-limit storage unavailable: request not counted", extra={"budget": budget})


# Per budget item: the part of its keys after the identifiers, as `RateLimitItem.key_for`
# writes it. Speed: key_for converts every part and the item's figures to strings on each
# call, a third of a per-user budget check (in-process profile of GET /api/auth/me, 2026-12-03:
# 41 us of 130 us profiled); the same key from this cache is one join.
_KEY_SUFFIXES: dict[RateLimitItem, str] = {}


def _key(item: RateLimitItem, identifiers: tuple[str, ...]) -> str:
    """`item.key_for(*identifiers)` for string identifiers (the same string, so `limits`
    reads and clears what is counted here)."""
    suffix = _KEY_SUFFIXES.get(item)
    if suffix is None:
        suffix = _KEY_SUFFIXES[item] = f"{item.amount}/{item.multiples}/{item.GRANULARITY.name}"
    return f"{item.namespace}/{'/'.join(identifiers)}/{suffix}"


def _id(value: uuid.UUID) -> str:
    return value.hex


# The routes with a per-IP budget: path -> (budget name, setting, what the 429 says).
IP_ROUTES = {
    "/api/auth/login": ("login", "rate_limit_login_per_ip", "sign-in attempts"),
    "/api/auth/register": ("register", "rate_limit_register_per_ip", "registrations"),
    "/api/auth/password/forgot": ("reset", "rate_limit_reset_per_ip", "password reset requests"),
    "/api/auth/password/reset": ("reset", "rate_limit_reset_per_ip", "password reset requests"),
    "/api/auth/mfa/send": ("codes", "rate_limit_codes_per_ip", "code requests"),
    # The other doors into an account share the sign-in budget.
    "/api/auth/mfa/verify": ("login", "rate_limit_login_per_ip", "sign-in attempts"),
    "/api/auth/passkeys/authenticate/options": (
        "login",
        "rate_limit_login_per_ip",
        "sign-in attempts",
    ),
    "/api/auth/passkeys/authenticate/verify": (
        "login",
        "rate_limit_login_per_ip",
        "sign-in attempts",
    ),
    "/api/auth/email/verify": ("reset", "rate_limit_reset_per_ip", "link checks"),
    # An email change mails two addresses, as a reset mails one.
    "/api/auth/email": ("reset", "rate_limit_reset_per_ip", "email change requests"),
    "/api/auth/email/confirm": ("reset", "rate_limit_reset_per_ip", "link checks"),
}


def build_rate_limits(settings: Settings, redis: Redis | None) -> RateLimits:
    """Every budget from the settings (already checked by them), counted in Redis if given."""
    budgets = BudgetTable.from_settings(
        runs_per_user=settings.rate_limit_runs_per_user,
        runs_per_session=settings.rate_limit_runs_per_session,
        runs_per_channel=settings.rate_limit_runs_per_channel,
        api_per_user=settings.rate_limit_api_per_user,
        roles=settings.rate_limit_roles,
    )
    ip_routes = {
        path: IpBudget(name=name, item=parse_budget(getattr(settings, setting)), what=what)
        for path, (name, setting, what) in IP_ROUTES.items()
    }
    return RateLimits(make_counter(redis), budgets, ip_routes)
