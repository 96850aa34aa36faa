import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../test/api";
import { LinkSection } from "./LinkSection";

const LINK = {
  id: "l1",
  created_at: "2026-12-04T10:00:00Z",
  expires_at: null,
  include_tool_calls: false,
  message_count: 4,
  leaf_id: "m4",
};

afterEach(() => vi.unstubAllGlobals());

describe("the share dialog's links", () => {
  it("makes a link with an expiry and without tool calls, shows its URL once, revokes it", async () => {
    let links: (typeof LINK)[] = [];
    const calls = fakeApi({
      "GET /api/threads/t1/links": () => json({ items: links, next_cursor: null }),
      "POST /api/threads/t1/links": () => {
        links = [LINK];
        return json({ ...LINK, token: "tok123", url: "/s/tok123" }, 201);
      },
      "DELETE /api/threads/t1/links/l1": () => {
        links = [];
        return json(null, 204);
      },
    });
    document.cookie = "confide_csrf=tok; path=/";
    renderWith(<LinkSection threadId="t1" />);
    expect(await screen.findByText("No links.")).toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText("Link expires"), "1 day");
    await userEvent.click(screen.getByLabelText(/Include tool calls/));
    await userEvent.click(screen.getByRole("button", { name: "Create link" }));
    const made = await screen.findByTestId("new-link");
    expect(within(made).getByRole("textbox")).toHaveValue(`${window.location.origin}/s/tok123`);
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      expires_in_seconds: 86_400,
      include_tool_calls: false,
    });
    const list = screen.getByRole("list", { name: "Share links" });
    expect(await within(list).findByText(/4 messages · without tool calls/)).toBeInTheDocument();

    await userEvent.click(within(list).getByRole("button", { name: /Revoke link/ }));
    expect(await screen.findByText("No links.")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByTestId("new-link")).toBeNull());
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/threads/t1/links/l1")).toBe(true);
  });

  it("says so when an administrator turned links off", async () => {
    fakeApi({
      "GET /api/threads/t1/links": () => json({ items: [], next_cursor: null }),
      "POST /api/threads/t1/links": () =>
        json({ status: 403, code: "share_links_disabled", title: "Share links are turned off", detail: "An administrator turned share links off (CONFIDE_SHARE_LINKS)." }, 403),
    });
    document.cookie = "confide_csrf=tok; path=/";
    renderWith(<LinkSection threadId="t1" />);
    await userEvent.click(await screen.findByRole("button", { name: "Create link" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/turned share links off/);
  });
});
