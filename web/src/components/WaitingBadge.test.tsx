import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Approval } from "../api/approvals";
import { fakeApi, json, renderWith } from "../test/api";
import { WaitingBadge, waitingThreads } from "./WaitingBadge";

function approval(id: string, threadId: string, extra: Partial<Approval> = {}): Approval {
  return {
    id, run_id: `r-${threadId}`, thread_id: threadId, tool_call_id: `c-${id}`, kind: "approval", tool: "calculator",
    server_id: null, arguments: "{}", question: null, choices: null, status: "pending", decided_arguments: null,
    reason: null, answer: null, channel: null, created_at: `2026-12-03T00:00:0${id.slice(1)}Z`,
    expires_at: "2026-12-05T00:00:00Z", decided_at: null, ...extra,
  };
}

function thread(id: string, title: string) {
  return {
    id, agent_id: "assistant", title, created_at: "", last_activity_at: "", message_count: 2, active_run_id: `r-${id}`,
    owner: { id: "u1", email: "ada@example.org", display_name: "Ada" }, shared: false,
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("WaitingBadge", () => {
  it("shows nothing when nothing waits", async () => {
    const calls = fakeApi({ "GET /api/me/approvals": () => json({ items: [], next_cursor: null }) });
    renderWith(<WaitingBadge />);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]?.query.get("status")).toBe("pending");
    expect(screen.queryByTestId("waiting-badge")).toBeNull();
  });

  it("counts the pending approvals and lists the threads they wait in", async () => {
    fakeApi({
      "GET /api/me/approvals": (call) =>
        json(
          call.query.get("cursor")
            ? { items: [approval("a1", "t1")], next_cursor: null }
            : {
                items: [approval("a3", "t2", { kind: "question", tool: "ask_user" }), approval("a2", "t1", { tool: "files_delete" })],
                next_cursor: "page-2",
              },
        ),
      "GET /api/threads/t1": () => json(thread("t1", "Sums")),
      "GET /api/threads/t2": () => json(thread("t2", "Plans")),
    });
    renderWith(<WaitingBadge />);
    const badge = await screen.findByRole("button", { name: /^Waiting\s*3\s*requests for you$/ });
    expect(within(badge).getByTestId("waiting-count")).toHaveTextContent("3");
    expect(badge).toHaveAttribute("aria-expanded", "false");
    await userEvent.click(badge);
    const menu = screen.getByRole("list", { name: "Conversations waiting for you" });
    const links = await within(menu).findAllByRole("link");
    expect(links.map((l) => l.getAttribute("href"))).toEqual(["/chat/t1", "/chat/t2"]);
    expect(await within(menu).findByText("Sums")).toBeInTheDocument();
    expect(links[0]).toHaveTextContent("approve calculator, files_delete");
    expect(links[1]).toHaveTextContent("a question");
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("list")).toBeNull();
    expect(badge).toHaveFocus();
  });

  it("groups by thread, the longest waiting first", () => {
    const grouped = waitingThreads([approval("a2", "t2"), approval("a3", "t1"), approval("a1", "t2")]);
    expect(grouped.map((t) => [t.threadId, t.approvals.map((a) => a.id)])).toEqual([
      ["t2", ["a1", "a2"]],
      ["t1", ["a3"]],
    ]);
  });
});
