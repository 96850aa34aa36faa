import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";

const noSession = () => json({ code: "invalid_refresh_token", status: 401 }, 401);
const cookieGrant = { token_type: "cookie", expires_in: 900, csrf_token: "csrf-1" };

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

describe("two-factor sign-in", () => {
  it("asks for the code after the password, then signs in", async () => {
    let signedIn = false;
    const calls = fakeApi({
      "GET /api/auth/me": () => (signedIn ? json(me()) : json({ code: "not_authenticated", status: 401 }, 401)),
      "POST /api/auth/refresh": noSession,
      "POST /api/auth/login": () =>
        json({ mfa_required: true, mfa_token: "chal-1", methods: ["totp", "backup_code", "email"], expires_in: 300 }),
      "POST /api/auth/mfa/send": () => json(null, 202),
      "POST /api/auth/mfa/verify": () => {
        signedIn = true;
        return json(cookieGrant);
      },
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
    });
    renderWith(<App />, "/login");
    await userEvent.type(await screen.findByLabelText("Email"), "admin@example.org");
    await userEvent.type(screen.getByLabelText("Password"), "plum-orchard-velvet-42");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Two-factor authentication" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Email me a code instead" }));
    expect(await screen.findByTestId("mfa-code-sent")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Authentication code"), " 123456 ");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByRole("link", { name: "Account" })).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/auth/mfa/verify")?.body).toEqual({ mfa_token: "chal-1", code: "123456" });
    expect(calls.find((c) => c.path === "/api/auth/mfa/send")?.body).toEqual({ mfa_token: "chal-1", channel: "email" });
  });

  it("starts over when the challenge has ended", async () => {
    fakeApi({
      "GET /api/auth/me": () => json({ code: "not_authenticated", status: 401 }, 401),
      "POST /api/auth/refresh": noSession,
      "POST /api/auth/login": () => json({ mfa_required: true, mfa_token: "c", methods: ["totp"], expires_in: 300 }),
      "POST /api/auth/mfa/verify": () => json({ code: "mfa_token_invalid", status: 401, title: "x" }, 401),
    });
    renderWith(<App />, "/login");
    await userEvent.type(await screen.findByLabelText("Email"), "a@example.org");
    await userEvent.type(screen.getByLabelText("Password"), "plum-orchard-velvet-42");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(screen.queryByRole("button", { name: "Email me a code instead" })).toBeNull();
    await userEvent.type(await screen.findByLabelText("Authentication code"), "000000");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));
    await userEvent.click(await screen.findByRole("button", { name: "Sign in again" }));
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
  });
});

describe("two-factor settings", () => {
  it("enrols with the QR code and shows the backup codes once", async () => {
    let enabled = false;
    const calls = fakeApi({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/sessions": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/events": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/mfa": () =>
        json({ enabled, pending: false, methods: enabled ? ["totp", "backup_code"] : [], backup_codes_remaining: enabled ? 10 : 0 }),
      "POST /api/auth/mfa/totp": () =>
        json({ secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/x", qr_svg: "<svg xmlns='http://www.w3.org/2000/svg'/>" }),
      "POST /api/auth/mfa/totp/confirm": () => {
        enabled = true;
        return json({ backup_codes: ["aaaa-bbbb", "cccc-dddd"] });
      },
    });
    renderWith(<App />, "/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Set up an authenticator app" }));
    const qr = await screen.findByRole("img", { name: "QR code for your authenticator app" });
    expect(qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(screen.getByTestId("totp-secret")).toHaveTextContent("JBSWY3DPEHPK3PXP");
    await userEvent.type(screen.getByLabelText("Code from the app"), "654321");
    await userEvent.click(screen.getByRole("button", { name: "Turn on" }));
    const codes = await screen.findByTestId("backup-codes");
    expect(within(codes).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["aaaa-bbbb", "cccc-dddd"]);
    expect(await screen.findByTestId("mfa-on")).toHaveTextContent("10 backup codes left");
    await userEvent.click(screen.getByRole("button", { name: "I have saved them" }));
    expect(screen.queryByTestId("backup-codes")).toBeNull();
    expect(calls.find((c) => c.path === "/api/auth/mfa/totp/confirm")?.body).toEqual({ code: "654321" });
  });

  it("asks for the password when a change needs step-up, then retries it", async () => {
    let recent = false;
    let enabled = true;
    const calls = fakeApi({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/sessions": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/events": () => json({ items: [], next_cursor: null }),
      "GET /api/auth/mfa": () =>
        json({ enabled, pending: false, methods: enabled ? ["totp"] : [], backup_codes_remaining: 3 }),
      "DELETE /api/auth/mfa/totp": () => {
        if (!recent) return json({ code: "reauth_required", status: 401, title: "x" }, 401);
        enabled = false;
        return json(null, 204);
      },
      "POST /api/auth/reauth": () => {
        recent = true;
        return json({ method: "password", valid_for: 600 });
      },
    });
    renderWith(<App />, "/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Turn off two-factor authentication" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it's you" });
    await userEvent.type(within(dialog).getByLabelText("Password"), "plum-orchard-velvet-42");
    await userEvent.click(within(dialog).getByRole("button", { name: "Confirm" }));
    expect(await screen.findByRole("button", { name: "Set up an authenticator app" })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.filter((c) => c.path === "/api/auth/mfa/totp" && c.method === "DELETE")).toHaveLength(2);
    expect(calls.find((c) => c.path === "/api/auth/reauth")?.body).toEqual({ password: "plum-orchard-velvet-42" });
  });
});
