"""Checking the hash chain: every event's hash, every link, and the head naming the last.

The walk runs in batches, each its own short read (no snapshot is held over a long table),
and copes with events appended meanwhile: an event and the head's update commit together,
so once the walk has passed event N the head names N or a later event. A head naming a
later event than the walk has seen means either events appended since, which the walk then
goes on to check, or missing newest events, when there are none to go on to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from confide.audit import repository
from confide.audit.service import GENESIS_HASH, row_hash
from confide.db.engine import Database

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `verify_chain` found: the events checked, and the first broken link, if any."""

    events: int
    last_hash: str
    broken_at: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def count_events(database: Database) -> int:
    """How many events the trail holds (for a progress bar)."""
    async with database.connect() as conn:
        return await repository.count_events(conn)


async def verify_chain(
    database: Database,
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> ChainReport:
    """Walk the trail in id order from its first event, recomputing each event's hash and
    checking it follows the one before; then check the head names the last event. Returns
    at the first broken link. `on_batch` hears how many events each batch checked."""
    last_id, last_hash, checked = 0, GENESIS_HASH, 0

    def broken(at: int, reason: str) -> ChainReport:
        return ChainReport(checked, last_hash, broken_at=at, reason=reason)

    async with database.connect() as conn:
        while True:
            while True:
                rows = await repository.chain_batch(conn, after_id=last_id, limit=batch_size)
                await conn.commit()  # each batch a read of its own
                for row in rows:
                    if row["prev_hash"] != last_hash and not last_id:
                        return broken(
                            row["id"],
                            "the first event does not start the chain (the events before it "
                            "were removed, or it was altered)",
                        )
                    if row["prev_hash"] != last_hash:
                        return broken(
                            row["id"],
                            f"it does not follow event {last_id} (an event between them was "
                            f"removed, or event {last_id} was altered)",
                        )
                    if row_hash(row, row["prev_hash"]) != row["hash"]:
                        return broken(row["id"], "its content does not match its hash (altered)")
                    last_id, last_hash, checked = row["id"], row["hash"], checked + 1
                if on_batch is not None and rows:
                    on_batch(len(rows))
                if len(rows) < batch_size:
                    break
            head = await repository.head(conn)
            await conn.commit()
            if head is None:
                return broken(last_id, "the chain's head (table audit_head) is missing")
            head_id, head_hash = head
            if head_id == last_id:
                if head_hash != last_hash:
                    return broken(last_id, "the chain's head does not name it by its hash")
                return ChainReport(checked, last_hash)
            if head_id < last_id:
                extra = await repository.first_id_after(conn, head_id)
                await conn.commit()
                return broken(
                    extra or last_id,
                    f"it comes after the chain's head (event {head_id}): added outside Confide",
                )
            if await repository.first_id_after(conn, last_id) is None:
                ends = f"event {last_id}" if last_id else "nothing"
                return broken(
                    head_id, f"it is missing: the chain's head names it, the trail ends at {ends}"
                )
            await conn.commit()  # events appended since the walk: check them too
