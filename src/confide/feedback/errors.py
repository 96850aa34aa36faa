"""The feedback feature's domain errors (rendered as problem+json by errors.py's handler)."""

from __future__ import annotations

from confide.errors import ConfideError, NotFound, ValidationFailed


class ChannelUnavailable(ValidationFailed):
    code = "channel_unavailable"
    title = "That channel cannot reach you"


class SlackNotConfigured(NotFound):
    code = "slack_not_configured"
    title = "Slack is not set up on this server"


class SlackSignatureInvalid(ConfideError):
    status, code, title = 401, "slack_signature_invalid", "The request is not signed by Slack"


class SlackUserMismatch(ConfideError):
    status, code, title = 403, "slack_user_mismatch", "This Slack account cannot answer it"
