import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useLocation } from "react-router";
import { describe, expect, it } from "vitest";
import { Shortcuts } from "./Shortcuts";

function Where() {
  return <p data-testid="where">{useLocation().pathname}</p>;
}

function renderPage(path = "/chat/t1") {
  render(
    <MemoryRouter initialEntries={[path]}>
      <Shortcuts />
      <input type="search" aria-label="Search threads" />
      <form className="composer">
        <textarea aria-label="Message" />
      </form>
      <Where />
    </MemoryRouter>,
  );
}

describe("Shortcuts", () => {
  it("Shift+Esc focuses the composer, from anywhere", async () => {
    renderPage();
    screen.getByRole("searchbox", { name: "Search threads" }).focus();
    await userEvent.keyboard("{Shift>}{Escape}{/Shift}");
    expect(screen.getByRole("textbox", { name: "Message" })).toHaveFocus();
  });

  it("Ctrl+K focuses the sidebar's search, Ctrl+Shift+O opens a new chat", async () => {
    renderPage();
    // jsdom lays nothing out: the search box counts as shown once it has a box.
    const box = screen.getByRole("searchbox", { name: "Search threads" });
    box.getClientRects = () => [new DOMRect(0, 0, 100, 20)] as unknown as DOMRectList;
    screen.getByRole("textbox", { name: "Message" }).focus();
    await userEvent.keyboard("{Control>}k{/Control}");
    expect(box).toHaveFocus();
    await userEvent.keyboard("{Control>}{Shift>}O{/Shift}{/Control}");
    expect(screen.getByTestId("where")).toHaveTextContent(/^\/$/);
  });

  it("Ctrl+K opens the search page when the sidebar is hidden", async () => {
    renderPage();
    await userEvent.keyboard("{Control>}k{/Control}");
    expect(screen.getByTestId("where")).toHaveTextContent("/search");
  });

  it("? opens the list of shortcuts, but not while typing; Esc closes it", async () => {
    renderPage();
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "why?");
    expect(screen.queryByRole("dialog")).toBeNull();
    (document.activeElement as HTMLElement).blur();
    await userEvent.keyboard("?");
    const dialog = screen.getByRole("dialog", { name: "Keyboard shortcuts" });
    expect(dialog).toHaveTextContent("New chat");
    expect(dialog).toHaveTextContent("Ctrl + Shift + O");
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    screen.getByRole("textbox", { name: "Message" }).focus();
    await userEvent.keyboard("{Control>}/{/Control}");
    expect(screen.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeInTheDocument();
  });
});
