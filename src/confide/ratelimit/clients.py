"""Which budget a client IP counts against: IPv4 by address, IPv6 by its /64.

The address is the connection's (`scope["client"]`), which uvicorn's proxy headers middleware
has already replaced with the `X-Forwarded-For` one only when the connection came from
CONFIDE_FORWARDED_ALLOW_IPS; a header from anyone else changes nothing here.
"""

from __future__ import annotations

import ipaddress

IPV6_GROUP_BITS = 64
UNKNOWN = "unknown"


def client_group(host: str | None) -> str:
    """The key a client's requests share: `203.0.113.7`, or `2001:db8:1:2::/64`."""
    if not host:
        return UNKNOWN
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name (a test client's "testclient"), or a Unix socket's path
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:203.0.113.7 is that IPv4 client
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_GROUP_BITS), strict=False))
    return str(address)
