"""The passkeys feature's domain errors, each with its stable code."""

from __future__ import annotations

from confide.errors import BadRequest, Conflict, NotAuthenticated, NotFound


class PasskeyNotFound(NotFound):
    code = "passkey_not_found"
    title = "No such passkey"


class PasskeyChallengeInvalid(BadRequest):
    code = "passkey_challenge_invalid"
    title = "This passkey request has expired or was already used; start again"
    keep_changes = True  # a spent challenge stays spent


class PasskeyRegistrationFailed(BadRequest):
    code = "passkey_registration_failed"
    title = "The authenticator's answer could not be verified"
    keep_changes = True


class PasskeyAlreadyRegistered(Conflict):
    code = "passkey_already_registered"
    title = "This passkey is already registered"


class PasskeyRefused(NotAuthenticated):
    code = "passkey_refused"
    title = "The passkey could not be verified"
    keep_changes = True  # the spent challenge and the audit row of the refusal


class PasskeyCloned(NotAuthenticated):
    code = "passkey_cloned"
    title = "This passkey's signature counter went backwards: it may have been copied"
    keep_changes = True


class NoPasskey(Conflict):
    code = "no_passkey"
    title = "This account has no passkey: confirm it is you with your password or a code"
