"""The throttle's long-lived parts, built once by create_app."""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from confide.config import Settings
from confide.db.engine import Database
from confide.notify.senders import EmailSender
from confide.shared.broadcast import Broadcast
from confide.throttle.rules import IpRules
from confide.throttle.service import Throttle
from confide.throttle.store import CounterStore, DatabaseCounterStore, RedisCounterStore


def build_throttle(
    settings: Settings,
    database: Database,
    *,
    redis: Redis | None,
    broadcast: Broadcast | None,
    notifier: Callable[[], EmailSender | None],
) -> tuple[Throttle, IpRules]:
    """The sign-in throttle (counters in Redis when there is one, else in the database) and
    the IP rule cache (dropped on every process through `broadcast`)."""
    rules = IpRules(database, broadcast=broadcast)
    store: CounterStore = (
        RedisCounterStore(redis) if redis is not None else DatabaseCounterStore(database)
    )
    account, ip = Throttle.policies(settings)
    throttle = Throttle(
        store=store, database=database, rules=rules, account=account, ip=ip, notifier=notifier
    )
    return throttle, rules
