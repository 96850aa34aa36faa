"""The hash chain: `verify_chain` (on SQLite and PostgreSQL) finds an edited, a removed and an
added row, and `confide audit verify` (a real process, on SQLite) says so and exits 1."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from confide.audit.models import AuditEvent, AuditHead
from confide.audit.service import GENESIS_HASH, Origin, record, row_hash
from confide.audit.verify import ChainReport, verify_chain
from confide.db.engine import Database
from confide.db.migrate import upgrade
from tests.conftest import run_async
from tests.test_cli import cli_env, confide

EVENTS = 5  # the command tests name event ids 1 to 5 in their SQL


async def append(database: Database, count: int, start: int = 0) -> None:
    """`count` events, each in a transaction of its own, as requests write them."""
    for i in range(start, start + count):
        async with database.begin() as conn:
            await record(
                conn,
                action="test.event",
                actor=f"user{i}@example.org",
                target_type="thing",
                target_id=str(i),
                origin=Origin(ip="10.0.0.1", user_agent="pytest", request_id=f"request-{i}"),
                detail={"i": i, "names": ["a", "b"]},
            )


async def chain(database: Database) -> list[dict[str, Any]]:
    async with database.connect() as conn:
        rows = await conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.id))
        return [dict(row) for row in rows.mappings()]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A clean migrated database (each backend) holding a trail of EVENTS events."""
    db = Database(database_url)
    await append(db, EVENTS)
    yield db
    await db.dispose()


async def tamper(database: Database, statement: Any) -> None:
    async with database.begin() as conn:
        await conn.execute(statement)


def assert_broken(report: ChainReport, at: int, *words: str) -> None:
    assert not report.intact
    assert report.broken_at == at, report
    assert report.reason is not None
    for word in words:
        assert word in report.reason, report.reason


async def test_an_intact_chain(database: Database) -> None:
    report = await verify_chain(database)
    assert report.intact, report
    assert report.events == EVENTS
    rows = await chain(database)
    assert report.last_hash == rows[-1]["hash"]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
        assert after["id"] > before["id"]


async def test_an_empty_trail_is_intact(database_url: str) -> None:
    db = Database(database_url)
    try:
        report = await verify_chain(db)
    finally:
        await db.dispose()
    assert (report.intact, report.events, report.last_hash) == (True, 0, GENESIS_HASH)


async def test_an_edited_row(database: Database) -> None:
    victim = (await chain(database))[2]
    await tamper(
        database,
        update(AuditEvent).where(AuditEvent.id == victim["id"]).values(actor="x@example.org"),
    )
    assert_broken(await verify_chain(database), victim["id"], "content", "altered")


async def test_an_edited_row_given_a_matching_hash(database: Database) -> None:
    rows = await chain(database)
    victim = {**rows[2], "outcome": "failure"}
    forged = row_hash(victim, victim["prev_hash"])
    await tamper(
        database,
        update(AuditEvent)
        .where(AuditEvent.id == victim["id"])
        .values(outcome="failure", hash=forged),
    )
    assert_broken(
        await verify_chain(database), rows[3]["id"], f"does not follow event {victim['id']}"
    )


async def test_an_edited_time_is_found(database: Database) -> None:
    victim = (await chain(database))[1]
    later = victim["at"].replace(microsecond=(victim["at"].microsecond + 1) % 1_000_000)
    await tamper(database, update(AuditEvent).where(AuditEvent.id == victim["id"]).values(at=later))
    assert_broken(await verify_chain(database), victim["id"], "content")


async def test_a_deleted_row_in_the_middle(database: Database) -> None:
    rows = await chain(database)
    await tamper(database, delete(AuditEvent).where(AuditEvent.id == rows[2]["id"]))
    assert_broken(
        await verify_chain(database), rows[3]["id"], f"does not follow event {rows[1]['id']}"
    )


async def test_a_deleted_first_row(database: Database) -> None:
    rows = await chain(database)
    await tamper(database, delete(AuditEvent).where(AuditEvent.id == rows[0]["id"]))
    assert_broken(await verify_chain(database), rows[1]["id"], "does not start the chain")


async def test_a_deleted_last_row(database: Database) -> None:
    rows = await chain(database)
    await tamper(database, delete(AuditEvent).where(AuditEvent.id == rows[-1]["id"]))
    assert_broken(
        await verify_chain(database), rows[-1]["id"], "missing", f"ends at event {rows[-2]['id']}"
    )


async def test_every_row_deleted(database: Database) -> None:
    rows = await chain(database)
    await tamper(database, delete(AuditEvent))
    assert_broken(await verify_chain(database), rows[-1]["id"], "missing", "ends at nothing")


async def test_a_row_deleted_then_a_new_event_appended(database: Database) -> None:
    rows = await chain(database)
    await tamper(database, delete(AuditEvent).where(AuditEvent.id == rows[-1]["id"]))
    await append(database, 1, start=EVENTS)
    newest = (await chain(database))[-1]
    assert_broken(
        await verify_chain(database), newest["id"], f"does not follow event {rows[-2]['id']}"
    )


def forged_row(after: dict[str, Any], prev_hash: str | None = None) -> dict[str, Any]:
    """A row someone adds by hand after `after`: linked to it unless told otherwise, its
    hash computed as Confide would."""
    row = {**after, "id": after["id"] + 1000, "actor": "mallory@example.org"}
    row["prev_hash"] = after["hash"] if prev_hash is None else prev_hash
    row["hash"] = row_hash(row, row["prev_hash"])
    return row


async def test_an_inserted_row_chained_correctly_is_found_by_the_head(
    database: Database,
) -> None:
    last = (await chain(database))[-1]
    forged = forged_row(last)
    await tamper(database, insert(AuditEvent).values(**forged))
    assert_broken(
        await verify_chain(database), forged["id"], f"after the chain's head (event {last['id']})"
    )


async def test_an_inserted_row_with_any_other_link(database: Database) -> None:
    rows = await chain(database)
    forged = forged_row(rows[-1], prev_hash="f" * 64)
    await tamper(database, insert(AuditEvent).values(**forged))
    await tamper(database, update(AuditHead).values(last_id=forged["id"], last_hash=forged["hash"]))
    assert_broken(
        await verify_chain(database), forged["id"], f"does not follow event {rows[-1]['id']}"
    )


async def test_no_two_rows_follow_the_same_one(database: Database) -> None:
    """The chain cannot fork: a second row after the same predecessor is refused."""
    rows = await chain(database)
    with pytest.raises(Exception, match=r"(?i)unique"):
        await tamper(database, insert(AuditEvent).values(**forged_row(rows[1])))


async def test_an_edited_head(database: Database) -> None:
    last = (await chain(database))[-1]
    await tamper(database, update(AuditHead).values(last_hash="e" * 64))
    assert_broken(await verify_chain(database), last["id"], "head does not name it")


async def test_a_missing_head(database: Database) -> None:
    await tamper(database, delete(AuditHead))
    assert_broken(await verify_chain(database), (await chain(database))[-1]["id"], "head")


async def test_events_appended_during_the_walk_are_checked_too(database: Database) -> None:
    """The head, read after the walk, names a newer event: the walk goes on to it."""
    seen: list[int] = []

    def on_batch(count: int) -> None:
        seen.append(count)
        if sum(seen) == EVENTS:  # the walk has reached the end it saw: another event lands
            other = Database(database.url)

            async def write() -> None:
                try:
                    await append(other, 1, start=EVENTS)
                finally:
                    await other.dispose()

            run_async(write)

    report = await verify_chain(database, batch_size=2, on_batch=on_batch)
    assert report.intact, report
    assert report.events == EVENTS + 1
    assert seen == [2, 2, 1, 1]


# `confide audit verify`, as an operator runs it -------------------------------------------------


@pytest.fixture(scope="module")
def trail_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding a trail of EVENTS events, copied by each test."""
    path = tmp_path_factory.mktemp("trail") / "confide.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def build() -> None:
        await upgrade(url)
        db = Database(url)
        try:
            await append(db, EVENTS)
        finally:
            await db.dispose()

    run_async(build)
    return path


def verify_command(tmp_path: Path, trail_file: Path, *sql: str) -> tuple[int, str]:
    import sqlite3

    path = tmp_path / "confide.db"
    shutil.copyfile(trail_file, path)
    with sqlite3.connect(path) as conn:
        for statement in sql:
            conn.execute(statement)
    env = cli_env(tmp_path / "data", CONFIDE_DATABASE_URL=f"sqlite+aiosqlite:///{path}")
    result = confide("audit", "verify", cwd=tmp_path, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


def test_the_command_passes_an_intact_trail(tmp_path: Path, trail_file: Path) -> None:
    code, output = verify_command(tmp_path, trail_file)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == f"audit trail intact: {EVENTS} events"
    assert lines[1].startswith("last hash: ")
    assert len(lines[1].removeprefix("last hash: ")) == 64


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "UPDATE audit_events SET detail = '{}' WHERE id = 3",
            "audit trail broken at event 3: its content does not match its hash",
            id="edited",
        ),
        pytest.param(
            "DELETE FROM audit_events WHERE id = 3",
            "audit trail broken at event 4: it does not follow event 2",
            id="deleted-middle",
        ),
        pytest.param(
            "DELETE FROM audit_events WHERE id = 5",
            "audit trail broken at event 5: it is missing",
            id="deleted-last",
        ),
        pytest.param(
            "INSERT INTO audit_events (id, at, action, outcome, detail, prev_hash, hash) "
            "SELECT 6, at, action, outcome, detail, hash, 'forged' FROM audit_events WHERE id = 5",
            "audit trail broken at event 6: its content does not match its hash",
            id="inserted",
        ),
    ],
)
def test_the_command_reports_the_first_broken_link(
    tmp_path: Path, trail_file: Path, sql: str, expected: str
) -> None:
    code, output = verify_command(tmp_path, trail_file, sql)
    assert code == 1, output
    assert output.splitlines() == [output.splitlines()[0]]
    assert output.startswith(expected), output
