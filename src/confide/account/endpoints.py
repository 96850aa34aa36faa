"""HTTP routes of account links under /api/auth: password recovery and email verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from confide.access.dependencies import public_route
from confide.account.schemas import (
    ForgotPasswordAccepted,
    ForgotPasswordRequest,
    ResetPasswordRequest,
    VerificationSent,
    VerifyEmailRequest,
)
from confide.account.service import (
    SEND_RESET_JOB,
    AccountService,
    Mailer,
    reset_job_key,
)
from confide.audit.service import Origin
from confide.auth import repository as auth_repository
from confide.auth.dependencies import AuthContextDep, CurrentPrincipal
from confide.auth.service import SessionEnded
from confide.db.engine import SessionDep

router = APIRouter(prefix="/api/auth", tags=["auth"])


def mailer(request: Request) -> Mailer:
    notify: Mailer = request.app.state.notify
    return notify


MailerDep = Annotated[Mailer, Depends(mailer)]


def base_url(request: Request) -> str:
    """Where links point: CONFIDE_PUBLIC_URL, else the address of this request (its Host was
    checked against CONFIDE_ALLOWED_HOSTS, so a request cannot make links point elsewhere)."""
    public: str | None = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


@router.post("/password/forgot", status_code=202, response_model=ForgotPasswordAccepted)
@public_route
async def forgot_password(request: Request, body: ForgotPasswordRequest) -> ForgotPasswordAccepted:
    """Send a password-reset link to this address if an account has it. The answer is the
    same, and as quick, whether or not one does: the request only queues a job, which looks
    the address up and mails the link (to the web app's `/reset-password?token=`)."""
    await request.app.state.jobs.enqueue(
        SEND_RESET_JOB, key=reset_job_key(body.email), email=body.email, base_url=base_url(request)
    )
    return ForgotPasswordAccepted(email=body.email)


@router.post("/password/reset", status_code=204, response_class=Response)
@public_route
async def reset_password(
    request: Request,
    body: ResetPasswordRequest,
    db: SessionDep,
    ctx: AuthContextDep,
    notify: MailerDep,
) -> Response:
    """Set a new password with the token of a reset (30 minutes) or set-password link. The
    token is spent, every session of the account ends, and nobody is signed in: the next
    sign-in asks for the second factor as usual. A disabled account stays disabled."""
    await AccountService(db, ctx, notify).reset_password(
        body.token, body.new_password, origin=Origin.of(request)
    )
    return Response(status_code=204)


@router.post("/email/verify", status_code=204, response_class=Response)
@public_route
async def verify_email(
    request: Request,
    body: VerifyEmailRequest,
    db: SessionDep,
    ctx: AuthContextDep,
    notify: MailerDep,
) -> Response:
    """Follow a verification link (its token, 24 hours, single use)."""
    await AccountService(db, ctx, notify).verify_email(body.token, origin=Origin.of(request))
    return Response(status_code=204)


@router.post("/email/verification", status_code=202, response_model=VerificationSent)
async def send_verification(
    request: Request,
    principal: CurrentPrincipal,
    db: SessionDep,
    ctx: AuthContextDep,
    notify: MailerDep,
) -> VerificationSent:
    """Send (again) a verification link to the caller's address; older links stop working."""
    user = await auth_repository.get_user(db, principal.user_id)
    if user is None:
        raise SessionEnded
    await AccountService(db, ctx, notify).send_verification(
        user, base_url=base_url(request), origin=Origin.of(request)
    )
    return VerificationSent(email=user.email)
