import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

describe("an account waiting for approval", () => {
  it("sees only the waiting page, at any address, until approved", async () => {
    let status = "pending";
    const calls = fakeApi({
      "GET /api/auth/me": () =>
        json(me({ status, roles: ["user"], permissions: status === "pending" ? [] : ["threads:read"] })),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
    });
    renderWith(<App />, "/settings");
    expect(await screen.findByRole("heading", { level: 1, name: "Waiting for approval" })).toBeInTheDocument();
    expect(screen.getByTestId("pending-approval")).toHaveTextContent("admin@example.org");
    expect(screen.queryByRole("link", { name: "Account" })).toBeNull();
    // Nothing of the app was asked for: it would only be refused.
    expect(calls.map((c) => c.path)).toEqual(["/api/auth/me"]);

    status = "active";
    await userEvent.click(screen.getByRole("button", { name: "Check again" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Account" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Waiting for approval" })).toBeNull();
  });

  it("can sign out from the waiting page", async () => {
    let signedIn = true;
    const calls = fakeApi({
      "GET /api/auth/me": () =>
        signedIn ? json(me({ status: "pending", permissions: [] })) : json({ code: "not_authenticated", status: 401 }, 401),
      "POST /api/auth/logout": () => {
        signedIn = false;
        return json(null, 204);
      },
      "POST /api/auth/refresh": () => json({ code: "invalid_refresh_token", status: 401 }, 401),
    });
    renderWith(<App />, "/");
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/auth/logout")).toBe(true));
  });
});
