"""`confide keys ...`: the master key ring (rotate, rewrap, retire, status).

With the generated key file (the zero-config default) `rotate` writes the new ring and then
re-wraps every data key under the new key; running servers read the file again when they meet
a key id they do not have. With CONFIDE_MASTER_KEYS the ring is the operator's: `rotate`
prints the new value to set on every process, and `rewrap` (run once every process has it)
re-wraps. `retire` refuses a key that still wraps any data key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from confide.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    Begin = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

T = TypeVar("T")

keys_app = typer.Typer(help="Master keys of encryption at rest.", no_args_is_help=True)

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


@keys_app.command("status")
def status() -> None:
    """The ring's key ids (current first) and how many data keys each wraps."""
    from confide.cli import _prepare_database, _settings
    from confide.crypto.keystore import key_store
    from confide.crypto.vault import wrapped_under

    settings = _settings()
    asyncio.run(_prepare_database(settings))
    ring = key_store(settings).load()
    counts = asyncio.run(_with_database(settings, wrapped_under))
    source = "CONFIDE_MASTER_KEYS" if settings.master_keys is not None else "the key file"
    out.print(f"key ring ({source}), current first:", markup=False)
    for key_id in ring.key_ids:
        out.print(f"  {key_id}: wraps {counts.pop(key_id, 0)} data keys", markup=False)
    for key_id, count in counts.items():
        out.print(f"  {key_id} (NOT IN THE RING): wraps {count} data keys", markup=False)


@keys_app.command("rotate")
def rotate(
    key_id: Annotated[
        str | None, typer.Option(help="The new key's id (default: the date and a random tag).")
    ] = None,
) -> None:
    """Add a new current master key and re-wrap every data key under it."""
    from confide.cli import _prepare_database, _settings
    from confide.crypto.errors import KeyRingError
    from confide.crypto.keystore import rotate_keys

    settings = _settings()
    asyncio.run(_prepare_database(settings))
    try:
        change = rotate_keys(settings, key_id=key_id)
    except KeyRingError as exc:
        err.print(f"Cannot rotate: {exc}", markup=False)
        raise typer.Exit(2) from None
    if change.value_to_set is not None:
        out.print(
            f"New master key {change.key_id}. Set this CONFIDE_MASTER_KEYS on every process "
            "(keep it secret), restart them, then run `confide keys rewrap`:",
            markup=False,
        )
        out.print(change.value_to_set.get_secret_value(), markup=False)
        return
    out.print(f"New master key {change.key_id} written to {change.written_to}.", markup=False)
    _rewrap(settings)


@keys_app.command("rewrap")
def rewrap() -> None:
    """Re-wrap every data key not under the ring's current master key."""
    from confide.cli import _prepare_database, _settings

    settings = _settings()
    asyncio.run(_prepare_database(settings))
    _rewrap(settings)


@keys_app.command("retire")
def retire(key_id: Annotated[str, typer.Argument(help="The master key id to drop.")]) -> None:
    """Drop an old master key from the ring, once no data key is wrapped under it."""
    from confide.cli import _prepare_database, _settings
    from confide.crypto.errors import KeyRingError
    from confide.crypto.keystore import retire_key
    from confide.crypto.vault import wrapped_under

    settings = _settings()
    asyncio.run(_prepare_database(settings))
    still = asyncio.run(_with_database(settings, wrapped_under)).get(key_id, 0)
    if still:
        err.print(
            f"{key_id} still wraps {still} data keys: run `confide keys rewrap` first.",
            markup=False,
        )
        raise typer.Exit(2)
    try:
        change = retire_key(settings, key_id)
    except KeyRingError as exc:
        err.print(f"Cannot retire: {exc}", markup=False)
        raise typer.Exit(2) from None
    if change.value_to_set is not None:
        out.print(f"Retired {key_id}. Set this CONFIDE_MASTER_KEYS on every process:", markup=False)
        out.print(change.value_to_set.get_secret_value(), markup=False)
        return
    out.print(f"Retired {key_id} from {change.written_to}.", markup=False)


def _rewrap(settings: Settings) -> None:
    from confide.crypto.keystore import key_store
    from confide.crypto.vault import rewrap_all

    ring = key_store(settings).load()
    with Progress(
        TextColumn("Re-wrapping data keys"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=not out.is_terminal,
    ) as progress:
        task = progress.add_task("rewrap", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        count = asyncio.run(
            _with_database(settings, lambda begin: rewrap_all(begin, ring, on_progress=advance))
        )
    out.print(f"Re-wrapped {count} data keys under {ring.current.key_id}.", markup=False)


async def _with_database(settings: Settings, work: Callable[[Begin], Awaitable[T]]) -> T:
    from confide.db.engine import Database

    database = Database.from_settings(settings)
    try:
        return await work(database.begin)
    finally:
        await database.dispose()
