"""Request and response bodies of the MCP routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class McpToolOut(BaseModel):
    name: str = Field(description="The tool's name on its server.")
    model_name: str = Field(description="The name the model sees: `<prefix>_<name>`.")
    description: str
    requires_approval: bool


class McpServerOut(BaseModel):
    id: str
    transport: Literal["stdio", "http"]
    state: Literal["starting", "ready", "down"]
    last_error: str | None
    auth: Literal["none", "user"]
    agents: list[str]
    tools: list[McpToolOut]
    updated_at: datetime


class ConnectionOut(BaseModel):
    server_id: str
    agents: list[str] = Field(description="The agents using this server that the caller may use.")
    connected: bool
    connected_at: datetime | None
    oauth: bool = Field(description="The server offers OAuth sign-in (else: paste a token).")


class TokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=8000)


class OAuthStart(BaseModel):
    authorize_url: str
