import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, me, renderWith } from "../test/api";
import { SettingsPage } from "./SettingsPage";

const event = (id: number, action: string, outcome = "success", detail = {}) => ({
  id, at: "2026-11-30T10:00:00Z", action, outcome, ip: "203.0.113.9", device: "Firefox on Linux", detail,
});

afterEach(() => vi.unstubAllGlobals());

describe("Account activity", () => {
  it("lists the account's events as the API orders them (newest first), then loads more", async () => {
    const calls = fakeApi({
      "GET /api/auth/me": () => json(me()),
      "GET /api/auth/sessions": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/events": ({ query }) =>
        json(
          query.get("cursor") === "c1"
            ? { items: [event(1, "auth.registered")], next_cursor: null }
            : {
                items: [
                  event(4, "auth.password_changed", "success", { sessions_ended: 1 }),
                  event(3, "auth.signed_in"),
                  event(2, "auth.signed_in", "failure", { reason: "invalid_credentials" }),
                ],
                next_cursor: "c1",
              },
        ),
    });
    renderWith(<SettingsPage />, "/settings");
    const list = await screen.findByRole("list", { name: "Account activity" });
    expect(await within(list).findAllByRole("listitem")).toHaveLength(3);
    expect(within(list).getAllByRole("listitem").map((li) => li.querySelector(".session-label")?.textContent)).toEqual([
      "Password changed (1 other session ended)",
      "Signed in",
      "Failed sign-in: wrong password",
    ]);
    expect(within(list).getAllByRole("listitem")[1]).toHaveTextContent("Firefox on Linux · 203.0.113.9");
    expect(calls.find((c) => c.path === "/api/auth/events")?.query.get("limit")).toBe("20");

    await userEvent.click(screen.getByRole("button", { name: "Load more activity" }));
    expect(await within(list).findByText("Account created")).toBeInTheDocument();
    expect(within(list).getAllByRole("listitem")).toHaveLength(4);
    expect(screen.queryByRole("button", { name: "Load more activity" })).toBeNull();
  });
});
