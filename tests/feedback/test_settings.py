"""The Slack settings: production refuses a bot token without its signing secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from confide.config import Settings
from tests.conftest import TEST_MASTER_KEYS

GOOD_SECRET = "s" * 64


def _production(tmp_path: Path, **values: Any) -> Settings:
    return Settings(
        _env_file=None,
        env="production",
        data_dir=tmp_path,
        secret_key=GOOD_SECRET,
        master_keys=TEST_MASTER_KEYS,
        allowed_hosts=["chat.example.org"],
        **values,
    )


def test_production_refuses_slack_without_a_signing_secret(tmp_path: Path) -> None:
    problems = _production(tmp_path, slack_bot_token="xoxb-1").production_problems()
    assert any(p.startswith("CONFIDE_SLACK_SIGNING_SECRET") for p in problems)
    assert (
        _production(
            tmp_path, slack_bot_token="xoxb-1", slack_signing_secret="abc"
        ).production_problems()
        == []
    )


@pytest.mark.parametrize("value", ["", None])
def test_empty_slack_secrets_are_unset(tmp_path: Path, value: str | None) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, slack_bot_token=value)
    assert settings.slack_bot_token is None
