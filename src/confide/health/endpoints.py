"""`/api/health` answers while the process runs; `/api/ready` when the database answers too."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from confide.errors import ServiceUnavailable

router = APIRouter(prefix="/api", tags=["health"])
log = logging.getLogger("confide.health")


class NotReady(ServiceUnavailable):
    code = "not_ready"
    title = "Not ready"


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database cannot be reached"}})
async def ready(request: Request) -> dict[str, str]:
    """The database is reachable."""
    try:
        await request.app.state.database.ping()
    except Exception:
        log.warning("database not reachable", exc_info=True)
        raise NotReady("The database cannot be reached.") from None
    return {"status": "ready"}
