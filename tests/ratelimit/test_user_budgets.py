"""Per user, per session and per channel: the API as a whole and starting chat runs."""

from __future__ import annotations

import uuid
from typing import Any

from tests.factories import assert_problem, grant_role, login
from tests.ratelimit.conftest import (
    MakeApp,
    another_session,
    client,
    new_thread,
    quota,
    send,
    signed_in,
)


async def test_api_budget_per_user(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_api_per_user="3/minute")
    async with client(app) as http:
        user, alice = await signed_in(http)
        for remaining in (2, 1, 0):
            response = await http.get("/api/auth/me", headers=alice)
            assert response.status_code == 200
            limit, left, reset = quota(response)
            assert (limit, left) == (3, remaining)
            assert 1 <= reset <= 60
        refused = await http.get("/api/threads", headers=alice)
        body = assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) == body["retry_after"] >= 1
        assert quota(refused)[:2] == (3, 0)
        # Per user, every session of theirs: a new sign-in (not counted: no caller yet) does
        # not reset it...
        second = await another_session(http, user)
        assert_problem(await http.get("/api/auth/me", headers=second), 429, "rate_limited")
        # ...and another user has their own.
        _, bob = await signed_in(http)
        assert (await http.get("/api/auth/me", headers=bob)).status_code == 200


async def test_run_budget_per_session(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_runs_per_session="2/minute")
    async with client(app) as http:
        user, first = await signed_in(http)
        thread = await new_thread(http, first)
        for remaining in (1, 0):
            response = await send(http, first, thread)
            assert response.status_code == 200, response.text
            assert quota(response)[:2] == (2, remaining)
        refused = await send(http, first, thread)
        body = assert_problem(refused, 429, "rate_limited")
        assert "session" in body["detail"]
        # Another session of the same user has a budget of its own.
        second = await another_session(http, user)
        assert (await send(http, second, thread)).status_code == 200
        # The refused run was not started: two messages and two answers from the first session.
        page = (await http.get(f"/api/threads/{thread}/messages", headers=first)).json()
        assert [m["role"] for m in page["items"]].count("user") == 3


async def test_run_budget_per_user_across_sessions(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_runs_per_user="3/minute")
    async with client(app) as http:
        user, first = await signed_in(http)
        thread = await new_thread(http, first)
        for _ in range(3):
            session = await another_session(http, user)
            assert (await send(http, session, thread)).status_code == 200
        refused = await send(http, await another_session(http, user), thread)
        assert_problem(refused, 429, "rate_limited")
        assert quota(refused)[:2] == (3, 0)
        _, bob = await signed_in(http)
        assert (await send(http, bob, await new_thread(http, bob))).status_code == 200


async def test_headers_show_the_tightest_budget(limited_app: MakeApp) -> None:
    app = limited_app(rate_limit_api_per_user="100/minute", rate_limit_runs_per_session="5/minute")
    async with client(app) as http:
        _, alice = await signed_in(http)
        thread = await new_thread(http, alice)  # one API request: 99 left
        assert quota(await send(http, alice, thread))[:2] == (5, 4)
        assert quota(await http.get("/api/auth/me", headers=alice))[:2] == (100, 97)


async def test_a_role_override_is_the_budget_of_its_members(limited_app: MakeApp) -> None:
    app = limited_app(
        rate_limit_runs_per_session="1/minute",
        rate_limit_roles='{"admin": {"runs_per_session": "3/minute"}}',
    )
    async with client(app) as http:
        admin, _ = await signed_in(http)
        await grant_role(app, admin["id"], "admin")
        tokens = await login(http, email=admin["email"])  # a session that knows the role
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        thread = await new_thread(http, headers)
        for remaining in (2, 1, 0):
            response = await send(http, headers, thread)
            assert response.status_code == 200, response.text
            assert quota(response)[:2] == (3, remaining)
        assert_problem(await send(http, headers, thread), 429, "rate_limited")
        _, user = await signed_in(http)
        user_thread = await new_thread(http, user)
        assert quota(await send(http, user, user_thread))[:2] == (1, 0)
        assert_problem(await send(http, user, user_thread), 429, "rate_limited")


async def test_every_attempt_to_start_a_run_counts(
    limited_app: MakeApp,
) -> None:
    # A message to a thread that does not exist counts too: the budget is checked before
    # anything is read, so guessing costs as much as chatting.
    app = limited_app(rate_limit_runs_per_session="1/minute")
    async with client(app) as http:
        _, alice = await signed_in(http)
        missing = uuid.uuid4()
        assert_problem(await send(http, alice, str(missing)), 404, "thread_not_found")
        assert_problem(await send(http, alice, str(missing)), 429, "rate_limited")


class CountingCounter:
    """The app's counter, with the calls made to it counted."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def acquire(self, *args: Any) -> Any:
        self.calls.append("acquire")
        return await self.inner.acquire(*args)

    async def acquire_many(self, hits: Any) -> Any:
        self.calls.append(f"acquire_many {len(hits)}")
        return await self.inner.acquire_many(hits)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_run_start_counts_its_request_and_its_run_in_one_call(
    limited_app: MakeApp,
) -> None:
    # One call of the counter (one Redis round trip) for the API budget and the three run
    # budgets, the API budget first: a request past it is refused there, and the run budgets
    # after it are not counted (acquire_many stops at a refusal: test_many.py).
    app = limited_app(rate_limit_api_per_user="4/minute", rate_limit_runs_per_user="10/minute")
    counting = CountingCounter(app.state.rate_limits.counter)
    app.state.rate_limits.counter = counting
    async with client(app) as http:
        _, alice = await signed_in(http)
        thread = await new_thread(http, alice)  # API request 1
        counting.calls.clear()
        response = await send(http, alice, thread)  # 2, and run 1
        assert response.status_code == 200, response.text
        assert counting.calls == ["acquire_many 4"]
        assert quota(response)[:2] == (4, 2)  # the tighter of the four: the API budget
        page = await http.get(f"/api/threads/{thread}/messages", headers=alice)  # 3
        assert counting.calls == ["acquire_many 4", "acquire"]
        assert [m["role"] for m in page.json()["items"]] == ["user", "assistant"]
        assert (await send(http, alice, thread)).status_code == 200  # 4, and run 2
        refused = await send(http, alice, thread)
        assert "requests" in assert_problem(refused, 429, "rate_limited")["detail"]
        assert counting.calls[-1] == "acquire_many 4"
