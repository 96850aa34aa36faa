"""`/api/health` answers while the process runs (it touches nothing else, so an orchestrator
never restarts a process for an outage elsewhere); `/api/ready` when the database answers,
and Redis too when CONFIDE_REDIS_URL is set (a load balancer sends requests elsewhere)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import cast

from fastapi import APIRouter, Request
from redis.asyncio import Redis

from confide.access.dependencies import public_route
from confide.error_handlers import DATABASE, REDIS
from confide.errors import ServiceUnavailable

router = APIRouter(prefix="/api", tags=["health"])
log = logging.getLogger("confide.health")

# Redis answers a PING in well under a millisecond; a new connection may take a little more.
REDIS_PING_TIMEOUT_SECONDS = 1.0


class NotReady(ServiceUnavailable):
    code = "not_ready"
    title = "Not ready"


@router.get("/health")
@public_route
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


# The description as published (web/openapi.json); which part failed is in the detail.
@router.get("/ready", responses={503: {"description": "The database cannot be reached"}})
@public_route
async def ready(request: Request) -> dict[str, str]:
    """The database is reachable, and Redis when one is configured."""
    checks: dict[str, Awaitable[object]] = {DATABASE: request.app.state.database.ping()}
    redis: Redis | None = request.app.state.redis
    if redis is not None:
        checks[REDIS] = _ping(redis)
    failed = await asyncio.gather(*(_fails(part, check) for part, check in checks.items()))
    failing = [part for part, fails in zip(checks, failed, strict=True) if fails]
    if failing:
        parts = " and ".join(failing)
        raise NotReady(f"{parts[:1].upper()}{parts[1:]} cannot be reached.")
    return {"status": "ready"}


async def _ping(redis: Redis) -> None:
    async with asyncio.timeout(REDIS_PING_TIMEOUT_SECONDS):
        await cast(Awaitable[bool], redis.ping())  # typed for the sync client too


async def _fails(part: str, check: Awaitable[object]) -> bool:
    try:
        await check
    except Exception:
        # Operators read the cause here; the client hears only which part.
        log.warning("%s is not reachable", part, exc_info=True)
        return True
    return False
