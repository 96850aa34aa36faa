"""Reading what Confide mailed: the outbox channel's `.eml` files, once every job is done."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from fastapi import FastAPI

from tests.conftest import settle_jobs as settle

__all__ = ["LINK", "Mail", "mails", "settle"]

LINK = re.compile(
    r"(https?://\S+?/(reset-password|verify-email|confirm-email)\?token=([A-Za-z0-9_-]+))"
)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str

    def link(self, page: str) -> tuple[str, str]:
        """The link to this page of the web app (its URL and its token)."""
        for url, found_page, token in LINK.findall(self.text):
            if found_page == page:
                return url, token
        raise AssertionError(f"no {page} link in {self.text!r}")


def mails(app: FastAPI, to: str | None = None) -> list[Mail]:
    """Every email in the outbox (to one address), oldest first."""
    outbox = Path(app.state.settings.data_dir) / "outbox"
    found = []
    for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        mail = Mail(str(message["To"]), str(message["Subject"]), body.get_content())
        if to is None or mail.to == to or mail.to.endswith(f"<{to}>"):
            found.append(mail)
    return found
