"""HTTP routes of passkeys (/api/auth/passkeys...): parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from confide.access.dependencies import public_route
from confide.audit.service import Origin
from confide.auth.dependencies import AuthContextDep, CurrentPrincipal, check_same_origin
from confide.auth.endpoints import complete_sign_in
from confide.auth.schemas import CookieSessionResponse, TokenResponse
from confide.db.engine import SessionDep
from confide.mfa.dependencies import MfaContextDep, RecentAuth
from confide.mfa.schemas import ReauthResponse
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    Page,
    after_time_and_id,
    next_time_and_id,
)
from confide.passkeys.relying_party import relying_party
from confide.passkeys.schemas import (
    AuthenticateOptionsRequest,
    AuthenticateVerifyRequest,
    PasskeyOut,
    ReauthVerifyRequest,
    RegisterVerifyRequest,
    RenameRequest,
)
from confide.passkeys.service import PasskeyService

router = APIRouter(prefix="/api/auth/passkeys", tags=["passkeys"])

_OPTIONS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Options JSON for the browser (binary fields base64url)."}
}


def _json(text: str) -> Response:
    return Response(text, media_type="application/json")


@router.get("", response_model=Page[PasskeyOut])
async def list_passkeys(
    principal: CurrentPrincipal,
    db: SessionDep,
    mfa: MfaContextDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[PasskeyOut]:
    """The caller's passkeys, oldest first."""
    after = after_time_and_id(cursor)
    rows = await PasskeyService(db, mfa).list(principal, after=after, limit=limit + 1)
    return Page[PasskeyOut](
        items=[PasskeyOut.model_validate(p) for p in rows[:limit]],
        next_cursor=next_time_and_id(rows, limit),
    )


@router.post("/register/options", response_model=dict[str, Any], responses=_OPTIONS)
async def registration_options(
    request: Request, principal: RecentAuth, db: SessionDep, mfa: MfaContextDep
) -> Response:
    """Creation options for navigator.credentials.create() (a discoverable credential; the
    caller's passkeys excluded). Needs a recent sign-in; the challenge is good for 5 minutes,
    once, from this session."""
    options = await PasskeyService(db, mfa).registration_options(principal, relying_party(request))
    return _json(options)


@router.post("/register/verify", status_code=201, response_model=PasskeyOut)
async def register(
    request: Request,
    body: RegisterVerifyRequest,
    principal: RecentAuth,
    db: SessionDep,
    mfa: MfaContextDep,
) -> PasskeyOut:
    """Store the passkey the authenticator created for the registration challenge."""
    passkey = await PasskeyService(db, mfa).register(
        principal,
        relying_party(request),
        body.credential,
        name=body.name,
        origin=Origin.of(request),
    )
    return PasskeyOut.model_validate(passkey)


@router.patch("/{passkey_id}", response_model=PasskeyOut)
async def rename_passkey(
    passkey_id: uuid.UUID,
    body: RenameRequest,
    principal: CurrentPrincipal,
    db: SessionDep,
    mfa: MfaContextDep,
) -> PasskeyOut:
    """Rename one of the caller's passkeys (another user's is 404)."""
    passkey = await PasskeyService(db, mfa).rename(principal, passkey_id, body.name)
    return PasskeyOut.model_validate(passkey)


@router.delete("/{passkey_id}", status_code=204, response_class=Response)
async def delete_passkey(
    request: Request,
    passkey_id: uuid.UUID,
    principal: RecentAuth,
    db: SessionDep,
    mfa: MfaContextDep,
) -> Response:
    """Remove one of the caller's passkeys (needs a recent sign-in; another user's is 404)."""
    await PasskeyService(db, mfa).delete(principal, passkey_id, origin=Origin.of(request))
    return Response(status_code=204)


@router.post("/authenticate/options", response_model=dict[str, Any], responses=_OPTIONS)
@public_route
async def authentication_options(
    request: Request,
    db: SessionDep,
    mfa: MfaContextDep,
    body: AuthenticateOptionsRequest | None = None,
) -> Response:
    """Request options for navigator.credentials.get(): without a body, any passkey of this
    site (discoverable); with `mfa_token`, that sign-in's user's passkeys only."""
    mfa_token = body.mfa_token if body is not None else None
    options = await PasskeyService(db, mfa).authentication_options(
        relying_party(request), mfa_token=mfa_token
    )
    return _json(options)


@router.post(
    "/authenticate/verify",
    response_model=TokenResponse | CookieSessionResponse,
    responses={
        401: {"description": "`passkey_refused`, `passkey_cloned` or `mfa_token_invalid`"},
        403: {"description": "`account_disabled`"},
    },
)
@public_route
async def authenticate(
    request: Request,
    body: AuthenticateVerifyRequest,
    db: SessionDep,
    ctx: AuthContextDep,
    mfa: MfaContextDep,
) -> Response:
    """Sign in with a passkey: alone (it must verify the user, so it counts as both factors),
    or, with `mfa_token`, as the MFA step of a password sign-in. Answers what
    `POST /api/auth/login` answers."""
    # Before the challenge is spent: another site's page must not use up a browser's sign-in.
    check_same_origin(request, ctx.settings)
    signed_in = await PasskeyService(db, mfa).authenticate(
        relying_party(request),
        body.credential,
        mfa_token=body.mfa_token,
        mode=body.mode or "bearer",
        origin=Origin.of(request),
    )
    return await complete_sign_in(
        request, db, ctx, user=signed_in.user, mode=signed_in.mode, method="passkey"
    )


@router.post(
    "/reauth/options",
    response_model=dict[str, Any],
    responses={**_OPTIONS, 409: {"description": "`no_passkey`"}},
)
async def reauth_options(
    request: Request, principal: CurrentPrincipal, db: SessionDep, mfa: MfaContextDep
) -> Response:
    """Step-up with a passkey: request options for navigator.credentials.get() limited to the
    caller's passkeys (user verification required). The challenge is good for 5 minutes,
    once, from this session."""
    options = await PasskeyService(db, mfa).reauth_options(principal, relying_party(request))
    return _json(options)


@router.post(
    "/reauth/verify",
    response_model=ReauthResponse,
    responses={
        400: {"description": "`passkey_challenge_invalid`"},
        401: {"description": "`passkey_refused` or `passkey_cloned`"},
    },
)
async def reauth_verify(
    request: Request,
    body: ReauthVerifyRequest,
    principal: CurrentPrincipal,
    db: SessionDep,
    ctx: AuthContextDep,
    mfa: MfaContextDep,
) -> ReauthResponse:
    """Confirm it is you with one of your passkeys before a sensitive change: answers what
    `POST /api/auth/reauth` answers."""
    await PasskeyService(db, mfa).reauthenticate(
        principal, relying_party(request), body.credential, origin=Origin.of(request)
    )
    return ReauthResponse(method="passkey", valid_for=ctx.settings.reauth_window_seconds)
