"""`confide search reindex`: rebuild the blind index from the stored text."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from confide.config import Settings

search_app = typer.Typer(help="The search index.", no_args_is_help=True)

REINDEX_HINT = (
    "The search index is empty but messages are stored (written before it existed): "
    "run `confide search reindex` to make them searchable."
)

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


@search_app.command("reindex")
def reindex(
    email: Annotated[
        str | None, typer.Option(help="Only this user's threads (default: everyone's).")
    ] = None,
) -> None:
    """Rebuild the search index of one user's threads, or of everyone's: for what was written
    before the index existed (upgrading to 0015). Safe to stop and run again."""
    from confide.cli import _prepare_database, _settings

    settings = _settings()
    asyncio.run(_prepare_database(settings))
    threads, rows = asyncio.run(_reindex(settings, email))
    out.print(f"Reindexed {threads} threads ({rows} index rows).", markup=False)


async def _reindex(settings: Settings, email: str | None) -> tuple[int, int]:
    from sqlalchemy import select

    from confide.auth.emails import email_key
    from confide.auth.models import User
    from confide.crypto.keystore import key_store
    from confide.crypto.vault import KeyVault
    from confide.db.engine import Database
    from confide.search.reindex import reindex_user, thread_total, users_to_index

    database = Database.from_settings(settings)
    vault = KeyVault(key_store(settings))
    try:
        only = None
        if email is not None:
            async with database.connect() as conn:
                only = await conn.scalar(select(User.id).where(User.email_key == email_key(email)))
            if only is None:
                err.print(f"No account has the email {email}.", markup=False)
                raise typer.Exit(1)
        users = await users_to_index(database, only=only)
        total = await thread_total(database, only=only)
        rows = 0
        with Progress(
            TextColumn("Indexing threads"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
            transient=True,
            disable=not out.is_terminal,
        ) as progress:
            task = progress.add_task("reindex", total=total)
            for user_id in users:
                rows += await reindex_user(
                    database, vault, user_id, on_thread=lambda: progress.advance(task)
                )
        return total, rows
    finally:
        await database.dispose()


async def reindex_hint(settings: Settings) -> str | None:
    """What `confide serve` says when stored messages have no index rows at all."""
    from confide.db.engine import Database
    from confide.search.repository import index_is_behind

    database = Database.from_settings(settings)
    try:
        async with database.connect() as conn:
            return REINDEX_HINT if await index_is_behind(conn) else None
    finally:
        await database.dispose()
