"""Imports every feature's tables, so the metadata (and Alembic) sees them all."""

from confide.access.models import Invite, InviteRole, Role, RolePermission, UserRole
from confide.account.models import AccountToken
from confide.approvals.models import Approval
from confide.audit.models import AuditEvent, AuditHead
from confide.auth.models import AuthSession, RefreshToken, User
from confide.crypto.models import UserKey
from confide.feedback.models import ApprovalNotice, FeedbackChannels
from confide.files.models import MessageFile, StoredFile
from confide.folders.models import Folder
from confide.imports.models import Import
from confide.links.models import ShareLink
from confide.mcp.models import McpCredential, McpOAuthState
from confide.memories.models import Memory
from confide.mfa.models import MfaBackupCode, MfaChallenge, MfaTotp
from confide.notify.models import NotificationAttempt, OutboxMessage
from confide.passkeys.models import Passkey, PasskeyChallenge
from confide.phones.models import Phone
from confide.preferences.models import UserSettings
from confide.runs.models import Run, RunEvent
from confide.search.models import SearchTerm
from confide.threads.models import Message, Thread, ThreadShare
from confide.throttle.models import IpRule, ThrottleCounter

__all__ = [
    "AccountToken",
    "Approval",
    "ApprovalNotice",
    "AuditEvent",
    "AuditHead",
    "AuthSession",
    "FeedbackChannels",
    "Folder",
    "Import",
    "Invite",
    "InviteRole",
    "IpRule",
    "McpCredential",
    "McpOAuthState",
    "Memory",
    "Message",
    "MessageFile",
    "MfaBackupCode",
    "MfaChallenge",
    "MfaTotp",
    "NotificationAttempt",
    "OutboxMessage",
    "Passkey",
    "PasskeyChallenge",
    "Phone",
    "RefreshToken",
    "Role",
    "RolePermission",
    "Run",
    "RunEvent",
    "SearchTerm",
    "ShareLink",
    "StoredFile",
    "Thread",
    "ThreadShare",
    "ThrottleCounter",
    "User",
    "UserKey",
    "UserRole",
    "UserSettings",
]
