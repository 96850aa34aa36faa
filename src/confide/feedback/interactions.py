"""Slack's button presses (block_actions), verified, then answered as the approval's owner.

Slack signs each request: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>` under the app's
signing secret, in X-Slack-Signature, with X-Slack-Request-Timestamp; slack-sdk's
SignatureVerifier checks both (a timestamp more than five minutes off is refused, so an old
request cannot be replayed later). The presser must be the Slack member id the approval's
owner connected: a message forwarded to someone else, or a shared channel, answers nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from confide.approvals import repository as approvals_repository
from confide.approvals.schemas import Decision, approval_out
from confide.approvals.service import ApprovalDecided
from confide.errors import BadRequest
from confide.feedback.errors import SlackNotConfigured, SlackSignatureInvalid, SlackUserMismatch
from confide.feedback.notices import Feedback
from confide.feedback.service import channels_of
from confide.feedback.slack import ACTION_PREFIX, APPROVE, CHOICE, DENY

log = logging.getLogger("confide.feedback")

Outcome = Literal["answered", "already_answered", "ignored"]


class SlackPayloadInvalid(BadRequest):
    code = "slack_payload_invalid"
    title = "Not an interaction payload Confide sent buttons for"


def verify(feedback: Feedback, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise unless Slack signed this body within the last five minutes."""
    if feedback.slack_signing_secret is None:
        raise SlackNotConfigured
    verifier = SignatureVerifier(feedback.slack_signing_secret)
    try:
        valid = verifier.is_valid(
            body=body,
            timestamp=headers.get("x-slack-request-timestamp"),
            signature=headers.get("x-slack-signature"),
        )
    except ValueError:  # a timestamp that is not a number
        valid = False
    if not valid:
        raise SlackSignatureInvalid


def _payload(body: bytes) -> dict[str, Any]:
    try:
        fields = parse_qs(body.decode(), strict_parsing=True)
        payload = json.loads(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise SlackPayloadInvalid from exc
    if not isinstance(payload, dict):
        raise SlackPayloadInvalid
    return payload


async def handle(feedback: Feedback, body: bytes, headers: Mapping[str, str]) -> Outcome:
    """Verify the request, then answer the approval its button names."""
    verify(feedback, body, headers)
    payload = _payload(body)
    if payload.get("type") != "block_actions":
        return "ignored"
    try:
        action = payload["actions"][0]
        action_id = str(action["action_id"])
        member = str(payload["user"]["id"])
    except (KeyError, IndexError, TypeError) as exc:
        raise SlackPayloadInvalid from exc
    if not action_id.startswith(ACTION_PREFIX):
        return "ignored"
    kind, _, index = action_id.removeprefix(ACTION_PREFIX).partition(":")
    if kind not in (APPROVE, DENY, CHOICE):
        return "ignored"  # the "Open in Confide" link button
    try:
        approval_id = uuid.UUID(str(action.get("value")))
    except ValueError as exc:
        raise SlackPayloadInvalid from exc
    async with feedback.database.session() as session:
        row = await approvals_repository.get(session, approval_id, user_id=None)
        if row is None:
            raise SlackUserMismatch  # the same answer as a stranger's: nothing to learn here
        codec = await feedback.vault.codec(session, row.user_id)
        connected = (await channels_of(session, codec, row.user_id)).slack_user_id
        approval = approval_out(codec, row)
    if connected is None or not hmac.compare_digest(connected, member):
        raise SlackUserMismatch
    if kind == CHOICE:
        choices = approval.choices or []
        if not index.isdigit() or int(index) >= len(choices):
            raise SlackPayloadInvalid
        decision = Decision(decision="approve", answer=choices[int(index)])
    else:
        decision = Decision(decision="approve" if kind == APPROVE else "deny")
    assert feedback.approvals is not None
    try:
        await feedback.approvals.decide(
            user_id=row.user_id, approval_id=approval_id, decision=decision, channel="slack"
        )
    except ApprovalDecided:
        # Answered elsewhere first: make sure the message says so (a job, already queued by
        # the first answer unless that one was just now).
        await feedback.resolved(approval)
        return "already_answered"
    return "answered"
