"""Imports every feature's tables, so the metadata (and Alembic) sees them all."""

from confide.auth.models import AuthSession, RefreshToken, User

__all__ = ["AuthSession", "RefreshToken", "User"]
