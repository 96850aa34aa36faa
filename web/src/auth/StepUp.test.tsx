import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith, type Call } from "../test/api";

const bytes = (...values: number[]) => new Uint8Array(values).buffer;
const empty = () => json({ items: [], next_cursor: null });
const reauthRequired = () => json({ code: "reauth_required", status: 401, title: "x" }, 401);
const byRole = {
  code: "mfa_required_by_role",
  status: 409,
  title: "Conflict",
  detail: "A role you hold requires two-factor authentication: keep an authenticator app or a passkey",
};

function passkey(id: string, name: string) {
  return { id, name, created_at: "2026-12-01T10:00:00Z", last_used_at: null, transports: ["internal"] };
}

function settings(passkeys: ReturnType<typeof passkey>[], mfaOn = false) {
  return {
    "GET /api/auth/me": () => json(me()),
    "GET /api/threads": empty,
    "GET /api/agents": empty,
    "GET /api/auth/sessions": empty,
    "GET /api/auth/events": empty,
    "GET /api/auth/mfa": () =>
      json({ enabled: mfaOn, pending: false, methods: mfaOn ? ["totp", "backup_code"] : [], backup_codes_remaining: 10 }),
    "GET /api/auth/passkeys": () => json({ items: passkeys, next_cursor: null }),
  };
}

let get: ReturnType<typeof vi.fn>;

beforeEach(() => {
  get = vi.fn(async () => ({
    id: "AQID",
    rawId: bytes(1, 2, 3),
    type: "public-key",
    authenticatorAttachment: "platform",
    response: { clientDataJSON: bytes(123, 125), authenticatorData: bytes(9, 9), signature: bytes(48, 1) },
    getClientExtensionResults: () => ({}),
  }));
  vi.stubGlobal("PublicKeyCredential", function PublicKeyCredential() {});
  Object.defineProperty(navigator, "credentials", { value: { get }, configurable: true });
});

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

describe("step-up with a passkey", () => {
  it("confirms with a passkey, then retries the change", async () => {
    let recent = false;
    let items = [passkey("p1", "Phone"), passkey("p2", "Laptop")];
    const calls = fakeApi({
      ...settings(items),
      "GET /api/auth/passkeys": () => json({ items, next_cursor: null }),
      "DELETE /api/auth/passkeys/p1": () => {
        if (!recent) return reauthRequired();
        items = items.slice(1);
        return json(null, 204);
      },
      "POST /api/auth/passkeys/reauth/options": () =>
        json({ challenge: "AAEC", rpId: "localhost", allowCredentials: [{ id: "AQID", type: "public-key" }], userVerification: "required" }),
      "POST /api/auth/passkeys/reauth/verify": () => {
        recent = true;
        return json({ method: "passkey", valid_for: 600 });
      },
    });
    renderWith(<App />, "/settings");
    const list = await screen.findByRole("list", { name: "Passkeys" });
    const phone = (await within(list).findAllByTestId("passkey"))[0]!;
    await userEvent.click(within(phone).getByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it's you" });
    await userEvent.click(await within(dialog).findByRole("button", { name: "Use a passkey" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    await waitFor(() => expect(within(list).queryByText("Phone")).toBeNull());
    const deletes = calls.filter((c: Call) => c.method === "DELETE");
    expect(deletes).toHaveLength(2);
    // The options' challenge and credential reached the browser as bytes ...
    const publicKey = get.mock.calls[0]![0].publicKey;
    expect(Array.from(new Uint8Array(publicKey.challenge))).toEqual([0, 1, 2]);
    expect(Array.from(new Uint8Array(publicKey.allowCredentials[0].id))).toEqual([1, 2, 3]);
    // ... and the assertion went back as base64url; no password was asked for.
    expect(calls.find((c) => c.path === "/api/auth/passkeys/reauth/verify")?.body).toEqual({
      credential: {
        id: "AQID",
        rawId: "AQID",
        type: "public-key",
        authenticatorAttachment: "platform",
        clientExtensionResults: {},
        response: { clientDataJSON: "e30", authenticatorData: "CQk", signature: "MAE" },
      },
    });
    expect(calls.some((c) => c.path === "/api/auth/reauth")).toBe(false);
  });

  it("shows a cancelled passkey prompt and keeps the password open", async () => {
    get.mockRejectedValueOnce(new DOMException("The operation either timed out or was not allowed.", "NotAllowedError"));
    fakeApi({
      ...settings([passkey("p1", "Phone")], true),
      "DELETE /api/auth/mfa/totp": reauthRequired,
      "POST /api/auth/passkeys/reauth/options": () => json({ challenge: "AAEC", rpId: "localhost", allowCredentials: [] }),
    });
    renderWith(<App />, "/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Turn off two-factor authentication" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it's you" });
    await userEvent.click(await within(dialog).findByRole("button", { name: "Use a passkey" }));
    expect(await within(dialog).findByText("The passkey request was cancelled or timed out.")).toBeInTheDocument();
    expect(within(dialog).getByLabelText("Password")).toBeInTheDocument();
  });

  it("is not offered without a passkey", async () => {
    const calls = fakeApi({ ...settings([], true), "DELETE /api/auth/mfa/totp": reauthRequired });
    renderWith(<App />, "/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Turn off two-factor authentication" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it's you" });
    await waitFor(() => expect(calls.filter((c) => c.path === "/api/auth/passkeys").length).toBeGreaterThan(0));
    expect(await within(dialog).findByLabelText("Password")).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Use a passkey" })).toBeNull();
  });

  it("is not offered in a browser without WebAuthn", async () => {
    vi.unstubAllGlobals();
    fakeApi({ ...settings([passkey("p1", "Phone")], true), "DELETE /api/auth/mfa/totp": reauthRequired });
    renderWith(<App />, "/settings");
    expect(await screen.findByText("Phone")).toBeInTheDocument(); // the account has one
    await userEvent.click(await screen.findByRole("button", { name: "Turn off two-factor authentication" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it's you" });
    expect(within(dialog).getByLabelText("Password")).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Use a passkey" })).toBeNull();
  });
});

describe("a role that requires MFA", () => {
  it("keeps the last passkey and says why", async () => {
    const calls = fakeApi({
      ...settings([passkey("p1", "Phone")]),
      "DELETE /api/auth/passkeys/p1": () => json(byRole, 409),
    });
    renderWith(<App />, "/settings");
    const list = await screen.findByRole("list", { name: "Passkeys" });
    await userEvent.click(await within(list).findByRole("button", { name: "Delete" }));
    expect(await screen.findByText(byRole.detail)).toBeInTheDocument();
    expect(within(list).getByText("Phone")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);
  });

  it("keeps the authenticator app and says why", async () => {
    fakeApi({ ...settings([], true), "DELETE /api/auth/mfa/totp": () => json(byRole, 409) });
    renderWith(<App />, "/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Turn off two-factor authentication" }));
    expect(await screen.findByText(byRole.detail)).toBeInTheDocument();
    expect(screen.getByTestId("mfa-on")).toBeInTheDocument();
  });
});
