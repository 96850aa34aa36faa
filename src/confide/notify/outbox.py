"""The zero-configuration channel: each message becomes a file in `<data dir>/outbox/`.

An email is an RFC 5322 `.eml` file (any mail client opens it), an SMS a `.json` file. Names
start with the UTC time to the microsecond, so they sort by time; each file is written 0600
under a hidden temporary name and renamed into place, so a reader (`confide outbox --follow`)
never sees half a file. The files hold the links and codes the messages carry: the outbox is
for a server with no mail set up, inside the private data directory.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

from confide.notify.channels import OutgoingMessage, Sent
from confide.notify.mail import PURPOSE_HEADER, build_email

DIR_MODE = 0o700
FILE_MODE = 0o600
TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One file of the outbox, as `confide outbox` lists it."""

    at: datetime
    kind: str
    recipient: str
    subject: str
    purpose: str
    text: str
    path: Path


class OutboxChannel:
    """Writes each message to a file of `directory` (created 0700 when missing)."""

    def __init__(self, directory: Path, *, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    @property
    def name(self) -> str:
        return "outbox"

    async def send(self, message: OutgoingMessage) -> Sent:
        """Write the file; its name is the provider reference."""
        # Small local writes: on a thread all the same, since a slow disk must not stall the loop.
        path = await asyncio.to_thread(self._write, message)
        return Sent(provider_ref=path.name)

    def _write(self, message: OutgoingMessage) -> Path:
        self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime(TIME_FORMAT)
        if message.kind == "email":
            suffix = "eml"
            data = bytes(build_email(message, sender=self.sender))
        else:
            suffix = "json"
            record = {
                "id": str(message.message_id),
                "at": datetime.now(UTC).isoformat(),
                "to": message.to,
                "purpose": message.purpose,
                "text": message.text,
            }
            data = (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode()
        name = f"{stamp}-{message.kind}-{message.message_id}.{suffix}"
        temporary = self.directory / f".{name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            final = self.directory / name
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return final


def purge_outbox_files(directory: Path, *, before: datetime) -> int:
    """Delete the outbox files written before `before` (by the time their name starts with;
    a temporary file a crash left behind too). Returns how many were deleted."""
    if not directory.is_dir():
        return 0
    deleted = 0
    for path in directory.iterdir():
        stamp = path.name.lstrip(".").split("-", 1)[0]
        try:
            at = datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        if at < before and path.is_file():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def read_outbox(directory: Path) -> list[OutboxEntry]:
    """Every message in the outbox, oldest first (a missing directory: none)."""
    if not directory.is_dir():
        return []
    entries = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix not in (".eml", ".json"):
            continue
        entry = read_entry(path)
        if entry is not None:
            entries.append(entry)
    return entries


def read_entry(path: Path) -> OutboxEntry | None:
    """One outbox file, or None when it is not one of ours."""
    try:
        at = datetime.strptime(path.name.split("-", 1)[0], TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    if path.suffix == ".eml":
        with path.open("rb") as handle:
            email = BytesParser(policy=policy.default).parse(handle)
        body = email.get_body(preferencelist=("plain",))
        return OutboxEntry(
            at=at,
            kind="email",
            recipient=str(email["To"] or ""),
            subject=str(email["Subject"] or ""),
            purpose=str(email[PURPOSE_HEADER] or ""),
            text=body.get_content() if body is not None else "",
            path=path,
        )
    record = json.loads(path.read_text(encoding="utf-8"))
    return OutboxEntry(
        at=at,
        kind="sms",
        recipient=str(record.get("to", "")),
        subject="",
        purpose=str(record.get("purpose", "")),
        text=str(record.get("text", "")),
        path=path,
    )
