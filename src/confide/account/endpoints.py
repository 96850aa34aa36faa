"""HTTP routes of account links under /api/auth: password recovery, email verification and
email change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from confide.access.dependencies import public_route
from confide.account.email_change import EmailChangeService
from confide.account.schemas import (
    EmailChangeConfirm,
    EmailChanged,
    EmailChangeRequest,
    EmailChangeRequested,
    EmailStatus,
    ForgotPasswordAccepted,
    ForgotPasswordRequest,
    ResetPasswordRequest,
    VerificationSent,
    VerifyEmailRequest,
)
from confide.account.service import (
    SEND_RESET_JOB,
    AccountService,
    reset_job_key,
)
from confide.audit.service import Origin
from confide.auth import repository as auth_repository
from confide.auth.cache import Principal
from confide.auth.dependencies import AuthContextDep, CurrentPrincipal, current_principal
from confide.auth.models import User
from confide.auth.service import SessionEnded
from confide.db.engine import SessionDep
from confide.errors import ConfideError
from confide.mfa.dependencies import RecentAuth
from confide.notify.senders import EmailSender

router = APIRouter(prefix="/api/auth", tags=["auth"])


def mailer(request: Request) -> EmailSender:
    notify: EmailSender = request.app.state.notify
    return notify


MailerDep = Annotated[EmailSender, Depends(mailer)]


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
    user = await _user(db, principal)
    await AccountService(db, ctx, notify).send_verification(
        user, base_url=base_url(request), origin=Origin.of(request)
    )
    return VerificationSent(email=user.email)


@router.get("/email", response_model=EmailStatus)
async def email_status(
    principal: CurrentPrincipal, db: SessionDep, ctx: AuthContextDep, notify: MailerDep
) -> EmailStatus:
    """The caller's address, whether it is verified, and a change waiting for its link."""
    user = await _user(db, principal)
    pending = await EmailChangeService(db, ctx, notify).pending(user)
    return EmailStatus(
        email=user.email,
        email_verified=user.email_verified_at is not None,
        pending_email=pending.email if pending else None,
        pending_expires_at=pending.expires_at if pending else None,
    )


@router.post("/email", status_code=202, response_model=EmailChangeRequested)
async def request_email_change(
    request: Request,
    body: EmailChangeRequest,
    principal: RecentAuth,
    db: SessionDep,
    ctx: AuthContextDep,
    notify: MailerDep,
) -> EmailChangeRequested:
    """Change the address (step-up): a link to the new address (24 hours, single use; a newer
    request voids it) makes the change, and the current address is told, without the link.
    The answer is the same when another account has the address (it gets no link)."""
    user = await _user(db, principal)
    await EmailChangeService(db, ctx, notify).request(
        user, body.new_email, base_url=base_url(request), origin=Origin.of(request)
    )
    return EmailChangeRequested(email=body.new_email)


@router.post("/email/confirm", response_model=EmailChanged)
@public_route
async def confirm_email_change(
    request: Request,
    body: EmailChangeConfirm,
    db: SessionDep,
    ctx: AuthContextDep,
    notify: MailerDep,
) -> EmailChanged:
    """Follow a change link (it may open on any device, signed in or not): the new address
    becomes the account's, verified, and every session of the account ends but the one making
    this request, if it is that account's."""
    caller = await _signed_in(request)
    user = await EmailChangeService(db, ctx, notify).confirm(
        body.token,
        keep=caller.session_id if caller is not None else None,
        origin=Origin.of(request),
    )
    return EmailChanged(email=user.email)


async def _user(db: AsyncSession, principal: Principal) -> User:
    user = await auth_repository.get_user(db, principal.user_id)
    if user is None:
        raise SessionEnded
    return user


async def _signed_in(request: Request) -> Principal | None:
    """The caller's live session, if the request carries one that passes every check (a
    cookie one its CSRF token too); otherwise nobody, and no session is kept."""
    try:
        return await current_principal(request)
    except ConfideError:
        return None
