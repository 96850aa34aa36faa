"""Admin IP rules in force: an in-process cache of the `ip_rules` table, dropped when a rule
changes (on every process through the Redis broadcast when there is one), read by the
middleware on every request.

Allow beats block: an allow rule is an administrator's explicit exemption (block a range,
allow one address in it), and an allow-listed client is exempt from the automatic per-IP
block on sign-in (not from the per-account lockout)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from confide.db.engine import Database
from confide.shared.broadcast import Broadcast
from confide.shared.redis import key as redis_key
from confide.throttle.models import IpRule

log = logging.getLogger("confide.throttle")

RULES_CHANNEL = redis_key("ip_rules", "changed")
# Rules are read again after this long even when no change was heard (a missed broadcast
# while Redis was away, a rule changed by hand in the database), and sooner after a failure.
RELOAD_SECONDS = 60.0
RETRY_SECONDS = 2.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(ip: str) -> Address | None:
    """An address, IPv4-mapped IPv6 as the IPv4 one; None for anything else."""
    try:
        address = ipaddress.ip_address(ip.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class CompiledRule:
    network: Network
    action: str  # "allow" | "block"
    expires_at: float | None  # POSIX seconds; None: for good

    def applies(self, address: Address, now: float) -> bool:
        if self.expires_at is not None and self.expires_at <= now:
            return False
        return address.version == self.network.version and address in self.network


class RuleSet:
    """The rules at one moment, ready to match."""

    def __init__(self, rules: Iterable[CompiledRule] = ()) -> None:
        self.rules = tuple(rules)

    def decision(self, ip: str | None, now: float) -> str | None:
        """ "allow", "block", or None (no rule names this address)."""
        if not self.rules or ip is None:
            return None
        address = parse_address(ip)
        if address is None:
            return None
        found = None
        for rule in self.rules:
            if rule.applies(address, now):
                if rule.action == "allow":
                    return "allow"
                found = "block"
        return found

    @classmethod
    def of(cls, rows: Iterable[Any]) -> RuleSet:
        """From `ip_rules` rows (or anything with their cidr, action and expires_at)."""
        return cls(
            CompiledRule(
                network=ipaddress.ip_network(row.cidr, strict=False),
                action=row.action,
                expires_at=row.expires_at.timestamp() if row.expires_at else None,
            )
            for row in rows
        )


class IpRules:
    """The cached rule set of this process."""

    def __init__(
        self,
        database: Database,
        *,
        broadcast: Broadcast | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.broadcast = broadcast
        self.clock = clock
        self._rules: RuleSet | None = None
        self._fresh_until = 0.0
        self._generation = 0
        self._lock = asyncio.Lock()
        if broadcast is not None:
            broadcast.subscribe(RULES_CHANNEL, lambda _data: self.invalidate())
            broadcast.on_reset(self.invalidate)  # changes may have been missed meanwhile

    async def current(self) -> RuleSet:
        """The rules in force (read from the database when the cache is stale)."""
        rules = self._rules
        if rules is not None and (time.monotonic() < self._fresh_until or self._lock.locked()):
            # Fresh, or being read again right now: requests never queue behind that read
            # (it may be waiting out a database outage) once there are rules to apply.
            return rules
        async with self._lock:
            if self._rules is not None and time.monotonic() < self._fresh_until:
                return self._rules
            generation = self._generation
            try:
                async with self.database.connect() as conn:
                    rows = (
                        await conn.execute(select(IpRule.cidr, IpRule.action, IpRule.expires_at))
                    ).all()
            except Exception:
                # A database outage must not turn every request into an error: the rules
                # last known stay in force (none before the first load) and are retried soon.
                log.warning("ip rules could not be loaded", exc_info=True)
                self._fresh_until = time.monotonic() + RETRY_SECONDS
                self._rules = self._rules or RuleSet()
                return self._rules
            loaded = RuleSet.of(rows)
            self._rules = loaded
            if generation == self._generation:  # no change was announced while reading
                self._fresh_until = time.monotonic() + RELOAD_SECONDS
            return loaded

    @property
    def generation(self) -> int:
        """How many times the cache was dropped (a change heard, here or from another process)."""
        return self._generation

    def invalidate(self) -> None:
        """Read the rules again before the next request is checked."""
        self._generation += 1
        self._fresh_until = 0.0

    def changed(self) -> None:
        """A rule was stored: drop this process's cache and tell the others (after commit)."""
        self.invalidate()
        if self.broadcast is not None:
            self.broadcast.spawn(self._announce(self.broadcast))

    @staticmethod
    async def _announce(broadcast: Broadcast) -> None:
        try:
            await broadcast.publish(RULES_CHANNEL, b"1")
        except Exception:  # the others reload within RELOAD_SECONDS all the same
            log.warning("ip rule change could not be broadcast", exc_info=True)
