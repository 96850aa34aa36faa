import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";

const signedOut = () => json({ code: "not_authenticated", status: 401 }, 401);

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

describe("account links", () => {
  it("asks for a reset link and says the same whatever the address", async () => {
    const calls = fakeApi({
      "GET /api/auth/me": signedOut,
      "POST /api/auth/refresh": () => json({ code: "invalid_refresh_token", status: 401 }, 401),
      "POST /api/auth/password/forgot": () => json({ email: "ada@example.org" }, 202),
    });
    renderWith(<App />, "/login");
    await userEvent.click(await screen.findByRole("link", { name: "Forgot your password?" }));
    await userEvent.type(screen.getByLabelText("Email"), "ada@example.org");
    await userEvent.click(screen.getByRole("button", { name: "Send the link" }));
    expect(await screen.findByTestId("forgot-sent")).toHaveTextContent("ada@example.org");
    const sent = calls.find((c) => c.path === "/api/auth/password/forgot");
    expect(sent?.body).toEqual({ email: "ada@example.org" });
  });

  it("sets a new password with the link's token, and takes the token out of the address", async () => {
    const calls = fakeApi({
      "GET /api/auth/me": signedOut,
      "POST /api/auth/refresh": () => json({ code: "invalid_refresh_token", status: 401 }, 401),
      "POST /api/auth/password/reset": () => json(null, 204),
    });
    window.history.replaceState(null, "", "/reset-password?token=tok-123");
    renderWith(<App />, "/reset-password?token=tok-123");
    await userEvent.type(await screen.findByLabelText("New password"), "quartz-lantern-meadow-77");
    await userEvent.type(screen.getByLabelText("New password again"), "quartz-lantern-meadow-7");
    await userEvent.click(screen.getByRole("button", { name: "Set the password" }));
    expect(await screen.findByText("The two passwords are not the same.")).toBeInTheDocument();
    expect(calls.some((c) => c.path === "/api/auth/password/reset")).toBe(false);
    await userEvent.type(screen.getByLabelText("New password again"), "7");
    await userEvent.click(screen.getByRole("button", { name: "Set the password" }));
    expect(await screen.findByTestId("reset-done")).toBeInTheDocument();
    const reset = calls.find((c) => c.path === "/api/auth/password/reset");
    expect(reset?.body).toEqual({ token: "tok-123", new_password: "quartz-lantern-meadow-77" });
    expect(window.location.search).toBe("");
  });

  it("shows a used link's problem in words", async () => {
    fakeApi({
      "GET /api/auth/me": signedOut,
      "POST /api/auth/refresh": () => json({ code: "invalid_refresh_token", status: 401 }, 401),
      "POST /api/auth/email/verify": () => json({ code: "invalid_token", status: 400, title: "x" }, 400),
    });
    renderWith(<App />, "/verify-email?token=used");
    expect(await screen.findByRole("alert")).toHaveTextContent("This link is not valid any more");
  });

  it("verifies an address once, from the link", async () => {
    const calls = fakeApi({
      "GET /api/auth/me": signedOut,
      "POST /api/auth/refresh": () => json({ code: "invalid_refresh_token", status: 401 }, 401),
      "POST /api/auth/email/verify": () => json(null, 204),
    });
    renderWith(<App />, "/verify-email?token=tok-9");
    expect(await screen.findByTestId("verify-done")).toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/auth/email/verify")).toHaveLength(1);
  });

  it("tells an unverified account, and sends a new link on request", async () => {
    const calls = fakeApi({
      "GET /api/auth/me": () => json(me({ email_verified: false, permissions: ["threads:read", "threads:write", "agents:use:*"] })),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
      "POST /api/auth/email/verification": () => json({ email: "admin@example.org" }, 202),
    });
    renderWith(<App />, "/");
    expect(await screen.findByTestId("verify-banner")).toHaveTextContent("cannot share");
    await userEvent.click(screen.getByRole("button", { name: "Mail me a new link" }));
    expect(await screen.findByTestId("verify-resent")).toBeInTheDocument();
    expect(calls.some((c) => c.path === "/api/auth/email/verification")).toBe(true);
  });
});
