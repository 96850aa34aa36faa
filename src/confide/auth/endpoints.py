"""HTTP routes of /api/auth: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from confide.access.dependencies import ThreadReader, authenticated_route, public_route
from confide.account.endpoints import base_url, mailer
from confide.account.service import AccountService
from confide.admin.registration import register_account
from confide.audit import queries as audit_queries
from confide.audit.schemas import AccountEventOut, account_event_out
from confide.audit.service import Origin
from confide.auth.cache import Principal
from confide.auth.dependencies import (
    REFRESH_PATH,
    AuthContextDep,
    CurrentPrincipal,
    check_csrf,
    check_same_origin,
    client_ip,
    cookie_names,
    current_principal,
)
from confide.auth.models import User
from confide.auth.schemas import (
    CookieSessionResponse,
    LoginRequest,
    PasswordChangeRequest,
    RefreshRequest,
    RegisterRequest,
    SessionOut,
    TokenResponse,
    UserOut,
    WebSocketTicket,
    user_out,
)
from confide.auth.service import (
    AuthContext,
    AuthService,
    InvalidCredentials,
    InvalidRefreshToken,
    IssuedSession,
)
from confide.db.base import utcnow
from confide.db.engine import Database, SessionDep
from confide.mfa.dependencies import mfa_context, require_recent_auth
from confide.mfa.schemas import MfaChallengeResponse
from confide.mfa.service import MfaService
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    Page,
    after_time_and_id,
    encode_cursor,
    next_time_and_id,
)
from confide.throttle.service import Throttle

router = APIRouter(prefix="/api/auth", tags=["auth"])

ModeParam = Annotated[
    Literal["bearer", "cookie"] | None,
    Query(description="`cookie` for browser mode: tokens in HttpOnly cookies, never in the body."),
]

_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginRequest.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string", "description": "The email address."},
                        "password": {"type": "string", "format": "password"},
                        "scope": {"type": "string"},
                    },
                }
            },
        },
    }
}


# First in the router (routes are matched in order) and the one every client calls on every
# page load, so it is kept as close to the cost of authentication itself as FastAPI allows: the
# principal is resolved by a direct call (one dependency costs FastAPI ~8 us, more than the
# authentication does) and the answer is a snapshot's cached JSON. Other routes take
# `CurrentPrincipal` as a dependency, where a database query dwarfs that cost.
@router.get("/me", response_model=UserOut, openapi_extra={"security": [{"OAuth2Password": []}]})
@authenticated_route
async def me(request: Request) -> Response:
    """The signed-in user."""
    principal = await current_principal(request)
    return Response(_profile_json(principal), media_type="application/json")


@lru_cache(maxsize=4096)
def _profile_json(principal: Principal) -> bytes:
    """A principal is an immutable snapshot, so its JSON is computed once per snapshot."""
    return (
        UserOut(
            id=principal.user_id,
            email=principal.email,
            display_name=principal.display_name,
            is_admin=principal.is_admin,
            created_at=principal.created_at,
            status=principal.status,
            roles=sorted(principal.roles),
            permissions=sorted(principal.permissions),
            email_verified=principal.email_verified,
        )
        .model_dump_json()
        .encode()
    )


@router.post("/register", status_code=201, response_model=UserOut)
@public_route
async def register(
    request: Request, body: RegisterRequest, db: SessionDep, ctx: AuthContextDep
) -> UserOut:
    """Create an account under the registration policy (`invite` needs `invite`; under
    `approval` the account is `pending` unless invited). The response never holds a secret."""
    user, roles = await register_account(
        db,
        ctx,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        invite=body.invite,
        origin=Origin.of(request),
    )
    # The verification link goes out with the account (queued in this transaction).
    await AccountService(db, ctx, mailer(request)).send_verification(
        user, base_url=base_url(request), origin=Origin.of(request)
    )
    return user_out(user, roles)


@router.post(
    "/login",
    response_model=TokenResponse | CookieSessionResponse | MfaChallengeResponse,
    openapi_extra=_LOGIN_BODY,
    responses={
        401: {"description": "Wrong email or password (`invalid_credentials`)"},
        429: {
            "description": "Too many failed sign-ins: for this account (`account_locked`) or "
            "from this address (`ip_blocked`); `Retry-After` and `retry_after` say how long"
        },
    },
)
@public_route
async def login(
    request: Request, db: SessionDep, ctx: AuthContextDep, mode: ModeParam = None
) -> Response:
    """Sign in with the OAuth2 password form or JSON; `mode=cookie` for browsers. With MFA
    on, the answer is a challenge (`mfa_required`) for `POST /api/auth/mfa/verify` instead."""
    body = await _read_login(request)
    mode = body.mode or mode or "bearer"
    if mode == "cookie":
        check_same_origin(request, ctx.settings)
    service = AuthService(db, ctx)
    origin = Origin.of(request)
    # Brute-force protection (throttle/): a locked account or blocked address is refused
    # before the password is looked at; a failure is counted, a success forgets them.
    throttle: Throttle = request.app.state.throttle
    attempt = await throttle.check(db, email=body.email, ip=client_ip(request))
    try:
        user = await service.authenticate(
            email=body.email, password=body.password, origin=origin, database=_database(request)
        )
    except InvalidCredentials:
        await throttle.failed(attempt, email=body.email, origin=origin)
        raise
    await throttle.succeeded(db, attempt)
    challenge = await MfaService(db, mfa_context(request)).begin_sign_in(user, mode=mode)
    if challenge is not None:
        answer = MfaChallengeResponse(
            mfa_token=challenge.token, methods=challenge.methods, expires_in=challenge.expires_in
        )
        return Response(answer.model_dump_json(), media_type="application/json")
    return await complete_sign_in(request, db, ctx, user=user, mode=mode, method="password")


async def complete_sign_in(
    request: Request,
    db: AsyncSession,
    ctx: AuthContext,
    *,
    user: User,
    mode: str,
    method: str,
) -> Response:
    """What every finished sign-in answers (the password alone, or its MFA step): a new
    session, its tokens in the body (bearer) or in cookies with a CSRF token (cookie mode)."""
    issued = await AuthService(db, ctx).start_session(
        user=user,
        mode=mode,
        user_agent=request.headers.get("user-agent"),
        ip=client_ip(request),
        origin=Origin.of(request),
        method=method,
    )
    return _session_response(ctx, issued, cookie_mode=mode == "cookie")


@router.post("/refresh", response_model=TokenResponse | CookieSessionResponse)
@public_route
async def refresh(
    request: Request, db: SessionDep, ctx: AuthContextDep, body: RefreshRequest | None = None
) -> Response:
    """Trade a refresh token (body, or the browser's cookie) for new tokens; it is spent."""
    service = AuthService(db, ctx)
    origin = Origin.of(request)
    if body is not None and body.refresh_token:
        issued = await service.refresh(body.refresh_token, origin=origin)
        return _session_response(ctx, issued, cookie_mode=False)
    token = request.cookies.get(cookie_names(ctx.settings.secure_cookies).refresh)
    if not token:
        raise InvalidRefreshToken
    check_same_origin(request, ctx.settings)
    session_id = await service.refresh_session_id(token)
    if session_id is None:
        raise InvalidRefreshToken
    check_csrf(request, ctx, session_id)
    return _session_response(ctx, await service.refresh(token, origin=origin), cookie_mode=True)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(
    request: Request, principal: CurrentPrincipal, db: SessionDep, ctx: AuthContextDep
) -> Response:
    """End this session."""
    await AuthService(db, ctx).sign_out(principal, origin=Origin.of(request))
    return _cleared(ctx)


@router.post("/logout-all", status_code=204, response_class=Response)
async def logout_all(
    request: Request, principal: CurrentPrincipal, db: SessionDep, ctx: AuthContextDep
) -> Response:
    """End every session of the caller, this one included."""
    await AuthService(db, ctx).end_all_sessions(principal, origin=Origin.of(request))
    return _cleared(ctx)


@router.post("/ws-ticket", response_model=WebSocketTicket)
async def ws_ticket(principal: ThreadReader, ctx: AuthContextDep) -> WebSocketTicket:
    """A single-use ticket (valid 30 s) to open `/api/ws?ticket=...` from a bearer client."""
    ticket = ctx.tickets.issue(user_id=principal.user_id, session_id=principal.session_id)
    return WebSocketTicket(ticket=ticket, expires_in=ctx.tickets.ttl_seconds)


@router.post("/password", status_code=204, response_class=Response)
async def change_password(
    request: Request,
    body: PasswordChangeRequest,
    principal: CurrentPrincipal,
    db: SessionDep,
    ctx: AuthContextDep,
) -> Response:
    """Change the password; every other session of the user ends."""
    await AuthService(db, ctx).change_password(
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
        origin=Origin.of(request),
    )
    return Response(status_code=204)


@router.get("/sessions", response_model=Page[SessionOut])
async def list_sessions(
    principal: CurrentPrincipal,
    db: SessionDep,
    ctx: AuthContextDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[SessionOut]:
    """The caller's live sessions, newest first."""
    after = after_time_and_id(cursor)
    rows = await AuthService(db, ctx).list_sessions(principal, after=after, limit=limit + 1)
    items = [
        SessionOut.model_validate(row).model_copy(
            update={"current": row.id == principal.session_id}
        )
        for row in rows[:limit]
    ]
    return Page[SessionOut](items=items, next_cursor=next_time_and_id(rows, limit))


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response)
async def end_session(
    request: Request,
    session_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: SessionDep,
    ctx: AuthContextDep,
) -> Response:
    """Sign out one device. Someone else's session id is 'not found'. Ending another of your
    sessions is a sensitive change (step-up: 401 `reauth_required` past the window); ending
    this one is signing out."""
    if session_id != principal.session_id:
        await require_recent_auth(request, db)
    await AuthService(db, ctx).end_session(principal, session_id, origin=Origin.of(request))
    if session_id == principal.session_id:
        return _cleared(ctx)
    return Response(status_code=204)


@router.get("/events", response_model=Page[AccountEventOut])
async def account_events(
    principal: CurrentPrincipal,
    db: SessionDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[AccountEventOut]:
    """The caller's own account activity (sign-ins, refused ones against this account
    included, sign-outs, sessions ended, password changes), newest first."""
    before = audit_queries.decode_id_cursor(cursor) if cursor else None
    rows = await audit_queries.account_events(
        db, user_id=principal.user_id, before_id=before, limit=limit + 1
    )
    return Page[AccountEventOut](
        items=[account_event_out(row) for row in rows[:limit]],
        next_cursor=encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None,
    )


# Helpers ---------------------------------------------------------------------------------------


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _read_login(request: Request) -> LoginRequest:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            grant_type = form.get("grant_type")
            if grant_type not in (None, "", "password"):
                raise RequestValidationError(
                    [
                        {
                            "type": "value_error",
                            "loc": ("body", "grant_type"),
                            "msg": "grant_type must be 'password'",
                        }
                    ]
                )
            mode = form.get("mode")
            return LoginRequest.model_validate(
                {
                    "email": form.get("username") or form.get("email"),
                    "password": form.get("password"),
                    **({"mode": mode} if mode else {}),
                }
            )
        body = await request.body()
        if not body:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
            )
        return LoginRequest.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None


def _session_response(ctx: AuthContext, issued: IssuedSession, *, cookie_mode: bool) -> Response:
    if not cookie_mode:
        body = TokenResponse(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=issued.expires_in,
            session_id=issued.session.id,
        )
        return Response(body.model_dump_json(), media_type="application/json")
    settings = ctx.settings
    names = cookie_names(settings.secure_cookies)
    csrf_token = ctx.csrf.issue(issued.session.id)
    response = Response(
        CookieSessionResponse(
            expires_in=issued.expires_in, session_id=issued.session.id, csrf_token=csrf_token
        ).model_dump_json(),
        media_type="application/json",
    )
    session_left = max(0, int((issued.session.expires_at - utcnow()).total_seconds()))
    common: dict[str, Any] = {
        "secure": settings.secure_cookies,
        "samesite": settings.cookie_samesite,
    }
    response.set_cookie(
        names.access,
        issued.access_token,
        max_age=issued.expires_in,
        path="/",
        httponly=True,
        **common,
    )
    response.set_cookie(
        names.refresh,
        issued.refresh_token,
        max_age=session_left,
        path=REFRESH_PATH,
        httponly=True,
        **common,
    )
    # Any CSRF token signed for this session stays valid, so tabs holding an older one go on.
    response.set_cookie(
        names.csrf, csrf_token, max_age=session_left, path="/", httponly=False, **common
    )
    return response


def _cleared(ctx: AuthContext) -> Response:
    settings = ctx.settings
    names = cookie_names(settings.secure_cookies)
    response = Response(status_code=204)
    common: dict[str, Any] = {
        "secure": settings.secure_cookies,
        "samesite": settings.cookie_samesite,
    }
    response.delete_cookie(names.access, path="/", httponly=True, **common)
    response.delete_cookie(names.refresh, path=REFRESH_PATH, httponly=True, **common)
    response.delete_cookie(names.csrf, path="/", **common)
    return response
