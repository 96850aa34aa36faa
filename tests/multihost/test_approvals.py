"""Approvals across real processes: two `confide serve` (CONFIDE_JOBS=external) and one
`confide worker` on one PostgreSQL and one Redis. A run paused through one host holds no
worker (one killed and restarted meanwhile changes nothing), is answered through the other,
and goes on, streamed through the first; two hosts answering one approval at once answer it
once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.approvals.conftest import APPROVING_AGENTS
from tests.invariant import parse_sse
from tests.multihost.conftest import Cluster, Process, sign_in, sign_up
from tests.multihost.test_runs import DEADLINE_SECONDS, clients

CALL = 'call calculator with {"expression": "6*7"}'


@pytest.fixture(scope="module")
def approving(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Process, Process, Process]:
    agents = Path(tmp_path_factory.mktemp("approvals")) / "agents.toml"
    agents.write_text(APPROVING_AGENTS, encoding="utf-8")
    env = {"CONFIDE_JOBS": "external", "CONFIDE_AGENTS_FILE": str(agents)}
    web_a = cluster.serve("approvals-web-a", **env)
    web_b = cluster.serve("approvals-web-b", **env)
    worker = cluster.worker("approvals-worker", **env)
    return web_a, web_b, worker


async def paused(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, int, str]:
    """A run waiting on an approval: (run id, the id of its run.waiting, the approval id)."""
    thread = await client.post("/api/threads", json={}, headers=headers)
    response = await client.post(
        f"/api/threads/{thread.json()['id']}/messages",
        json={"content": CALL},
        headers={**headers, "Accept": "text/event-stream"},
    )
    events = parse_sse(response.text)
    assert events[-1]["type"] == "run.waiting", events
    (requested,) = [e for e in events if e["type"] == "approval.requested"]
    return events[0]["run_id"], events[-1]["id"], requested["approval_id"]


async def test_a_run_paused_on_one_host_is_answered_on_another_and_goes_on(
    approving: tuple[Process, Process, Process],
) -> None:
    web_a, web_b, worker = approving
    async with clients(web_a, web_b) as (a, b):
        user = await sign_in(a, await sign_up(a))
        run_id, waited_at, approval_id = await paused(a, user.headers)
        # No process holds a waiting run: a worker killed and brought back changes nothing.
        worker.kill()
        worker.start()
        status = (await b.get(f"/api/runs/{run_id}", headers=user.headers)).json()["status"]
        assert status == "waiting"

        answer = await b.post(
            f"/api/runs/{run_id}/approvals/{approval_id}",
            json={"decision": "approve"},
            headers=user.headers,
        )
        assert answer.status_code == 200, answer.text
        response = await a.get(
            f"/api/runs/{run_id}/events", params={"after": waited_at}, headers=user.headers
        )
        rest = parse_sse(response.text)
        assert rest[-1]["type"] == "run.completed", rest
        assert [e["result"] for e in rest if e["type"] == "tool.finished"] == ["42"]
        assert rest[0]["id"] == waited_at + 1


async def test_one_approval_answered_through_two_hosts_at_once_is_answered_once(
    approving: tuple[Process, Process, Process],
) -> None:
    web_a, web_b, _ = approving
    async with clients(web_a, web_b) as (a, b):
        user = await sign_in(a, await sign_up(a))
        run_id, waited_at, approval_id = await paused(a, user.headers)
        path = f"/api/runs/{run_id}/approvals/{approval_id}"
        answers = await asyncio.gather(
            a.post(path, json={"decision": "approve"}, headers=user.headers),
            b.post(path, json={"decision": "deny"}, headers=user.headers),
        )
        assert sorted(r.status_code for r in answers) == [200, 409]
        won = next(r for r in answers if r.status_code == 200).json()["status"]
        response = await b.get(
            f"/api/runs/{run_id}/events",
            params={"after": waited_at},
            headers=user.headers,
            timeout=DEADLINE_SECONDS,
        )
        rest = parse_sse(response.text)
        resolved = [e for e in rest if e["type"] == "approval.resolved"]
        assert [e["status"] for e in resolved] == [won]
        assert rest[-1]["type"] == "run.completed"
