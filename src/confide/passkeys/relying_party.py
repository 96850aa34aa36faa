"""Who the relying party is for a request: the RP ID (a host name) and the web app's origin."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

RP_NAME = "Confide"


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str  # the host name passkeys are bound to
    origin: str  # scheme://host[:port] of the page that runs the ceremony


def relying_party(request: HTTPConnection) -> RelyingParty:
    """From CONFIDE_PUBLIC_URL, else from this request (its Host was checked against
    CONFIDE_ALLOWED_HOSTS before it got here, so a request cannot choose another RP)."""
    public: str | None = request.app.state.settings.public_url
    parts = urlsplit(public) if public else urlsplit(str(request.base_url))
    host = parts.hostname or ""
    return RelyingParty(id=host, origin=f"{parts.scheme}://{parts.netloc}")
