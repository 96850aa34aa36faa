"""Slack's side of approvals: the message a waiting approval posts to its user (Block Kit,
with buttons), its edit once answered, and the Web API calls (slack-sdk's AsyncWebClient)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from confide.approvals.schemas import ApprovalOut

# Block Kit's limits: a section's text, a button's value.
SECTION_CHARS = 3000
ARGUMENTS_CHARS = 2400
ACTION_PREFIX = "confide:"
APPROVE, DENY, CHOICE = "approve", "deny", "choice"
API_TIMEOUT_SECONDS = 10

OUTCOME = {
    "approved": "Approved",
    "denied": "Denied",
    "answered": "Answered",
    "expired": "Expired",
    "cancelled": "Cancelled",
}


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """Where a posted message is: its conversation (the direct message) and timestamp."""

    channel: str
    ts: str

    @property
    def ref(self) -> str:
        return f"{self.channel}:{self.ts}"

    @classmethod
    def from_ref(cls, ref: str) -> PostedMessage:
        channel, _, ts = ref.partition(":")
        return cls(channel=channel, ts=ts)


class SlackMessages:
    """Posts and edits approval messages through Slack's Web API (chat.postMessage,
    chat.update) with the bot token. A refusal (`ok: false`) raises SlackApiError."""

    def __init__(self, *, token: str, api_url: str, public_url: str) -> None:
        self.token = token
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.public_url = public_url

    def _client(self) -> AsyncWebClient:
        # One client per call: it opens (and closes) an aiohttp session per request anyway.
        return AsyncWebClient(token=self.token, base_url=self.api_url, timeout=API_TIMEOUT_SECONDS)

    async def post(self, member_id: str, approval: ApprovalOut) -> PostedMessage:
        """Send the approval to the user's direct message with the app."""
        response = await self._client().chat_postMessage(
            channel=member_id,
            text=summary(approval),
            blocks=request_blocks(approval, self.link(approval)),
        )
        return PostedMessage(channel=str(response["channel"]), ts=str(response["ts"]))

    async def resolve(self, posted: PostedMessage, approval: ApprovalOut) -> None:
        """Edit the message to say how (and where) the approval was answered; no buttons."""
        await self._client().chat_update(
            channel=posted.channel,
            ts=posted.ts,
            text=outcome_text(approval),
            blocks=resolved_blocks(approval),
        )

    def link(self, approval: ApprovalOut) -> str:
        return f"{self.public_url}/chat/{approval.thread_id}"


def escape(text: str) -> str:
    """Slack's mrkdwn escapes: a tool's arguments cannot mention @channel or make links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pretty_arguments(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


def summary(approval: ApprovalOut) -> str:
    if approval.kind == "question":
        return "An agent asks you a question in Confide"
    return f"An agent is waiting for your approval to call {approval.tool}"


def outcome_text(approval: ApprovalOut) -> str:
    word = OUTCOME.get(approval.status, approval.status.capitalize())
    if approval.status in ("expired", "cancelled") or approval.channel in (None, "timeout"):
        return word
    return f"{word} on {approval.channel}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_CHARS]}}


def _detail(approval: ApprovalOut) -> dict[str, Any]:
    if approval.kind == "question":
        return _section(f"*Question*\n{escape(approval.question or '')}")
    arguments = pretty_arguments(approval.arguments)
    if len(arguments) > ARGUMENTS_CHARS:
        arguments = arguments[:ARGUMENTS_CHARS] + "\n… (open Confide for the rest)"
    return _section(f"*Tool* `{escape(approval.tool)}`\n```{escape(arguments)}```")


def _button(text: str, action: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75]},
        "action_id": ACTION_PREFIX + action,
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button


def request_blocks(approval: ApprovalOut, link: str) -> list[dict[str, Any]]:
    """The message: what is asked, and the buttons that answer it. A question with choices
    gets a button per choice; one asking for free text, a link to the conversation."""
    value = str(approval.id)
    buttons: list[dict[str, Any]]
    if approval.kind == "question" and approval.choices:
        buttons = [
            _button(choice, f"{CHOICE}:{index}", value)
            for index, choice in enumerate(approval.choices[:20])
        ]
    elif approval.kind == "question":
        buttons = []
    else:
        buttons = [
            _button("Approve", APPROVE, value, "primary"),
            _button("Deny", DENY, value, "danger"),
        ]
    buttons.append(
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in Confide"},
            "action_id": ACTION_PREFIX + "open",
            "url": link,
        }
    )
    return [
        _section(f"*{escape(summary(approval))}*"),
        _detail(approval),
        {"type": "actions", "block_id": f"confide-approval-{value}", "elements": buttons},
    ]


def resolved_blocks(approval: ApprovalOut) -> list[dict[str, Any]]:
    return [
        _section(f"*{escape(summary(approval))}*"),
        _detail(approval),
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"*{escape(outcome_text(approval))}*"}],
        },
    ]
