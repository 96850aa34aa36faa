import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SHARED_MESSAGE } from "../components/ShareDialog";
import { fakeApi, json, me, renderWith } from "../test/api";
import { ThreadPage } from "./ThreadPage";

const OWNER = { id: "u-owner", email: "olive@example.org", display_name: "Olive" };
const thread = (shared: boolean) => ({
  id: "t1", agent_id: "assistant", title: "Plans", created_at: "", last_activity_at: "", message_count: 1,
  active_run_id: null, owner: shared ? OWNER : { id: "u-admin", email: "admin@example.org", display_name: "Ada" },
  shared,
});
const MESSAGE = {
  id: "m1", seq: 1, role: "user", content: "hello", tool_calls: null, tool_call_id: null, name: null,
  run_id: null, interrupted: false, created_at: "2026-11-30T00:00:00Z",
};

function renderThread() {
  return renderWith(
    <Routes>
      <Route path="/chat/:threadId" element={<ThreadPage />} />
    </Routes>,
    "/chat/t1",
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("a thread shared with me", () => {
  it("is read-only: the owner's name, its messages, no composer, no rename, delete or share", async () => {
    fakeApi({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads/t1": () => json(thread(true)),
      "GET /api/threads/t1/messages": () => json({ items: [MESSAGE], next_cursor: null }),
    });
    renderThread();
    expect(await screen.findByTestId("shared-note")).toHaveTextContent("Shared with you by Olive · read-only");
    expect(await screen.findByText("hello")).toBeInTheDocument();
    expect(screen.queryByRole("textbox", { name: "Message" })).toBeNull();
    for (const name of ["Share", "Rename thread", "Delete thread", "Send"]) {
      expect(screen.queryByRole("button", { name })).toBeNull();
    }
  });
});

describe("the owner's Share dialog", () => {
  it("shares by email with the same answer for any email, lists the shares, removes one", async () => {
    let shares = [{ id: "s1", email: "rory@example.org", display_name: "Rory", created_at: "" }];
    const calls = fakeApi({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads/t1": () => json(thread(false)),
      "GET /api/threads/t1/messages": () => json({ items: [MESSAGE], next_cursor: null }),
      "GET /api/threads/t1/shares": () => json({ items: shares, next_cursor: null }),
      "POST /api/threads/t1/shares": ({ body }) => json(body, 202),
      "DELETE /api/threads/t1/shares/s1": () => {
        shares = [];
        return json(null, 204);
      },
    });
    document.cookie = "confide_csrf=tok; path=/";
    renderThread();
    expect(await screen.findByRole("textbox", { name: "Message" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Share" }));
    const dialog = screen.getByRole("dialog", { name: "Share “Plans”" });
    const list = within(dialog).getByRole("list", { name: "Shared with" });
    expect(await within(list).findByText("Rory")).toBeInTheDocument();

    await userEvent.type(within(dialog).getByLabelText("Email"), "nobody@example.org");
    await userEvent.click(within(dialog).getByRole("button", { name: "Share" }));
    expect(await within(dialog).findByText(SHARED_MESSAGE)).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ email: "nobody@example.org" });
    expect(within(dialog).getByLabelText("Email")).toHaveValue("");

    await userEvent.click(within(dialog).getByRole("button", { name: "Remove Rory" }));
    expect(await within(dialog).findByText("Nobody yet.")).toBeInTheDocument();
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
  });

  it("is not offered without the permission to share", async () => {
    fakeApi({
      "GET /api/auth/me": () => json(me({ permissions: ["threads:read", "threads:write"] })),
      "GET /api/threads/t1": () => json(thread(false)),
      "GET /api/threads/t1/messages": () => json({ items: [MESSAGE], next_cursor: null }),
    });
    renderThread();
    expect(await screen.findByRole("button", { name: "Rename thread" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Share" })).toBeNull();
  });
});
