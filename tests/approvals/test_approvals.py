"""Human approval through the HTTP API: a run pauses before a call, its user answers, it goes
on (approve, edit, deny, time-out, a question, a restart, a double answer, a cancel)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.approvals.models import Approval
from confide.audit.models import AuditEvent
from confide.db.base import utcnow
from confide.runs.store import INTERRUPTED_TOOL_RESULT
from tests.approvals.conftest import decide, follow, new_thread, of_type, send_streamed
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.invariant import Event, assert_threads_valid
from tests.privacy.helpers import export_of

CALL = 'call calculator with {"expression": "6*7"}'


async def paused(
    client: httpx.AsyncClient, headers: dict[str, str], content: str = CALL
) -> tuple[str, str, list[Event]]:
    """A thread whose run waits on an approval: (thread id, run id, the events so far)."""
    thread_id = await new_thread(client, headers)
    events = await send_streamed(client, headers, thread_id, content)
    assert events[-1]["type"] == "run.waiting", [e["type"] for e in events]
    return thread_id, events[0]["run_id"], events


def final_text(events: list[Event]) -> str:
    completed = [
        e["message"]
        for e in of_type(events, "message.completed")
        if e["message"]["role"] == "assistant"
    ]
    return str(completed[-1]["content"])


async def test_a_run_waits_before_a_call_that_needs_approval_then_goes_on(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    thread_id, run_id, events = await paused(client, headers)

    (requested,) = of_type(events, "approval.requested")
    assert requested["name"] == "calculator"
    assert json.loads(requested["arguments"]) == {"expression": "6*7"}
    assert requested["kind"] == "approval"
    assert not of_type(events, "tool.started")  # nothing was called
    run = (await client.get(f"/api/runs/{run_id}", headers=headers)).json()
    assert run["status"] == "waiting"
    # The thread is taken while its run waits.
    busy = await client.post(
        f"/api/threads/{thread_id}/messages", json={"content": "hello"}, headers=headers
    )
    assert_problem(busy, 409, "run_in_progress")
    pending = (await client.get("/api/me/approvals?status=pending", headers=headers)).json()[
        "items"
    ]
    assert [p["id"] for p in pending] == [requested["approval_id"]]
    # A replay of a waiting run ends where it waits.
    replayed = await follow(client, headers, run_id, 0)
    assert [e["id"] for e in replayed] == [e["id"] for e in events]

    answer = await decide(client, headers, run_id, requested["approval_id"], decision="approve")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    assert answer.json()["channel"] == "web"

    rest = await follow(client, headers, run_id, events[-1]["id"])
    assert rest[0]["id"] == events[-1]["id"] + 1
    assert [e["id"] for e in rest] == list(range(rest[0]["id"], rest[0]["id"] + len(rest)))
    assert of_type(rest, "approval.resolved")[0]["status"] == "approved"
    (finished,) = of_type(rest, "tool.finished")
    assert finished["status"] == "ok"
    assert finished["result"] == "42"
    assert final_text(rest) == "6*7 = 42."
    assert rest[-1]["type"] == "run.completed"
    run = (await client.get(f"/api/runs/{run_id}", headers=headers)).json()
    assert run["status"] == "completed"
    assert (await client.get("/api/me/approvals?status=pending", headers=headers)).json()[
        "items"
    ] == []


async def test_approved_with_edited_arguments_the_call_uses_them_and_the_model_is_told(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    _, run_id, events = await paused(client, headers)
    (requested,) = of_type(events, "approval.requested")
    answer = await decide(
        client,
        headers,
        run_id,
        requested["approval_id"],
        decision="approve",
        arguments={"expression": "6*8"},
    )
    assert json.loads(answer.json()["decided_arguments"]) == {"expression": "6*8"}
    rest = await follow(client, headers, run_id, events[-1]["id"])
    (started,) = of_type(rest, "tool.started")
    assert json.loads(started["arguments"]) == {"expression": "6*8"}
    assert final_text(rest) == 'You changed the arguments to {"expression":"6*8"}. 6*8 = 48.'


async def test_a_denied_call_is_never_made_and_the_model_reads_why(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    _, run_id, events = await paused(client, headers)
    (requested,) = of_type(events, "approval.requested")
    answer = await decide(
        client, headers, run_id, requested["approval_id"], decision="deny", reason="too risky"
    )
    assert answer.json()["status"] == "denied"
    assert answer.json()["reason"] == "too risky"
    rest = await follow(client, headers, run_id, events[-1]["id"])
    (finished,) = of_type(rest, "tool.finished")
    assert finished["status"] == "denied"
    assert "too risky" in finished["result"]
    assert final_text(rest).startswith("I didn't call calculator: Denied by the user")
    assert rest[-1]["type"] == "run.completed"


async def test_an_approval_is_answered_once(approving_client: httpx.AsyncClient) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    _, run_id, events = await paused(client, headers)
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    first = await decide(client, headers, run_id, approval_id, decision="deny")
    assert first.status_code == 200
    again = await decide(client, headers, run_id, approval_id, decision="approve")
    assert_problem(again, 409, "approval_decided")
    await follow(client, headers, run_id, events[-1]["id"])
    stored = (await client.get(f"/api/runs/{run_id}/approvals", headers=headers)).json()["items"]
    assert [a["status"] for a in stored] == ["denied"]


async def test_bad_answers_change_nothing(approving_client: httpx.AsyncClient) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    _, run_id, events = await paused(client, headers)
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    for body in (
        {"decision": "deny", "arguments": {"expression": "1"}},
        {"decision": "approve", "answer": "yes"},
        {"decision": "maybe"},
        {"decision": "approve", "arguments": [1, 2]},
        {"decision": "approve", "extra": True},
    ):
        response = await decide(client, headers, run_id, approval_id, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await decide(client, headers, run_id, str(uuid.uuid4()), decision="approve")
    assert_problem(missing, 404, "approval_not_found")
    pending = (await client.get("/api/me/approvals?status=pending", headers=headers)).json()[
        "items"
    ]
    assert [p["id"] for p in pending] == [approval_id]


async def test_another_user_can_neither_see_nor_answer_an_approval(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, owner = await signed_up(client)
    _, stranger = await signed_up(client)
    _, run_id, events = await paused(client, owner)
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    answer = await decide(client, stranger, run_id, approval_id, decision="approve")
    assert answer.status_code == 404
    assert (await client.get("/api/me/approvals", headers=stranger)).json()["items"] == []
    listed = await client.get(f"/api/runs/{run_id}/approvals", headers=stranger)
    assert listed.status_code == 404


async def test_ask_user_waits_for_an_answer_and_goes_on_with_it(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    question = 'call ask_user with {"question": "Which colour?", "choices": ["red", "blue"]}'
    _, run_id, events = await paused(client, headers, question)
    (requested,) = of_type(events, "approval.requested")
    assert requested["kind"] == "question"
    assert requested["question"] == "Which colour?"
    assert requested["choices"] == ["red", "blue"]
    wrong = await decide(client, headers, run_id, requested["approval_id"], decision="approve")
    assert_problem(wrong, 422, "invalid_decision")  # a question needs its answer
    answer = await decide(
        client, headers, run_id, requested["approval_id"], decision="approve", answer="blue"
    )
    assert answer.json()["status"] == "answered"
    rest = await follow(client, headers, run_id, events[-1]["id"])
    assert final_text(rest) == 'You answered: "blue".'


async def test_two_calls_waiting_resume_the_run_only_once_both_are_answered(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    both = (
        'call calculator with {"expression": "2*3"} then '
        'call calculator with {"expression": "4*5"} and call add with {"a": 1, "b": 2}'
    )
    _, run_id, events = await paused(client, headers, both)
    first, second = of_type(events, "approval.requested")
    # `add` needs no approval: it was called before the pause.
    assert [e["name"] for e in of_type(events, "tool.finished")] == ["add"]
    await decide(client, headers, run_id, first["approval_id"], decision="approve")
    run = (await client.get(f"/api/runs/{run_id}", headers=headers)).json()
    assert run["status"] == "waiting"
    await decide(client, headers, run_id, second["approval_id"], decision="deny")
    rest = await follow(client, headers, run_id, events[-1]["id"])
    assert [e["status"] for e in of_type(rest, "tool.finished")] == ["ok", "denied"]
    text = final_text(rest)
    assert "2*3 = 6." in text
    assert "1 + 2 = 3." in text
    assert "I didn't call calculator" in text


async def test_an_unanswered_approval_expires_as_denied(
    approving_app: FastAPI, approving_client: httpx.AsyncClient
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    _, run_id, events = await paused(client, headers)
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    assert await approving_app.state.approvals.expire() == 0  # not yet due
    async with approving_app.state.database.begin() as conn:
        await conn.execute(
            update(Approval)
            .where(Approval.id == uuid.UUID(approval_id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await approving_app.state.approvals.expire() == 1
    rest = await follow(client, headers, run_id, events[-1]["id"])
    resolved = of_type(rest, "approval.resolved")[0]
    assert (resolved["status"], resolved["channel"]) == ("expired", "timeout")
    assert "did not approve this call in time" in of_type(rest, "tool.finished")[0]["result"]
    assert rest[-1]["type"] == "run.completed"


async def test_the_timeout_setting_sets_each_approvals_expiry(
    app_factory: Callable[..., FastAPI], agents_file: Path
) -> None:
    application = app_factory(agents_file=agents_file, approval_timeout="90m")
    async with client_for(application) as client:
        _, headers = await signed_up(client)
        _, run_id, events = await paused(client, headers)
        (requested,) = of_type(events, "approval.requested")
        stored = (await client.get(f"/api/runs/{run_id}/approvals", headers=headers)).json()[
            "items"
        ]
        created = stored[0]["created_at"]
        gap = datetime.fromisoformat(requested["expires_at"]) - datetime.fromisoformat(created)
        assert gap == timedelta(minutes=90)
        await decide(client, headers, run_id, requested["approval_id"], decision="deny")
        await follow(client, headers, run_id, events[-1]["id"])
    await assert_threads_valid(application)


async def test_a_waiting_run_survives_a_restart(
    app_factory: Callable[..., FastAPI], agents_file: Path
) -> None:
    first = app_factory(agents_file=agents_file)
    async with client_for(first) as client:
        _, headers = await signed_up(client)
        _, run_id, events = await paused(client, headers)
    # The first server goes away (its lifespan never ran: nothing of it closes the run), and
    # a new one starts on the same database: its start-up sweep leaves the waiting run alone.
    await first.state.database.dispose()
    second = app_factory(agents_file=agents_file)
    assert await second.state.run_sweeper.sweep() == []
    async with client_for(second) as client:
        run = (await client.get(f"/api/runs/{run_id}", headers=headers)).json()
        assert run["status"] == "waiting"
        approval_id = of_type(events, "approval.requested")[0]["approval_id"]
        await decide(client, headers, run_id, approval_id, decision="approve")
        rest = await follow(client, headers, run_id, events[-1]["id"])
        assert final_text(rest) == "6*7 = 42."
    await assert_threads_valid(second)


async def test_cancelling_a_waiting_run_closes_it_and_its_approvals(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    thread_id, run_id, events = await paused(client, headers)
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    cancelled = await client.post(f"/api/runs/{run_id}/cancel", headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    late = await decide(client, headers, run_id, approval_id, decision="approve")
    assert_problem(late, 409, "approval_decided")
    stored = (await client.get(f"/api/runs/{run_id}/approvals", headers=headers)).json()["items"]
    assert [a["status"] for a in stored] == ["cancelled"]
    messages = (await client.get(f"/api/threads/{thread_id}/messages", headers=headers)).json()
    assert messages["items"][-1]["content"] == INTERRUPTED_TOOL_RESULT
    replayed = await follow(client, headers, run_id, 0)
    assert replayed[-1]["type"] == "run.cancelled"


async def test_decisions_are_audited(
    approving_app: FastAPI, approving_client: httpx.AsyncClient
) -> None:
    client = approving_client
    user, headers = await signed_up(client)
    _, run_id, events = await paused(client, headers)
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    await decide(
        client, headers, run_id, approval_id, decision="approve", arguments={"expression": "1+1"}
    )
    await follow(client, headers, run_id, events[-1]["id"])
    async with approving_app.state.database.connect() as conn:
        rows = (
            await conn.execute(
                select(AuditEvent.actor_id, AuditEvent.target_id, AuditEvent.detail).where(
                    AuditEvent.action == "approval.decided"
                )
            )
        ).all()
    assert len(rows) == 1
    actor_id, target_id, detail = rows[0]
    assert str(actor_id) == user["id"]
    assert target_id == run_id
    recorded = json.loads(detail)
    assert recorded["status"] == "approved"
    assert recorded["edited"] is True
    assert "1+1" not in detail  # what was asked stays in the encrypted tables


@pytest.mark.parametrize("answer", ["approve", "deny"])
async def test_arguments_and_answers_are_sealed_at_rest(
    approving_app: FastAPI, approving_client: httpx.AsyncClient, answer: str
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    _, run_id, events = await paused(
        client, headers, 'call calculator with {"expression": "9999*7"}'
    )
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    await decide(client, headers, run_id, approval_id, decision=answer, reason="secret-reason")
    await follow(client, headers, run_id, events[-1]["id"])
    async with approving_app.state.database.connect() as conn:
        row = (await conn.execute(select(Approval.arguments, Approval.reason))).one()
    assert b"9999" not in row.arguments
    assert b"secret-reason" not in row.reason


async def test_a_call_bound_to_fail_is_not_put_to_the_user(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    events = await send_streamed(
        client, headers, thread_id, 'call calculator with {"formula": "1+1"}'
    )
    assert not of_type(events, "approval.requested")
    (finished,) = of_type(events, "tool.finished")
    assert finished["status"] == "invalid_arguments"
    assert events[-1]["type"] == "run.completed"


async def test_over_the_json_api_a_turn_that_waits_answers_with_the_waiting_run(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    response = await client.post(
        f"/api/threads/{thread_id}/messages", json={"content": CALL}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run"]["status"] == "waiting"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    pending = await client.get(
        "/api/me/approvals", params={"status": "pending", "thread_id": thread_id}, headers=headers
    )
    (approval,) = pending.json()["items"]
    await decide(client, headers, body["run"]["id"], approval["id"], decision="deny")
    rest = await follow(client, headers, body["run"]["id"], 0)
    assert rest[-1]["type"] == "run.completed"
    assert not of_type(rest, "run.waiting")  # a replay leaves out the wait it went on from


async def test_the_account_export_holds_the_users_approvals_decoded(
    approving_client: httpx.AsyncClient,
) -> None:
    client = approving_client
    _, headers = await signed_up(client)
    _, other = await signed_up(client)
    _, run_id, events = await paused(client, headers)
    await paused(client, other)
    approval_id = of_type(events, "approval.requested")[0]["approval_id"]
    await decide(client, headers, run_id, approval_id, decision="deny", reason="not now")
    await follow(client, headers, run_id, events[-1]["id"])
    exported = await export_of(client, headers)
    (approval,) = exported["approvals"]
    assert approval["id"] == approval_id
    assert json.loads(approval["arguments"]) == {"expression": "6*7"}
    assert approval["reason"] == "not now"


async def test_a_resumed_run_shows_the_model_each_answered_call_once(
    approving_app: FastAPI, approving_client: httpx.AsyncClient
) -> None:
    """Calls answered at once store in any order; the model still gets one result per call."""
    from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart

    seen: list[list[ModelMessage]] = []
    runs = approving_app.state.runs
    scripted = runs.models.for_agent(runs.agents.agents.default)
    original = scripted.request

    async def recording(messages: list[ModelMessage], *args: object, **kwargs: object) -> object:
        seen.append(list(messages))
        return await original(messages, *args, **kwargs)

    scripted.request = recording  # type: ignore[method-assign]
    client = approving_client
    _, headers = await signed_up(client)
    three = " then ".join(f'call calculator with {{"expression": "{n}*{n}"}}' for n in (2, 3, 4))
    _, run_id, events = await paused(client, headers, three)
    requested = of_type(events, "approval.requested")
    assert len(requested) == 3
    for position, approval in enumerate(requested):
        decision = "deny" if position == 1 else "approve"
        await decide(client, headers, run_id, approval["approval_id"], decision=decision)
    rest = await follow(client, headers, run_id, events[-1]["id"])
    assert rest[-1]["type"] == "run.completed"
    returned = [
        part.tool_call_id
        for message in seen[-1]
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]
    assert sorted(returned) == sorted(a["tool_call_id"] for a in requested)
