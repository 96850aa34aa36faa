"""GET /api/me/search: whole words of the caller's own threads, ranked, with snippets."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from confide.search.models import SearchTerm
from confide.threads.service import NewMessage
from tests.factories import assert_problem, signed_up
from tests.search.helpers import SEARCH, search, snippets
from tests.threads.test_threads_api import THREADS, append, new_thread


async def test_finds_messages_and_titles_best_match_first(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, title="Trip planning")
    await append(
        app,
        thread["id"],
        NewMessage(role="user", content="Flights to Lisbon in May?"),
        NewMessage(role="assistant", content="Lisbon has hotels by the river; Lisbon trams."),
        NewMessage(role="user", content="And Porto?"),
    )
    page = await search(client, headers, "LISBON hotels")
    assert page["next_cursor"] is None
    best, other = page["items"]
    assert best["thread_id"] == thread["id"]
    assert best["thread_title"] == "Trip planning"
    assert (best["seq"], best["role"], best["matched_words"]) == (2, "assistant", 2)
    assert best["snippet"] == "Lisbon has hotels by the river; Lisbon trams."
    assert (other["seq"], other["role"], other["matched_words"]) == (1, "user", 1)
    assert best["score"] > other["score"] > 0
    messages = (await client.get(f"{THREADS}/{thread['id']}/messages", headers=headers)).json()
    assert best["message_id"] == messages["items"][1]["id"]
    assert best["created_at"] == messages["items"][1]["created_at"]

    (title,) = (await search(client, headers, "planning"))["items"]
    assert (title["message_id"], title["seq"], title["role"]) == (None, None, None)
    assert title["snippet"] == "Trip planning"


async def test_rarer_words_rank_higher_then_newer(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, title="Letters")
    for text in ["alpha one", "alpha two", "alpha three", "beta four"]:
        await append(app, thread["id"], NewMessage(role="user", content=text))
    found = await snippets(client, headers, "alpha beta")
    # Each holds one query word: the rare one first, then the common one's, newest first.
    assert found == ["beta four", "alpha three", "alpha two", "alpha one"]
    # A word repeated counts for more, saturating.
    await append(app, thread["id"], NewMessage(role="user", content="gamma"))
    await append(app, thread["id"], NewMessage(role="user", content="gamma gamma"))
    assert await snippets(client, headers, "gamma") == ["gamma gamma", "gamma"]


async def test_a_long_message_is_cut_around_the_first_match(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    text = "filler " * 60 + "the Cathédrale is here " + "tail " * 60
    await append(app, thread["id"], NewMessage(role="assistant", content=text))
    (cut,) = await snippets(client, headers, "cathedrale")
    assert cut.startswith("…")
    assert cut.endswith("…")
    assert "the Cathédrale is here" in cut
    assert len(cut) <= 162


async def test_tool_calls_and_tool_results_are_not_indexed(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, title="Sums")
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    await append(
        app,
        thread["id"],
        NewMessage(role="user", content="add please"),
        NewMessage(role="assistant", tool_calls=[call]),
        NewMessage(role="tool", content="toolresult 42", tool_call_id="c1", name="add"),
        NewMessage(role="assistant", content="It is 42"),
    )
    assert await snippets(client, headers, "toolresult") == []
    assert await snippets(client, headers, "add") == ["add please"]
    assert await snippets(client, headers, "42") == ["It is 42"]


async def test_another_user_never_finds_my_words(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    mine = await new_thread(client, alice, title="Alice zebra notes")
    await append(app, mine["id"], NewMessage(role="user", content="zebra stripes"))
    theirs = await new_thread(client, bob, title="Roads")
    await append(app, theirs["id"], NewMessage(role="user", content="zebra crossing"))
    assert await snippets(client, bob, "zebra stripes notes") == ["zebra crossing"]
    alices = (await search(client, alice, "zebra"))["items"]
    assert {hit["thread_id"] for hit in alices} == {mine["id"]}
    assert len(alices) == 2  # the title and the message


async def test_a_thread_shared_with_me_is_not_in_my_search(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, alice = await signed_up(client)
    bob_user, bob = await signed_up(client)
    thread = await new_thread(client, alice, title="Shared plans")
    await append(app, thread["id"], NewMessage(role="user", content="the quokka budget"))
    shared = await client.post(
        f"{THREADS}/{thread['id']}/shares", json={"email": bob_user["email"]}, headers=alice
    )
    assert shared.status_code == 202
    listed = (await client.get(THREADS, params={"scope": "shared"}, headers=bob)).json()
    assert [t["id"] for t in listed["items"]] == [thread["id"]]  # Bob may read it
    assert await snippets(client, bob, "quokka") == []
    assert await snippets(client, alice, "quokka") == ["the quokka budget"]


async def test_a_rename_replaces_the_title_words(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, title="Old name")
    renamed = await client.patch(
        f"{THREADS}/{thread['id']}", json={"title": "Fresh name"}, headers=headers
    )
    assert renamed.status_code == 200
    assert await snippets(client, headers, "old") == []
    assert await snippets(client, headers, "fresh") == ["Fresh name"]


async def test_the_first_message_titles_an_untitled_thread_only(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    untitled = await new_thread(client, headers)
    await append(app, untitled["id"], NewMessage(role="user", content="Kitchen budget ideas"))
    await append(app, untitled["id"], NewMessage(role="user", content="More kitchen tiles"))
    hits = (await search(client, headers, "kitchen"))["items"]
    assert sorted((hit["seq"] or 0, hit["thread_title"]) for hit in hits) == [
        (0, "Kitchen budget ideas"),  # the title, from the first message only
        (1, "Kitchen budget ideas"),
        (2, "Kitchen budget ideas"),
    ]
    titled = await new_thread(client, headers, title="Garden")
    await append(app, titled["id"], NewMessage(role="user", content="Shed roofing"))
    hits = (await search(client, headers, "shed"))["items"]
    assert [(hit["seq"], hit["thread_title"]) for hit in hits] == [(1, "Garden")]


async def test_deleting_a_thread_deletes_its_index_rows(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, title="Doomed")
    await append(app, thread["id"], NewMessage(role="user", content="ephemeral words"))
    kept = await new_thread(client, headers, title="Kept ephemeral")

    async def rows(thread_id: str) -> int:
        stmt = select(func.count()).where(SearchTerm.thread_id == uuid.UUID(thread_id))
        async with app.state.database.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    assert await rows(thread["id"]) == 3  # "doomed", "ephemeral", "words"
    deleted = await client.delete(f"{THREADS}/{thread['id']}", headers=headers)
    assert deleted.status_code == 204
    assert await rows(thread["id"]) == 0
    assert await rows(kept["id"]) == 2
    assert await snippets(client, headers, "ephemeral") == ["Kept ephemeral"]


async def test_pages_follow_the_ranking(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, title="Animals")
    for n in range(5):
        await append(app, thread["id"], NewMessage(role="user", content=f"walrus {n}"))
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await search(client, headers, "walrus", **params)
        seen += [hit["snippet"] for hit in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"walrus {n}" for n in reversed(range(5))]
    bad = await client.get(SEARCH, params={"q": "walrus", "cursor": "nope"}, headers=headers)
    assert_problem(bad, 400, "invalid_cursor")


async def test_a_query_without_words_finds_nothing_and_q_is_required(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, title="a b c")
    await append(app, thread["id"], NewMessage(role="user", content="x ? !"))
    assert (await search(client, headers, "a ? !"))["items"] == []
    missing = await client.get(SEARCH, headers=headers)
    assert missing.status_code == 422
    assert (await client.get(SEARCH, params={"q": "a"})).status_code == 401
