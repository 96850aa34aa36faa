"""Admin-managed allow and block rules: validation, the blocks-self guard, the audit trail.
Never commits; the caches of every process are dropped once the request's commit is done."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit import actions
from confide.audit.service import Origin, record
from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.db.engine import on_commit
from confide.errors import ValidationFailed
from confide.throttle import repository
from confide.throttle.errors import BlocksSelf, InvalidCidr, IpRuleNotFound
from confide.throttle.models import IpRule
from confide.throttle.repository import MAX_RULES
from confide.throttle.rules import IpRules, Network, RuleSet


def parse_cidr(raw: str) -> Network:
    """An address or range, as its network (`10.0.0.5` -> `10.0.0.5/32`); a range with host
    bits set is refused rather than silently widened."""
    text = raw.strip()
    try:
        return _unmapped(ipaddress.ip_network(text, strict=True))
    except ValueError:
        try:
            widened = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InvalidCidr(
                f"{raw!r} is not an IP address or CIDR range like 203.0.113.0/24 or 2001:db8::/48."
            ) from None
        raise InvalidCidr(
            f"{raw!r} has host bits set; the range is {widened} (or give one address)."
        ) from None


_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def _unmapped(network: Network) -> Network:
    """An IPv4-mapped IPv6 range as the IPv4 range it is: clients are matched as IPv4."""
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED):
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None
        return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


class IpRuleService:
    def __init__(self, db: AsyncSession, rules: IpRules, *, origin: Origin) -> None:
        self.db = db
        self.rules = rules
        self.origin = origin

    async def page(self, *, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[IpRule]:
        """One page of the rules, newest first (expired ones too, until deleted)."""
        return await repository.rules_page(self.db, after=after, limit=limit)

    async def create(
        self,
        *,
        caller: Principal,
        caller_ip: str | None,
        cidr: str,
        action: str,
        note: str,
        expires_at: datetime | None,
    ) -> IpRule:
        """Add a rule; BlocksSelf if it would block the caller's own address."""
        network = parse_cidr(cidr)
        now = utcnow()
        if expires_at is not None and expires_at <= now:
            raise ValidationFailed("expires_at must be in the future.", code="invalid_expiry")
        existing = await repository.list_rules(self.db)
        if len(existing) >= MAX_RULES:
            raise ValidationFailed(f"At most {MAX_RULES} IP rules.", code="too_many_rules")
        rule = IpRule(
            cidr=str(network),
            action=action,
            note=note.strip(),
            created_at=now,
            created_by=caller.user_id,
            expires_at=expires_at,
        )
        if action == "block" and _blocked(caller_ip, [*existing, rule]):
            raise BlocksSelf(f"{network} contains your own address ({caller_ip}).")
        self.db.add(rule)
        await self.db.flush()
        await record(
            self.db,
            action=actions.IP_RULE_CREATED,
            actor_id=caller.user_id,
            actor=caller.email,
            target_type="ip_rule",
            target_id=rule.id,
            origin=self.origin,
            detail={"cidr": rule.cidr, "action": action, "note": rule.note,
                    "expires_at": expires_at.isoformat() if expires_at else None},
        )  # fmt: skip
        on_commit(self.db, self.rules.changed)
        return rule

    async def delete(self, *, caller: Principal, caller_ip: str | None, rule_id: uuid.UUID) -> None:
        """Remove a rule; BlocksSelf if removing an allow rule would block the caller."""
        rule = await repository.get_rule(self.db, rule_id)
        if rule is None:
            raise IpRuleNotFound
        existing = await repository.list_rules(self.db)
        remaining = [other for other in existing if other.id != rule.id]
        if rule.action == "allow" and _blocked(caller_ip, remaining):
            raise BlocksSelf(
                f"Without this rule a block rule would refuse your own address ({caller_ip})."
            )
        await self.db.delete(rule)
        await self.db.flush()
        await record(
            self.db,
            action=actions.IP_RULE_DELETED,
            actor_id=caller.user_id,
            actor=caller.email,
            target_type="ip_rule",
            target_id=rule.id,
            origin=self.origin,
            detail={"cidr": rule.cidr, "action": rule.action, "note": rule.note},
        )
        on_commit(self.db, self.rules.changed)


def _blocked(ip: str | None, rules: list[IpRule]) -> bool:
    return RuleSet.of(rules).decision(ip, utcnow().timestamp()) == "block"
