import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../test/api";
import { NOT_FOUND_TEXT, SharedPage } from "./SharedPage";

const AT = "2026-12-04T10:00:00Z";
const CALL = { id: "call_1", type: "function", function: { name: "add", arguments: '{"a":5,"b":3}' } };
const SHARED = {
  title: "Sums",
  agent_name: "Assistant",
  owner_display_name: "Ada",
  created_at: AT,
  expires_at: null,
  messages: [
    { role: "user", content: "add 5 and 3", created_at: AT },
    { role: "assistant", content: null, tool_calls: [CALL], created_at: AT },
    { role: "tool", content: "8", tool_call_id: "call_1", name: "add", created_at: AT },
    { role: "assistant", content: "It is **8**.", created_at: AT },
  ],
  next_cursor: "c1",
};

function renderShared() {
  return renderWith(
    <Routes>
      <Route path="/s/:token" element={<SharedPage />} />
    </Routes>,
    "/s/tok123",
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("a conversation shared by link", () => {
  it("shows the title, who shared it, the messages as markdown with tool cards, and more pages", async () => {
    const calls = fakeApi({
      "GET /api/shared/tok123": () => json(SHARED),
      "GET /api/shared/tok123/messages": () =>
        json({ items: [{ role: "user", content: "thanks", created_at: AT }], next_cursor: null }),
    });
    renderShared();
    expect(await screen.findByRole("heading", { name: "Sums" })).toBeInTheDocument();
    expect(screen.getByTestId("shared-byline")).toHaveTextContent("Shared by Ada · Assistant");
    expect(screen.getByText("add 5 and 3")).toBeInTheDocument();
    expect(screen.getByText("8", { selector: "strong" })).toBeInTheDocument();
    expect(screen.getByTestId("tool-card")).toHaveTextContent("add");
    // Read-only: nothing to write with, no edit or regenerate.
    expect(screen.queryByRole("textbox")).toBeNull();
    expect(screen.queryByRole("button", { name: /edit|regenerate/i })).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Show more messages" }));
    expect(await screen.findByText("thanks")).toBeInTheDocument();
    expect(calls.find((c) => c.path.endsWith("/messages"))?.query.get("cursor")).toBe("c1");
    await waitFor(() => expect(screen.queryByRole("button", { name: "Show more messages" })).toBeNull());
  });

  it("says not found for a missing, revoked or expired link", async () => {
    fakeApi({});
    renderShared();
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeInTheDocument();
    expect(screen.getByTestId("shared-not-found")).toHaveTextContent(NOT_FOUND_TEXT);
  });
});
