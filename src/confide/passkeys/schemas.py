"""Request and response bodies of the passkey routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PasskeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    transports: list[str]


class RegisterVerifyRequest(_Body):
    credential: dict[str, Any] = Field(
        description="The PublicKeyCredential of navigator.credentials.create(), as JSON "
        "(binary fields base64url)."
    )
    name: str | None = Field(default=None, min_length=1, max_length=100)


class RenameRequest(_Body):
    name: str = Field(min_length=1, max_length=100)


class AuthenticateOptionsRequest(_Body):
    mfa_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A sign-in's MFA challenge: options limited to that user's passkeys.",
    )


class AuthenticateVerifyRequest(_Body):
    credential: dict[str, Any] = Field(
        description="The PublicKeyCredential of navigator.credentials.get(), as JSON."
    )
    mode: Literal["bearer", "cookie"] | None = Field(
        default=None, description="Sign-in alone only; an MFA step keeps its sign-in's mode."
    )
    mfa_token: str | None = Field(default=None, min_length=1, max_length=200)


class ReauthVerifyRequest(_Body):
    credential: dict[str, Any] = Field(
        description="The PublicKeyCredential of navigator.credentials.get() for the step-up "
        "options, as JSON."
    )
