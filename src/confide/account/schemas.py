"""Request and response bodies of the account-link routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from confide.auth.emails import MAX_EMAIL_LENGTH, check_email, normalize_email

# A token is 43 URL-safe characters (32 random bytes); anything much longer is not one.
TOKEN_FIELD = Field(min_length=1, max_length=128, description="The token from the link.")


class ForgotPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not validated as an address: a malformed one must get the same answer as any other.
    email: str = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)

    @field_validator("email")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalize_email(value)


class ForgotPasswordAccepted(BaseModel):
    email: str = Field(
        description="The address as received; a link goes there if it has an account."
    )


class ResetPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = TOKEN_FIELD
    new_password: str = Field(min_length=1, max_length=1024)


class VerifyEmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = TOKEN_FIELD


class VerificationSent(BaseModel):
    email: str = Field(description="Where the verification link was sent.")


class EmailChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_email: str = Field(max_length=320, examples=["ada@example.net"])

    @field_validator("new_email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)  # as registration checks an address


class EmailChangeRequested(BaseModel):
    email: str = Field(
        description="The new address, as it will be stored; the confirmation link goes there."
    )


class EmailChangeConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = TOKEN_FIELD


class EmailChanged(BaseModel):
    email: str = Field(description="The account's address now (verified).")


class EmailStatus(BaseModel):
    email: str
    email_verified: bool
    pending_email: str | None = Field(
        description="The address a change link was sent to, until it is used or expires."
    )
    pending_expires_at: datetime | None
