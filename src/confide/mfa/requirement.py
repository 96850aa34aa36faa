"""What satisfies a role's `mfa_required`, in one place: the enrolment gate at sign-in
(auth/service.py) and the refusal to remove a user's last second factor both ask here.

A confirmed authenticator app or a registered passkey counts. A code sent by email or SMS
does not, though it may finish a sign-in: an emailed code proves the inbox, which can also
reset the password (so the inbox alone would be both factors); a texted one proves a SIM,
which a SIM swap or a ported number hands to someone else."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from confide.access import repository as access_repository
from confide.access.models import Role
from confide.access.permissions import MAX_ROLE_DEPTH
from confide.mfa import repository
from confide.mfa.errors import MfaRequiredByRole
from confide.passkeys.repository import has_passkey


async def has_second_factor(db: AsyncSession, user_id: uuid.UUID) -> bool:
    """The user has a second factor that satisfies a role: TOTP on, or a passkey."""
    return await repository.totp_enabled(db, user_id) or await has_passkey(db, user_id)


async def roles_require_mfa(db: AsyncSession, user_id: uuid.UUID) -> bool:
    """A role the user holds, itself or through one it inherits from, requires MFA."""
    held = await access_repository.user_role_ids(db, user_id)
    if not held:
        return False
    roles = {role.id: role for role in await access_repository.all_roles(db)}
    return any(role.mfa_required for role in _with_ancestors(held, roles))


async def check_second_factor_kept(db: AsyncSession, user_id: uuid.UUID) -> None:
    """After a second factor was removed, before the request commits: 409
    `mfa_required_by_role` (the request rolls back, nothing changed) when the user has none
    left and a role requires one. The user's row is locked first, so two requests removing
    the last two factors at once see each other's removal: the second one is refused."""
    await repository.lock_user(db, user_id)
    if not await has_second_factor(db, user_id) and await roles_require_mfa(db, user_id):
        raise MfaRequiredByRole


def _with_ancestors(held: Iterable[uuid.UUID], roles: dict[uuid.UUID, Role]) -> list[Role]:
    """Each held role and its ancestors (as `RoleGraph.chain` walks them, without the grants
    a graph loads too)."""
    out: list[Role] = []
    for role_id in held:
        current = roles.get(role_id)
        seen: set[uuid.UUID] = set()
        while current is not None and current.id not in seen and len(seen) < MAX_ROLE_DEPTH:
            out.append(current)
            seen.add(current.id)
            current = roles.get(current.parent_id) if current.parent_id else None
    return out
