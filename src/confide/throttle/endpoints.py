"""HTTP routes of /api/admin/ip-rules: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from confide.access.dependencies import require
from confide.access.permissions import IP_RULES_MANAGE
from confide.audit.service import Origin
from confide.auth.cache import Principal
from confide.auth.dependencies import client_ip
from confide.db.engine import SessionDep
from confide.mfa.dependencies import step_up_for_changes
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    Page,
    after_time_and_id,
    next_time_and_id,
)
from confide.throttle.ip_rules import IpRuleService
from confide.throttle.schemas import IpRuleCreate, IpRuleOut

router = APIRouter(
    prefix="/api/admin/ip-rules", tags=["admin"], dependencies=[Depends(step_up_for_changes)]
)

IpRulesManager = Annotated[Principal, Depends(require(IP_RULES_MANAGE))]


async def ip_rule_service(request: Request, db: SessionDep) -> IpRuleService:
    return IpRuleService(db, request.app.state.ip_rules, origin=Origin.of(request))


Rules = Annotated[IpRuleService, Depends(ip_rule_service)]


@router.get("", response_model=Page[IpRuleOut])
async def list_ip_rules(
    _: IpRulesManager,
    rules: Rules,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[IpRuleOut]:
    """The allow and block rules, newest first."""
    rows = await rules.page(after=after_time_and_id(cursor), limit=limit + 1)
    items = [IpRuleOut.model_validate(rule) for rule in rows[:limit]]
    return Page[IpRuleOut](items=items, next_cursor=next_time_and_id(rows, limit))


@router.post(
    "",
    status_code=201,
    response_model=IpRuleOut,
    responses={
        409: {"description": "The rule would block the caller's own address (`blocks_self`)"},
        422: {"description": "Not an address or CIDR range (`invalid_cidr`)"},
    },
)
async def create_ip_rule(
    request: Request, body: IpRuleCreate, principal: IpRulesManager, rules: Rules
) -> IpRuleOut:
    """Add an allow or block rule; it applies on every process at once."""
    rule = await rules.create(
        caller=principal,
        caller_ip=client_ip(request),
        cidr=body.cidr,
        action=body.action,
        note=body.note,
        expires_at=body.expires_at,
    )
    return IpRuleOut.model_validate(rule)


@router.delete("/{rule_id}", status_code=204, response_class=Response)
async def delete_ip_rule(
    request: Request, rule_id: uuid.UUID, principal: IpRulesManager, rules: Rules
) -> Response:
    """Remove a rule (refused when that would leave the caller's own address blocked)."""
    await rules.delete(caller=principal, caller_ip=client_ip(request), rule_id=rule_id)
    return Response(status_code=204)
