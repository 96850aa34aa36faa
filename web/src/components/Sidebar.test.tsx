import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../test/api";
import { Sidebar } from "./Sidebar";

const base = { agent_id: "assistant", created_at: "", last_activity_at: "", message_count: 2, active_run_id: null };
const MINE = { ...base, id: "t1", title: "Mine", owner: { id: "me", email: "me@example.org", display_name: null }, shared: false };
const THEIRS = {
  ...base, id: "t2", title: "Theirs", owner: { id: "o", email: "olive@example.org", display_name: "Olive" }, shared: true,
};

afterEach(() => vi.unstubAllGlobals());

describe("Sidebar", () => {
  it("lists threads shared with me in their own section, with the owner's name", async () => {
    const calls = fakeApi({
      "GET /api/threads": ({ query }) =>
        json({ items: query.get("scope") === "shared" ? [THEIRS] : [MINE], next_cursor: null }),
    });
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const shared = await screen.findByRole("navigation", { name: "Shared with me" });
    const link = within(shared).getByRole("link", { name: /Theirs/ });
    expect(link).toHaveAttribute("href", "/chat/t2");
    expect(link).toHaveTextContent("Olive");
    const own = screen.getByRole("navigation", { name: "Threads" });
    expect(await within(own).findByRole("link", { name: "Mine" })).toBeInTheDocument();
    expect(within(own).queryByRole("link", { name: /Theirs/ })).toBeNull();
    expect(calls.some((c) => c.query.get("scope") === "shared")).toBe(true);
  });

  it("has no shared section while nothing is shared", async () => {
    fakeApi({ "GET /api/threads": () => json({ items: [], next_cursor: null }) });
    renderWith(<Sidebar onNavigate={() => undefined} />);
    expect(await screen.findByText("No conversations yet.")).toBeInTheDocument();
    expect(screen.queryByRole("navigation", { name: "Shared with me" })).toBeNull();
  });
});
