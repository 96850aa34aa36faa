"""Budgets from the settings: the limits notation, per-role overrides, the most generous wins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse

# The budgets a role may override (CONFIDE_RATE_LIMIT_ROLES), in the order they are checked
# for a run: the narrowest first, so a refused run costs the wider budgets nothing.
USER_BUDGETS = ("runs_per_user", "runs_per_session", "runs_per_channel", "api_per_user")
# How many role combinations are remembered (they are few; the cap only bounds memory).
_CACHE_SIZE = 1024


def parse_budget(text: str) -> RateLimitItem:
    """One budget in the limits notation ("30/minute", "5 per 10 seconds"), or a ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("must be a budget like '30/minute'")
    try:
        item = parse(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a budget like '30/minute', '1000/day' or '5 per 10 seconds'"
        ) from None
    if item.amount < 1:
        raise ValueError(f"{text!r}: the amount must be at least 1")
    return item


def check_role_overrides(value: Any) -> dict[str, dict[str, str]]:
    """CONFIDE_RATE_LIMIT_ROLES: a JSON object of role name -> {budget: limit}, checked."""
    if isinstance(value, str | bytes):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(
                'must be a JSON object like {"admin": {"runs_per_user": "120/minute"}}'
            ) from None
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object like {"admin": {"runs_per_user": "120/minute"}}')
    checked: dict[str, dict[str, str]] = {}
    for role, overrides in value.items():
        if not isinstance(overrides, dict):
            raise ValueError(f"role {role!r}: must be an object of budget name -> limit")
        for name, limit in overrides.items():
            if name not in USER_BUDGETS:
                raise ValueError(
                    f"role {role!r}: unknown budget {name!r} (one of {', '.join(USER_BUDGETS)})"
                )
            try:
                parse_budget(limit)
            except ValueError as exc:
                raise ValueError(f"role {role!r}, {name}: {exc}") from None
        checked[str(role)] = {name: str(limit).strip() for name, limit in overrides.items()}
    return checked


def generosity(item: RateLimitItem) -> tuple[float, int]:
    """How generous a budget is: its rate, then (at the same rate) its burst."""
    return item.amount / item.get_expiry(), item.amount


@dataclass(frozen=True, slots=True)
class UserBudgets:
    """The per-user budgets that apply to one caller."""

    runs_per_user: RateLimitItem
    runs_per_session: RateLimitItem
    runs_per_channel: RateLimitItem
    api_per_user: RateLimitItem


class BudgetTable:
    """The defaults, each role's overrides, and the budgets of each combination of roles."""

    def __init__(
        self, defaults: dict[str, RateLimitItem], roles: dict[str, dict[str, RateLimitItem]]
    ) -> None:
        self.defaults = defaults
        self.roles = roles
        self._default = UserBudgets(**defaults)
        self._combined: dict[frozenset[str], UserBudgets] = {}

    @classmethod
    def from_settings(
        cls,
        *,
        runs_per_user: str,
        runs_per_session: str,
        runs_per_channel: str,
        api_per_user: str,
        roles: dict[str, dict[str, str]],
    ) -> BudgetTable:
        defaults = {
            "runs_per_user": parse_budget(runs_per_user),
            "runs_per_session": parse_budget(runs_per_session),
            "runs_per_channel": parse_budget(runs_per_channel),
            "api_per_user": parse_budget(api_per_user),
        }
        overrides = {
            role: {name: parse_budget(limit) for name, limit in budgets.items()}
            for role, budgets in roles.items()
        }
        return cls(defaults, overrides)

    def for_roles(self, roles: frozenset[str]) -> UserBudgets:
        """The budgets of a user holding `roles`: for each, the most generous any role gives
        (a role without an override gives the default)."""
        if not self.roles or not roles:
            return self._default
        budgets = self._combined.get(roles)
        if budgets is None:
            budgets = self._combine(roles)
            if len(self._combined) >= _CACHE_SIZE:
                self._combined.clear()
            self._combined[roles] = budgets
        return budgets

    def _combine(self, roles: frozenset[str]) -> UserBudgets:
        chosen: dict[str, RateLimitItem] = {}
        for name in USER_BUDGETS:
            candidates = [self.roles.get(role, {}).get(name, self.defaults[name]) for role in roles]
            chosen[name] = max(candidates, key=generosity)
        return UserBudgets(**chosen)
