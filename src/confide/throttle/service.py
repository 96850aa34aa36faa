"""Brute-force protection of sign-in: per-account lockout with exponential back-off, and a
block of client networks that fail across many accounts.

The login endpoint calls `check` before the password is verified (so the correct password is
refused during a lockout, and an unknown email is treated exactly like a known one), then
`failed` or `succeeded`. Failures are stored in a transaction of their own: the request's
rolls back."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit import actions
from confide.audit.service import Origin, record
from confide.auth import repository as auth_repository
from confide.auth.emails import email_key
from confide.auth.models import User
from confide.config import Settings
from confide.db.engine import Database
from confide.notify.senders import EmailSender
from confide.throttle.counters import (
    ACCOUNT_FORGET_SECONDS,
    AccountPolicy,
    Counter,
    IpPolicy,
    account_failed,
    account_key,
    client_network,
    code_key,
    ip_failed,
    ip_key,
    newly_locked,
)
from confide.throttle.errors import AccountLocked, SignInBlocked
from confide.throttle.rules import IpRules
from confide.throttle.store import CounterStore

log = logging.getLogger("confide.throttle")

LOCKOUT_PURPOSE = "lockout"


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """What `check` found, for `failed` / `succeeded` to use."""

    account: str  # the account counter's key
    network: str | None  # the client network counted, None when exempt or unknown
    has_counter: bool  # the account has failures on record (a success must forget them)


@dataclass(frozen=True, slots=True)
class FactorAttempt:
    """What `check_factor` found: one account counter, for a second step or a step-up."""

    key: str
    kind: FactorKind
    has_counter: bool


# What a factor attempt proves: the password (its counter is the sign-in's) or a code
# (TOTP, backup or sent; a counter of its own, which a right password does not reset).
FactorKind = Literal["password", "code"]


class Throttle:
    """The sign-in throttle of one process (its state is in the store, shared)."""

    def __init__(
        self,
        *,
        store: CounterStore,
        database: Database,
        rules: IpRules,
        account: AccountPolicy,
        ip: IpPolicy,
        notifier: Callable[[], EmailSender | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.database = database
        self.rules = rules
        self.account = account
        self.ip = ip
        self.notifier = notifier
        self.clock = clock

    @classmethod
    def policies(cls, settings: Settings) -> tuple[AccountPolicy, IpPolicy]:
        return (
            AccountPolicy(
                threshold=settings.lockout_threshold,
                base_seconds=settings.lockout_base_seconds,
                max_seconds=max(settings.lockout_max_seconds, settings.lockout_base_seconds),
            ),
            IpPolicy(
                threshold=settings.ip_block_threshold,
                window_seconds=settings.ip_block_window_seconds,
                block_seconds=settings.ip_block_seconds,
            ),
        )

    async def check(self, db: AsyncSession, *, email: str, ip: str | None) -> SignInAttempt:
        """Refuse a sign-in while its client network is blocked (429 `ip_blocked`) or its
        account locked (429 `account_locked`), before any password is looked at. One small
        read of both counters."""
        account = account_key(email)
        network = client_network(ip) if ip else None
        if (
            network is not None
            and (await self.rules.current()).decision(ip, self.clock()) == "allow"
        ):
            network = None  # allow-listed: exempt from the per-IP block
        keys = [account] if network is None else [account, ip_key(network)]
        locks = await self.store.locks(db, keys)
        now = self.clock()
        if network is not None:
            blocked_until = locks.get(ip_key(network), 0.0)
            if blocked_until > now:
                raise SignInBlocked(_seconds_left(blocked_until, now))
        locked_until = locks.get(account, 0.0)
        if locked_until > now:
            raise AccountLocked(_seconds_left(locked_until, now))
        return SignInAttempt(account=account, network=network, has_counter=account in locks)

    async def failed(self, attempt: SignInAttempt, *, email: str, origin: Origin) -> None:
        """Count a failed sign-in (wrong password, or no such account: the same) for its
        account and client network; audit a lockout or block it causes, and tell the owner
        once per lockout. Call it with no transaction of the request open (on SQLite a
        writer would wait for it)."""
        now = self.clock()
        tell = False

        def account_change(counter: Counter | None) -> Counter:
            nonlocal tell
            after = account_failed(counter, now, self.account)
            tell = after.locked_until > now and not after.notified
            return replace(after, notified=True) if tell else after

        before, after = await self.store.update(
            attempt.account, account_change, ttl_seconds=ACCOUNT_FORGET_SECONDS
        )
        locked = newly_locked(before, after, now)
        blocked: Counter | None = None
        if attempt.network is not None:
            ip_before, ip_after = await self.store.update(
                ip_key(attempt.network),
                lambda counter: ip_failed(counter, now, self.ip),
                ttl_seconds=self.ip.window_seconds + self.ip.block_seconds,
            )
            if newly_locked(ip_before, ip_after, now):
                blocked = ip_after
        if locked or blocked is not None:
            await self._record(
                email=email,
                attempt=attempt,
                lock=after if locked else None,
                block=blocked,
                tell=tell,
                now=now,
                origin=origin,
            )

    async def succeeded(self, db: AsyncSession, attempt: SignInAttempt) -> None:
        """A correct password: the account's failures are forgotten (in the request's
        transaction, with the sign-in itself)."""
        if attempt.has_counter:
            await self.store.reset(db, attempt.account)

    # A second step (`/mfa/verify`) or a step-up (`/reauth`) of a known user ---------------

    async def check_factor(self, db: AsyncSession, user: User, kind: FactorKind) -> FactorAttempt:
        """Refuse (429 `account_locked`) while the user's password or code counter is locked,
        before the password or code is looked at. Codes have a counter of their own: a
        challenge allows 3 tries, but whoever knows the password can start challenges
        without end, and a right password must not reset the count of wrong codes."""
        key = account_key(user.email) if kind == "password" else code_key(user.id)
        locks = await self.store.locks(db, [key])
        now = self.clock()
        locked_until = locks.get(key, 0.0)
        if locked_until > now:
            raise AccountLocked(_seconds_left(locked_until, now))
        return FactorAttempt(key=key, kind=kind, has_counter=key in locks)

    async def factor_failed(
        self, db: AsyncSession, attempt: FactorAttempt, *, user: User, origin: Origin | None
    ) -> None:
        """Count a wrong password or code in the request's transaction, which stores its
        refusal anyway (InvalidMfaCode and ReauthFailed keep their changes); audit a lockout
        it causes and tell the owner once per lockout."""
        now = self.clock()
        tell = False

        def change(counter: Counter | None) -> Counter:
            nonlocal tell
            after = account_failed(counter, now, self.account)
            tell = after.locked_until > now and not after.notified
            return replace(after, notified=True) if tell else after

        before, after = await self.store.update(
            attempt.key, change, ttl_seconds=ACCOUNT_FORGET_SECONDS, db=db
        )
        if newly_locked(before, after, now):
            await self._record_lockout(
                db,
                user=user,
                email=user.email,
                lock=after,
                tell=tell,
                now=now,
                origin=origin,
                kind=attempt.kind,
            )

    async def factor_succeeded(self, db: AsyncSession, attempt: FactorAttempt) -> None:
        if attempt.has_counter:
            await self.store.reset(db, attempt.key)

    async def _record(
        self,
        *,
        email: str,
        attempt: SignInAttempt,
        lock: Counter | None,
        block: Counter | None,
        tell: bool,
        now: float,
        origin: Origin,
    ) -> None:
        """Audit what happened and queue the owner's notification, in one transaction."""
        async with self.database.sessionmaker() as session:
            async with session.begin():
                user = await auth_repository.get_user_by_email_key(session, email_key(email))
                if lock is not None:
                    await self._record_lockout(
                        session,
                        user=user,
                        email=email,
                        lock=lock,
                        tell=tell,
                        now=now,
                        origin=origin,
                        kind="password",
                    )
                if block is not None:
                    await record(
                        session,
                        action=actions.IP_BLOCKED,
                        actor=email,
                        target_type="network",
                        target_id=attempt.network,
                        origin=origin,
                        detail={
                            "seconds": round(block.locked_until - now),
                            "threshold": self.ip.threshold,
                            "window_seconds": self.ip.window_seconds,
                        },
                    )
            # What the notification service asked to run once its row is stored (the job
            # that delivers it): get_session does this for a request's session.
            for callback in session.info.pop("on_commit", ()):
                callback()

    async def _record_lockout(
        self,
        session: AsyncSession,
        *,
        user: User | None,
        email: str,
        lock: Counter,
        tell: bool,
        now: float,
        origin: Origin | None,
        kind: FactorKind,
    ) -> None:
        """Audit a lockout and, the first time in a row of failures, queue the owner's
        notification (in `session`'s transaction)."""
        user_id = user.id if user is not None else None
        seconds = round(lock.locked_until - now)
        await record(
            session,
            action=actions.LOCKED_OUT,
            actor_id=user_id,
            actor=email,
            target_type="user" if user_id is not None else None,
            target_id=user_id,
            origin=origin,
            detail={"failures": lock.failures, "seconds": seconds, "factor": kind},
        )
        notifier = self.notifier()
        if tell and user is not None and notifier is not None:
            await notifier.email(
                session,
                to=user.email,
                subject="Sign-in to your Confide account is paused",
                text=_lockout_text(lock.failures, seconds, kind),
                purpose=LOCKOUT_PURPOSE,
                user_id=user.id,
            )


def _lockout_text(failures: int, seconds: int, kind: FactorKind) -> str:
    if kind == "code":
        return (
            f"Someone has entered a wrong two-factor code for your Confide account {failures} "
            f"times in a row, so codes are refused for {seconds} seconds, and longer after "
            "each further failure.\n\n"
            "If this was you, wait and try again. If it was not, they know your password: "
            "change it now, and check the devices signed in to your account.\n"
        )
    return (
        f"Someone has tried to sign in to your Confide account with a wrong password "
        f"{failures} times in a row, so signing in is paused for {seconds} seconds, and longer "
        "after each further failure.\n\n"
        "If this was you, wait and try again, or reset your password. If it was not, your "
        "password has held: nothing else is needed, though a longer password or two-factor "
        "sign-in makes guessing it harder still.\n"
    )


def _seconds_left(until: float, now: float) -> int:
    # Whole seconds, rounded up, after the stores' microsecond rounding is taken off.
    return math.ceil(round(until - now, 3))
