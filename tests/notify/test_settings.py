"""The notification settings: what each channel needs, and what production refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from confide.config import Settings, SettingsError, load_settings
from confide.notify.outbox import OutboxChannel
from confide.notify.service import email_channel, sms_channel
from confide.notify.smtp import SmtpChannel
from confide.notify.telesign import TelesignChannel
from tests.conftest import TEST_MASTER_KEYS, TEST_SECRET

PRODUCTION: dict[str, Any] = {
    "env": "production",
    "secret_key": TEST_SECRET,
    "master_keys": TEST_MASTER_KEYS,
    "allowed_hosts": ["chat.example.org"],
}


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def test_the_default_is_the_outbox_for_both(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert (settings.email_channel, settings.sms_channel) == ("outbox", "outbox")
    assert isinstance(email_channel(settings), OutboxChannel)
    assert isinstance(sms_channel(settings), OutboxChannel)
    assert settings.mail_from == "Confide <confide@localhost>"
    assert (settings.smtp_port, settings.smtp_security) == (587, "starttls")
    assert settings.telesign_base_url == "https://rest-api.telesign.com"


def test_the_configured_channels_are_built(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, email_channel="smtp", smtp_host="mail.example.org", smtp_username="u",
        smtp_password="p", sms_channel="sms", telesign_customer_id="c", telesign_api_key="k",
    )  # fmt: skip
    smtp = email_channel(settings)
    assert isinstance(smtp, SmtpChannel)
    assert (smtp.host, smtp.port, smtp.username, smtp.password) == (
        "mail.example.org", 587, "u", "p",
    )  # fmt: skip
    assert isinstance(sms_channel(settings), TelesignChannel)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"email_channel": "smtp"}, "CONFIDE_EMAIL_CHANNEL=smtp needs CONFIDE_SMTP_HOST"),
        ({"smtp_username": "u"}, "CONFIDE_SMTP_USERNAME and CONFIDE_SMTP_PASSWORD go together"),
        ({"smtp_password": "p"}, "CONFIDE_SMTP_USERNAME and CONFIDE_SMTP_PASSWORD go together"),
        ({"sms_channel": "sms"}, "CONFIDE_SMS_CHANNEL=sms needs CONFIDE_TELESIGN_CUSTOMER_ID"),
        (
            {"sms_channel": "sms", "telesign_customer_id": "c"},
            "CONFIDE_SMS_CHANNEL=sms needs CONFIDE_TELESIGN_CUSTOMER_ID",
        ),
    ],
)
def test_a_channel_without_what_it_needs_is_refused(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, data_dir=tmp_path, **values)
    assert any(message in line for line in refused.value.problems), refused.value.problems


def test_production_refuses_plain_smtp_to_another_machine(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(
            _env_file=None, data_dir=tmp_path, **PRODUCTION, email_channel="smtp",
            smtp_host="mail.example.org", smtp_security="none",
        )  # fmt: skip
    assert any("CONFIDE_SMTP_SECURITY=none" in line for line in refused.value.problems)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_production_allows_plain_smtp_to_this_machine(tmp_path: Path, host: str) -> None:
    settings = load_settings(
        _env_file=None, data_dir=tmp_path, **PRODUCTION, email_channel="smtp",
        smtp_host=host, smtp_security="none",
    )  # fmt: skip
    assert settings.smtp_security == "none"


def test_development_allows_plain_smtp_anywhere(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, email_channel="smtp", smtp_host="mail.example.org", smtp_security="none"
    )
    assert settings.smtp_host == "mail.example.org"
