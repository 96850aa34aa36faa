"""Request and response bodies of the MFA routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MethodName = Literal["totp", "backup_code", "email", "sms", "passkey"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MfaChallengeResponse(BaseModel):
    """`POST /api/auth/login` for an account with MFA on: no tokens yet, a second step."""

    mfa_required: Literal[True] = True
    mfa_token: str = Field(
        description="For `POST /api/auth/mfa/verify` and `/send` only, once, for 5 minutes."
    )
    methods: list[MethodName]
    expires_in: int = Field(description="Seconds the challenge stays valid.")


class TotpEnrolment(BaseModel):
    secret: str = Field(description="Base32, for typing into an authenticator app.")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code, an SVG document.")


class CodeRequest(_Body):
    code: str = Field(min_length=1, max_length=64)


class BackupCodes(BaseModel):
    backup_codes: list[str] = Field(description="Each works once. Shown this one time only.")


class MfaStatusOut(BaseModel):
    enabled: bool
    pending: bool = Field(description="An enrolment was started and not confirmed yet.")
    methods: list[MethodName]
    backup_codes_remaining: int


class VerifyRequest(_Body):
    mfa_token: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=64)


class SendRequest(_Body):
    mfa_token: str = Field(min_length=1, max_length=200)
    channel: Literal["email", "sms"]


class ReauthRequest(_Body):
    """Exactly one of `password` or `code` (TOTP or backup code)."""

    password: str | None = Field(default=None, min_length=1, max_length=1024)
    code: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> ReauthRequest:
        if (self.password is None) == (self.code is None):
            raise ValueError("send either password or code")
        return self


class ReauthResponse(BaseModel):
    method: str
    valid_for: int = Field(description="Seconds sensitive changes are allowed without asking.")
