"""The privacy feature's domain errors."""

from __future__ import annotations

from confide.errors import Forbidden, ValidationFailed


class OwnAccount(Forbidden):
    code = "own_account"
    title = "Delete your own account from your settings, not as an administrator"


class ConfirmationMismatch(ValidationFailed):
    code = "confirmation_mismatch"
    title = "Type your account's email to confirm"
