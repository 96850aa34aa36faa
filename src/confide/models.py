"""Imports every feature's tables, so the metadata (and Alembic) sees them all."""

from confide.access.models import Invite, InviteRole, Role, RolePermission, UserRole
from confide.audit.models import AuditEvent, AuditHead
from confide.auth.models import AuthSession, RefreshToken, User
from confide.runs.models import Run, RunEvent
from confide.threads.models import Message, Thread, ThreadShare

__all__ = [
    "AuditEvent",
    "AuditHead",
    "AuthSession",
    "Invite",
    "InviteRole",
    "Message",
    "RefreshToken",
    "Role",
    "RolePermission",
    "Run",
    "RunEvent",
    "Thread",
    "ThreadShare",
    "User",
    "UserRole",
]
