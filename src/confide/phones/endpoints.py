"""HTTP routes of the caller's phone number (/api/auth/phone...)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from redis.exceptions import RedisError

from confide.audit.service import Origin
from confide.auth.cache import Principal
from confide.auth.dependencies import CurrentPrincipal
from confide.db.engine import SessionDep
from confide.error_handlers import unavailable_part
from confide.errors import Unavailable
from confide.mfa.dependencies import MfaContextDep, RecentAuth
from confide.phones.numbers import normalise_number
from confide.phones.schemas import PhoneCodeRequest, PhoneOut, PhoneRequest
from confide.phones.service import PhoneService
from confide.ratelimit.clients import client_group
from confide.ratelimit.dependencies import rate_limits
from confide.ratelimit.errors import RateLimited
from confide.ratelimit.headers import record, record_refusal

router = APIRouter(prefix="/api/auth/phone", tags=["phone"])

# Sending a code to a phone spends the budget of `POST /api/auth/mfa/send` (per client IP,
# CONFIDE_RATE_LIMIT_CODES_PER_IP), and the same amount again per account.
CODES_ROUTE = "/api/auth/mfa/send"


@router.get("", response_model=PhoneOut, responses={404: {"description": "`no_phone`"}})
async def get_phone(principal: CurrentPrincipal, db: SessionDep, mfa: MfaContextDep) -> PhoneOut:
    """The caller's phone number and whether it is verified."""
    return PhoneOut.of(await PhoneService(db, mfa).get(principal))


@router.put(
    "",
    status_code=202,
    response_model=PhoneOut,
    responses={
        422: {"description": "`invalid_phone_number`"},
        429: {"description": "`rate_limited`"},
    },
)
async def put_phone(
    request: Request,
    body: PhoneRequest,
    principal: RecentAuth,
    db: SessionDep,
    mfa: MfaContextDep,
) -> PhoneOut:
    """Set the caller's number (replacing any, verified or not): stored unverified, and a
    6-digit code is sent to it by SMS, good for 5 minutes and 3 tries. Needs a recent
    sign-in."""
    number = normalise_number(body.number)
    await _count_code_send(request, principal)
    phone = await PhoneService(db, mfa).change(
        principal, number, notify=request.app.state.notify, origin=Origin.of(request)
    )
    return PhoneOut.of(phone)


@router.post(
    "/verify",
    response_model=PhoneOut,
    responses={
        400: {"description": "`invalid_code` (with `attempts_left`), `code_expired`"},
        404: {"description": "`no_phone`"},
        409: {"description": "`no_pending_code`"},
    },
)
async def verify_phone(
    request: Request,
    body: PhoneCodeRequest,
    principal: CurrentPrincipal,
    db: SessionDep,
    mfa: MfaContextDep,
) -> PhoneOut:
    """Verify the caller's number with the code sent to it; the third wrong code ends it."""
    phone = await PhoneService(db, mfa).verify(principal, body.code, origin=Origin.of(request))
    return PhoneOut.of(phone)


@router.delete("", status_code=204, response_class=Response)
async def delete_phone(
    request: Request, principal: RecentAuth, db: SessionDep, mfa: MfaContextDep
) -> Response:
    """Remove the caller's phone number (needs a recent sign-in)."""
    await PhoneService(db, mfa).remove(principal, origin=Origin.of(request))
    return Response(status_code=204)


async def _count_code_send(request: Request, principal: Principal) -> None:
    """One code send against the client IP's code budget and the account's (429
    `rate_limited`). Like the per-IP budgets, it fails closed when Redis cannot count."""
    limits = rate_limits(request)
    budget = limits.ip_routes[CODES_ROUTE]
    state = request.scope.setdefault("state", {})
    client = request.client.host if request.client else None
    try:
        record(state, await limits.ip(budget, client_group(client)))
        record(
            state,
            await limits.hit(budget.item, "codes-user", principal.user_id.hex, what=budget.what),
        )
    except RateLimited as refused:
        record_refusal(state, refused)
        raise
    except RedisError as exc:
        part = unavailable_part(exc)
        if part is None:
            raise
        raise Unavailable(part) from exc
