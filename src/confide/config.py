"""The one Settings class. Read once in `create_app` (or the CLI) and passed down."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from confide.crypto.keyring import parse_key_ring
from confide.files.sniff import check_file_types
from confide.hosts import LOCAL_HOSTS, parse_host_pattern
from confide.ratelimit.budgets import check_role_overrides, parse_budget

SECRET_KEY_FILE = "secret_key"  # noqa: S105
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


# Who may create an account with `POST /api/auth/register` (docs/security.md, "Registration").
RegistrationPolicy = Literal["open", "invite", "approval", "closed"]


class Settings(BaseSettings):
    """Every setting Confide reads, from `CONFIDE_*` variables or a `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="CONFIDE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # `CONFIDE_X=` (as in .env.example) means "not set": the default applies.
        env_ignore_empty=True,
        validate_default=True,
        # A refused value is never repeated in the error (it may be a key or a password).
        hide_input_in_errors=True,
    )

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path(".confide")
    database_url: str = ""
    secret_key: SecretStr | None = None

    # Database connections (PostgreSQL; the embedded SQLite database ignores these). Each
    # process keeps up to pool_size + max_overflow connections: size them against the
    # server's max_connections across every host and worker.
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    # How long a request waits for a free pooled connection before it is answered 503.
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # A connection older than this is replaced (0: kept for good).
    db_pool_recycle_seconds: int = Field(default=1800, ge=0, le=7 * 86400)
    # The longest one statement may run; the server cancels it after that (0: no limit).
    db_statement_timeout_ms: int = Field(default=30_000, ge=0, le=24 * 3600 * 1000)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=600)

    # Tokens and sessions.
    jwt_algorithm: Literal["HS256", "EdDSA"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_issuer: str = "confide"
    jwt_audience: str = "confide-api"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=3600)
    max_sessions_per_user: int = Field(default=3, ge=1, le=100)
    session_idle_timeout_seconds: int = Field(default=7 * 86400, ge=60)
    session_max_age_seconds: int = Field(default=14 * 86400, ge=60)
    session_cache_ttl_seconds: float = Field(default=5.0, ge=0, le=60)

    # Accounts and passwords.
    # open: anyone; invite: only with an invite; approval: anyone, but pending until an
    # administrator approves (an invite skips that); closed: nobody (`confide users create`).
    registration: RegistrationPolicy = "open"
    # The older switch: `false` means `registration=closed` when CONFIDE_REGISTRATION is unset.
    # Kept in step with `registration` after validation.
    registration_open: bool = True
    password_min_length: int = Field(default=12, ge=8, le=128)
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=65536, ge=8, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=4, ge=1, le=64)
    password_hash_concurrency: int = Field(default=0, ge=0, le=256)

    # Browser mode.
    cookie_secure: bool | None = None
    cookie_samesite: Literal["lax", "strict"] = "lax"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Agents and models.
    agents_file: Path | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    # The display name of the agent CONFIDE_LLM_* adds (default: the model id).
    llm_name: str | None = Field(default=None, max_length=100)
    llm_api_key: SecretStr | None = None
    tool_log: bool = True
    tool_result_log_limit: int = Field(default=2000, ge=100, le=1_000_000)
    tool_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    run_max_steps: int = Field(default=8, ge=1, le=100)
    # How long a run waits for its user to answer an approval (or an `ask_user` question)
    # before the call counts as denied: seconds, or "48h", "30m", "2d", "90s".
    approval_timeout: timedelta = timedelta(hours=48)
    # Silence, not length: the longest wait for a model's first token and between two chunks.
    model_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    # The cap on one whole model request (a long answer streaming steadily is fine below it).
    model_max_duration_seconds: float = Field(default=900.0, gt=0, le=86400)

    # Many hosts (docs/deployment.md). With a Redis URL, run events, cancels, session
    # invalidation and WebSocket tickets are shared by every process, and jobs go through a
    # Redis queue (SAQ); without one, all of it lives in this process.
    redis_url: str | None = None
    # Where jobs (runs included) execute: in `confide serve` itself, or only in
    # `confide worker` processes (needs CONFIDE_REDIS_URL).
    jobs: Literal["inprocess", "external"] = "inprocess"
    # How long a job (a run) is kept by a worker that stopped heartbeating before it is taken
    # over or closed; heartbeats come every third of it.
    job_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    # Jobs (runs included) one process executes at once (`confide worker --concurrency`
    # overrides it for a worker).
    job_concurrency: int = Field(default=32, ge=1, le=1000)
    # A run's live events kept in its Redis stream: at most this many, for this long after the
    # last one (the database keeps every event but the token deltas for good).
    run_stream_max_events: int = Field(default=10_000, ge=100, le=1_000_000)
    run_stream_ttl_seconds: int = Field(default=3600, ge=10, le=7 * 86400)

    # HTTP.
    # Host names (optionally with a port) requests may be addressed to; empty: the bind host
    # and the loopback names. Required in production. See hosts.py.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    docs_enabled: bool | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    forwarded_allow_ips: str = "127.0.0.1"
    # The address users reach Confide by (https://chat.example.org), for links Confide hands
    # out (invitations); unset: the address of the request that asked for the link.
    public_url: str | None = None
    # The built web app; by default the build inside the package (src/confide/web/dist).
    web_dir: Path = Path(__file__).resolve().parent / "web" / "dist"

    # --- notifications (issue 11, deliverable 1) ---
    # Where email and SMS go: `outbox` writes each message to <data dir>/outbox/ (read them
    # with `confide outbox`), `smtp` sends email through CONFIDE_SMTP_*, `sms` sends SMS
    # through Telesign (CONFIDE_TELESIGN_*). docs/deployment.md, "Notifications".
    email_channel: Literal["outbox", "smtp"] = "outbox"
    sms_channel: Literal["outbox", "sms"] = "outbox"
    mail_from: str = "Confide <confide@localhost>"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # starttls: upgrade the connection (port 587); tls: TLS from the start (port 465); none:
    # plain text (refused in production unless the server is on this machine).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    telesign_base_url: str = "https://rest-api.telesign.com"
    telesign_customer_id: str | None = None
    telesign_api_key: SecretStr | None = None
    # Tries per message (30 s back-off, doubling, at most an hour) before it is given up (an
    # SMS then goes to its fallback email).
    notify_max_attempts: int = Field(default=8, ge=1, le=50)
    # Sent and given-up messages, their attempts and the outbox channel's files are deleted
    # once this old (the daily purge_notifications job); queued ones never are.
    notification_retention_days: int = Field(default=30, ge=1, le=3650)

    # --- approvals over Slack (issue 13, deliverable 5; docs/deployment.md, "Slack") ---
    # The Slack app's bot token (xoxb-...) and its signing secret: Slack is a channel users
    # may choose only with both set (interactions are verified with the secret).
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    # Slack's Web API (ends with a slash); tests point it at a local server.
    slack_api_url: str = "https://slack.com/api/"

    @model_validator(mode="after")
    def _check_notifications(self) -> Settings:
        if self.email_channel == "smtp" and not self.smtp_host:
            raise ValueError("CONFIDE_EMAIL_CHANNEL=smtp needs CONFIDE_SMTP_HOST")
        if bool(self.smtp_username) != (self.smtp_password is not None):
            raise ValueError(
                "CONFIDE_SMTP_USERNAME and CONFIDE_SMTP_PASSWORD go together (both or neither)"
            )
        if self.sms_channel == "sms" and not (
            self.telesign_customer_id and self.telesign_api_key is not None
        ):
            raise ValueError(
                "CONFIDE_SMS_CHANNEL=sms needs CONFIDE_TELESIGN_CUSTOMER_ID and "
                "CONFIDE_TELESIGN_API_KEY"
            )
        if (
            self.is_production
            and self.email_channel == "smtp"
            and self.smtp_security == "none"
            and (self.smtp_host or "").strip("[]").lower() not in LOCAL_HOSTS
        ):
            raise ValueError(
                "CONFIDE_SMTP_SECURITY=none: plain-text SMTP to another machine is refused in "
                "production (use starttls or tls)"
            )
        return self

    # --- email verification and password recovery (issue 11, deliverable 2) ---
    # What an account may do before its email is verified: `chat` everything but sharing,
    # `full` everything its roles grant, `none` nothing but verifying.
    unverified_users: Literal["full", "chat", "none"] = "chat"
    # How long a verification link and a password-reset link stay valid.
    verify_email_ttl_seconds: int = Field(default=86_400, ge=300, le=30 * 86_400)
    password_reset_ttl_seconds: int = Field(default=1_800, ge=300, le=86_400)
    # A set-password link for an account an admin made without a password.
    set_password_ttl_seconds: int = Field(default=7 * 86_400, ge=3_600, le=30 * 86_400)

    # --- rate limits (issue 11, deliverable 7) ---
    # Budgets in the `limits` notation ("30/minute", "1000/day", "5 per 10 seconds"), counted
    # in a sliding window: starting chat runs per user, per session and per channel (the
    # user's runs over HTTP and over the WebSocket apart), and API requests per user.
    rate_limit_runs_per_user: str = "30/minute"
    rate_limit_runs_per_session: str = "10/minute"
    rate_limit_runs_per_channel: str = "20/minute"
    rate_limit_api_per_user: str = "600/minute"
    # Per role, overrides of the four above, as JSON: {"admin": {"runs_per_user": "120/minute"}}
    # (keys runs_per_user, runs_per_session, runs_per_channel, api_per_user). A user with
    # several roles gets the most generous of each budget.
    rate_limit_roles: Annotated[dict[str, dict[str, str]], NoDecode] = Field(default_factory=dict)
    # Per client IP (IPv6 by /64), requests to the sign-in, registration, password
    # forgot/reset and MFA code-send routes.
    rate_limit_login_per_ip: str = "20/minute"
    rate_limit_register_per_ip: str = "10/hour"
    rate_limit_reset_per_ip: str = "10/hour"
    rate_limit_codes_per_ip: str = "10/hour"

    # --- MFA (issue 11, deliverable 3) ---
    # How long after a sign-in, MFA step or `POST /api/auth/reauth` a session may make
    # sensitive changes (turn MFA off, new backup codes, ...) without proving it is the user
    # again (401 `reauth_required`).
    reauth_window_seconds: int = Field(default=600, ge=30, le=86400)

    # --- brute force and IP rules (issue 11, deliverable 6) ---
    # Per account (the normalised email): after this many failed sign-ins in a row every
    # sign-in waits, 30 s after the threshold, doubling with each further failure, capped.
    lockout_threshold: int = Field(default=5, ge=1, le=1000)
    lockout_base_seconds: int = Field(default=30, ge=1, le=86400)
    lockout_max_seconds: int = Field(default=900, ge=1, le=7 * 86400)
    # Per client IP (IPv6 by /64): this many failed sign-ins, whichever accounts, within the
    # window block sign-in from it for CONFIDE_IP_BLOCK_SECONDS (allow-listed IPs never are).
    ip_block_threshold: int = Field(default=50, ge=1, le=1_000_000)
    ip_block_window_seconds: int = Field(default=900, ge=1, le=86400)
    ip_block_seconds: int = Field(default=900, ge=1, le=7 * 86400)

    # --- memory (issue 12, deliverable 1) ---
    # Characters of a user's memories put into each run's system prompt, at most (0: none).
    memory_prompt_chars: int = Field(default=2000, ge=0, le=100_000)

    # --- organising (issue 14, deliverable 4) ---
    # After a thread's first completed run, ask the agent's model for a short title (the
    # `title` job; the scripted model keeps its first-words titles). folders/titles.py.
    generated_titles: bool = Field(
        default=True, description="Title threads by their agent's model after the first run."
    )

    # --- files (issue 14, deliverable 2) ---
    # The largest upload `POST /api/files` takes, in bytes (larger: 413 `file_too_large`).
    file_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024**3)
    # What may be uploaded: kinds (text, pdf, image) or content types (text/plain,
    # text/markdown, application/pdf, image/png, image/jpeg, image/gif, image/webp),
    # comma-separated; anything else: 415 `unsupported_file_type`. files/sniff.py.
    file_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["text", "pdf", "image"]
    )
    # What one user's files may take in all, in bytes (more: 507 `storage_quota_exceeded`).
    file_quota_bytes: int = Field(default=200 * 1024 * 1024, ge=0)
    # Tokens of attached files' text sent to the model with one message, at most; the rest
    # of a longer file is cut, and the model and the user are told. files/attachments.py.
    file_context_tokens: int = Field(default=8000, ge=100, le=1_000_000)

    # --- retention (issue 12, deliverable 6) ---
    # Threads untouched for longer than this many days are deleted by a daily job
    # (`purge_idle_threads`), or sooner under a user's own shorter `retention_days`.
    # Unset: kept for ever (unless their owner set a retention). privacy/retention.py.
    retention_days: int | None = Field(default=None, ge=1, le=36500)

    # --- share links (issue 14, deliverable 3) ---
    # Owners may make public read-only links to a conversation (`/s/<token>`, links/). Off:
    # making one is refused (403 `share_links_disabled`) and every existing one answers 404.
    share_links: bool = Field(default=True, description="Allow public share links.")
    # Per client IP (IPv6 by /64), views of shared conversations (`GET /api/shared/...`).
    rate_limit_shared_per_ip: str = Field(
        default="120/minute", description="Views of shared links per client IP."
    )

    # --- imports (issue 14, deliverable 5) ---
    # The largest file `POST /api/imports` takes (a ChatGPT conversations.json or a Confide
    # export), in bytes: larger is refused with 413 `import_too_large`. imports/.
    import_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)

    @field_validator("approval_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            found = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*([smhd]?)\s*", value.lower())
            if found:
                unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[found[2]]
                return timedelta(seconds=float(found[1]) * unit)
        return value

    @field_validator("approval_timeout")
    @classmethod
    def _positive_duration(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value > timedelta(days=365):
            raise ValueError("must be more than 0 and at most 365 days")
        return value

    @field_validator("retention_days", mode="before")
    @classmethod
    def _empty_retention_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    # --- encryption at rest (issue 12, deliverable 2; not yet applied to stored data) ---
    # The master key ring: `<key id>:<base64url 32-byte key>`, comma-separated, the current
    # key first (it wraps new data keys; the others still unwrap). Unset: a ring generated
    # into $CONFIDE_DATA_DIR/master_keys (0600) and reused, refused in production. See
    # crypto/keyring.py and crypto/keystore.py.
    master_keys: SecretStr | None = None

    @field_validator("master_keys", mode="before")
    @classmethod
    def _empty_master_keys_are_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("master_keys")
    @classmethod
    def _check_master_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_key_ring(value.get_secret_value())  # a ValueError that never shows a key
        return value

    @field_validator(
        "rate_limit_runs_per_user",
        "rate_limit_runs_per_session",
        "rate_limit_runs_per_channel",
        "rate_limit_api_per_user",
        "rate_limit_login_per_ip",
        "rate_limit_register_per_ip",
        "rate_limit_reset_per_ip",
        "rate_limit_codes_per_ip",
        "rate_limit_shared_per_ip",
    )
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        parse_budget(value)  # a ValueError that says what is wrong
        return value.strip()

    @field_validator("rate_limit_roles", mode="before")
    @classmethod
    def _check_rate_limit_roles(cls, value: Any) -> dict[str, dict[str, str]]:
        return check_role_overrides(value)

    @field_validator("redis_url", mode="before")
    @classmethod
    def _check_redis_url(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if not str(value).startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("public_url", mode="before")
    @classmethod
    def _check_public_url(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        parts = urlsplit(str(value).strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL like https://chat.example.org")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("must have no query, fragment, user or password")
        return str(value).strip().rstrip("/")

    @field_validator("secret_key", "slack_bot_token", "slack_signing_secret", mode="before")
    @classmethod
    def _empty_secret_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("file_types")
    @classmethod
    def _known_file_types(cls, value: list[str]) -> list[str]:
        return check_file_types(value)  # a ValueError naming what is not known

    @field_validator("cors_origins", "allowed_hosts", "file_types", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                import json

                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*":
                continue
            if not origin.startswith(("http://", "https://")) or origin.rstrip("/") != origin:
                raise ValueError(f"{origin!r} is not an origin like https://chat.example.org")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_host_pattern(entry)  # a ValueError naming the entry
        return [entry.strip() for entry in value]

    @model_validator(mode="after")
    def _check_coherence(self) -> Settings:
        if self.session_max_age_seconds < self.session_idle_timeout_seconds:
            raise ValueError(
                "CONFIDE_SESSION_MAX_AGE_SECONDS must be >= CONFIDE_SESSION_IDLE_TIMEOUT_SECONDS"
            )
        if self.jobs == "external" and not self.redis_url:
            raise ValueError(
                "CONFIDE_JOBS=external needs CONFIDE_REDIS_URL (the queue the workers share)"
            )
        if self.jwt_algorithm == "EdDSA" and self.jwt_private_key_file is None:
            raise ValueError("CONFIDE_JWT_ALGORITHM=EdDSA needs CONFIDE_JWT_PRIVATE_KEY_FILE")
        if self.jwt_private_key_file is not None and self.jwt_algorithm != "EdDSA":
            raise ValueError(
                "CONFIDE_JWT_PRIVATE_KEY_FILE is set but CONFIDE_JWT_ALGORITHM is not EdDSA "
                "(one algorithm family at a time)"
            )
        self._resolve_registration()
        return self

    def _resolve_registration(self) -> None:
        """CONFIDE_REGISTRATION wins; without it the older CONFIDE_REGISTRATION_OPEN=false
        means `closed`. Both set and at odds (one closed, the other not) is refused: a
        server meant to be closed must not open because of a forgotten line."""
        given = self.model_fields_set
        if "registration" not in given:
            if not self.registration_open:
                self.registration = "closed"
        elif "registration_open" in given and self.registration_open != (
            self.registration != "closed"
        ):
            raise ValueError(
                f"CONFIDE_REGISTRATION={self.registration} contradicts "
                f"CONFIDE_REGISTRATION_OPEN={str(self.registration_open).lower()} "
                "(the older setting); remove CONFIDE_REGISTRATION_OPEN"
            )
        self.registration_open = self.registration != "closed"

    # Derived values -------------------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is None:
            return self.env is not Environment.DEVELOPMENT
        return self.cookie_secure

    @property
    def docs_on(self) -> bool:
        if self.docs_enabled is None:
            return not self.is_production
        return self.docs_enabled

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'confide.db').as_posix()}"

    @property
    def uses_embedded_database(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The embedded database's file (None for a server database or an in-memory one)."""
        if not self.uses_embedded_database:
            return None
        database = make_url(self.effective_database_url).database
        if not database or database == ":memory:":
            return None
        return Path(database)

    @property
    def effective_allowed_hosts(self) -> list[str]:
        """CONFIDE_ALLOWED_HOSTS, or by default the bind host and the loopback names."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        try:
            parse_host_pattern(self.host)
        except ValueError:  # not a name a client could send (uvicorn will say what is wrong)
            return list(LOCAL_HOSTS)
        return list(dict.fromkeys([self.host, *LOCAL_HOSTS]))

    @property
    def hash_concurrency(self) -> int:
        return self.password_hash_concurrency or max(1, os.cpu_count() or 1)

    @cached_property
    def secret_key_is_generated(self) -> bool:
        return self.secret_key is None

    def resolved_secret_key(self) -> str:
        """The configured secret key, or the one generated into the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return load_or_create_secret_key(self.data_dir)

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe for production (empty when safe or in development)."""
        if not self.is_production:
            return []
        problems: list[str] = []
        if self.jwt_algorithm == "HS256":
            if self.secret_key is None:
                problems.append(
                    "CONFIDE_SECRET_KEY: must be set in production (a generated key is refused)"
                )
            elif len(self.secret_key.get_secret_value()) < MIN_SECRET_LENGTH:
                problems.append(
                    f"CONFIDE_SECRET_KEY: must be at least {MIN_SECRET_LENGTH} characters"
                )
        elif self.secret_key is None:
            problems.append("CONFIDE_SECRET_KEY: must be set in production (it signs CSRF tokens)")
        if self.master_keys is None:
            problems.append(
                "CONFIDE_MASTER_KEYS: must be set in production (a generated key file is refused)"
            )
        if self.cookie_secure is False:
            problems.append("CONFIDE_COOKIE_SECURE: insecure cookies are refused in production")
        if "*" in self.cors_origins:
            problems.append("CONFIDE_CORS_ORIGINS: a wildcard origin is refused in production")
        if any(origin.startswith("http://") for origin in self.cors_origins):
            problems.append("CONFIDE_CORS_ORIGINS: plain http:// origins are refused in production")
        if not self.allowed_hosts:
            problems.append(
                "CONFIDE_ALLOWED_HOSTS: must be set in production "
                "(the host names clients reach Confide by, e.g. chat.example.org)"
            )
        elif "*" in self.allowed_hosts:
            problems.append("CONFIDE_ALLOWED_HOSTS: a bare * (any host) is refused in production")
        if self.slack_bot_token is not None and self.slack_signing_secret is None:
            problems.append(
                "CONFIDE_SLACK_SIGNING_SECRET: must be set with CONFIDE_SLACK_BOT_TOKEN in "
                "production (Slack's button presses are verified with it)"
            )
        return problems


def load_or_create_secret_key(data_dir: Path) -> str:
    """Read the generated key from the data directory, creating it (mode 0600) on first use."""
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written whole to a private temporary file, then linked into place: a reader never
        # sees a half-written key, and when two workers race, the first link wins for both.
        fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise SettingsError(
            [
                f"{path}: the stored secret key is empty or too short; "
                "delete the file to generate a new one"
            ]
        )
    return key


class SettingsError(Exception):
    """Settings that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _field_env_name(loc: tuple[int | str, ...]) -> str:
    return "CONFIDE_" + str(loc[0]).upper()


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning every validation or production problem into one line each."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False, include_input=False):
            message = error["msg"].removeprefix("Value error, ")
            if error["loc"]:
                lines.append(f"{_field_env_name(error['loc'])}: {message}")
            else:
                lines.append(message)
        raise SettingsError(lines) from None
    problems = settings.production_problems()
    if problems:
        raise SettingsError(problems)
    return settings
