"""CONFIDE_REGISTRATION (and the older CONFIDE_REGISTRATION_OPEN), and CONFIDE_PUBLIC_URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from confide.config import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("CONFIDE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file here


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.mark.parametrize(
    ("env", "policy"),
    [
        ({}, "open"),
        ({"CONFIDE_REGISTRATION": "invite"}, "invite"),
        ({"CONFIDE_REGISTRATION": "approval"}, "approval"),
        ({"CONFIDE_REGISTRATION": "closed"}, "closed"),
        ({"CONFIDE_REGISTRATION_OPEN": "false"}, "closed"),
        ({"CONFIDE_REGISTRATION_OPEN": "true"}, "open"),
        ({"CONFIDE_REGISTRATION": "invite", "CONFIDE_REGISTRATION_OPEN": "true"}, "invite"),
        ({"CONFIDE_REGISTRATION": "closed", "CONFIDE_REGISTRATION_OPEN": "false"}, "closed"),
        ({"CONFIDE_REGISTRATION": ""}, "open"),  # empty means unset
    ],
)
def test_the_registration_policy(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], policy: str
) -> None:
    settings = settings_with(monkeypatch, **env)
    assert settings.registration == policy
    assert settings.registration_open is (policy != "closed")


@pytest.mark.parametrize(
    "env",
    [
        {"CONFIDE_REGISTRATION": "open", "CONFIDE_REGISTRATION_OPEN": "false"},
        {"CONFIDE_REGISTRATION": "approval", "CONFIDE_REGISTRATION_OPEN": "false"},
        {"CONFIDE_REGISTRATION": "closed", "CONFIDE_REGISTRATION_OPEN": "true"},
    ],
)
def test_settings_at_odds_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_with(monkeypatch, **env)
    [problem] = raised.value.problems
    assert "CONFIDE_REGISTRATION=" in problem
    assert "CONFIDE_REGISTRATION_OPEN=" in problem


def test_an_unknown_policy_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_with(monkeypatch, CONFIDE_REGISTRATION="sometimes")
    [problem] = raised.value.problems
    assert problem.startswith("CONFIDE_REGISTRATION: ")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://chat.example.org", "https://chat.example.org"),
        (" https://chat.example.org/ ", "https://chat.example.org"),
        ("http://localhost:8000/confide/", "http://localhost:8000/confide"),
        ("", None),
    ],
)
def test_the_public_url(monkeypatch: pytest.MonkeyPatch, raw: str, expected: str | None) -> None:
    assert settings_with(monkeypatch, CONFIDE_PUBLIC_URL=raw).public_url == expected


@pytest.mark.parametrize(
    "raw", ["chat.example.org", "ftp://chat.example.org", "https://x.org/?a=1", "https://u:p@x.org"]
)
def test_a_bad_public_url_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_with(monkeypatch, CONFIDE_PUBLIC_URL=raw)
    [problem] = raised.value.problems
    assert problem.startswith("CONFIDE_PUBLIC_URL: ")
