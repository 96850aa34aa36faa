"""The phones feature's domain errors, each with its stable code."""

from __future__ import annotations

from confide.errors import BadRequest, Conflict, NotFound, ValidationFailed


class NoPhone(NotFound):
    code = "no_phone"
    title = "This account has no phone number"


class InvalidPhoneNumber(ValidationFailed):
    code = "invalid_phone_number"
    title = "Give the number in international form: + then the country code and number"


class InvalidCode(BadRequest):
    code = "invalid_code"
    title = "The code is not correct"
    keep_changes = True  # the attempt counted (and a pending code the last one ended)

    def __init__(self, detail: str | None = None, *, attempts_left: int | None = None) -> None:
        super().__init__(detail)
        if attempts_left is not None:
            self.extra = {"attempts_left": attempts_left}


class CodeExpired(BadRequest):
    code = "code_expired"
    title = "The code has expired: ask for a new one"


class NoPendingCode(Conflict):
    code = "no_pending_code"
    title = "No code is waiting to be entered: ask for a new one"
