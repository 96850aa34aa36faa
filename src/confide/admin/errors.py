"""The admin feature's domain errors, each with its stable code (docs/security.md lists the
anti-escalation ones)."""

from __future__ import annotations

from collections.abc import Iterable

from confide.errors import Conflict, Forbidden, NotFound, ValidationFailed


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "No such user"


class RoleNotFound(NotFound):
    code = "role_not_found"
    title = "No such role"


class InviteNotFound(NotFound):
    code = "invite_not_found"
    title = "No such invitation"


class UnknownPermission(ValidationFailed):
    code = "unknown_permission"
    title = "No such permission"

    def __init__(self, names: Iterable[str]) -> None:
        names = sorted(names)
        super().__init__(
            f"Unknown permission(s): {', '.join(names)}.", extra={"permissions": names}
        )


class UnknownRole(ValidationFailed):
    code = "unknown_role"
    title = "No such role"

    def __init__(self, names: Iterable[str]) -> None:
        names = sorted(names)
        super().__init__(f"Unknown role(s): {', '.join(names)}.", extra={"roles": names})


class RoleExists(Conflict):
    code = "role_exists"
    title = "A role with this name exists"


class BuiltinRole(Conflict):
    code = "builtin_role"
    title = "Built-in roles cannot be changed this way"


class RoleInUse(Conflict):
    code = "role_in_use"
    title = "Other roles inherit from this role"


class LastAdmin(Conflict):
    code = "last_admin"
    title = "This would leave no active administrator"


class InviteAlreadyUsed(Conflict):
    code = "invite_already_used"
    title = "This invitation was used; it cannot be revoked"


# Anti-escalation: each rule its own 403 and code.


class _NotHeld(Forbidden):
    def __init__(self, detail: str, permissions: Iterable[str]) -> None:
        missing = sorted(permissions)
        super().__init__(f"{detail}: {', '.join(missing)}.", extra={"permissions": missing})


class PermissionNotHeld(_NotHeld):
    """A role would grant (itself or through its parent) a permission the caller lacks."""

    code = "permission_not_held"
    title = "You cannot grant a permission you do not hold"


class RoleExceedsCaller(_NotHeld):
    """Assigning, removing, editing or deleting a role that grants what the caller lacks."""

    code = "role_exceeds_caller"
    title = "You cannot assign or edit a role that grants a permission you do not hold"


class UserOutranksCaller(_NotHeld):
    """Acting on an account whose roles grant what the caller lacks."""

    code = "user_outranks_caller"
    title = "This account holds permissions you do not hold"


class OwnRoles(Forbidden):
    code = "own_roles"
    title = "You cannot change your own roles"


# Registering under the policy (CONFIDE_REGISTRATION).


class InviteRequired(Forbidden):
    code = "invite_required"
    title = "Registration on this server needs an invitation"


class InviteInvalid(Forbidden):
    code = "invite_invalid"
    title = "This invitation is not valid"


class InviteExpired(Forbidden):
    code = "invite_expired"
    title = "This invitation has expired"


class InviteUsed(Forbidden):
    code = "invite_used"
    title = "This invitation was already used"


class InviteEmailMismatch(Forbidden):
    code = "invite_email_mismatch"
    title = "This invitation is for another email address"
