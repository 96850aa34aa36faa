"""The main pages as shipped: no Content-Security-Policy violation, no serious accessibility
problem (axe-core), no sideways scrolling on a phone, and a screenshot of each."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from confide.web import WEB_CSP
from tests.conftest import unavailable
from tests.e2e.conftest import ROOT, NewContext
from tests.e2e.flows import (
    expect_add_answered_once,
    signed_in,
    start_chat,
    stop_an_answer,
    tool_cards,
)

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
README_IMAGE = ROOT / "docs" / "images" / "chat.png"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MAIN_PAGES = ["login", "register", "chat", "settings"]

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.confideCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
      `at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""
# A tool call's duration differs from run to run; the README's picture should not.
STEADY_DURATIONS = """
() => {
  for (const summary of document.querySelectorAll('[data-testid="tool-card"] summary')) {
    const walker = document.createTreeWalker(summary, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      node.textContent = node.textContent.replace(/\\b\\d+(\\.\\d+)? ms\\b/, "0.1 ms");
    }
  }
}
"""
# Pixels that differ visibly between two PNGs of one size (-1: sizes differ). Rendering the
# same page twice can move a rounded corner's anti-aliasing by a shade; that is no change.
PIXELS_CHANGED = """
async ([before, after]) => {
  const load = async (png) => {
    const image = new Image();
    image.src = `data:image/png;base64,${png}`;
    await image.decode();
    return image;
  };
  const [a, b] = await Promise.all([load(before), load(after)]);
  if (a.width !== b.width || a.height !== b.height) return -1;
  const pixels = (image) => {
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    return context.getImageData(0, 0, image.width, image.height).data;
  };
  const [p, q] = [pixels(a), pixels(b)];
  let changed = 0;
  for (let i = 0; i < p.length; i += 4) {
    let delta = 0;
    for (let channel = i; channel < i + 3; channel += 1) delta += Math.abs(p[channel] - q[channel]);
    if (delta > 48) changed += 1;
  }
  return changed;
}
"""
README_IMAGE_TOLERANCE = 50  # pixels
AXE_RUN = """
async () => {
  const results = await axe.run(document);
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((node) => node.target.join(" ")),
  }));
}
"""


async def open_main_page(context: BrowserContext, name: str) -> Page:
    """One of the main pages, ready to look at (the chat with an answered tool call)."""
    if name in ("login", "register"):
        page = await context.new_page()
        await page.goto(f"/{name}")
        button = "Sign in" if name == "login" else "Create account"
        await expect(page.get_by_role("button", name=button)).to_be_visible()
        return page
    page = await signed_in(context, display_name="Ada")
    if name == "chat":
        await start_chat(page, "add 5 and 3")
        await expect_add_answered_once(page)
        await tool_cards(page).first.locator("summary").click()
        await expect(tool_cards(page).first).to_have_attribute("open", "")
    else:
        await page.goto("/settings")
        await expect(page.get_by_role("button", name="Sign out everywhere")).to_be_visible()
    return page


async def screenshot(page: Page, name: str) -> bytes:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)  # no hover effect where the last click was
    image = await page.screenshot(
        path=SCREENSHOTS / f"{name}.png", full_page=True, animations="disabled"
    )
    return image


async def update_readme_image(context: BrowserContext, image: bytes) -> None:
    """docs/images/chat.png is committed: write it only when the page looks different."""
    if README_IMAGE.exists():
        blank = await context.new_page()  # about:blank: no policy against data: images
        pngs = [base64.b64encode(png).decode() for png in (README_IMAGE.read_bytes(), image)]
        changed: int = await blank.evaluate(PIXELS_CHANGED, pngs)
        await blank.close()
        if 0 <= changed <= README_IMAGE_TOLERANCE:
            return
    README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    README_IMAGE.write_bytes(image)


async def test_main_pages_break_no_content_security_rule(new_context: NewContext) -> None:
    violations: list[str] = []
    context = await new_context(viewport=DESKTOP)
    # The real server sends the policy (without it nothing below could be refused).
    for path in ("/login", "/chat/any", "/settings"):
        document = await context.request.get(path)
        assert document.headers["content-security-policy"] == WEB_CSP, path

    def report(text: str) -> None:
        violations.append(text)

    await context.expose_function("confideCspViolation", report)
    await context.add_init_script(REPORT_VIOLATIONS)

    context.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for name in MAIN_PAGES:
        page = await open_main_page(context, name)
        if name == "chat":
            await page.evaluate(STEADY_DURATIONS)
            await update_readme_image(context, await screenshot(page, name))
        else:
            await screenshot(page, name)
        await page.close()
    assert violations == []


@pytest.mark.parametrize("name", MAIN_PAGES)
async def test_no_serious_accessibility_problems(new_context: NewContext, name: str) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed ({AXE}): run `npm --prefix web ci`")
    # axe-core is injected as a script the page's own policy would rightly refuse.
    context = await new_context(viewport=DESKTOP, bypass_csp=True)
    page = await open_main_page(context, name)
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_a_stopped_answer_has_no_serious_accessibility_problems(
    new_context: NewContext, scheme: str
) -> None:
    """The "Stopped" mark is read in both themes (axe checks its contrast)."""
    if not AXE.is_file():
        unavailable(f"axe-core is not installed ({AXE}): run `npm --prefix web ci`")
    context = await new_context(viewport=DESKTOP, bypass_csp=True, color_scheme=scheme)
    page = await signed_in(context)
    await stop_an_answer(page)
    await screenshot(page, f"chat-stopped-{scheme}")
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


async def test_the_chat_fits_a_phone_without_sideways_scrolling(new_context: NewContext) -> None:
    context = await new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await open_main_page(context, "chat")
    await screenshot(page, "chat-phone")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
