"""Liveness (`/api/health`) and readiness (`/api/ready`)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from confide.app import create_app
from confide.config import Settings
from tests.conftest import FAST_HASH, TEST_HOSTS, TEST_SECRET, client_for
from tests.factories import assert_problem

UNREACHABLE = {
    "postgres-closed-port": "postgresql+asyncpg://postgres@127.0.0.1:1/nothing",
    "sqlite-missing-directory": "sqlite+aiosqlite:///{tmp}/no/such/directory/confide.db",
}


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_ready_when_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize("url", UNREACHABLE.values(), ids=UNREACHABLE.keys())
async def test_not_ready_when_database_is_unreachable(tmp_path: Path, url: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=url.format(tmp=tmp_path),
        secret_key=TEST_SECRET,
        allowed_hosts=TEST_HOSTS,
        **FAST_HASH,
    )
    app = create_app(settings)
    try:
        async with client_for(app) as client:
            response = await client.get("/api/ready")
            body = assert_problem(response, 503, "not_ready")
            assert body["detail"]
            # Operators read the cause in the logs; clients learn nothing about the setup.
            for leak in ("127.0.0.1:1", "Traceback", "Errno", "sqlite", "asyncpg", "directory"):
                assert leak not in response.text
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["cache-control"] == "no-store"
            # Liveness does not depend on the database.
            alive = await client.get("/api/health")
            assert alive.status_code == 200
            assert alive.json() == {"status": "ok"}
    finally:
        await app.state.database.dispose()
    assert not (tmp_path / "no").exists()


async def test_ready_recovers_when_database_comes_back(tmp_path: Path) -> None:
    """An SQLite file whose directory appears later: 503 first, then 200 (no restart)."""
    directory = tmp_path / "later"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{directory}/confide.db",
        secret_key=TEST_SECRET,
        allowed_hosts=TEST_HOSTS,
        **FAST_HASH,
    )
    app = create_app(settings)
    try:
        async with client_for(app) as client:
            assert_problem(await client.get("/api/ready"), 503, "not_ready")
            directory.mkdir()
            response = await client.get("/api/ready")
            assert response.status_code == 200, response.text
    finally:
        await app.state.database.dispose()
