import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";
import { EmailSettings } from "./EmailSettings";

const signedOut = () => json({ code: "not_authenticated", status: 401 }, 401);
const noSession = () => json({ code: "invalid_refresh_token", status: 401 }, 401);

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

describe("email settings", () => {
  it("shows the address and asks for a change, after confirming it's you", async () => {
    let pending: string | null = null;
    let recent = false;
    const calls = fakeApi({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/sessions": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/events": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/mfa": () => json({ enabled: false, pending: false, methods: [], backup_codes_remaining: 0 }),
      "GET /api/auth/passkeys": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/email": () =>
        json({
          email: "admin@example.org",
          email_verified: true,
          pending_email: pending,
          pending_expires_at: pending ? "2026-12-04T10:00:00Z" : null,
        }),
      "POST /api/auth/email": ({ body }) => {
        if (!recent) return json({ code: "reauth_required", status: 401, title: "x" }, 401);
        pending = (body as { new_email: string }).new_email;
        return json({ email: pending }, 202);
      },
      "POST /api/auth/reauth": () => {
        recent = true;
        return json({ method: "password", valid_for: 600 });
      },
    });
    renderWith(<App />, "/settings");
    const section = await screen.findByRole("region", { name: "Email address" });
    const current = await within(section).findByTestId("current-email");
    expect(current).toHaveTextContent("admin@example.org");
    expect(current).toHaveTextContent("Verified");

    await userEvent.type(within(section).getByLabelText("New email address"), "ada@example.net");
    await userEvent.click(within(section).getByRole("button", { name: "Change email" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it's you" });
    await userEvent.type(within(dialog).getByLabelText("Password"), "plum-orchard-velvet-42");
    await userEvent.click(within(dialog).getByRole("button", { name: "Confirm" }));

    expect(await within(section).findByTestId("email-change-sent")).toHaveTextContent(
      "Check your new inbox: a link is on its way to ada@example.net",
    );
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    const sent = calls.filter((c) => c.path === "/api/auth/email" && c.method === "POST");
    expect(sent).toHaveLength(2); // refused for step-up, then sent again
    expect(sent[1]?.body).toEqual({ new_email: "ada@example.net" });
    // The address itself is unchanged until the link is opened; the status was read again.
    await waitFor(() =>
      expect(calls.filter((c) => c.path === "/api/auth/email" && c.method === "GET").length).toBeGreaterThan(1),
    );
    expect(current).toHaveTextContent("admin@example.org");
    expect(within(section).queryByTestId("email-change-pending")).toBeNull(); // said above already
  });

  it("shows an unverified address and a change waiting for its link", async () => {
    fakeApi({
      "GET /api/auth/email": () =>
        json({
          email: "ada@example.org",
          email_verified: false,
          pending_email: "ada@example.net",
          pending_expires_at: "2026-12-04T10:00:00Z",
        }),
    });
    renderWith(<EmailSettings />, "/settings");
    expect(await screen.findByTestId("current-email")).toHaveTextContent("Not verified");
    expect(screen.getByTestId("email-change-pending")).toHaveTextContent(
      "Waiting for the link sent to ada@example.net",
    );
  });

  it("shows the server's refusal of the current address", async () => {
    fakeApi({
      "GET /api/auth/email": () =>
        json({ email: "ada@example.org", email_verified: true, pending_email: null, pending_expires_at: null }),
      "POST /api/auth/email": () =>
        json({ code: "same_email", status: 409, title: "This is the account's email address already" }, 409),
    });
    renderWith(<EmailSettings />, "/settings");
    await userEvent.type(await screen.findByLabelText("New email address"), "ada@example.org");
    await userEvent.click(screen.getByRole("button", { name: "Change email" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("This is the account's email address already");
    expect(screen.queryByTestId("email-change-sent")).toBeNull();
  });
});

describe("confirm-email page", () => {
  it("follows the link once, says the new address, and takes the token out of the address", async () => {
    const calls = fakeApi({
      "GET /api/auth/me": signedOut,
      "POST /api/auth/refresh": noSession,
      "POST /api/auth/email/confirm": () => json({ email: "ada@example.net" }),
    });
    window.history.replaceState(null, "", "/confirm-email?token=tok-5");
    renderWith(<App />, "/confirm-email?token=tok-5");
    expect(await screen.findByTestId("email-change-done")).toHaveTextContent(
      "Your account's email address is now ada@example.net",
    );
    const confirmed = calls.filter((c) => c.path === "/api/auth/email/confirm");
    expect(confirmed).toHaveLength(1);
    expect(confirmed[0]?.body).toEqual({ token: "tok-5" });
    expect(window.location.search).toBe("");
  });

  it("shows a used link's problem in words", async () => {
    fakeApi({
      "GET /api/auth/me": signedOut,
      "POST /api/auth/refresh": noSession,
      "POST /api/auth/email/confirm": () => json({ code: "invalid_token", status: 400, title: "x" }, 400),
    });
    renderWith(<App />, "/confirm-email?token=used");
    expect(await screen.findByRole("alert")).toHaveTextContent("This link is not valid any more");
    expect(screen.queryByTestId("email-change-done")).toBeNull();
  });

  it("needs the link's token", async () => {
    const calls = fakeApi({ "GET /api/auth/me": signedOut, "POST /api/auth/refresh": noSession });
    renderWith(<App />, "/confirm-email");
    expect(await screen.findByRole("alert")).toHaveTextContent("This page needs the link from the email.");
    expect(calls.some((c) => c.path === "/api/auth/email/confirm")).toBe(false);
  });
});
