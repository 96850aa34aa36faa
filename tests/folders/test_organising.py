"""Where a thread sits: in at most one folder, pinned, archived; the listing's filters and
their pagination; what a shared thread's reader sees of it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.factories import assert_problem, signed_up
from tests.folders.helpers import THREADS, new_folder, new_thread, patch_thread, titles


async def test_a_thread_is_in_at_most_one_folder(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    first = await new_folder(client, headers, "First")
    second = await new_folder(client, headers, "Second")
    thread = await new_thread(client, headers, "Wanderer")
    assert (await patch_thread(client, headers, thread, folder_id=first))["folder_id"] == first
    assert (await patch_thread(client, headers, thread, folder_id=second))["folder_id"] == second
    assert await titles(client, headers, folder_id=first) == []
    assert await titles(client, headers, folder_id=second) == ["Wanderer"]
    out = await patch_thread(client, headers, thread, folder_id=None)
    assert out["folder_id"] is None
    assert await titles(client, headers, in_folder=False) == ["Wanderer"]
    assert await titles(client, headers, in_folder=True) == []


async def test_pin_and_unpin(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    plain = await new_thread(client, headers, "Plain")
    pinned = await new_thread(client, headers, "Pinned")
    await new_thread(client, headers, "Newest")
    assert (await patch_thread(client, headers, pinned, pinned=True))["pinned"] is True
    assert await titles(client, headers, pinned=True) == ["Pinned"]
    assert await titles(client, headers, pinned=False) == ["Newest", "Plain"]
    assert await titles(client, headers) == ["Newest", "Pinned", "Plain"]
    again = await patch_thread(client, headers, pinned, pinned=True)  # stays pinned
    assert again["pinned"] is True
    assert (await patch_thread(client, headers, pinned, pinned=False))["pinned"] is False
    assert await titles(client, headers, pinned=True) == []
    assert plain


async def test_archived_threads_leave_the_list(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    kept = await new_thread(client, headers, "Kept")
    old = await new_thread(client, headers, "Old")
    out = await patch_thread(client, headers, old, archived=True, pinned=True)
    assert (out["archived"], out["pinned"]) == (True, True)
    assert await titles(client, headers) == ["Kept"]
    assert await titles(client, headers, pinned=True) == []  # an archived pin is archived
    assert await titles(client, headers, archived=True) == ["Old"]
    # Still readable and searchable by id; unarchived, it is back.
    assert (await client.get(f"{THREADS}/{old}", headers=headers)).json()["archived"] is True
    await patch_thread(client, headers, old, archived=False)
    assert await titles(client, headers) == ["Old", "Kept"]
    assert await titles(client, headers, archived=True) == []
    assert kept


async def test_filters_combine_and_paginate(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    folder = await new_folder(client, headers, "Box")
    made = []
    for i in range(7):
        thread = await new_thread(client, headers, f"T{i}")
        made.append(thread)
        if i % 2 == 0:
            await patch_thread(client, headers, thread, folder_id=folder)
        if i in (0, 3):
            await patch_thread(client, headers, thread, pinned=True)
        if i == 6:
            await patch_thread(client, headers, thread, archived=True)
    # Newest activity first: every thread was made after the one before.
    assert await titles(client, headers, folder_id=folder, limit=1) == ["T4", "T2", "T0"]
    assert await titles(client, headers, folder_id=folder, pinned=False, limit=1) == ["T4", "T2"]
    assert await titles(client, headers, in_folder=False, pinned=False, limit=2) == [
        "T5",
        "T1",
    ]
    assert await titles(client, headers, pinned=True, limit=1) == ["T3", "T0"]
    assert await titles(client, headers, archived=True, folder_id=folder) == ["T6"]
    assert await titles(client, headers, q="T5") == ["T5"]
    assert len(made) == 7


async def test_patch_needs_a_field_and_refuses_nulls(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, "Same")
    for body in ({}, {"title": None}, {"pinned": None}, {"archived": None}, {"colour": 1}):
        response = await client.patch(f"{THREADS}/{thread}", json=body, headers=headers)
        assert_problem(response, 422, "validation_error")
    got = (await client.get(f"{THREADS}/{thread}", headers=headers)).json()
    assert (got["title"], got["pinned"], got["archived"]) == ("Same", False, False)


async def test_a_failed_patch_changes_nothing(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers, "Before")
    response = await client.patch(
        f"{THREADS}/{thread}",
        json={"title": "After", "pinned": True, "folder_id": str(uuid.uuid4())},
        headers=headers,
    )
    assert_problem(response, 404, "folder_not_found")
    got = (await client.get(f"{THREADS}/{thread}", headers=headers)).json()
    assert (got["title"], got["pinned"], got["folder_id"]) == ("Before", False, None)


async def test_a_shared_reader_sees_nothing_of_the_owners_organising(
    client: httpx.AsyncClient,
) -> None:
    _, alice = await signed_up(client)
    bob_user, bob = await signed_up(client)
    folder = await new_folder(client, alice, "Private box")
    thread = await new_thread(client, alice, "Shared one")
    await patch_thread(client, alice, thread, folder_id=folder, pinned=True)
    shared = await client.post(
        f"{THREADS}/{thread}/shares", json={"email": bob_user["email"]}, headers=alice
    )
    assert shared.status_code == 202, shared.text
    seen = (await client.get(f"{THREADS}/{thread}", headers=bob)).json()
    assert (seen["shared"], seen["folder_id"], seen["pinned"]) == (True, None, False)
    listed = (await client.get(THREADS, params={"scope": "shared"}, headers=bob)).json()
    assert [t["folder_id"] for t in listed["items"]] == [None]
    # Nor may the reader change where it sits.
    refused = await client.patch(f"{THREADS}/{thread}", json={"pinned": False}, headers=bob)
    assert_problem(refused, 403, "read_only")


@pytest.mark.parametrize("param", ["archived", "pinned", "in_folder", "folder_id"])
async def test_bad_filter_values_are_refused(client: httpx.AsyncClient, param: str) -> None:
    _, headers = await signed_up(client)
    response = await client.get(THREADS, params={param: "maybe"}, headers=headers)
    assert_problem(response, 422, "validation_error")
