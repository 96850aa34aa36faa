"""The audit trail's hook into access control: every refused permission is recorded."""

from __future__ import annotations

from starlette.requests import Request

from confide.audit.actions import ACCESS_DENIED
from confide.audit.service import DENIED, Origin, record_apart
from confide.auth.cache import Principal
from confide.db.engine import Database


async def record_access_denied(request: Request, principal: Principal, permission: str) -> None:
    """`app.state.on_access_denied` (access/dependencies.py `require`): one `access.denied`
    row per 403, in a transaction of its own, since the refused request's rolls back."""
    database: Database = request.app.state.database
    await record_apart(
        database,
        action=ACCESS_DENIED,
        outcome=DENIED,
        actor_id=principal.user_id,
        actor=principal.email,
        origin=Origin.of(request),
        # The path only: a query string may carry what does not belong in the trail.
        detail={"permission": permission, "method": request.method, "path": request.url.path},
    )
