import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../test/api";
import { Sidebar } from "./Sidebar";

afterEach(() => vi.unstubAllGlobals());

const thread = {
  id: "t1", agent_id: "assistant", title: "Lisbon trip", created_at: "", last_activity_at: "", message_count: 2,
  active_run_id: null, shared: false, archived: false, pinned: false,
};

describe("Sidebar search results", () => {
  it("mark the words searched for and open the thread with them marked", async () => {
    fakeApi({
      "GET /api/threads": ({ query }) => json({ items: query.get("q") ? [thread] : [], next_cursor: null }),
      "GET /api/me/shared-threads": () => json({ items: [], next_cursor: null }),
    });
    renderWith(<Sidebar onNavigate={() => undefined} />);
    await userEvent.type(screen.getByRole("searchbox", { name: "Search threads" }), "LISBON");
    const link = await screen.findByRole("link", { name: "Lisbon trip" });
    await waitFor(() => expect(link.querySelector("mark")).toHaveTextContent("Lisbon"));
    expect(link).toHaveAttribute("href", "/chat/t1?highlight=LISBON");
  });
});
