"""The budget settings: defaults, the limits notation, per-role overrides, refusals."""

from __future__ import annotations

import pytest

from confide.config import Settings, SettingsError, load_settings
from confide.ratelimit.budgets import BudgetTable, parse_budget
from confide.ratelimit.clients import client_group


def settings(**values: object) -> Settings:
    return load_settings(_env_file=None, **values)


def test_defaults() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.rate_limit_runs_per_user == "30/minute"
    assert defaults.rate_limit_runs_per_session == "10/minute"
    assert defaults.rate_limit_runs_per_channel == "20/minute"
    assert defaults.rate_limit_api_per_user == "600/minute"
    assert defaults.rate_limit_roles == {}
    assert defaults.rate_limit_login_per_ip == "20/minute"
    assert defaults.rate_limit_register_per_ip == "10/hour"
    assert defaults.rate_limit_reset_per_ip == "10/hour"
    assert defaults.rate_limit_codes_per_ip == "10/hour"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"rate_limit_runs_per_user": "thirty a minute"},
            "CONFIDE_RATE_LIMIT_RUNS_PER_USER: 'thirty a minute' is not a budget like",
        ),
        ({"rate_limit_login_per_ip": "0/minute"}, "CONFIDE_RATE_LIMIT_LOGIN_PER_IP: '0/minute'"),
        (
            {"rate_limit_roles": "{not json"},
            "CONFIDE_RATE_LIMIT_ROLES: must be a JSON object",
        ),
        (
            {"rate_limit_roles": '{"admin": {"runs_per_year": "1/year"}}'},
            "CONFIDE_RATE_LIMIT_ROLES: role 'admin': unknown budget 'runs_per_year'",
        ),
        (
            {"rate_limit_roles": '{"admin": {"runs_per_user": "lots"}}'},
            "CONFIDE_RATE_LIMIT_ROLES: role 'admin', runs_per_user: 'lots' is not a budget",
        ),
        ({"rate_limit_roles": '["admin"]'}, "CONFIDE_RATE_LIMIT_ROLES: must be a JSON object"),
    ],
)
def test_invalid_budgets_stop_start_up_with_a_clear_message(
    values: dict[str, str], expected: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(**values)
    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(expected), refused.value.problems


def test_budgets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIDE_RATE_LIMIT_RUNS_PER_SESSION", "5 per 10 seconds")
    monkeypatch.setenv("CONFIDE_RATE_LIMIT_ROLES", '{"admin": {"runs_per_user": "120/minute"}}')
    loaded = settings()
    assert loaded.rate_limit_runs_per_session == "5 per 10 seconds"
    assert loaded.rate_limit_roles == {"admin": {"runs_per_user": "120/minute"}}


def table(roles: dict[str, dict[str, str]]) -> BudgetTable:
    return BudgetTable.from_settings(
        runs_per_user="30/minute",
        runs_per_session="10/minute",
        runs_per_channel="20/minute",
        api_per_user="600/minute",
        roles=roles,
    )


def test_a_user_with_several_roles_gets_the_most_generous_of_each_budget() -> None:
    budgets = table(
        {
            "admin": {"runs_per_user": "120/minute", "api_per_user": "100/minute"},
            "support": {"runs_per_user": "3000/hour", "runs_per_session": "1000/day"},
            "guest": {"runs_per_user": "5/minute"},
        }
    )
    both = budgets.for_roles(frozenset({"admin", "support"}))
    # 120/minute is 2 a second, 3000/hour less than 1: the admin's wins.
    assert both.runs_per_user == parse_budget("120/minute")
    # 1000/day is less than 10/minute: the default (which support's override replaces for
    # support alone) still comes from admin, who has no override.
    assert both.runs_per_session == parse_budget("10/minute")
    assert both.api_per_user == parse_budget("600/minute")  # support keeps the default
    assert budgets.for_roles(frozenset({"support"})).runs_per_session == parse_budget("1000/day")
    # An override may be tighter than the default; another role's default then wins.
    assert budgets.for_roles(frozenset({"guest"})).runs_per_user == parse_budget("5/minute")
    assert budgets.for_roles(frozenset({"guest", "user"})).runs_per_user == parse_budget(
        "30/minute"
    )
    assert budgets.for_roles(frozenset()).runs_per_user == parse_budget("30/minute")


def test_at_the_same_rate_the_larger_burst_is_more_generous() -> None:
    budgets = table({"a": {"runs_per_user": "60/minute"}, "b": {"runs_per_user": "1/second"}})
    assert budgets.for_roles(frozenset({"a", "b"})).runs_per_user == parse_budget("60/minute")


@pytest.mark.parametrize(
    ("host", "group"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_client_groups(host: str | None, group: str) -> None:
    assert client_group(host) == group
