"""The outbox channel: files a mail client and `confide outbox` can read."""

from __future__ import annotations

import json
import os
import stat
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from confide.cli import app as cli
from confide.notify.channels import OutgoingMessage
from confide.notify.outbox import OutboxChannel, read_outbox


def _email(**overrides: str) -> OutgoingMessage:
    values = {
        "to": "Ada@Example.org",
        "subject": "Reset your Confide password",
        "text": "Open https://chat.example.org/reset?token=abc123 within 30 minutes.\n",
        "purpose": "password_reset",
        **overrides,
    }
    return OutgoingMessage(kind="email", message_id=uuid.uuid4(), **values)


async def test_an_email_is_an_eml_file_that_parses_back(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox", sender="Confide <confide@example.org>")
    message = _email(subject="Réinitialiser — ünïcode")
    sent = await outbox.send(message)

    path = tmp_path / "outbox" / sent.provider_ref
    assert path.suffix == ".eml"
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert parsed["From"] == "Confide <confide@example.org>"
    assert parsed["To"] == "Ada@Example.org"
    assert parsed["Subject"] == "Réinitialiser — ünïcode"
    assert parsed["Message-ID"] == f"<{message.message_id}@example.org>"
    assert parsed["Date"] is not None
    assert parsed["X-Confide-Purpose"] == "password_reset"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == message.text


async def test_an_sms_is_a_json_file(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox", sender="confide@localhost")
    message = OutgoingMessage(
        kind="sms", to="+1 555 0100", subject="", text="Code: 123456", purpose="mfa_code",
        message_id=uuid.uuid4(),
    )  # fmt: skip
    sent = await outbox.send(message)

    record = json.loads((tmp_path / "outbox" / sent.provider_ref).read_text())
    assert record["to"] == "+1 555 0100"
    assert record["text"] == "Code: 123456"
    assert record["purpose"] == "mfa_code"
    assert record["id"] == str(message.message_id)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
async def test_files_are_private_and_sorted_by_time(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox", sender="confide@localhost")
    names = [(await outbox.send(_email(subject=f"message {i}"))).provider_ref for i in range(5)]

    assert sorted(names) == names  # names sort by the time they were written
    assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700
    for name in names:
        assert stat.S_IMODE((tmp_path / "outbox" / name).stat().st_mode) == 0o600
    assert [entry.subject for entry in read_outbox(tmp_path / "outbox")] == [
        f"message {i}" for i in range(5)
    ]
    assert not [p for p in (tmp_path / "outbox").iterdir() if p.name.startswith(".")]


def test_a_missing_outbox_reads_as_empty(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "nothing-here") == []


async def test_the_cli_lists_the_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    outbox = OutboxChannel(data / "outbox", sender="confide@localhost")
    await outbox.send(_email(to="grace@example.org", subject="Verify your email"))
    await outbox.send(
        OutgoingMessage(
            kind="sms", to="+15550100", subject="", text="Code: 654321", purpose="mfa_code",
            message_id=uuid.uuid4(),
        )
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)  # no .env of the repository's
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(data))
    monkeypatch.setenv("COLUMNS", "250")

    result = CliRunner().invoke(cli, ["outbox"])

    assert result.exit_code == 0, result.output
    assert "grace@example.org" in result.output
    assert "Verify your email (password_reset)" in result.output
    assert "+15550100" in result.output
    assert "mfa_code" in result.output
    assert result.output.index("grace@example.org") < result.output.index("+15550100")


def test_the_cli_says_when_the_outbox_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path / "data"))

    result = CliRunner().invoke(cli, ["outbox"])

    assert result.exit_code == 0, result.output
    assert "The outbox is empty" in result.output


async def test_follow_picks_up_only_new_files(tmp_path: Path) -> None:
    from confide.notify.cli import _new_entries

    outbox = OutboxChannel(tmp_path / "outbox", sender="confide@localhost")
    await outbox.send(_email(subject="old"))
    seen = {entry.path.name for entry in read_outbox(tmp_path / "outbox")}
    assert _new_entries(tmp_path / "outbox", seen) == []

    await outbox.send(_email(subject="new"))
    assert [entry.subject for entry in _new_entries(tmp_path / "outbox", seen)] == ["new"]
    assert _new_entries(tmp_path / "outbox", seen) == []
