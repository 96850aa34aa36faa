"""`Database.read()`: a connection whose statements commit one by one on PostgreSQL (no BEGIN
and ROLLBACK round trips around a lone read), and that goes back to the pool transactional."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from confide.db.engine import Database, ServerPool


class Boom(Exception):
    pass


async def make_table_then_fail(database: Database) -> None:
    async with database.read() as conn:
        # A temporary table lives as long as the connection; made in a transaction that is
        # rolled back, it would be gone.
        await conn.execute(text("CREATE TEMPORARY TABLE read_probe (n integer)"))
        raise Boom


async def insert_then_fail(database: Database) -> None:
    async with database.begin() as conn:
        await conn.execute(text("INSERT INTO read_probe VALUES (1)"))
        raise Boom  # back in a transaction: this row is rolled back


async def test_a_read_connection_commits_each_statement_and_goes_back_transactional(
    postgres_migrated: str,
) -> None:
    # One pooled connection: the blocks below all get the same one.
    database = Database(postgres_migrated, pool=ServerPool(size=1, max_overflow=0))
    try:
        with pytest.raises(Boom):
            await make_table_then_fail(database)
        with pytest.raises(Boom):
            await insert_then_fail(database)
        async with database.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM read_probe"))).scalar_one()
        assert count == 0
    finally:
        await database.dispose()


async def test_a_read_connection_reads_what_is_committed(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.read() as conn:
            found = (await conn.execute(text("SELECT count(*) FROM roles"))).scalar_one()
        assert found == 2  # the migrations' two built-in roles
    finally:
        await database.dispose()
