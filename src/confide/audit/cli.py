"""`confide audit ...`: commands over the audit trail."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from confide.config import Settings

if TYPE_CHECKING:
    from confide.audit.verify import ChainReport

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)

out = Console(soft_wrap=True, highlight=False)

# A table this long shows a progress bar while it is checked (on a terminal only).
PROGRESS_FROM = 10_000


@audit_app.command("verify")
def verify() -> None:
    """Check the audit trail's hash chain: exits 0 when intact, 1 at the first broken link."""
    from confide.cli import _prepare_database, _settings

    settings = _settings()
    asyncio.run(_prepare_database(settings))
    report = asyncio.run(_verify(settings))
    if report.intact:
        out.print(f"audit trail intact: {report.events} events", markup=False)
        out.print(f"last hash: {report.last_hash}", markup=False)
        return
    out.print(f"audit trail broken at event {report.broken_at}: {report.reason}", markup=False)
    raise typer.Exit(1)


async def _verify(settings: Settings) -> ChainReport:
    from confide.audit.verify import count_events, verify_chain
    from confide.db.engine import Database

    database = Database.from_settings(settings)
    try:
        total = await count_events(database) if out.is_terminal else 0
        if total < PROGRESS_FROM:
            return await verify_chain(database)
        with Progress(
            TextColumn("Checking the audit trail"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
            transient=True,
        ) as progress:
            task = progress.add_task("verify", total=total)
            return await verify_chain(database, on_batch=lambda n: progress.advance(task, n))
    finally:
        await database.dispose()
