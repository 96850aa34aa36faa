"""The pool settings (CONFIDE_DB_*): their defaults, their limits, what reaches the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.pool import QueuePool

from confide.config import Settings, SettingsError, load_settings
from confide.db.engine import SQLITE_POOL_SIZE, Database, ServerPool
from tests.conftest import TEST_SECRET

POSTGRES = "postgresql+asyncpg://confide@db.internal:5432/confide"


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_key=TEST_SECRET, **values)


def test_a_database_from_a_url_alone_is_pooled_as_the_default_settings_say(
    tmp_path: Path,
) -> None:
    assert ServerPool() == ServerPool.from_settings(settings(tmp_path))


def test_the_settings_reach_the_engine(tmp_path: Path) -> None:
    chosen = settings(
        tmp_path,
        database_url=POSTGRES,
        db_pool_size=3,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.5,
        db_pool_recycle_seconds=0,
        db_statement_timeout_ms=2500,
        db_connect_timeout_seconds=1.5,
    )
    options = ServerPool.from_settings(chosen).engine_options(POSTGRES)
    assert options == {
        "pool_size": 3,
        "max_overflow": 0,
        "pool_timeout": 0.5,
        "pool_recycle": -1,  # 0: never
        "pool_pre_ping": False,  # db/engine.py checks connections at checkout itself
        "connect_args": {"timeout": 1.5, "server_settings": {"statement_timeout": "2500"}},
    }
    database = Database.from_settings(chosen)  # no connection is made until one is used
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool.timeout()) == (3, 0.5)


def test_sqlite_keeps_its_own_pool(tmp_path: Path) -> None:
    embedded = settings(tmp_path, db_pool_size=1, db_max_overflow=0)
    database = Database.from_settings(embedded)
    assert database.is_sqlite
    assert isinstance(database.engine.pool, QueuePool)
    assert database.engine.pool.size() == SQLITE_POOL_SIZE


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("db_pool_size", 0),
        ("db_max_overflow", -1),
        ("db_pool_timeout_seconds", 0),
        ("db_pool_recycle_seconds", -1),
        ("db_statement_timeout_ms", -1),
        ("db_connect_timeout_seconds", 0),
    ],
)
def test_out_of_range_values_are_refused_by_name(tmp_path: Path, variable: str, value: int) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, data_dir=tmp_path, **{variable: value})
    [problem] = refused.value.problems
    assert problem.startswith(f"CONFIDE_{variable.upper()}: ")
