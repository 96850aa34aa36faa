"""Approvals in the browser: a run that waits before a tool call shows a card in the thread
(approve with edited arguments, deny with a reason, answer an agent's question), the top bar
counts what waits on the user, and a reload while waiting comes back to the card."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import signed_in, tool_cards, wait_until_idle
from tests.e2e.test_quality import AXE, AXE_RUN, PHONE
from tests.e2e.tools_agents import (
    approval_cards,
    ask,
    last_answer,
    pending_card,
    tools_server,
    waiting_on_calculator,
)

__all__ = ["tools_server"]  # the fixture, used by name


async def user_page(new_context: NewContext, server: Server, **options: object) -> Page:
    return await signed_in(await new_context(base_url=server.url, **options))


async def test_approving_with_edited_arguments_runs_the_call_with_them(
    new_context: NewContext, tools_server: Server
) -> None:
    page = await user_page(new_context, tools_server)
    await waiting_on_calculator(page, "6*7")
    card = pending_card(page, "calculator")
    arguments = card.get_by_label("Arguments (JSON, you may edit them)")
    await expect(arguments).to_have_value('{\n  "expression": "6*7"\n}')

    # Not a JSON object: refused in the page, nothing sent.
    await arguments.fill("[6, 7]")
    await card.get_by_role("button", name="Approve").click()
    await expect(card.get_by_role("alert")).to_contain_text("must be a JSON object")

    await arguments.fill('{"expression": "6*8"}')
    await card.get_by_role("button", name="Approve").click()
    await expect(last_answer(page)).to_contain_text("You changed the arguments")
    await expect(last_answer(page)).to_contain_text("48")
    await expect(page.get_by_test_id("approval-outcome")).to_have_text("Approved in the app")
    await expect(tool_cards(page)).to_have_count(1)
    await expect(tool_cards(page).first).to_have_attribute("data-status", "ok")
    await wait_until_idle(page)


async def test_a_denied_call_is_not_made_and_the_model_says_so(
    new_context: NewContext, tools_server: Server
) -> None:
    page = await user_page(new_context, tools_server)
    await waiting_on_calculator(page, "2**64")
    card = pending_card(page, "calculator")
    await card.get_by_label("Reason (optional)").fill("not now")
    await card.get_by_role("button", name="Deny").click()
    await expect(last_answer(page)).to_contain_text("I didn't call calculator")
    await expect(last_answer(page)).to_contain_text("not now")
    await expect(page.get_by_test_id("approval-outcome")).to_have_text("Denied in the app")
    await expect(approval_cards(page).filter(has_text="Reason: not now")).to_have_count(1)
    await wait_until_idle(page)


async def test_a_question_from_the_agent_is_answered_with_a_choice(
    new_context: NewContext, tools_server: Server
) -> None:
    page = await user_page(new_context, tools_server)
    await ask(
        page,
        'call ask_user with {"question": "Which colour?", "choices": ["red", "blue"]}',
    )
    card = page.get_by_role("region", name="Question from the assistant")
    await expect(card).to_contain_text("Which colour?")
    await card.get_by_role("button", name="blue").click()
    await expect(last_answer(page)).to_contain_text('You answered: "blue".')
    await expect(page.get_by_test_id("approval-outcome")).to_have_text("Answered in the app")
    await wait_until_idle(page)


async def test_the_top_bar_counts_waiting_requests_and_leads_to_their_thread(
    new_context: NewContext, tools_server: Server
) -> None:
    page = await user_page(new_context, tools_server)
    badge = page.get_by_test_id("waiting-badge")
    await expect(badge).to_have_count(0)
    thread = await waiting_on_calculator(page)
    await expect(badge).to_have_accessible_name(re.compile(r"^Waiting\s*1\s*request for you$"))

    await page.goto("/")
    await badge.click()
    menu = page.get_by_role("list", name="Conversations waiting for you")
    await expect(menu.get_by_role("link")).to_have_count(1)
    await expect(menu).to_contain_text("approve calculator")
    await menu.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(rf"/chat/{thread}$"))

    await pending_card(page, "calculator").get_by_role("button", name="Approve").click()
    await expect(last_answer(page)).to_contain_text("42")
    await expect(badge).to_have_count(0)


async def test_a_reload_while_waiting_shows_the_card_again_and_the_answer_streams_in(
    new_context: NewContext, tools_server: Server
) -> None:
    page = await user_page(new_context, tools_server)
    await waiting_on_calculator(page, "3*3")
    await page.reload()
    card = pending_card(page, "calculator")
    await expect(card).to_be_visible()
    await expect(page.get_by_test_id("run-status")).to_have_text(
        "The assistant is waiting for your answer."
    )
    await card.get_by_role("button", name="Approve").click()
    await expect(last_answer(page)).to_contain_text("9")
    await wait_until_idle(page)
    await expect(approval_cards(page)).to_have_count(1)


async def test_a_waiting_card_has_no_serious_accessibility_problem_and_fits_a_phone(
    new_context: NewContext, tools_server: Server
) -> None:
    page = await user_page(
        new_context, tools_server, viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True
    )
    await waiting_on_calculator(page)
    await expect(page.get_by_test_id("waiting-badge")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
