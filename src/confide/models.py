"""Imports every feature's tables, so the metadata (and Alembic) sees them all."""

from confide.auth.models import AuthSession, RefreshToken, User
from confide.threads.models import Message, Thread

__all__ = ["AuthSession", "Message", "RefreshToken", "Thread", "User"]
