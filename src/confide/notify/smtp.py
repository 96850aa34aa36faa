"""Email through an SMTP server (aiosmtplib): STARTTLS, implicit TLS or plain, optional AUTH."""

from __future__ import annotations

import ssl
from typing import Literal

import aiosmtplib

from confide.notify.channels import DeliveryFailed, OutgoingMessage, Sent
from confide.notify.mail import build_email

SmtpSecurity = Literal["starttls", "tls", "none"]


class SmtpChannel:
    """Sends each email on a connection of its own (messages are few; a pooled connection
    would have to notice a server that dropped it)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: SmtpSecurity = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.username = username
        self.password = password
        self.timeout_seconds = timeout_seconds
        # None: the system's trusted certificates (tests pass one trusting their own).
        self.tls_context = tls_context

    @property
    def name(self) -> str:
        return "smtp"

    async def send(self, message: OutgoingMessage) -> Sent:
        """Send the email; the provider reference is its Message-ID."""
        email = build_email(message, sender=self.sender)
        try:
            await aiosmtplib.send(
                email,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                timeout=self.timeout_seconds,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                tls_context=self.tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            raise DeliveryFailed(
                f"recipient refused ({', '.join(map(str, codes))})",
                retryable=all(400 <= code < 500 for code in codes),
            ) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            # The server's settings, not the message: worth trying again once they are fixed.
            raise DeliveryFailed(f"authentication failed ({exc.code})", retryable=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"the server answered {exc.code}: {exc.message[:200]}",
                retryable=400 <= exc.code < 500,
            ) from None
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            # Refused, unreachable, timed out, disconnected, no STARTTLS offered, a TLS
            # failure: the server's state, which may change.
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300], retryable=True) from None
        return Sent(provider_ref=str(email["Message-ID"]))
