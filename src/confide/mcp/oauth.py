"""OAuth 2.1 authorization code flow with PKCE (S256) against an MCP server's authorization
server, for `auth = "user"` servers with an `[agents.mcp.oauth]` table.

Authlib would bring a client for this, but the flow is two form POSTs and a URL with five
parameters; written out here it is shorter than its configuration.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from confide.mcp.config import McpOAuthConfig
from confide.mcp.errors import OAuthExchangeFailed

EXCHANGE_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Secret:
    """What a user's connection holds: the token sent to the server, and how to renew it."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None  # epoch seconds; None: until the server refuses it

    def expired(self, *, now: float, margin: float = 30.0) -> bool:
        return self.expires_at is not None and self.expires_at - margin <= now

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Secret:
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=data.get("expires_at"),
        )


def pkce_pair() -> tuple[str, str]:
    """A fresh code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> tuple[str, str]:
    """A `state` value and the hash stored for it."""
    state = secrets.token_urlsafe(32)
    return state, state_hash(state)


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def authorize_url(config: McpOAuthConfig, *, state: str, challenge: str, redirect_uri: str) -> str:
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if config.scopes:
        query["scope"] = " ".join(config.scopes)
    parts = urlsplit(config.authorize_url)
    joined = f"{parts.query}&{urlencode(query)}" if parts.query else urlencode(query)
    return urlunsplit(parts._replace(query=joined))


async def exchange_code(
    config: McpOAuthConfig,
    *,
    code: str,
    verifier: str,
    redirect_uri: str,
    environ: Mapping[str, str],
) -> Secret:
    """The tokens for an authorization code."""
    return await _token_request(
        config,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        environ=environ,
    )


async def refresh(
    config: McpOAuthConfig, *, refresh_token: str, environ: Mapping[str, str]
) -> Secret:
    """New tokens for a refresh token (the old refresh token is kept if none comes back)."""
    fresh = await _token_request(
        config, {"grant_type": "refresh_token", "refresh_token": refresh_token}, environ=environ
    )
    if fresh.refresh_token is None:
        return Secret(fresh.access_token, refresh_token, fresh.expires_at)
    return fresh


async def _token_request(
    config: McpOAuthConfig, form: dict[str, str], *, environ: Mapping[str, str]
) -> Secret:
    form = {**form, "client_id": config.client_id}
    if config.client_secret_env is not None:
        secret = environ.get(config.client_secret_env)
        if not secret:
            raise OAuthExchangeFailed(f"{config.client_secret_env} is not set on the server")
        form["client_secret"] = secret
    try:
        async with httpx.AsyncClient(timeout=EXCHANGE_TIMEOUT_SECONDS) as client:
            response = await client.post(
                config.token_url, data=form, headers={"Accept": "application/json"}
            )
    except httpx.HTTPError as exc:
        raise OAuthExchangeFailed(
            f"the token endpoint did not answer ({type(exc).__name__})"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        error = body.get("error") if isinstance(body, dict) else None
        raise OAuthExchangeFailed(
            f"the token endpoint answered {response.status_code}"
            + (f" ({error})" if isinstance(error, str) else "")
        )
    expires_in = body.get("expires_in")
    return Secret(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token")
        if isinstance(body.get("refresh_token"), str)
        else None,
        expires_at=time.time() + float(expires_in) if isinstance(expires_in, int | float) else None,
    )
