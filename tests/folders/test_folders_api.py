"""Folders through the HTTP API: create, list (in order, paginated), rename, move, delete;
names sealed at rest; another user's folder is a 404 everywhere."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from confide.folders.models import Folder
from confide.folders.service import MAX_FOLDERS
from confide.privacy.schemas import AccountExport
from tests.factories import assert_problem, signed_up
from tests.folders.helpers import (
    FOLDERS,
    folder_names,
    new_folder,
    new_thread,
    patch_thread,
    titles,
)


async def test_folders_are_made_listed_in_order_renamed_and_moved(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    work = await new_folder(client, headers, "  Work   stuff ")
    home = await new_folder(client, headers, "Home")
    assert await folder_names(client, headers) == ["Work stuff", "Home"]

    renamed = await client.patch(f"{FOLDERS}/{work}", json={"name": "Job"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Job"
    moved = await client.patch(f"{FOLDERS}/{home}", json={"position": 0}, headers=headers)
    assert moved.json()["position"] == 0
    # Same position: the older folder first (then by id, a stable order either way).
    listing = (await client.get(FOLDERS, headers=headers)).json()["items"]
    assert {f["name"] for f in listing} == {"Job", "Home"}
    positions = [f["position"] for f in listing]
    assert positions == sorted(positions)


async def test_folder_names_are_sealed_at_rest(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    await new_folder(client, headers, "Secret plans")
    async with app.state.database.sessionmaker() as db:
        stored = (await db.execute(select(Folder.name))).scalar_one()
    assert b"Secret plans" not in bytes(stored)


async def test_folders_paginate_by_position(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    made = [await new_folder(client, headers, f"F{i}") for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await client.get(FOLDERS, params=params, headers=headers)).json()
        seen.extend(f["id"] for f in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    bad = await client.get(FOLDERS, params={"cursor": "nope"}, headers=headers)
    assert_problem(bad, 400, "invalid_cursor")


@pytest.mark.parametrize(
    "body",
    [{}, {"name": "   "}, {"name": "x" * 101}, {"position": -1}, {"colour": "red"}],
)
async def test_bad_folder_bodies_are_refused(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    _, headers = await signed_up(client)
    folder = await new_folder(client, headers, "Kept")
    if "position" not in body and body:
        created = await client.post(FOLDERS, json=body, headers=headers)
        assert_problem(created, 422, "validation_error")
    changed = await client.patch(f"{FOLDERS}/{folder}", json=body, headers=headers)
    assert_problem(changed, 422, "validation_error")
    assert await folder_names(client, headers) == ["Kept"]


async def test_deleting_a_folder_keeps_its_threads(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    folder = await new_folder(client, headers, "Temp")
    thread = await new_thread(client, headers, "Inside")
    await patch_thread(client, headers, thread, folder_id=folder)
    deleted = await client.delete(f"{FOLDERS}/{folder}", headers=headers)
    assert deleted.status_code == 204
    assert await folder_names(client, headers) == []
    got = (await client.get(f"/api/threads/{thread}", headers=headers)).json()
    assert got["folder_id"] is None
    assert await titles(client, headers) == ["Inside"]
    again = await client.delete(f"{FOLDERS}/{folder}", headers=headers)
    assert_problem(again, 404, "folder_not_found")


async def test_another_users_folder_is_a_404_everywhere(client: httpx.AsyncClient) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    folder = await new_folder(client, alice, "Alice's")
    missing = str(uuid.uuid4())
    for target in (folder, missing):
        renamed = await client.patch(f"{FOLDERS}/{target}", json={"name": "Bob's"}, headers=bob)
        assert_problem(renamed, 404, "folder_not_found")
        deleted = await client.delete(f"{FOLDERS}/{target}", headers=bob)
        assert_problem(deleted, 404, "folder_not_found")
    assert await folder_names(client, bob) == []
    # Bob cannot put his thread into Alice's folder, nor list her folder's threads.
    bobs = await new_thread(client, bob, "Bob's thread")
    refused = await client.patch(f"/api/threads/{bobs}", json={"folder_id": folder}, headers=bob)
    assert_problem(refused, 404, "folder_not_found")
    got = (await client.get(f"/api/threads/{bobs}", headers=bob)).json()
    assert got["folder_id"] is None
    assert await titles(client, bob, folder_id=folder) == []
    # Alice's folder is untouched.
    assert await folder_names(client, alice) == ["Alice's"]


async def test_a_thread_of_another_user_cannot_be_filed(client: httpx.AsyncClient) -> None:
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    alices = await new_thread(client, alice, "Alice's thread")
    bobs_folder = await new_folder(client, bob, "Bob's")
    refused = await client.patch(
        f"/api/threads/{alices}", json={"folder_id": bobs_folder}, headers=bob
    )
    assert_problem(refused, 404, "thread_not_found")
    assert await titles(client, bob, folder_id=bobs_folder) == []


async def test_an_account_has_a_bounded_number_of_folders(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    now = (await client.get(FOLDERS, headers=headers)).json()  # the account's key exists
    assert now["items"] == []
    owner_id = uuid.UUID(user["id"])
    async with app.state.database.sessionmaker() as db:
        db.add_all(
            Folder(owner_id=owner_id, name=b"sealed elsewhere", position=i)
            for i in range(MAX_FOLDERS)
        )
        await db.commit()
    refused = await client.post(FOLDERS, json={"name": "One more"}, headers=headers)
    assert_problem(refused, 409, "too_many_folders")


async def test_the_account_export_holds_folders_and_where_threads_sit(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    _, other = await signed_up(client)
    await new_folder(client, other, "Not hers")
    folder = await new_folder(client, headers, "Garden")
    thread = await new_thread(client, headers, "Roses")
    await patch_thread(client, headers, thread, folder_id=folder, pinned=True, archived=True)
    response = await client.get("/api/me/export", headers=headers)
    assert response.status_code == 200, response.text
    document = AccountExport.model_validate_json(response.content)
    assert [(f.id, f.name) for f in document.folders] == [(uuid.UUID(folder), "Garden")]
    (exported,) = document.threads
    assert exported.folder_id == uuid.UUID(folder)
    assert exported.pinned_at is not None
    assert exported.archived_at is not None
