"""What memories cost a turn that gives them nothing: no extraction job for a scripted
agent's run whose user message states no fact (its rules are the extraction)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.memories.hooks import MEMORY_JOB, _may_state_facts
from tests.factories import signed_up
from tests.memories.helpers import facts, memories, new_thread, turn


async def test_only_a_run_that_states_a_fact_queues_the_extraction(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = app.state.memories.jobs
    queued: list[str] = []
    enqueue = jobs.enqueue

    async def recording(name: str, *, key: str, **kwargs: str) -> None:
        queued.append(name)
        await enqueue(name, key=key, **kwargs)

    monkeypatch.setattr(jobs, "enqueue", recording)
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    await turn(app, client, headers, thread, "add 5 and 3")
    await turn(app, client, headers, thread, "what do you remember about me?")
    assert MEMORY_JOB not in queued
    await turn(app, client, headers, thread, "I live in Lisbon.")
    assert queued.count(MEMORY_JOB) == 1
    assert facts(await memories(client, headers)) == [("location", "Lisbon")]


@pytest.mark.parametrize(
    ("history", "may"),
    [
        ([{"role": "user", "content": "add 5 and 3"}], False),
        ([{"role": "user", "content": "My name is Zed."}], True),
        # An older message with a fact counts too: it cannot tell which one is the run's.
        (
            [
                {"role": "user", "content": "I prefer tea."},
                {"role": "assistant", "content": "Noted."},
                {"role": "user", "content": "hello"},
            ],
            True,
        ),
        # A message with files: its text part is read, the files' parts are not.
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "I work on a compiler."},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}},
                    ],
                }
            ],
            True,
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}},
                    ],
                }
            ],
            False,
        ),
        # What it cannot read, or no user message at all: the job decides.
        ([{"role": "user", "content": [{"text": "untyped"}]}], True),
        ([{"role": "user", "content": None}], True),
        ([{"role": "assistant", "content": "hi"}], True),
        ([], True),
    ],
)
def test_what_the_scripted_rules_could_find(history: list[dict[str, Any]], may: bool) -> None:
    assert _may_state_facts(history) is may
