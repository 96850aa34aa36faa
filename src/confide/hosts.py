"""The Host allow-list (`CONFIDE_ALLOWED_HOSTS`): a request must name a host this server serves.

Without it a DNS-rebinding page (a host name of the attacker's that starts resolving to
127.0.0.1) is, to the browser, the same origin as a Confide listening on localhost: its
requests carry `Host: rebind.attacker.example` and an Origin matching it, so they pass the
same-origin check. Refusing unknown Host headers stops them before anything else runs.

Entries are host names or IP addresses, each optionally with a port:
`chat.example.org`, `chat.example.org:8443`, `127.0.0.1`, `[::1]:8000` (or `::1`).
Without a port any port matches; with one, the Host header's port (or the scheme's default
when it has none) must be that one. `*.example.org` matches every name under example.org
(not example.org itself); a bare `*` matches any host (refused in production).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Always allowed by default (with the bind host): the loopback names a local browser uses.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


@dataclass(frozen=True, slots=True)
class HostPattern:
    """One allowed entry: a host (lower case, IPv6 without brackets), a port or any port."""

    host: str
    port: int | None = None
    subdomains: bool = False  # `*.host`
    any_host: bool = False  # `*`

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.any_host:
            return True
        if self.subdomains:
            return host.endswith("." + self.host)
        return host == self.host


def parse_host_pattern(entry: str) -> HostPattern:
    """The pattern an allow-list entry stands for; ValueError saying what is wrong."""
    text = entry.strip().lower()
    if text == "*":
        return HostPattern(host="", any_host=True)
    split = _split(text)
    if split is None or "/" in text or "@" in text:
        raise ValueError(
            f"{entry!r} is not a host name like chat.example.org or chat.example.org:8443"
        )
    host, port = split
    subdomains = host.startswith("*.")
    if subdomains:
        host = host[2:]
    if not _valid_host(host):
        raise ValueError(
            f"{entry!r} is not a host name like chat.example.org or chat.example.org:8443 "
            "(a wildcard is only allowed as a leading `*.`)"
        )
    return HostPattern(host=host, port=port, subdomains=subdomains)


def split_host_header(value: str) -> tuple[str, int | None] | None:
    """(host, port) of a Host header value, host lower-cased without brackets; None if invalid."""
    split = _split(value.strip().lower())
    if split is None or not _valid_host(split[0]):
        return None
    return split


class AllowedHosts:
    """Decides whether a request's Host header names one of this server's hosts."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.patterns = tuple(parse_host_pattern(entry) for entry in entries)
        # The common case, a name allowed on any port, is one set lookup.
        self._any_port = frozenset(
            p.host for p in self.patterns if p.port is None and not p.subdomains and not p.any_host
        )
        self._others = tuple(
            p for p in self.patterns if p.port is not None or p.subdomains or p.any_host
        )
        self.allow_all = any(p.any_host and p.port is None for p in self.patterns)

    def allows(self, host_header: str | None, scheme: str) -> bool:
        """Whether `host_header` (None when the request had none) is allowed over `scheme`."""
        if self.allow_all:
            return True
        if host_header is None:
            return False
        split = split_host_header(host_header)
        if split is None:
            return False
        host, port = split
        if host in self._any_port:
            return True
        if port is None:
            port = DEFAULT_PORTS.get(scheme)
        return any(pattern.matches(host, port) for pattern in self._others)


def _split(text: str) -> tuple[str, int | None] | None:
    """(host, port) of `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address."""
    port_text: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
        if not _is_ipv6(host):
            return None
    elif text.count(":") > 1:
        host = text  # a bare IPv6 address, which cannot carry a port
        if not _is_ipv6(host):
            return None
    else:
        host, colon, port_text_or_empty = text.partition(":")
        if colon:
            port_text = port_text_or_empty
    host = host.removesuffix(".")  # `example.org.` is example.org
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _valid_host(host: str) -> bool:
    return bool(host) and ((":" in host and _is_ipv6(host)) or _NAME.match(host) is not None)
