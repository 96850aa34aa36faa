"""HTTP routes of the caller's settings (/api/me/settings)."""

from __future__ import annotations

from fastapi import APIRouter

from confide.auth.dependencies import CurrentPrincipal
from confide.db.engine import SessionDep
from confide.preferences.schemas import SettingsOut, SettingsPatch
from confide.preferences.service import Preferences, preferences_of, update_preferences

router = APIRouter(prefix="/api/me/settings", tags=["settings"])


@router.get("", response_model=SettingsOut)
async def get_settings(principal: CurrentPrincipal, db: SessionDep) -> SettingsOut:
    """The caller's settings (defaults until changed: memory on, conversations kept)."""
    return _out(await preferences_of(db, principal.user_id))


@router.patch(
    "",
    response_model=SettingsOut,
    responses={422: {"description": "`validation_error`, `invalid_setting`"}},
)
async def patch_settings(
    body: SettingsPatch, principal: CurrentPrincipal, db: SessionDep
) -> SettingsOut:
    """Change some of the caller's settings: `memory_enabled` (off also stops extraction),
    `retention_days` (null: keep forever, else 1 to 36500)."""
    changes = body.model_dump(exclude_unset=True)
    return _out(await update_preferences(db, principal.user_id, changes))


def _out(preferences: Preferences) -> SettingsOut:
    return SettingsOut(
        memory_enabled=preferences.memory_enabled,
        retention_days=preferences.retention_days,
        updated_at=preferences.updated_at,
    )
