"""HTTP routes of /api/admin/audit: the audit trail, for those holding `audit:read`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from confide.access.dependencies import AuditReader
from confide.audit import queries
from confide.audit.schemas import AuditEventOut, Outcome, audit_event_out
from confide.db.engine import SessionDep
from confide.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, encode_cursor

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.get("/audit", response_model=Page[AuditEventOut])
async def list_audit_events(
    principal: AuditReader,
    db: SessionDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    actor: Annotated[
        str | None, Query(min_length=1, max_length=320, description="A user id or an email.")
    ] = None,
    action: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=65,
            description="An action (`auth.signed_in`), or a prefix ending in `*` (`auth.*`).",
        ),
    ] = None,
    target: Annotated[
        str | None,
        Query(min_length=1, max_length=240, description="`<type>:<id>` (`user:<id>`) or an id."),
    ] = None,
    outcome: Outcome | None = None,
    since: Annotated[
        datetime | None, Query(description="From this time on (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Before this time (ISO 8601; UTC if no zone).")
    ] = None,
) -> Page[AuditEventOut]:
    """The audit trail, newest first, filtered by actor, action, target, outcome and time."""
    rows = await queries.search_events(
        db,
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        since=since,
        until=until,
        before_id=queries.decode_id_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    return Page[AuditEventOut](
        items=[audit_event_out(row) for row in rows[:limit]],
        next_cursor=encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None,
    )
