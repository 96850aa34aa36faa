"""The MCP feature's domain errors, each with its stable code."""

from __future__ import annotations

from confide.errors import BadRequest, NotFound, ServiceUnavailable


class McpServerNotFound(NotFound):
    code = "mcp_server_not_found"
    title = "No such MCP server among your agents' servers"


class OAuthNotOffered(BadRequest):
    code = "oauth_not_offered"
    title = "This MCP server takes a pasted token, not OAuth"


class OAuthStateInvalid(BadRequest):
    code = "oauth_state_invalid"
    title = "This sign-in link has expired or was already used; connect again"


class OAuthExchangeFailed(ServiceUnavailable):
    code = "oauth_exchange_failed"
    title = "The MCP server's sign-in did not give a token"
    keep_changes = True  # the flow's state stays spent
