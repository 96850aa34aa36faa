"""HTTP routes of MFA (/api/auth/mfa...) and step-up (/api/auth/reauth)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from confide.access.dependencies import public_route
from confide.audit.service import Origin
from confide.auth.dependencies import AuthContextDep, CurrentPrincipal, check_same_origin
from confide.auth.endpoints import complete_sign_in
from confide.auth.schemas import CookieSessionResponse, TokenResponse
from confide.db.engine import SessionDep
from confide.mfa.dependencies import MfaContextDep, RecentAuth
from confide.mfa.schemas import (
    BackupCodes,
    CodeRequest,
    MfaStatusOut,
    ReauthRequest,
    ReauthResponse,
    SendRequest,
    TotpEnrolment,
    VerifyRequest,
)
from confide.mfa.service import MfaService

router = APIRouter(prefix="/api/auth", tags=["mfa"])


@router.get("/mfa", response_model=MfaStatusOut)
async def mfa_status(
    principal: CurrentPrincipal, db: SessionDep, mfa: MfaContextDep
) -> MfaStatusOut:
    """Whether MFA is on for the caller, its methods and the backup codes left."""
    found = await MfaService(db, mfa).status(principal)
    return MfaStatusOut(
        enabled=found.enabled,
        pending=found.pending,
        methods=found.methods,
        backup_codes_remaining=found.backup_codes_remaining,
    )


@router.post("/mfa/totp", response_model=TotpEnrolment)
async def start_totp(
    principal: CurrentPrincipal, db: SessionDep, mfa: MfaContextDep
) -> TotpEnrolment:
    """Start enrolling an authenticator app: a new secret, pending until confirmed (a second
    call replaces a pending one)."""
    enrolment = await MfaService(db, mfa).start_enrolment(principal)
    return TotpEnrolment(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@router.post("/mfa/totp/confirm", response_model=BackupCodes)
async def confirm_totp(
    request: Request,
    body: CodeRequest,
    principal: CurrentPrincipal,
    db: SessionDep,
    mfa: MfaContextDep,
) -> BackupCodes:
    """Turn MFA on with a code from the app; answers the 10 backup codes, shown once."""
    backup_codes = await MfaService(db, mfa).confirm(
        principal, body.code, origin=Origin.of(request)
    )
    return BackupCodes(backup_codes=backup_codes)


@router.delete("/mfa/totp", status_code=204, response_class=Response)
async def disable_totp(
    request: Request, principal: RecentAuth, db: SessionDep, mfa: MfaContextDep
) -> Response:
    """Turn MFA off (needs a recent sign-in or `POST /api/auth/reauth`)."""
    await MfaService(db, mfa).disable(principal, origin=Origin.of(request))
    return Response(status_code=204)


@router.post("/mfa/backup-codes", response_model=BackupCodes)
async def regenerate_backup_codes(
    request: Request, principal: RecentAuth, db: SessionDep, mfa: MfaContextDep
) -> BackupCodes:
    """A new set of backup codes; the old ones stop working (needs a recent sign-in)."""
    backup_codes = await MfaService(db, mfa).regenerate_backup_codes(
        principal, origin=Origin.of(request)
    )
    return BackupCodes(backup_codes=backup_codes)


@router.post("/mfa/send", status_code=202, response_class=Response)
@public_route
async def send_code(
    request: Request, body: SendRequest, db: SessionDep, ctx: AuthContextDep, mfa: MfaContextDep
) -> Response:
    """Send a one-time code for a sign-in's MFA step (6 digits, 5 minutes, 3 attempts, bound
    to that challenge). `sms` needs a verified phone (409 `no_verified_phone`)."""
    check_same_origin(request, ctx.settings)
    await MfaService(db, mfa).send_code(
        body.mfa_token, channel=body.channel, notify=request.app.state.notify
    )
    return Response(status_code=202)


@router.post(
    "/mfa/verify",
    response_model=TokenResponse | CookieSessionResponse,
    responses={401: {"description": "`invalid_mfa_code`, or `mfa_token_invalid`"}},
)
@public_route
async def verify(
    request: Request,
    body: VerifyRequest,
    db: SessionDep,
    ctx: AuthContextDep,
    mfa: MfaContextDep,
) -> Response:
    """Finish a sign-in with a TOTP, backup or sent code: answers what `POST /api/auth/login`
    answers without MFA. Three wrong codes end the challenge."""
    # Before the code counts: another site's page must not use up a browser's challenge.
    check_same_origin(request, ctx.settings)
    verified = await MfaService(db, mfa).verify(
        body.mfa_token, body.code, throttle=request.app.state.throttle, origin=Origin.of(request)
    )
    return await complete_sign_in(
        request, db, ctx, user=verified.user, mode=verified.mode, method=verified.method
    )


@router.post("/reauth", response_model=ReauthResponse)
async def reauth(
    request: Request,
    body: ReauthRequest,
    principal: CurrentPrincipal,
    db: SessionDep,
    ctx: AuthContextDep,
    mfa: MfaContextDep,
) -> ReauthResponse:
    """Confirm it is you (password, or a TOTP or backup code) before a sensitive change."""
    method = await MfaService(db, mfa).reauthenticate(
        principal,
        password=body.password,
        code=body.code,
        hasher=ctx.hasher,
        throttle=request.app.state.throttle,
        origin=Origin.of(request),
    )
    return ReauthResponse(method=method, valid_for=ctx.settings.reauth_window_seconds)
