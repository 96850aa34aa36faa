"""Imports every feature's tables, so the metadata (and Alembic) sees them all."""

from confide.auth.models import AuthSession, RefreshToken, User
from confide.runs.models import Run, RunEvent
from confide.threads.models import Message, Thread

__all__ = ["AuthSession", "Message", "RefreshToken", "Run", "RunEvent", "Thread", "User"]
