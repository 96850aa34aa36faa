"""Branches: a thread is a tree of messages with one active path. Edit a question, regenerate
or continue an answer, send after any message, switch paths; the model sees only the path it
answers, and every path keeps the tool-call rule (checked after each test: conftest)."""

from __future__ import annotations

from typing import Any

import httpx

from confide.agents.models.scripted import CONTINUED
from tests.factories import assert_problem, signed_up

THREADS = "/api/threads"
RUNS = "/api/runs"
SSE = {"Accept": "text/event-stream"}


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(THREADS, json={}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, content: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{THREADS}/{thread_id}/messages", json={"content": content, **extra}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["run"]["status"] == "completed", body
    return body


async def path(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, **params: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{THREADS}/{thread_id}/messages", params={"limit": "100", **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def contents(messages: list[dict[str, Any]]) -> list[str | None]:
    return [m["content"] for m in messages if m["role"] in ("user", "assistant") and m["content"]]


async def test_a_thread_is_one_path_until_it_branches(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    first = await send(client, headers, thread_id, "hello")
    second = await send(client, headers, thread_id, "add 5 and 3")
    shown = await path(client, headers, thread_id)
    assert [m["id"] for m in shown] == [m["id"] for m in first["messages"] + second["messages"]]
    assert shown[0]["parent_id"] is None
    assert [m["parent_id"] for m in shown[1:]] == [m["id"] for m in shown[:-1]]
    assert all(m["sibling_count"] == 1 and m["sibling_ids"] == [] for m in shown)
    thread = (await client.get(f"{THREADS}/{thread_id}", headers=headers)).json()
    assert thread["active_leaf_id"] == shown[-1]["id"]
    assert second["run"]["parent_id"] == second["messages"][0]["id"]


async def test_an_edit_is_a_new_version_beside_the_old(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    await send(client, headers, thread_id, "hello")
    asked = await send(client, headers, thread_id, "add 5 and 3")
    question = asked["messages"][0]
    response = await client.post(
        f"{THREADS}/{thread_id}/messages/{question['id']}/edit",
        json={"content": "add 10 and 20"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    new_question = edited["messages"][0]
    assert new_question["content"] == "add 10 and 20"
    assert new_question["parent_id"] == question["parent_id"]
    assert (new_question["sibling_count"], new_question["sibling_index"]) == (2, 1)
    assert new_question["sibling_ids"] == [question["id"], new_question["id"]]
    assert "30" in (edited["messages"][-1]["content"] or "")

    shown = await path(client, headers, thread_id)
    assert contents(shown)[-2:] == ["add 10 and 20", edited["messages"][-1]["content"]]
    assert (shown[2]["sibling_count"], shown[2]["sibling_index"]) == (2, 1)
    assert shown[0]["sibling_count"] == 1  # "hello" was not edited

    old = await path(client, headers, thread_id, path=question["id"])
    assert contents(old)[-2] == "add 5 and 3"
    assert "8" in (contents(old)[-1] or "")
    assert old[2]["sibling_index"] == 0


async def test_switching_the_active_path_changes_what_is_shown_and_continued(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "my first question")
    question = asked["messages"][0]
    await client.post(
        f"{THREADS}/{thread_id}/messages/{question['id']}/edit",
        json={"content": "my second question"},
        headers=headers,
    )
    switched = await client.put(
        f"{THREADS}/{thread_id}/active", json={"leaf_id": question["id"]}, headers=headers
    )
    assert switched.status_code == 200, switched.text
    # Any message of a path names it: the path goes on to that branch's newest leaf.
    assert switched.json()["active_leaf_id"] == asked["messages"][-1]["id"]
    assert contents(await path(client, headers, thread_id))[0] == "my first question"

    # The model answers on the path it continues, and sees nothing of the other branch.
    said = await send(client, headers, thread_id, "what have I said?")
    assert said["messages"][0]["parent_id"] == asked["messages"][-1]["id"]
    answer = said["messages"][-1]["content"]
    assert "my first question" in answer
    assert "my second question" not in answer


async def test_a_regenerated_answer_goes_beside_the_old_one(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "add 2 and 2")
    response = await client.post(f"{RUNS}/{asked['run']['id']}/regenerate", headers=headers)
    assert response.status_code == 200, response.text
    again = response.json()
    assert again["run"]["status"] == "completed"
    assert again["run"]["parent_id"] == asked["messages"][0]["id"]
    assert all(m["role"] != "user" for m in again["messages"])
    first = again["messages"][0]
    assert first["parent_id"] == asked["messages"][0]["id"]
    assert (first["sibling_count"], first["sibling_index"]) == (2, 1)

    shown = await path(client, headers, thread_id)
    assert [m["id"] for m in shown] == [asked["messages"][0]["id"]] + [
        m["id"] for m in again["messages"]
    ]
    assert shown[1]["sibling_ids"] == [asked["messages"][1]["id"], first["id"]]
    # Regenerating the regenerated run answers the same question a third time.
    third = await client.post(f"{RUNS}/{again['run']['id']}/regenerate", headers=headers)
    assert third.json()["messages"][0]["sibling_count"] == 3


async def test_regenerate_with_another_agent(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    agents = (await client.get("/api/agents", headers=headers)).json()["items"]
    assert len(agents) >= 2, agents
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "hello")
    other = next(a["id"] for a in agents if a["id"] != asked["run"]["agent_id"])
    response = await client.post(
        f"{RUNS}/{asked['run']['id']}/regenerate", json={"agent_id": other}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["run"]["agent_id"] == other
    unknown = await client.post(
        f"{RUNS}/{asked['run']['id']}/regenerate", json={"agent_id": "nope"}, headers=headers
    )
    assert unknown.status_code == 404


async def test_a_streamed_regenerate_tells_the_new_branch(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "hello")
    response = await client.post(
        f"{RUNS}/{asked['run']['id']}/regenerate", headers={**headers, **SSE}
    )
    assert response.status_code == 200
    assert "event: run.completed" in response.text
    assert '"sibling_count":2' in response.text


async def test_continue_goes_on_from_an_answer(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "hello")
    response = await client.post(f"{RUNS}/{asked['run']['id']}/continue", headers=headers)
    assert response.status_code == 200, response.text
    more = response.json()["messages"]
    assert [m["role"] for m in more] == ["assistant"]
    assert more[0]["content"] == CONTINUED
    assert more[0]["parent_id"] == asked["messages"][-1]["id"]
    shown = await path(client, headers, thread_id)
    assert [m["content"] for m in shown][-1] == CONTINUED
    # The request to go on is never stored.
    assert [m["role"] for m in shown] == ["user", "assistant", "assistant"]


async def test_continue_of_a_run_without_an_answer_in_words(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "add 1 and 1")
    continued = await client.post(f"{RUNS}/{asked['run']['id']}/continue", headers=headers)
    assert continued.status_code == 200  # its final answer is in words
    more = continued.json()
    again = await client.post(f"{RUNS}/{more['run']['id']}/continue", headers=headers)
    assert again.status_code == 200


async def test_sending_after_an_earlier_message_starts_a_branch(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    first = await send(client, headers, thread_id, "hello")
    await send(client, headers, thread_id, "add 5 and 3")
    branch = await send(
        client, headers, thread_id, "what have I said", parent_id=first["messages"][-1]["id"]
    )
    question = branch["messages"][0]
    assert question["parent_id"] == first["messages"][-1]["id"]
    assert question["sibling_count"] == 2
    assert '"hello"' in branch["messages"][-1]["content"]
    assert "add 5 and 3" not in branch["messages"][-1]["content"]
    # The end of the active path is the default parent, so this lands on the branch.
    after = await send(client, headers, thread_id, "thanks")
    assert after["messages"][0]["parent_id"] == branch["messages"][-1]["id"]


async def test_a_message_cannot_follow_open_tool_calls(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "add 5 and 3 and what time is it in Tokyo")
    calls, first_result, second_result = asked["messages"][1:4]
    assert calls["tool_calls"]
    assert first_result["role"] == second_result["role"] == "tool"
    before = await path(client, headers, thread_id)
    for parent in (calls["id"], first_result["id"]):
        refused = await client.post(
            f"{THREADS}/{thread_id}/messages",
            json={"content": "hi", "parent_id": parent},
            headers=headers,
        )
        assert_problem(refused, 409, "invalid_parent")
    # After the last result of the turn, a message may follow (the model's own answer did).
    ok = await send(client, headers, thread_id, "hi", parent_id=second_result["id"])
    assert ok["messages"][0]["sibling_count"] == 2
    assert len(await path(client, headers, thread_id, path=before[-1]["id"])) == len(before)


async def test_unknown_and_foreign_messages_are_not_found(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    _, other_headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    other_thread = await new_thread(client, other_headers)
    mine = await send(client, headers, thread_id, "hello")
    theirs = await send(client, other_headers, other_thread, "hello")
    their_message = theirs["messages"][0]["id"]
    for response in (
        await client.post(
            f"{THREADS}/{thread_id}/messages",
            json={"content": "x", "parent_id": their_message},
            headers=headers,
        ),
        await client.post(
            f"{THREADS}/{thread_id}/messages/{their_message}/edit",
            json={"content": "x"},
            headers=headers,
        ),
        await client.put(
            f"{THREADS}/{thread_id}/active", json={"leaf_id": their_message}, headers=headers
        ),
        await client.get(
            f"{THREADS}/{thread_id}/messages", params={"path": their_message}, headers=headers
        ),
    ):
        assert_problem(response, 404, "message_not_found")
    # Another user's run or thread: indistinguishable from a missing one.
    for response in (
        await client.post(f"{RUNS}/{theirs['run']['id']}/regenerate", headers=headers),
        await client.post(f"{RUNS}/{theirs['run']['id']}/continue", headers=headers),
    ):
        assert response.status_code == 404
    switched = await client.put(
        f"{THREADS}/{other_thread}/active",
        json={"leaf_id": theirs["messages"][0]["id"]},
        headers=headers,
    )
    assert switched.status_code == 404
    assert len(await path(client, headers, thread_id)) == len(mine["messages"])


async def test_only_a_user_message_can_be_edited(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    asked = await send(client, headers, thread_id, "hello")
    response = await client.post(
        f"{THREADS}/{thread_id}/messages/{asked['messages'][-1]['id']}/edit",
        json={"content": "x"},
        headers=headers,
    )
    assert_problem(response, 409, "not_a_user_message")
    blank = await client.post(
        f"{THREADS}/{thread_id}/messages/{asked['messages'][0]['id']}/edit",
        json={"content": "  "},
        headers=headers,
    )
    assert blank.status_code == 422
    assert len(await path(client, headers, thread_id)) == 2


async def test_a_long_path_pages_newest_first_and_oldest_first(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    first = await send(client, headers, thread_id, "q0")
    for n in range(1, 6):
        await send(client, headers, thread_id, f"q{n}")
    # A branch from the first answer: its path is q0, a0, b0, b0's answer.
    await send(client, headers, thread_id, "b0", parent_id=first["messages"][-1]["id"])
    whole = await path(client, headers, thread_id)
    assert contents(whole)[::2] == ["q0", "b0"]
    for order in ("asc", "desc"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"order": order, "limit": "1"}
            if cursor:
                params["cursor"] = cursor
            page = (
                await client.get(f"{THREADS}/{thread_id}/messages", params=params, headers=headers)
            ).json()
            seen += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        expected = [m["id"] for m in whole]
        assert seen == (expected if order == "asc" else expected[::-1])
