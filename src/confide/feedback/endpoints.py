"""HTTP routes of the feedback feature: the caller's channels (/api/me/channels), Slack's
interactions (/api/slack/interactions), and the pages email links open
(/approvals/respond/{token}: HTML, outside the JSON API and its schema)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

from confide.access.dependencies import public_route
from confide.approvals.service import ApprovalDecided, ApprovalNotFound, InvalidDecision
from confide.auth.dependencies import CurrentPrincipal
from confide.db.engine import SessionDep
from confide.feedback import interactions, links, pages
from confide.feedback.dependencies import FeedbackDep
from confide.feedback.schemas import ChannelsIn, ChannelsOut
from confide.feedback.service import Channels, channels_of, email_available, update_channels

router = APIRouter(prefix="/api/me/channels", tags=["channels"])
slack_router = APIRouter(prefix="/api/slack", tags=["channels"])
pages_router = APIRouter(prefix="/approvals/respond", include_in_schema=False)


@router.get("", response_model=ChannelsOut)
async def get_channels(
    request: Request, principal: CurrentPrincipal, db: SessionDep, feedback: FeedbackDep
) -> ChannelsOut:
    """The channels that tell you about a run waiting for you, in fallback order."""
    codec = await request.app.state.vault.codec(db, principal.user_id)
    return await _out(
        db, principal.user_id, feedback, await channels_of(db, codec, principal.user_id)
    )


@router.put(
    "",
    response_model=ChannelsOut,
    responses={422: {"description": "`validation_error`, `channel_unavailable`"}},
)
async def put_channels(
    body: ChannelsIn,
    request: Request,
    principal: CurrentPrincipal,
    db: SessionDep,
    feedback: FeedbackDep,
) -> ChannelsOut:
    """Choose your channels (`order`: "email", "slack", tried in this order) and your Slack
    member id. Email needs a verified address; Slack, this server's Slack app and your id."""
    codec = await request.app.state.vault.codec(db, principal.user_id)
    channels = await update_channels(
        db, codec, principal.user_id, order=body.order, slack_user_id=body.slack_user_id,
        slack_available=feedback.slack_available,
    )  # fmt: skip
    return await _out(db, principal.user_id, feedback, channels)


async def _out(
    db: SessionDep, user_id: uuid.UUID, feedback: FeedbackDep, channels: Channels
) -> ChannelsOut:
    return ChannelsOut(
        order=channels.order,
        slack_user_id=channels.slack_user_id,
        slack_available=feedback.slack_available,
        email_available=await email_available(db, user_id) is not None,
    )


class InteractionOut(BaseModel):
    outcome: interactions.Outcome


@slack_router.post(
    "/interactions",
    response_model=InteractionOut,
    responses={
        400: {"description": "`slack_payload_invalid`"},
        401: {"description": "`slack_signature_invalid`: not signed by Slack, or too old"},
        403: {"description": "`slack_user_mismatch`: not the approval owner's Slack account"},
        404: {"description": "`slack_not_configured`"},
    },
)
@public_route
async def slack_interactions(request: Request, feedback: FeedbackDep) -> InteractionOut:
    """Slack's Request URL for interactivity: a button pressed on an approval message
    (form field `payload`, a block_actions JSON). Verified with the signing secret."""
    body = await request.body()
    return InteractionOut(outcome=await interactions.handle(feedback, body, request.headers))


@pages_router.get("/{token}", response_class=HTMLResponse)
@public_route
async def respond_page(token: str, feedback: FeedbackDep) -> HTMLResponse:
    """The confirmation page of an email's link: shows the request and a form; changes
    nothing (mail scanners and previews open links)."""
    link = await links.open_link(feedback, token)
    return _page_for(link)


@pages_router.post("/{token}", response_class=HTMLResponse)
@public_route
async def respond(token: str, request: Request, feedback: FeedbackDep) -> HTMLResponse:
    """The form's answer: decides the approval (channel `email`), once."""
    link = await links.open_link(feedback, token)
    if link.state != "open":
        return _page_for(link)
    assert link.approval is not None
    assert link.user_id is not None
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    try:
        decision = links.decision_from_form(link.approval, form)
    except ValidationError:
        return pages.invalid_answer("Choose Approve or Deny; a reason is 2000 characters at most.")
    assert feedback.approvals is not None
    try:
        decided = await feedback.approvals.decide(
            user_id=link.user_id, approval_id=link.approval.id, decision=decision, channel="email"
        )
    except InvalidDecision as exc:
        return pages.invalid_answer(exc.detail)
    except (ApprovalDecided, ApprovalNotFound):
        return _page_for(await links.open_link(feedback, token))
    await links.spend(feedback, link)
    return pages.done(decided)


def _page_for(link: links.Link) -> HTMLResponse:
    if link.state == "unknown" or link.approval is None:
        return pages.not_found()
    if link.state == "answered":
        return pages.answered(link.approval)
    if link.state == "expired":
        return pages.expired()
    return pages.confirmation(link.approval)
