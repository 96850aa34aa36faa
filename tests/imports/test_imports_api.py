"""POST/GET /api/imports: refusals that change nothing, ownership, a job run twice or resumed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from confide.imports import job as import_job
from confide.imports.job import ImportJob
from confide.imports.models import Import
from confide.threads.models import Message, Thread
from tests.conftest import client_for, settle_jobs
from tests.factories import assert_problem, signed_up
from tests.imports.helpers import IMPORTS, chatgpt_export, imported, upload


async def _counts(app: FastAPI) -> tuple[int, int, int]:
    async with app.state.database.session() as db:
        return (
            (await db.execute(select(func.count()).select_from(Import))).scalar_one(),
            (await db.execute(select(func.count()).select_from(Thread))).scalar_one(),
            (await db.execute(select(func.count()).select_from(Message))).scalar_one(),
        )


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"not json at all", "The file is not JSON."),
        (b"\xff\xfe\x00garbage", "The file is not UTF-8 text."),
        (b"[]", "The file holds no conversations."),
        (b'{"hello": "world"}', "The file is neither a ChatGPT export"),
        (b'[{"mapping": {}}, {"format": "confide.thread"}]', "The list is neither"),
        (b"42", "The file is neither a ChatGPT nor a Confide export."),
        (b'{"format": "confide-export/1", "threads": []}', "The account export holds no"),
    ],
)
async def test_a_file_that_is_neither_format_is_refused(
    app: FastAPI, client: httpx.AsyncClient, content: bytes, detail: str
) -> None:
    _, headers = await signed_up(client)
    body = assert_problem(await upload(client, headers, content), 422, "invalid_import")
    assert body["detail"].startswith(detail)
    assert await _counts(app) == (0, 0, 0)


async def test_a_file_too_large_is_refused(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(import_max_bytes=4096)
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        big = b"[" + b" " * 5000 + b"]"
        assert_problem(await upload(client, headers, big), 413, "import_too_large")
        # Past the limit and its framing, the body is refused before it is read.
        huge = b" " * (4096 + 128 * 1024)
        assert_problem(await upload(client, headers, huge), 413, "payload_too_large")
        assert await _counts(app) == (0, 0, 0)
    await app.state.database.dispose()


async def test_an_unknown_agent_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await upload(client, headers, chatgpt_export(), agent_id="nobody")
    assert_problem(response, 404, "agent_not_found")
    assert await _counts(app) == (0, 0, 0)


async def test_imports_are_their_owners_alone(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    done = await imported(app, client, alice, chatgpt_export())
    assert_problem(
        await client.get(f"{IMPORTS}/{done['id']}", headers=bob), 404, "import_not_found"
    )
    missing = await client.get(f"{IMPORTS}/{uuid.uuid4()}", headers=bob)
    assert (
        missing.json()["detail"]
        == (await client.get(f"{IMPORTS}/{done['id']}", headers=bob)).json()["detail"]
    )
    assert (await client.get(IMPORTS, headers=bob)).json() == {"items": [], "next_cursor": None}
    mine = (await client.get(IMPORTS, headers=alice)).json()
    assert [i["id"] for i in mine["items"]] == [done["id"]]
    assert (await client.get("/api/threads", headers=bob)).json()["items"] == []


async def test_imports_are_listed_newest_first_in_pages(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    ids = [(await imported(app, client, headers, chatgpt_export()[2:]))["id"] for _ in range(3)]
    first = (await client.get(IMPORTS, params={"limit": 2}, headers=headers)).json()
    second = (
        await client.get(
            IMPORTS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


async def test_the_upload_is_deleted_once_done(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    done = await imported(app, client, headers, chatgpt_export())
    async with app.state.database.session() as db:
        row = await db.get(Import, uuid.UUID(done["id"]))
        assert row is not None
        assert row.upload is None


async def test_a_job_run_twice_imports_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    done = await imported(app, client, headers, chatgpt_export())
    before = await _counts(app)
    await ImportJob(database=app.state.database, vault=app.state.vault).run(uuid.UUID(done["id"]))
    assert await _counts(app) == before
    again = (await client.get(f"{IMPORTS}/{done['id']}", headers=headers)).json()
    assert again == done


async def test_a_try_that_dies_midway_is_resumed(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second conversation's first write fails once: the queue's next try resumes after
    the first conversation (done, committed) and imports each conversation exactly once."""
    written = import_job.write_thread
    calls = 0

    async def failing_once(*args: Any, **kwargs: Any) -> uuid.UUID:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the database went away")
        return await written(*args, **kwargs)

    monkeypatch.setattr(import_job, "write_thread", failing_once)
    _, headers = await signed_up(client)
    done = await imported(app, client, headers, chatgpt_export())
    assert (done["done"], done["threads_created"]) == (3, 2)
    assert calls == 3  # conversation 1, conversation 2 (failed), conversation 2 again
    titles = [
        t["title"] for t in (await client.get("/api/threads", headers=headers)).json()["items"]
    ]
    assert sorted(titles) == ["Plot a sine wave", "Trip to Lisbon"]
    async with app.state.database.session() as db:
        row = await db.get(Import, uuid.UUID(done["id"]))
        assert row is not None
        assert row.attempts == 2


async def test_an_import_failing_every_try_says_so(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: Any, **kwargs: Any) -> uuid.UUID:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(import_job, "write_thread", failing)
    monkeypatch.setattr(import_job, "IMPORT_TRIES", 1)
    _, headers = await signed_up(client)
    response = await upload(client, headers, chatgpt_export())
    await settle_jobs(app)
    failed = (await client.get(f"{IMPORTS}/{response.json()['id']}", headers=headers)).json()
    assert failed["status"] == "failed"
    assert failed["error"] == "The import failed on our side; try it again."
    assert failed["done"] == 0
    assert await _counts(app) == (1, 0, 0)


async def test_an_import_whose_job_was_lost_is_queued_again(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue that lost the job (the process restarted): the next look at the import queues
    it again, and it completes."""
    queue = app.state.jobs
    enqueue = queue.enqueue

    async def lost(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(queue, "enqueue", lost)
    _, headers = await signed_up(client)
    response = await upload(client, headers, chatgpt_export())
    assert response.status_code == 202
    monkeypatch.setattr(queue, "enqueue", enqueue)
    first = await client.get(f"{IMPORTS}/{response.json()['id']}", headers=headers)
    assert first.json()["status"] == "queued"
    await settle_jobs(app)
    after = await client.get(f"{IMPORTS}/{response.json()['id']}", headers=headers)
    assert (after.json()["status"], after.json()["threads_created"]) == ("completed", 2)
