"""Access tokens (JWT, one algorithm family at a time), opaque refresh tokens, CSRF tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from redis.asyncio import Redis

from confide.errors import NotAuthenticated
from confide.shared.redis import key

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "exp", "jti", "sid"]
# Verified tokens remembered per process: a signature check costs more than the rest of a
# typical authenticated request, and a client presents the same token for 15 minutes.
VERIFIED_CACHE_SIZE = 10_000


def derive_key(secret: str, purpose: str) -> bytes:
    """A separate key per purpose, so one use of the secret never signs for another."""
    return hmac.new(secret.encode(), f"confide:{purpose}".encode(), hashlib.sha256).digest()


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    title = "The access token is not valid"


class ExpiredToken(NotAuthenticated):
    code = "token_expired"
    title = "The access token has expired"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: int


class AccessTokenCodec:
    """Issues and checks access tokens: HS256 with a derived key, or EdDSA with a key file."""

    def __init__(
        self,
        *,
        secret: str,
        algorithm: str,
        private_key_file: Path | None,
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> None:
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._signing_key: Any
        self._verify_key: Any
        if algorithm == "EdDSA":
            assert private_key_file is not None
            key = load_pem_private_key(private_key_file.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("CONFIDE_JWT_PRIVATE_KEY_FILE must hold an Ed25519 private key")
            self._signing_key, self._verify_key = key, key.public_key()
        else:
            self._signing_key = self._verify_key = derive_key(secret, "jwt")
        self._jwt = jwt.PyJWT(options={"require": REQUIRED_CLAIMS})
        # Tokens whose signature and claims were already checked; expiry is rechecked on use.
        self._verified: dict[str, AccessClaims] = {}

    def issue(self, *, user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[str, int]:
        """A fresh access token and its lifetime in seconds."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": secrets.token_urlsafe(12),
        }
        token = jwt.encode(
            claims, self._signing_key, algorithm=self.algorithm, headers={"typ": ACCESS_TOKEN_TYPE}
        )
        return token, self.ttl_seconds

    def decode(self, token: str) -> AccessClaims:
        """Check signature, algorithm, type, issuer, audience and expiry; raise when any fails."""
        claims = self._verified.get(token)
        if claims is not None:
            if time.time() < claims.expires_at:
                return claims
            del self._verified[token]
            raise ExpiredToken
        claims = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != ACCESS_TOKEN_TYPE or header.get("alg") != self.algorithm:
                raise InvalidToken
            if "crit" in header:  # we understand no extension, so any critical one is refused
                raise InvalidToken
            claims = self._jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
            )
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                expires_at=int(claims["exp"]),
            )
        except jwt.ExpiredSignatureError:
            raise ExpiredToken from None
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise InvalidToken from None


def new_refresh_token() -> tuple[str, str]:
    """An opaque 256-bit refresh token and the hash that is all we store of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # A plain digest is enough: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class CsrfSigner:
    """Signed double-submit tokens bound to one session: nonce.HMAC(key, sid.nonce)."""

    def __init__(self, secret: str) -> None:
        self._key = derive_key(secret, "csrf")

    def issue(self, session_id: uuid.UUID) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._mac(session_id, nonce)}"

    def verify(self, token: str, session_id: uuid.UUID) -> bool:
        nonce, _, mac = token.partition(".")
        if not nonce or not mac:
            return False
        return hmac.compare_digest(mac, self._mac(session_id, nonce))

    def _mac(self, session_id: uuid.UUID, nonce: str) -> str:
        digest = hmac.new(self._key, f"{session_id}.{nonce}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SpentTickets(Protocol):
    """Where spent WebSocket tickets are remembered until they expire."""

    async def spend(self, ticket_id: str, *, ttl_seconds: int) -> bool:
        """Record a ticket as spent; False when it already was (anywhere this store spans)."""


class MemorySpentTickets:
    """Spent tickets of this process only (one process: no CONFIDE_REDIS_URL)."""

    def __init__(self) -> None:
        self._spent: dict[str, float] = {}

    async def spend(self, ticket_id: str, *, ttl_seconds: int) -> bool:
        now = time.time()
        if self._spent.get(ticket_id, 0.0) > now:
            return False
        self._spent = {t: until for t, until in self._spent.items() if until > now}
        self._spent[ticket_id] = now + ttl_seconds
        return True


class RedisSpentTickets:
    """Spent tickets shared by every process: `SET confide:ws-ticket:<id> 1 NX EX <ttl>`.

    Without Redis the ticket is refused, never let through unchecked: its connection error
    propagates, and the socket is refused as `unavailable` (error_handlers.py), not as an
    authentication failure, so the client tries again rather than signing in again."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def spend(self, ticket_id: str, *, ttl_seconds: int) -> bool:
        first = await self._redis.set(key("ws-ticket", ticket_id), b"1", nx=True, ex=ttl_seconds)
        return bool(first)


class WebSocketTickets:
    """Short-lived, single-use tickets that let a bearer client open a WebSocket (browsers
    cannot set headers on one). Signed, so any process can check them; spent once in all the
    processes `spent` spans (this one by default)."""

    def __init__(
        self, secret: str, *, ttl_seconds: int = 30, spent: SpentTickets | None = None
    ) -> None:
        self._key = derive_key(secret, "ws-ticket")
        self.ttl_seconds = ttl_seconds
        self._spent: SpentTickets = spent if spent is not None else MemorySpentTickets()

    def issue(self, *, user_id: uuid.UUID, session_id: uuid.UUID) -> str:
        payload = f"{user_id}.{session_id}.{int(time.time()) + self.ttl_seconds}."
        payload += secrets.token_urlsafe(12)
        return f"{payload}.{self._mac(payload)}"

    async def redeem(self, ticket: str) -> tuple[uuid.UUID, uuid.UUID]:
        """The (user, session) a ticket was issued for; InvalidToken if forged, old or spent."""
        payload, _, mac = ticket.rpartition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidToken
        try:
            user_raw, session_raw, expires_raw, nonce = payload.split(".")
            user_id, session_id, expires = (
                uuid.UUID(user_raw),
                uuid.UUID(session_raw),
                int(expires_raw),
            )
        except ValueError:
            raise InvalidToken from None
        if time.time() >= expires:
            raise InvalidToken
        # The nonce names the ticket: it is random, and only a ticket we signed gets here.
        if not await self._spent.spend(nonce, ttl_seconds=self.ttl_seconds):
            raise InvalidToken
        return user_id, session_id

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
