"""The application factory: `create_app(settings)` builds everything once and wires it up."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.openapi import docs as openapi_docs
from redis.asyncio import Redis

from confide import __version__
from confide.account.endpoints import router as account_router
from confide.account.service import SEND_RESET_JOB, AccountLinks
from confide.admin.endpoints import router as admin_router
from confide.agents.endpoints import router as agents_router
from confide.agents.models.factory import ModelCatalog
from confide.agents.registry import AgentRegistry
from confide.agents.tools import builtin_tools, tool_call_log
from confide.approvals.endpoints import router as approvals_router
from confide.approvals.service import EXPIRE_CRON, EXPIRE_JOB, ApprovalService
from confide.audit.endpoints import router as audit_router
from confide.audit.hooks import record_access_denied
from confide.auth.cache import MemorySessionCache, RedisSessionCache, SessionCache
from confide.auth.endpoints import router as auth_router
from confide.auth.passwords import PasswordHasher
from confide.auth.purge import purge_expired_sessions
from confide.auth.service import AuthContext
from confide.auth.tokens import (
    AccessTokenCodec,
    CsrfSigner,
    MemorySpentTickets,
    RedisSpentTickets,
    SpentTickets,
    WebSocketTickets,
)
from confide.config import Settings, load_settings
from confide.crypto.keystore import key_store
from confide.crypto.vault import KeyVault
from confide.datadir import secure_data_dir
from confide.db.engine import Database
from confide.error_handlers import install_error_handlers
from confide.feedback.endpoints import pages_router as feedback_pages_router
from confide.feedback.endpoints import router as channels_router
from confide.feedback.endpoints import slack_router
from confide.feedback.notices import RESOLVE_JOB as FEEDBACK_RESOLVE_JOB
from confide.feedback.notices import SEND_JOB as FEEDBACK_SEND_JOB
from confide.feedback.notices import SWEEP_CRON as FEEDBACK_SWEEP_CRON
from confide.feedback.notices import SWEEP_JOB as FEEDBACK_SWEEP_JOB
from confide.feedback.notices import Feedback
from confide.files.attachments import FileAttachments
from confide.files.endpoints import UPLOAD_OVERHEAD_BYTES
from confide.files.endpoints import router as files_router
from confide.files.service import FileLimits
from confide.files.storage import FileBlobs
from confide.folders.endpoints import router as folders_router
from confide.folders.titles import TITLE_JOB, TITLE_SECONDS, ThreadTitles
from confide.health.endpoints import router as health_router
from confide.hosts import AllowedHosts
from confide.http import HttpHygieneMiddleware, ProblemCORSMiddleware
from confide.imports.endpoints import UPLOAD_OVERHEAD_BYTES as IMPORT_OVERHEAD_BYTES
from confide.imports.endpoints import export_router as thread_export_router
from confide.imports.endpoints import router as imports_router
from confide.imports.job import IMPORT_TIMEOUT_SECONDS, IMPORT_TRIES, ImportJob
from confide.imports.service import IMPORT_JOB
from confide.jobs import JobDefinition, JobQueue
from confide.jobs.inprocess import InProcessQueue
from confide.jobs.redis_queue import SaqQueue
from confide.links.endpoints import router as links_router
from confide.links.endpoints import shared_router as shared_links_router
from confide.logs import configure_logging
from confide.mcp.credentials import UserTokens
from confide.mcp.endpoints import admin_router as mcp_admin_router
from confide.mcp.endpoints import router as mcp_router
from confide.mcp.manager import McpManager
from confide.memories.endpoints import router as memories_router
from confide.memories.hooks import MEMORY_JOB, RunMemories
from confide.mfa.codes import MfaContext
from confide.mfa.endpoints import router as mfa_router
from confide.notify.service import (
    DELIVER_JOB,
    DELIVER_TIMEOUT_SECONDS,
    STATUS_JOB,
    STATUS_TIMEOUT_SECONDS,
    SWEEP_CRON,
    SWEEP_JOB,
    Notifications,
)
from confide.notify.service import PURGE_CRON as PURGE_NOTIFY_CRON
from confide.notify.service import PURGE_JOB as PURGE_NOTIFY_JOB
from confide.openapi import install_problem_schema
from confide.passkeys.endpoints import router as passkeys_router
from confide.phones.endpoints import router as phones_router
from confide.preferences.endpoints import router as preferences_router
from confide.privacy.endpoints import admin_router as privacy_admin_router
from confide.privacy.endpoints import router as privacy_router
from confide.privacy.retention import RETENTION_CRON, RETENTION_JOB, Retention
from confide.ratelimit.dependencies import count_api_request
from confide.ratelimit.middleware import RateLimitMiddleware
from confide.ratelimit.service import build_rate_limits
from confide.runs.bus import EventBus, MemoryBus, RedisBus
from confide.runs.endpoints import router as runs_router
from confide.runs.lease import ProcessIdentity
from confide.runs.runner import RunManager
from confide.runs.service import CANCEL_CHANNEL, RUN_JOB, RunService
from confide.runs.store import RunStore
from confide.runs.sweeper import RunSweeper
from confide.runs.websocket import router as websocket_router
from confide.search.endpoints import router as search_router
from confide.shared.broadcast import Broadcast
from confide.shared.redis import connect_redis
from confide.threads.endpoints import router as threads_router
from confide.throttle.endpoints import router as ip_rules_router
from confide.throttle.factory import build_throttle
from confide.throttle.middleware import IpRulesMiddleware
from confide.usage.endpoints import router as usage_router
from confide.web import install_web_app

DOCS_PATH = "/docs"
PURGE_CRON = "17 3 * * *"  # nightly, 03:17 UTC
OPENAPI_PATH = "/api/openapi.json"


def build_auth_context(settings: Settings, redis: Redis | None = None) -> AuthContext:
    """The auth feature's long-lived parts. With `redis`, the session cache and spent tickets
    are shared by every process through it; its `broadcast` must then be started with the app
    (until it is connected, the cache trusts nothing and every request asks the database)."""
    secret = settings.resolved_secret_key()
    broadcast = Broadcast(redis) if redis is not None else None
    cache: SessionCache
    if redis is not None and broadcast is not None:
        cache = RedisSessionCache(
            redis=redis, broadcast=broadcast, ttl=settings.session_cache_ttl_seconds
        )
        spent: SpentTickets = RedisSpentTickets(redis)
    else:
        cache = MemorySessionCache(ttl=settings.session_cache_ttl_seconds)
        spent = MemorySpentTickets()
    return AuthContext(
        settings=settings,
        hasher=PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.hash_concurrency,
        ),
        tokens=AccessTokenCodec(
            secret=secret,
            algorithm=settings.jwt_algorithm,
            private_key_file=settings.jwt_private_key_file,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        ),
        csrf=CsrfSigner(secret),
        tickets=WebSocketTickets(secret, spent=spent),
        cache=cache,
        broadcast=broadcast,
    )


def create_app(
    settings: Settings, *, worker: bool = False, concurrency: int | None = None
) -> FastAPI:
    """The whole application. `worker`: for `confide worker`, which executes jobs whatever
    CONFIDE_JOBS says (the HTTP routes are there but not served)."""
    secure_data_dir(settings, create=False)  # before the database or the key file is opened
    database = Database.from_settings(settings)
    executes_jobs = worker or settings.jobs == "inprocess"

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        broadcast = app.state.auth.broadcast
        if broadcast is not None:  # the session cache trusts nothing until it is connected
            await broadcast.start()
        # Runs a dead process left in progress are closed, their threads left valid (only those
        # whose process is certainly gone: runs/sweeper.py). Every process sweeps, those that
        # only serve too: with every worker gone, a run must still end rather than hang.
        await sweeper.sweep()
        mcp.start()  # connects in the background: a server that is down delays nothing
        await jobs.start()  # executes jobs here, or only connects to queue them
        sweeper.start()
        pruning = asyncio.create_task(app.state.vault.prune_forever(), name="data-key-prune")
        # Everything loaded so far lives as long as the process: move it out of the collector's
        # sight, so a full collection does not walk the whole framework on a request's time.
        gc.collect()
        gc.freeze()
        yield
        if worker:  # a worker gives its runs their grace period (the queue's) first
            await jobs.aclose()
        pruning.cancel()
        await run_manager.shutdown()
        await mcp.aclose()  # after the runs: stops every stdio server's process
        # Only now: until its runs have ended, this process renews their leases, or another
        # would take them for a dead process's and close them during the grace period.
        await sweeper.aclose()
        if runs.local_jobs is not None:
            await runs.local_jobs.aclose()
        await jobs.aclose()
        await bus.aclose()
        if broadcast is not None:
            await broadcast.aclose()
        await models.aclose()
        if redis is not None:
            await redis.aclose()
        await database.dispose()

    app = FastAPI(
        title="Confide",
        version=__version__,
        summary="Self-hosted multi-user AI agent chat.",
        docs_url=DOCS_PATH if settings.docs_on else None,
        redoc_url=None,
        openapi_url=OPENAPI_PATH if settings.docs_on else None,
        swagger_ui_parameters={"persistAuthorization": False},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    # Shared state across processes (None: everything lives in this process).
    redis = app.state.redis = connect_redis(settings.redis_url) if settings.redis_url else None
    app.state.auth = build_auth_context(settings, redis)
    # Encryption at rest (crypto/vault.py): every user's content sealed under their data key.
    app.state.vault = KeyVault(key_store(settings), broadcast=app.state.auth.broadcast)
    app.state.mfa = MfaContext.build(
        settings.resolved_secret_key(), app.state.auth.cache, app.state.vault
    )
    app.state.tools = builtin_tools()
    app.state.agents = AgentRegistry.from_settings(settings, known_tools=app.state.tools.names())
    app.state.auth.permissions.add_agents(agent.id for agent in app.state.agents.agents)
    app.state.on_access_denied = record_access_denied  # every 403 is audited
    # Sign-in lockout and IP rules (throttle/): counters in Redis when there is one.
    app.state.throttle, app.state.ip_rules = build_throttle(
        settings,
        database,
        redis=redis,
        broadcast=app.state.auth.broadcast,
        notifier=lambda: getattr(app.state, "notify", None),
    )
    # Budgets (ratelimit/): counted in Redis when there is one, so every process shares them.
    app.state.rate_limits = build_rate_limits(settings, redis)
    app.state.on_principal = count_api_request  # every signed-in request counts
    # Uploaded files (files/): sealed blobs under the data directory, attached to messages.
    app.state.blobs = FileBlobs(settings.data_dir / "files")
    app.state.file_limits = FileLimits.from_settings(settings)
    app.state.attachments = FileAttachments(
        vault=app.state.vault,
        blobs=app.state.blobs,
        context_tokens=settings.file_context_tokens,
    )
    run_store = RunStore(
        database,
        app.state.vault,
        lease_seconds=settings.job_lease_seconds,
        attachments=app.state.attachments,
    )
    models = ModelCatalog(settings, app.state.agents)
    # Memories (memories/): given to each run's prompt, extracted after each completed run.
    memories = app.state.memories = RunMemories(
        database=database,
        vault=app.state.vault,
        agents=app.state.agents,
        models=models,
        prompt_chars=settings.memory_prompt_chars,
    )
    # Titles (folders/titles.py): asked of the agent's model after a thread's first run.
    titles = app.state.titles = ThreadTitles(
        database=database,
        vault=app.state.vault,
        agents=app.state.agents,
        models=models,
        enabled=settings.generated_titles,
    )
    run_manager = RunManager(store=run_store, tool_log=tool_call_log(settings))
    bus: EventBus = (
        RedisBus(
            redis,
            max_events=settings.run_stream_max_events,
            ttl_seconds=settings.run_stream_ttl_seconds,
        )
        if redis is not None
        else MemoryBus()
    )
    # One try to execute, one more that only closes the run if its worker died.
    run_job = JobDefinition(
        RUN_JOB, lambda run_id: runs.execute(uuid.UUID(run_id)), tries=2, timeout_seconds=None
    )
    notify = app.state.notify = Notifications.from_settings(settings, database=database)
    # Waiting runs told over email and Slack (feedback/), answered there.
    feedback = app.state.feedback = Feedback.from_settings(
        settings, database=database, vault=app.state.vault, notify=notify
    )
    job_definitions = [
        run_job,
        JobDefinition(MEMORY_JOB, lambda run_id: memories.extract(uuid.UUID(run_id)), tries=2),
        JobDefinition(
            TITLE_JOB,
            lambda run_id: titles.generate(uuid.UUID(run_id)),
            tries=1,  # a failed title keeps the first words: nothing to retry for
            timeout_seconds=TITLE_SECONDS + 30,
        ),
        JobDefinition(
            SEND_RESET_JOB,
            lambda email, base_url: AccountLinks(
                database, app.state.auth, app.state.notify
            ).send_reset_job(email, base_url),
        ),
        JobDefinition(
            "purge_expired_sessions",
            lambda: purge_expired_sessions(database),
            cron=PURGE_CRON,
        ),
        JobDefinition(
            DELIVER_JOB,
            lambda message_id: notify.deliver(uuid.UUID(message_id)),
            tries=1,  # a failed try is retried by the message's own back-off (notify/service.py)
            timeout_seconds=DELIVER_TIMEOUT_SECONDS,
        ),
        JobDefinition(SWEEP_JOB, lambda: notify.sweep(), tries=1, cron=SWEEP_CRON),
        JobDefinition(
            STATUS_JOB,
            lambda message_id: notify.check_status(uuid.UUID(message_id)),
            tries=1,  # a failed check is asked again by the sweep (notify/service.py)
            timeout_seconds=STATUS_TIMEOUT_SECONDS,
        ),
        JobDefinition(PURGE_NOTIFY_JOB, lambda: notify.purge(), cron=PURGE_NOTIFY_CRON),
        JobDefinition(
            RETENTION_JOB,
            lambda: Retention(database, days=settings.retention_days).purge(),
            cron=RETENTION_CRON,
        ),
        # Approvals past CONFIDE_APPROVAL_TIMEOUT count as denied; their runs go on.
        JobDefinition(EXPIRE_JOB, lambda: approvals.expire(), tries=1, cron=EXPIRE_CRON),
        JobDefinition(
            FEEDBACK_SEND_JOB, lambda approval_id: feedback.send(uuid.UUID(approval_id)), tries=1
        ),
        JobDefinition(
            FEEDBACK_RESOLVE_JOB, lambda approval_id: feedback.resolve(uuid.UUID(approval_id))
        ),
        JobDefinition(
            FEEDBACK_SWEEP_JOB, lambda: feedback.sweep(), tries=1, cron=FEEDBACK_SWEEP_CRON
        ),
        # Imports of threads (imports/job.py): resumed after the last conversation done.
        JobDefinition(
            IMPORT_JOB,
            lambda import_id: ImportJob(database=database, vault=app.state.vault).run(
                uuid.UUID(import_id)
            ),
            tries=IMPORT_TRIES,
            timeout_seconds=IMPORT_TIMEOUT_SECONDS,
        ),
    ]
    jobs: JobQueue = (
        SaqQueue(
            settings.redis_url,
            job_definitions,
            execute=executes_jobs,
            concurrency=concurrency or settings.job_concurrency,
            lease_seconds=settings.job_lease_seconds,
            shutdown_grace_seconds=settings.job_lease_seconds if worker else 0,
        )
        if settings.redis_url
        else InProcessQueue(job_definitions)
    )
    runs = app.state.runs = RunService(
        database=database,
        settings=settings,
        agents=app.state.agents,
        tools=app.state.tools,
        models=models,
        manager=run_manager,
        store=run_store,
        bus=bus,
        jobs=jobs,
        identity=ProcessIdentity.current(),
        # With the shared queue, runs this process starts are still executed here unless
        # CONFIDE_JOBS=external (docs/architecture.md, "A run across processes").
        local_jobs=InProcessQueue([run_job])
        if settings.redis_url and settings.jobs == "inprocess" and not worker
        else None,
    )
    approvals = app.state.approvals = ApprovalService(
        database=database, vault=app.state.vault, runs=runs
    )
    app.state.jobs = jobs
    notify.jobs = jobs
    memories.jobs = jobs
    titles.jobs = jobs
    runs.titles = titles  # the title job after a thread's first completed run
    feedback.jobs, feedback.approvals = jobs, approvals
    approvals.listeners.append(feedback)
    runs.memories = memories  # the prompt's memories, the extraction after a completed run
    # MCP servers (mcp/): one connection (one process, for stdio) per server in this process.
    mcp = app.state.mcp = McpManager(
        app.state.agents.agents,
        tokens=UserTokens(database=database, vault=app.state.vault, environ=os.environ),
    )
    runs.mcp = mcp
    broadcast = app.state.auth.broadcast
    if broadcast is not None:
        # A cancel reaches the process executing the run at once (SAQ's abort, also sent,
        # takes a queued job out of the queue).
        broadcast.subscribe(
            CANCEL_CHANNEL,
            lambda data: broadcast.spawn(run_manager.cancel(uuid.UUID(data.decode()))),
        )
        runs.broadcast = broadcast
    sweeper = app.state.run_sweeper = RunSweeper(runs, lease_seconds=settings.job_lease_seconds)

    install_error_handlers(app)
    install_problem_schema(app)
    app.include_router(runs_router)  # first: routes are tried in order, a turn is the hot path
    app.include_router(approvals_router)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(mfa_router)
    app.include_router(passkeys_router)
    app.include_router(phones_router)
    app.include_router(account_router)
    app.include_router(agents_router)
    app.include_router(threads_router)
    app.include_router(files_router)
    app.include_router(folders_router)
    app.include_router(links_router)
    app.include_router(shared_links_router)
    app.include_router(imports_router)
    app.include_router(thread_export_router)
    app.include_router(memories_router)
    app.include_router(preferences_router)
    app.include_router(search_router)
    app.include_router(usage_router)
    app.include_router(admin_router)
    app.include_router(ip_rules_router)
    app.include_router(audit_router)
    app.include_router(privacy_router)
    app.include_router(channels_router)
    app.include_router(slack_router)
    app.include_router(feedback_pages_router)
    app.include_router(privacy_admin_router)
    app.include_router(mcp_admin_router)
    app.include_router(mcp_router)
    app.include_router(websocket_router)
    install_web_app(app, settings.web_dir)

    # Inside CORS and the hygiene middleware: a 429 it answers gets their headers too.
    app.add_middleware(RateLimitMiddleware, limits=app.state.rate_limits)
    # A blocked address is refused before anything else of the app runs (403 ip_blocked).
    app.add_middleware(IpRulesMiddleware, rules=app.state.ip_rules)
    if settings.cors_origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
            max_age=600,
        )
    app.add_middleware(
        HttpHygieneMiddleware,
        max_body_bytes=settings.max_body_bytes,
        # An upload's body: the file and its multipart framing (the file's own limit is
        # checked as it is read: 413 file_too_large).
        body_limits={
            "/api/files": settings.file_max_bytes + UPLOAD_OVERHEAD_BYTES,
            "/api/imports": settings.import_max_bytes + IMPORT_OVERHEAD_BYTES,
        },
        hsts=settings.is_production,
        allowed_hosts=AllowedHosts(settings.effective_allowed_hosts),
        docs_paths=(DOCS_PATH, f"{DOCS_PATH}/oauth2-redirect") if settings.docs_on else (),
        docs_csp=_docs_csp(),
    )
    return app


def _docs_csp() -> str:
    """Swagger UI's page loads its assets from a CDN and starts with an inline script."""
    defaults = inspect.signature(openapi_docs.get_swagger_ui_html).parameters
    hosts = sorted(
        {
            f"{urlsplit(str(defaults[name].default)).scheme}://"
            f"{urlsplit(str(defaults[name].default)).netloc}"
            for name in ("swagger_js_url", "swagger_css_url", "swagger_favicon_url")
        }
    )
    sources = " ".join(hosts)
    return (
        f"default-src 'self'; script-src 'self' 'unsafe-inline' {sources}; "
        f"style-src 'self' 'unsafe-inline' {sources}; img-src 'self' data: {sources}; "
        "frame-ancestors 'none'"
    )


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (each worker reads the same environment)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
