"""Account and session rules. Raises domain errors; never commits (the request does)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from confide.access import repository as access_repository
from confide.access.permissions import ADMIN_ROLE, THREADS_SHARE, USER_ROLE, PermissionRegistry
from confide.access.roles import RoleGraph
from confide.audit import actions
from confide.audit.service import FAILURE, Origin, record, record_apart
from confide.auth import repository
from confide.auth.cache import Principal, SessionCache
from confide.auth.emails import email_key
from confide.auth.models import AuthSession, RefreshToken, User
from confide.auth.passwords import PasswordHasher, check_password
from confide.auth.tokens import (
    AccessTokenCodec,
    CsrfSigner,
    WebSocketTickets,
    hash_refresh_token,
    new_refresh_token,
)
from confide.config import Settings
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.errors import Conflict, Forbidden, NotAuthenticated, NotFound
from confide.mfa.requirement import has_second_factor
from confide.shared.broadcast import Broadcast

log = logging.getLogger("confide.auth")

# last_seen_at is written at most this often per session, so reads stay free of writes.
TOUCH_INTERVAL = timedelta(seconds=60)


class EmailUnavailable(Conflict):
    code = "email_unavailable"
    title = "An account with this email cannot be created"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    title = "The email or password is not correct"


class AccountDisabled(Forbidden):
    code = "account_disabled"
    title = "This account is disabled"


class RegistrationClosed(Forbidden):
    code = "registration_closed"
    title = "Registration is closed on this server"


class InvalidRefreshToken(NotAuthenticated):
    code = "invalid_refresh_token"
    title = "The refresh token is not valid"


class RefreshTokenReused(NotAuthenticated):
    code = "refresh_token_reused"
    title = "This refresh token was already used; the session has been ended"
    keep_changes = True  # the revocation must be stored even though the request fails


class SessionEnded(NotAuthenticated):
    code = "session_expired"
    title = "The session has ended; sign in again"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "No such session"


@dataclass(frozen=True, slots=True)
class AuthContext:
    """The long-lived parts the auth feature needs, built once per app."""

    settings: Settings
    hasher: PasswordHasher
    tokens: AccessTokenCodec
    csrf: CsrfSigner
    cache: SessionCache
    tickets: WebSocketTickets
    # Session loads in flight, shared by concurrent requests of the same session, each with
    # the token `cache.begin_load` gave it (a request joins only a load of its own token, so
    # never one that began before an invalidation).
    loading: dict[uuid.UUID, tuple[int, asyncio.Future[Principal]]] = field(default_factory=dict)
    # The process's pub/sub when it shares state through Redis (started with the app).
    broadcast: Broadcast | None = None
    permissions: PermissionRegistry = field(default_factory=PermissionRegistry)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    session: AuthSession
    access_token: str
    expires_in: int
    refresh_token: str


class AuthService:
    def __init__(self, db: AsyncSession, ctx: AuthContext) -> None:
        self.db = db
        self.ctx = ctx
        self.settings = ctx.settings

    # Accounts ----------------------------------------------------------------------------------

    async def register(
        self,
        *,
        email: str,
        password: str,
        display_name: str | None,
        is_admin: bool = False,
        allow_when_closed: bool = False,
        status: str = "active",
        roles: list[str] | None = None,
        verified: bool = False,
    ) -> User:
        """Create an account; EmailUnavailable when the email is taken in any case."""
        if not self.settings.registration_open and not allow_when_closed:
            raise RegistrationClosed
        check_password(password, email=email, min_length=self.settings.password_min_length)
        key = email_key(email)
        if await repository.get_user_by_email_key(self.db, key) is not None:
            raise EmailUnavailable
        user = User(
            email=email,
            email_key=key,
            password_hash=await self.ctx.hasher.hash(password),
            display_name=display_name,
            status=status,
            # Verified by whoever made it (an admin, the shell) or, later, by a link.
            email_verified_at=utcnow() if verified else None,
        )
        try:
            async with self.db.begin_nested():
                self.db.add(user)
        except IntegrityError:  # registered concurrently
            raise EmailUnavailable from None
        names = {USER_ROLE, *(roles or ()), *((ADMIN_ROLE,) if is_admin else ())}
        found = await access_repository.roles_by_name(self.db, names)
        await access_repository.set_user_roles(self.db, user.id, [r.id for r in found.values()])
        return user

    async def authenticate(
        self, *, email: str, password: str, origin: Origin, database: Database
    ) -> User:
        """The user with this email and password. Unknown emails cost the same time.

        A refusal is audited on `database` in a transaction of its own (the request's rolls
        back), naming the email as typed and the account it belongs to, if any."""
        user = await repository.get_user_by_email_key(self.db, email_key(email))
        if user is None:
            await self.ctx.hasher.dummy_verify(password)
            await self._refused(database, email, None, InvalidCredentials.code, origin)
            raise InvalidCredentials
        valid, new_hash = await self.ctx.hasher.verify_and_update(password, user.password_hash)
        if not valid:
            await self._refused(database, email, user.id, InvalidCredentials.code, origin)
            raise InvalidCredentials
        if new_hash is not None:
            user.password_hash = new_hash
        if user.status == "disabled":
            await self._refused(database, email, user.id, AccountDisabled.code, origin)
            raise AccountDisabled
        return user

    async def change_password(
        self,
        *,
        principal: Principal,
        current_password: str,
        new_password: str,
        origin: Origin | None = None,
    ) -> None:
        """Set a new password and end every other session of the user."""
        user = await repository.get_user(self.db, principal.user_id)
        if user is None:
            raise SessionEnded
        valid, _ = await self.ctx.hasher.verify_and_update(current_password, user.password_hash)
        if not valid:
            raise InvalidCredentials("The current password is not correct.")
        ended = await self.replace_password(
            user, new_password, reason="password_changed", keep=principal.session_id
        )
        await record(
            self.db,
            action=actions.PASSWORD_CHANGED,
            actor_id=user.id,
            actor=user.email,
            target_type="user",
            target_id=user.id,
            origin=origin,
            detail={"sessions_ended": len(ended)},
        )
        log.info("password changed", extra={"user_id": str(user.id), "ended": len(ended)})

    async def replace_password(
        self, user: User, new_password: str, *, reason: str, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """Check a new password against the policy, set it, and end every session of the user
        but `keep` (a change keeps the caller's own; a reset keeps none). The ended ids."""
        check_password(new_password, email=user.email, min_length=self.settings.password_min_length)
        now = utcnow()
        user.password_hash = await self.ctx.hasher.hash(new_password)
        user.password_changed_at = now
        ended = await repository.end_sessions(
            self.db, user_id=user.id, now=now, reason=reason, keep=keep
        )
        # Every session of the user, the ended ones included, on every process.
        await self.ctx.cache.invalidate_user(user.id)
        return ended

    # Sessions ----------------------------------------------------------------------------------

    async def start_session(
        self,
        *,
        user: User,
        mode: str,
        user_agent: str | None,
        ip: str | None,
        origin: Origin | None = None,
        method: str = "password",
    ) -> IssuedSession:
        """Open a session for a signed-in user, ending the oldest past the per-user limit;
        audited as a sign-in, with the `method` of its last step (password, totp, ...)."""
        now = utcnow()
        session = AuthSession(
            id=uuid.uuid4(),
            user_id=user.id,
            mode=mode,
            label=session_label(user_agent),
            ip=ip,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=self.settings.session_max_age_seconds),
            authenticated_at=now,
        )
        self.db.add(session)
        refresh_token = self._add_refresh_token(session.id, now)
        await self.db.flush()
        live = await repository.live_sessions(
            self.db, user_id=user.id, now=now, idle_cutoff=self._idle_cutoff(now)
        )
        surplus = [s.id for s in live[self.settings.max_sessions_per_user :]]
        if surplus:
            ended = await repository.end_sessions(
                self.db, user_id=user.id, now=now, reason="session_limit", session_ids=surplus
            )
            await self._forget(ended)
        access_token, expires_in = self.ctx.tokens.issue(user_id=user.id, session_id=session.id)
        # Last: the row holds the chain's head until the request commits.
        await record(
            self.db,
            action=actions.SIGNED_IN,
            actor_id=user.id,
            actor=user.email,
            target_type="session",
            target_id=session.id,
            origin=origin,
            # A password alone is the default and stays unnamed (older rows have no method).
            detail={
                "mode": mode,
                "sessions_ended": len(surplus),
                **({"method": method} if method != "password" else {}),
            },
        )
        log.info("session started", extra={"user_id": str(user.id), "sid": str(session.id)})
        return IssuedSession(session, access_token, expires_in, refresh_token)

    async def refresh(self, refresh_token: str, *, origin: Origin | None = None) -> IssuedSession:
        """Rotate a refresh token. A token used twice ends its whole session (audited: the
        request fails, but keeps that change and its row)."""
        now = utcnow()
        found = await repository.get_refresh_token(self.db, hash_refresh_token(refresh_token))
        if found is None:
            raise InvalidRefreshToken
        token, session = found
        if not self._is_live(session, now):
            raise SessionEnded
        if token.rotated_at is not None or not await repository.mark_rotated(
            self.db, token.id, now
        ):
            await repository.end_sessions(
                self.db,
                user_id=session.user_id,
                now=now,
                reason="refresh_token_reused",
                session_ids=[session.id],
            )
            await self._forget([session.id])
            owner = await repository.get_user(self.db, session.user_id)
            await record(
                self.db,
                action=actions.REFRESH_TOKEN_REUSED,
                outcome=FAILURE,
                actor_id=session.user_id,
                actor=owner.email if owner is not None else None,
                target_type="session",
                target_id=session.id,
                origin=origin,
            )
            log.warning(
                "refresh token reused; session ended",
                extra={"user_id": str(session.user_id), "sid": str(session.id)},
            )
            raise RefreshTokenReused
        user = await repository.get_user(self.db, session.user_id)
        if user is None or user.status == "disabled":
            raise SessionEnded
        session.last_seen_at = now
        new_token = self._add_refresh_token(session.id, now)
        access_token, expires_in = self.ctx.tokens.issue(user_id=user.id, session_id=session.id)
        return IssuedSession(session, access_token, expires_in, new_token)

    async def refresh_session_id(self, refresh_token: str) -> uuid.UUID | None:
        """The session a refresh token belongs to (to check a CSRF token before using it)."""
        found = await repository.get_refresh_token(self.db, hash_refresh_token(refresh_token))
        return None if found is None else found[1].id

    async def load_principal(self, session_id: uuid.UUID, user_id: uuid.UUID) -> Principal:
        """Check a session against the database and describe who it acts for."""
        now = utcnow()
        found = await repository.get_session_and_user(self.db, session_id)
        if found is None:
            raise SessionEnded
        session, user = found
        live = session.user_id == user_id and user.status != "disabled"
        if not live or not self._is_live(session, now):
            raise SessionEnded
        if now - session.last_seen_at >= TOUCH_INTERVAL:
            await repository.touch_session(self.db, session.id, now)
            session.last_seen_at = now
        role_ids = await access_repository.user_role_ids(self.db, user.id)
        graph = await RoleGraph.load(self.db, self.ctx.permissions)
        active = user.status == "active"
        verified = user.email_verified_at is not None
        permissions = graph.effective(role_ids) if active else frozenset()
        if not verified:
            permissions = unverified_permissions(permissions, self.settings.unverified_users)
        return Principal(
            user_id=user.id,
            session_id=session.id,
            email=user.email,
            display_name=user.display_name,
            created_at=user.created_at,
            deadline=self._deadline(session).timestamp(),
            status=user.status,
            roles=frozenset(graph.roles[r].name for r in role_ids if r in graph.roles),
            permissions=permissions,
            email_verified=verified,
            mfa_enrolment_required=await self._mfa_enrolment_required(user.id, role_ids, graph),
        )

    async def sign_out(self, principal: Principal, *, origin: Origin | None = None) -> None:
        """End the caller's current session (audited as a sign-out)."""
        ended = await self._end_own(principal, principal.session_id)
        await self._audit(
            principal,
            actions.SIGNED_OUT,
            origin,
            target=("session", principal.session_id),
            detail={"sessions": len(ended)},
        )

    async def end_session(
        self, principal: Principal, session_id: uuid.UUID, *, origin: Origin | None = None
    ) -> None:
        """End one of the caller's own sessions; anyone else's is 'not found'."""
        await self._end_own(principal, session_id)
        await self._audit(principal, actions.SESSION_ENDED, origin, target=("session", session_id))

    async def end_all_sessions(self, principal: Principal, *, origin: Origin | None = None) -> None:
        """End every session of the caller (audited as one sign-out naming how many)."""
        ended = await repository.end_sessions(
            self.db, user_id=principal.user_id, now=utcnow(), reason="signed_out_everywhere"
        )
        await self._forget(ended)
        await self._audit(
            principal,
            actions.SIGNED_OUT,
            origin,
            target=("user", principal.user_id),
            detail={"sessions": len(ended)},
        )

    async def list_sessions(
        self, principal: Principal, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[AuthSession]:
        now = utcnow()
        rows = await repository.live_sessions_page(
            self.db,
            user_id=principal.user_id,
            now=now,
            idle_cutoff=self._idle_cutoff(now),
            after=after,
            limit=limit,
        )
        return list(rows)

    # Helpers -----------------------------------------------------------------------------------

    async def _mfa_enrolment_required(
        self, user_id: uuid.UUID, role_ids: Iterable[uuid.UUID], graph: RoleGraph
    ) -> bool:
        """A role the user holds (itself, or one it inherits from) requires MFA, and the user
        has no second factor that counts (mfa/requirement.py). The queries run only for
        holders of such a role."""
        required = any(role.mfa_required for r in role_ids for role in graph.chain(r))
        return required and not await has_second_factor(self.db, user_id)

    async def _refused(
        self,
        database: Database,
        email: str,
        user_id: uuid.UUID | None,
        reason: str,
        origin: Origin,
    ) -> None:
        """Record a refused sign-in apart from the request's transaction, which changes
        nothing and is ended first: its connection goes back to the pool before the row takes
        another, so a burst of refused sign-ins never needs two connections each."""
        await self.db.rollback()
        await record_apart(
            database,
            action=actions.SIGNED_IN,
            outcome=FAILURE,
            actor_id=user_id,
            actor=email,
            target_type="user" if user_id is not None else None,
            target_id=user_id,
            origin=origin,
            detail={"reason": reason},
        )

    async def _end_own(self, principal: Principal, session_id: uuid.UUID) -> list[uuid.UUID]:
        ended = await repository.end_sessions(
            self.db,
            user_id=principal.user_id,
            now=utcnow(),
            reason="signed_out",
            session_ids=[session_id],
        )
        if not ended:
            raise SessionNotFound
        await self._forget(ended)
        return ended

    async def _audit(
        self,
        principal: Principal,
        action: str,
        origin: Origin | None,
        *,
        target: tuple[str, uuid.UUID],
        detail: dict[str, int] | None = None,
    ) -> None:
        """An account event of the caller's, in the request's transaction."""
        await record(
            self.db,
            action=action,
            actor_id=principal.user_id,
            actor=principal.email,
            target_type=target[0],
            target_id=target[1],
            origin=origin,
            detail=detail,
        )

    def _add_refresh_token(self, session_id: uuid.UUID, now: datetime) -> str:
        token, token_hash = new_refresh_token()
        self.db.add(RefreshToken(session_id=session_id, token_hash=token_hash, created_at=now))
        return token

    async def _forget(self, session_ids: list[uuid.UUID]) -> None:
        """Drop ending sessions from the cache of every process before the request answers.
        This runs before the commit; the cache fences them, so a load racing the commit
        cannot re-cache one as live (cache.py)."""
        await self.ctx.cache.invalidate(*session_ids)

    def _idle_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.settings.session_idle_timeout_seconds)

    def _deadline(self, session: AuthSession) -> datetime:
        idle_end = session.last_seen_at + timedelta(
            seconds=self.settings.session_idle_timeout_seconds
        )
        return min(session.expires_at, idle_end)

    def _is_live(self, session: AuthSession, now: datetime) -> bool:
        return session.ended_at is None and now < self._deadline(session)


def unverified_permissions(granted: frozenset[str], policy: str) -> frozenset[str]:
    """What an account whose email is not verified yet may do (CONFIDE_UNVERIFIED_USERS):
    `full` all its roles grant, `chat` all but sharing (a thread shared with such an account
    is not shown to it either: threads/visibility.py), `none` nothing until verified."""
    if policy == "full":
        return granted
    if policy == "none":
        return frozenset()
    return granted - {THREADS_SHARE}


def session_label(user_agent: str | None) -> str:
    """A short human label for a session, from its User-Agent."""
    if not user_agent:
        return "Unknown device"
    ua = user_agent.lower()
    browser = next(
        (
            name
            for needle, name in (
                ("edg/", "Edge"),
                ("opr/", "Opera"),
                ("firefox/", "Firefox"),
                ("chrome/", "Chrome"),
                ("chromium/", "Chromium"),
                ("safari/", "Safari"),
                ("curl/", "curl"),
                ("python-httpx", "Python (httpx)"),
                ("python-requests", "Python (requests)"),
            )
            if needle in ua
        ),
        None,
    )
    system = next(
        (
            name
            for needle, name in (
                ("android", "Android"),
                ("iphone", "iPhone"),
                ("ipad", "iPad"),
                ("windows", "Windows"),
                ("mac os", "macOS"),
                ("cros", "ChromeOS"),
                ("linux", "Linux"),
            )
            if needle in ua
        ),
        None,
    )
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent[:80]
