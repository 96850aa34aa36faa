"""The `confide` command: serve, worker, db upgrade, users create, config check, openapi,
outbox."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from confide.admin.cli import roles_app
from confide.agents.mockllm import register_cli as register_mock_llm
from confide.audit.cli import audit_app
from confide.config import Settings, SettingsError, load_settings
from confide.crypto.cli import keys_app
from confide.notify.cli import outbox as notify_outbox
from confide.search.cli import reindex_hint, search_app

app = typer.Typer(help="Confide: self-hosted multi-user AI agent chat.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(config_app, name="config")
app.add_typer(audit_app, name="audit")
app.add_typer(roles_app, name="roles")
app.add_typer(search_app, name="search")
app.add_typer(keys_app, name="keys")

out = Console()
err = Console(stderr=True)

# How long a stopping server waits for open requests before cutting them.
SHUTDOWN_GRACE_SECONDS = 10
# There are no built-in credentials: the first administrator comes from the shell.
NO_ADMIN_HINT = (
    "No administrator yet: create one with: confide users create --admin --email you@example.org"
)


def _settings(
    *, files: Literal["prepare", "check", "leave"] = "prepare", **overrides: Any
) -> Settings:
    """Load settings or stop with one line per problem.

    `files`: "prepare" makes the data directory and the embedded database file private
    (created 0700 and 0600, wider modes narrowed), for the commands that write there; "check"
    only reports what other users may read (`config check`); "leave" touches nothing.
    """
    from confide.datadir import data_dir_problems, secure_data_dir
    from confide.logs import configure_logging

    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
        if files == "prepare":
            configure_logging(settings.log_level)  # narrowing a mode is a logged warning
            secure_data_dir(settings, create=True)
        elif files == "check" and (problems := data_dir_problems(settings)):
            raise SettingsError(problems)
        settings.resolved_secret_key()  # generated once here, before workers could race to
        _check_agents(settings)
        return settings
    except SettingsError as exc:
        err.print("[bold red]Confide cannot start; fix these settings:[/]")
        for line in exc.problems:
            err.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def _check_agents(settings: Settings) -> None:
    """A bad agents file stops start-up here, one line per problem, naming the line."""
    from confide.agents.definitions import AgentFileError
    from confide.agents.registry import AgentRegistry
    from confide.agents.tools import builtin_tools

    try:
        AgentRegistry.from_settings(settings, known_tools=builtin_tools().names())
    except AgentFileError as exc:
        raise SettingsError(exc.problems) from None


async def _prepare_database(settings: Settings) -> None:
    """Migrate the embedded SQLite database; insist a server database is already migrated."""
    from confide.crypto.keystore import load_key_ring
    from confide.db.migrate import current_revision, head_revision, upgrade

    url = settings.effective_database_url
    if settings.uses_embedded_database:
        with out.status("Migrating the embedded database..."):
            await upgrade(url, key_ring=load_key_ring(settings))
        return
    current, head = await current_revision(url), head_revision()
    if current != head:
        err.print(
            f"[bold red]The database is at revision {current or 'none'}, not {head}.[/] "
            "Run `confide db upgrade` first."
        )
        raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind [env: CONFIDE_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: CONFIDE_PORT].")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API (and, once built, the web app)."""
    import uvicorn

    settings = _settings(host=host, port=port)  # also configures logging
    asyncio.run(_prepare_database(settings))
    if not asyncio.run(has_active_admin(settings)):
        out.print(NO_ADMIN_HINT, highlight=False)
    if hint := asyncio.run(reindex_hint(settings)):
        out.print(hint, highlight=False)
    # Workers build their app from the environment; make it say what the options said.
    os.environ["CONFIDE_HOST"], os.environ["CONFIDE_PORT"] = settings.host, str(settings.port)
    out.print(f"Confide serving on http://{settings.host}:{settings.port} ({settings.env.value})")
    uvicorn.run(
        "confide.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,
        access_log=False,
        server_header=False,
        # Requests still open then (a client waiting on a slow model) are cut; the shutdown
        # then cancels the runs in progress, each closed validly.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


async def has_active_admin(settings: Settings) -> bool:
    """Whether an active account holds the `admin` role."""
    from confide.admin.repository import active_admins
    from confide.db.engine import Database

    database = Database.from_settings(settings)
    try:
        async with database.connect() as conn:
            return bool(await active_admins(conn))
    finally:
        await database.dispose()


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs executed at once [env: CONFIDE_JOB_CONCURRENCY]."),
    ] = None,
) -> None:
    """Execute jobs (runs included) from the shared queue, until stopped (SIGTERM, Ctrl-C).

    Needs CONFIDE_REDIS_URL. On SIGTERM it takes no new job and gives the runs in progress up to
    CONFIDE_JOB_LEASE_SECONDS to finish before closing them as cancelled."""
    settings = _settings()  # also configures logging
    if not settings.redis_url:
        err.print(
            "[bold red]confide worker needs CONFIDE_REDIS_URL[/] (the queue it shares with "
            "`confide serve`); without it `confide serve` executes every job itself."
        )
        raise typer.Exit(2)
    asyncio.run(_prepare_database(settings))
    asyncio.run(_work(settings, concurrency))


async def _work(settings: Settings, concurrency: int | None) -> None:
    import signal

    from confide.app import create_app

    application = create_app(settings, worker=True, concurrency=concurrency)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with application.router.lifespan_context(application):
        n = concurrency or settings.job_concurrency
        out.print(f"Confide worker executing up to {n} jobs at once ({settings.env.value})")
        await stop.wait()
        out.print("Stopping: no new jobs; finishing the ones in progress.")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (the latest by default)."""
    from confide.crypto.keystore import load_key_ring
    from confide.db.migrate import upgrade

    settings = _settings()

    def waiting() -> None:
        out.print("Another process is migrating this database; waiting for it to finish.")

    with out.status(f"Migrating to {revision}..."):
        asyncio.run(
            upgrade(
                settings.effective_database_url,
                revision,
                on_wait=waiting,
                key_ring=load_key_ring(settings),
            )
        )
    out.print("[green]Database is up to date.[/]")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(prompt=True, help="Email address.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator.")] = False,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the app.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    send_link: Annotated[
        bool,
        typer.Option(
            "--send-link",
            help="Mail the user a link to choose their password (valid 7 days) instead.",
        ),
    ] = False,
) -> None:
    """Create a user (works even when registration is closed)."""
    from confide.errors import ConfideError

    settings = _settings()
    if send_link:
        # Nobody knows it: the account is signed into only once its owner has set a password.
        password = secrets.token_urlsafe(32)
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user_id, mailed = asyncio.run(
            _create_user(settings, email, password, display_name, admin, send_link=send_link)
        )
    except ConfideError as exc:
        err.print(f"[bold red]{exc.code}:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    except ValueError as exc:
        err.print(f"[bold red]invalid_email:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    role = "administrator" if admin else "user"
    out.print(f"[green]Created {role}[/] {email.strip()} ({user_id})", highlight=False)
    if send_link:
        out.print(
            "Mailed a set-password link."
            if mailed
            else "The set-password link is queued: the server delivers it (see `confide outbox`).",
            highlight=False,
        )


async def _create_user(
    settings: Settings,
    email: str,
    password: str,
    display_name: str | None,
    admin: bool,
    *,
    send_link: bool = False,
) -> tuple[str, bool]:
    """The new user's id, and whether its set-password link (if asked for) went out."""
    from sqlalchemy import select

    from confide.access.repository import users_role_names
    from confide.account.service import AccountService
    from confide.app import build_auth_context
    from confide.audit.service import Origin, record
    from confide.auth.emails import check_email
    from confide.auth.service import AuthService
    from confide.db.engine import Database
    from confide.notify.models import OutboxMessage
    from confide.notify.service import Notifications

    await _prepare_database(settings)
    database = Database.from_settings(settings)
    notify = Notifications.from_settings(settings, database=database)
    ctx = build_auth_context(settings)
    message_id = None
    try:
        async with database.session() as db:
            user = await AuthService(db, ctx).register(
                email=check_email(email),
                password=password,
                display_name=display_name,
                is_admin=admin,
                allow_when_closed=True,
                verified=True,  # made by someone with shell access, who vouches for the address
            )
            await db.flush()
            roles = (await users_role_names(db, [user.id]))[user.id]
            await record(
                db,
                action="auth.registered",
                actor="cli",
                target_type="user",
                target_id=user.id,
                origin=Origin.of(None),
                detail={"policy": "cli", "status": user.status, "roles": roles},
            )
            if send_link:
                base_url = settings.public_url or f"http://{settings.host}:{settings.port}"
                message_id = await AccountService(db, ctx, notify).send_set_password(
                    user, base_url=base_url
                )
        mailed = False
        if message_id is not None:
            # Delivered from here at once; if the mail server cannot take it now, the
            # server's delivery job retries it (it is queued in the database).
            await notify.deliver(message_id)
            async with database.session() as db:
                status = await db.scalar(
                    select(OutboxMessage.status).where(OutboxMessage.id == message_id)
                )
            mailed = status == "sent"
        return str(user.id), mailed
    finally:
        await database.dispose()


@config_app.command("check")
def config_check() -> None:
    """Validate the settings (as `serve` would) and show them, secrets masked."""
    settings = _settings(files="check")
    table = Table("Setting", "Value", title=f"Confide settings ({settings.env.value})")
    for name, value in settings.model_dump().items():
        shown = "[set]" if "secret" in name and value else str(value)
        if name == "secret_key" and value is None:
            shown = f"(generated in {settings.data_dir}/secret_key)"
        if name == "database_url":
            shown = _mask_url(settings.effective_database_url)
        if name == "allowed_hosts" and not value:
            shown = f"(default) {', '.join(settings.effective_allowed_hosts)}"
        table.add_row(f"CONFIDE_{name.upper()}", shown)
    out.print(table)
    out.print("[green]Settings are valid.[/]")


def openapi_json(settings: Settings) -> str:
    """The API's OpenAPI schema as stable text: indented, keys sorted, one final newline."""
    from confide.app import create_app

    return json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True) + "\n"


@app.command("openapi")
def openapi_command(
    output: Annotated[
        Path | None, typer.Option(help="Write the schema to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the OpenAPI schema (JSON), from which the web app's typed client is generated."""
    # A throwaway key: the schema does not depend on it, and no key file is written.
    text = openapi_json(_settings(files="leave", secret_key=secrets.token_urlsafe(48)))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


register_mock_llm(app)
app.command("outbox")(notify_outbox)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
