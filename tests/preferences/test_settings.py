"""GET/PATCH /api/me/settings: defaults without a row, field-by-field changes, validation."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import assert_problem, signed_up

SETTINGS = "/api/me/settings"


async def test_defaults_until_changed(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.get(SETTINGS, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"memory_enabled": True, "retention_days": None, "updated_at": None}


async def test_each_field_changes_alone(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    off = await client.patch(SETTINGS, json={"memory_enabled": False}, headers=headers)
    assert off.status_code == 200, off.text
    assert off.json()["memory_enabled"] is False
    assert off.json()["retention_days"] is None
    assert off.json()["updated_at"] is not None
    kept = await client.patch(SETTINGS, json={"retention_days": 30}, headers=headers)
    assert kept.json()["memory_enabled"] is False  # untouched
    assert kept.json()["retention_days"] == 30
    forever = await client.patch(SETTINGS, json={"retention_days": None}, headers=headers)
    assert forever.json()["retention_days"] is None
    again = await client.get(SETTINGS, headers=headers)
    assert again.json()["memory_enabled"] is False
    assert again.json()["retention_days"] is None


async def test_settings_are_per_user(client: httpx.AsyncClient) -> None:
    _, mine = await signed_up(client)
    _, theirs = await signed_up(client)
    await client.patch(SETTINGS, json={"memory_enabled": False, "retention_days": 7}, headers=mine)
    other = await client.get(SETTINGS, headers=theirs)
    assert other.json()["memory_enabled"] is True
    assert other.json()["retention_days"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"retention_days": 0},
        {"retention_days": 36_501},
        {"retention_days": "soon"},
        {"memory_enabled": "maybe"},
        {"theme": "dark"},
    ],
)
async def test_bad_values_change_nothing(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    _, headers = await signed_up(client)
    await client.patch(SETTINGS, json={"retention_days": 90}, headers=headers)
    response = await client.patch(SETTINGS, json=body, headers=headers)
    assert_problem(response, 422, "validation_error")
    after = await client.get(SETTINGS, headers=headers)
    assert after.json()["retention_days"] == 90
    assert after.json()["memory_enabled"] is True


async def test_memory_enabled_is_never_null(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.patch(SETTINGS, json={"memory_enabled": None}, headers=headers)
    assert_problem(response, 422, "invalid_setting")
    assert (await client.get(SETTINGS, headers=headers)).json()["memory_enabled"] is True


async def test_the_bounds_are_accepted(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    for days in (1, 36_500):
        response = await client.patch(SETTINGS, json={"retention_days": days}, headers=headers)
        assert response.json()["retention_days"] == days


async def test_signed_out_is_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(SETTINGS), 401, "not_authenticated")
    assert_problem(
        await client.patch(SETTINGS, json={"memory_enabled": False}), 401, "not_authenticated"
    )
