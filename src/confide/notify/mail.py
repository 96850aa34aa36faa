"""The RFC 5322 form of an email message, shared by the outbox and SMTP channels."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from confide.notify.channels import OutgoingMessage

PURPOSE_HEADER = "X-Confide-Purpose"


def message_id_for(message: OutgoingMessage, *, sender: str) -> str:
    """A Message-ID made of the message's id and the sender's domain (stable across tries)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{message.message_id}@{domain}>"


def build_email(message: OutgoingMessage, *, sender: str) -> EmailMessage:
    """The message as an email: plain text, UTF-8, with Date and Message-ID."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id_for(message, sender=sender)
    email[PURPOSE_HEADER] = message.purpose
    email.set_content(message.text)
    return email
