"""A ChatGPT conversations.json: the tree kept, the active path, what was skipped and why."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from tests.factories import signed_up
from tests.imports.helpers import (
    chatgpt_export,
    edges,
    imported,
    path_contents,
    threads_by_title,
    tree,
)


async def test_branches_active_path_and_report(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    done = await imported(app, client, headers, chatgpt_export())

    assert done["format"] == "chatgpt"
    assert (done["total"], done["done"], done["threads_created"]) == (3, 3, 2)
    assert done["agent_id"] == "assistant"  # the caller's default, whatever the model slug
    assert done["finished_at"] is not None
    skipped = {(s["conversation"], s["message_id"], s["reason"]) for s in done["skipped"]}
    assert skipped == {
        ("Trip to Lisbon", "l-hidden", "a hidden message"),
        ("Plot a sine wave", "p-sys", "a system message"),
        ("Plot a sine wave", "p-u1", "an image in the message: its text is kept"),
        ("Plot a sine wave", "p-code", "a tool call (to python)"),
        ("Plot a sine wave", "p-out", "a tool's output (python)"),
        ("Plot a sine wave", "p-u2", "an empty message"),
        ("New chat", None, "no messages"),
    }
    assert done["skipped_count"] == len(skipped)

    threads = await threads_by_title(client, headers)
    assert set(threads) == {"Trip to Lisbon", "Plot a sine wave"}
    lisbon = threads["Trip to Lisbon"]
    assert lisbon["created_at"].startswith("2023-11-14T22:13:20")
    assert lisbon["message_count"] == 7
    # The active path is the one ChatGPT showed: the regenerated answer, then the edit.
    assert await path_contents(client, headers, lisbon["id"]) == [
        ("user", "What should I see in Lisbon?"),
        ("assistant", "Start with Alfama, then take tram 28."),
        ("user", "How many days do I need?"),
        ("assistant", "Three days is enough."),  # its hidden parent skipped: follows the user
    ]
    whole = await tree(client, headers, lisbon["id"])
    assert edges(whole) == {
        (None, "What should I see in Lisbon?"),
        ("What should I see in Lisbon?", "Visit Belém Tower and the Jerónimos Monastery."),
        ("What should I see in Lisbon?", "Start with Alfama, then take tram 28."),
        ("Visit Belém Tower and the Jerónimos Monastery.", "And what should I eat?"),
        ("And what should I eat?", "Pastéis de nata, in Belém."),
        ("Start with Alfama, then take tram 28.", "How many days do I need?"),
        ("How many days do I need?", "Three days is enough."),
    }
    times = {m["content"]: m["created_at"] for m in whole["messages"]}
    assert datetime.fromisoformat(times["Pastéis de nata, in Belém."]) == datetime.fromtimestamp(
        1700000050, UTC
    )

    # The other branch is there to switch to, as ChatGPT's "< 1/2 >" was.
    page = await client.get(f"/api/threads/{lisbon['id']}/messages", headers=headers)
    answer = page.json()["items"][1]
    assert (answer["sibling_count"], answer["sibling_index"]) == (2, 1)
    other = answer["sibling_ids"][0]
    assert await path_contents(client, headers, lisbon["id"], path=other) == [
        ("user", "What should I see in Lisbon?"),
        ("assistant", "Visit Belém Tower and the Jerónimos Monastery."),
        ("user", "And what should I eat?"),
        ("assistant", "Pastéis de nata, in Belém."),
    ]

    plot = threads["Plot a sine wave"]
    assert await path_contents(client, headers, plot["id"]) == [
        ("user", "What is in this picture? Then plot a sine wave."),
        ("assistant", "A cat on a sofa. Here is the sine wave."),
        ("assistant", "Anything else?"),
    ]


async def test_imported_threads_are_searchable(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    await imported(app, client, headers, chatgpt_export())
    found = await client.get("/api/threads", params={"q": "tram"}, headers=headers)
    assert [t["title"] for t in found.json()["items"]] == ["Trip to Lisbon"]


async def test_an_agent_can_be_chosen(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.post(
        "/api/imports",
        files={"file": ("c.json", b'[{"title": "x", "mapping": {}}]', "application/json")},
        data={"agent_id": "calculator"},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    assert response.json()["agent_id"] == "calculator"


async def test_untitled_conversation_takes_its_first_words(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    conversation = chatgpt_export()[0]
    conversation["title"] = None
    await imported(app, client, headers, [conversation])
    assert set(await threads_by_title(client, headers)) == {"What should I see in Lisbon?"}
