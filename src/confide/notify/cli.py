"""`confide outbox [--follow]`: the messages the outbox channel wrote, newest last."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from confide.notify.outbox import OutboxEntry, read_outbox

out = Console(soft_wrap=True, highlight=False)

FOLLOW_POLL_SECONDS = 0.5


def outbox(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new messages until Ctrl-C.")
    ] = False,
) -> None:
    """List the emails and SMS written to <data dir>/outbox/ (CONFIDE_EMAIL_CHANNEL=outbox,
    CONFIDE_SMS_CHANNEL=outbox)."""
    from confide.cli import _settings

    directory = _settings(files="leave").data_dir / "outbox"
    entries = read_outbox(directory)
    if entries:
        out.print(entries_table(entries))
    elif not follow:
        out.print(f"The outbox is empty ({directory}).", markup=False)
    if not follow:
        return
    seen = {entry.path.name for entry in entries}
    try:
        while True:
            fresh = _new_entries(directory, seen)
            if fresh:
                out.print(entries_table(fresh, title=None))
            time.sleep(FOLLOW_POLL_SECONDS)
    except KeyboardInterrupt:
        return


def _new_entries(directory: Path, seen: set[str]) -> list[OutboxEntry]:
    fresh = [entry for entry in read_outbox(directory) if entry.path.name not in seen]
    seen.update(entry.path.name for entry in fresh)
    return fresh


def entries_table(entries: list[OutboxEntry], *, title: str | None = "Outbox") -> Table:
    table = Table("Time (UTC)", "Kind", "Recipient", "Subject / purpose", "File", title=title)
    for entry in entries:
        about = f"{entry.subject} ({entry.purpose})" if entry.subject else entry.purpose
        table.add_row(
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.kind,
            entry.recipient,
            about,
            str(entry.path),
        )
    return table
