import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { toBase64url, toBuffer } from "../api/passkeys";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";

const bytes = (...values: number[]) => new Uint8Array(values).buffer;
const cookieGrant = { token_type: "cookie", expires_in: 900, csrf_token: "csrf-1" };
const noSession = () => json({ code: "invalid_refresh_token", status: 401 }, 401);
const page = {
  "GET /api/auth/me": () => json(me()),
  "GET /api/threads": () => json({ items: [], next_cursor: null }),
  "GET /api/agents": () => json({ items: [], next_cursor: null }),
  "GET /api/auth/sessions": () => json({ items: [], next_cursor: null }),
  "GET /api/auth/events": () => json({ items: [], next_cursor: null }),
  "GET /api/auth/mfa": () => json({ enabled: false, pending: false, methods: [], backup_codes_remaining: 0 }),
};

function passkey(id: string, name: string) {
  return { id, name, created_at: "2026-12-01T10:00:00Z", last_used_at: null, transports: ["internal"] };
}

let create: ReturnType<typeof vi.fn>;
let get: ReturnType<typeof vi.fn>;

beforeEach(() => {
  create = vi.fn(async () => ({
    id: "AQID",
    rawId: bytes(1, 2, 3),
    type: "public-key",
    authenticatorAttachment: "platform",
    response: { clientDataJSON: bytes(123, 125), attestationObject: bytes(255, 254), getTransports: () => ["internal"] },
    getClientExtensionResults: () => ({}),
  }));
  get = vi.fn(async () => ({
    id: "AQID",
    rawId: bytes(1, 2, 3),
    type: "public-key",
    authenticatorAttachment: "platform",
    response: {
      clientDataJSON: bytes(123, 125),
      authenticatorData: bytes(9, 9),
      signature: bytes(48, 1),
      userHandle: bytes(7),
    },
    getClientExtensionResults: () => ({}),
  }));
  vi.stubGlobal("PublicKeyCredential", function PublicKeyCredential() {});
  Object.defineProperty(navigator, "credentials", { value: { create, get }, configurable: true });
});

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

describe("base64url", () => {
  it("round-trips bytes, without padding", () => {
    const text = toBase64url(bytes(251, 255, 0, 1));
    expect(text).toBe("-_8AAQ");
    expect(Array.from(new Uint8Array(toBuffer(text)))).toEqual([251, 255, 0, 1]);
  });
});

describe("passkey settings", () => {
  it("adds a passkey with a name, renames and deletes it", async () => {
    let items = [passkey("p1", "Phone")];
    const calls = fakeApi({
      ...page,
      "GET /api/auth/passkeys": () => json({ items, next_cursor: null }),
      "POST /api/auth/passkeys/register/options": () =>
        json({
          challenge: "AAEC",
          rp: { id: "localhost", name: "Confide" },
          user: { id: "BwgJ", name: "admin@example.org", displayName: "Ada" },
          pubKeyCredParams: [{ type: "public-key", alg: -7 }],
          excludeCredentials: [{ id: "AQID", type: "public-key", transports: ["internal"] }],
          authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
        }),
      "POST /api/auth/passkeys/register/verify": () => {
        items = [...items, passkey("p2", "Laptop")];
        return json(items[1], 201);
      },
      "PATCH /api/auth/passkeys/p1": (call) => {
        items = items.map((p) => (p.id === "p1" ? { ...p, name: (call.body as { name: string }).name } : p));
        return json(items.find((p) => p.id === "p1"));
      },
      "DELETE /api/auth/passkeys/p1": () => {
        items = items.slice(1);
        return json(null, 204);
      },
    });
    renderWith(<App />, "/settings");
    const list = await screen.findByRole("list", { name: "Passkeys" });
    expect(await within(list).findByText("Phone")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Passkey name"), "Laptop");
    await userEvent.click(screen.getByRole("button", { name: "Add a passkey" }));
    expect(await within(list).findByText("Laptop")).toBeInTheDocument();
    // The options' base64url fields reached the browser as bytes.
    const publicKey = create.mock.calls[0]![0].publicKey;
    expect(Array.from(new Uint8Array(publicKey.challenge))).toEqual([0, 1, 2]);
    expect(Array.from(new Uint8Array(publicKey.user.id))).toEqual([7, 8, 9]);
    expect(Array.from(new Uint8Array(publicKey.excludeCredentials[0].id))).toEqual([1, 2, 3]);
    // And the answer went back as base64url.
    expect(calls.find((c) => c.path === "/api/auth/passkeys/register/verify")?.body).toEqual({
      name: "Laptop",
      credential: {
        id: "AQID",
        rawId: "AQID",
        type: "public-key",
        authenticatorAttachment: "platform",
        clientExtensionResults: {},
        response: { clientDataJSON: "e30", attestationObject: "__4", transports: ["internal"] },
      },
    });

    const phone = within(list).getAllByTestId("passkey")[0]!;
    await userEvent.click(within(phone).getByRole("button", { name: "Rename" }));
    const field = within(phone).getByLabelText("New name");
    await userEvent.clear(field);
    await userEvent.type(field, "Old phone");
    await userEvent.click(within(phone).getByRole("button", { name: "Save" }));
    expect(await within(list).findByText("Old phone")).toBeInTheDocument();

    await userEvent.click(within(within(list).getAllByTestId("passkey")[0]!).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(within(list).queryByText("Old phone")).toBeNull());
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);
  });
});

describe("passkey sign-in", () => {
  it("signs in with a passkey alone from the login page", async () => {
    let signedIn = false;
    const calls = fakeApi({
      ...page,
      "GET /api/auth/me": () => (signedIn ? json(me()) : json({ code: "not_authenticated", status: 401 }, 401)),
      "POST /api/auth/refresh": noSession,
      "POST /api/auth/passkeys/authenticate/options": () =>
        json({ challenge: "AAEC", rpId: "localhost", allowCredentials: [], userVerification: "required" }),
      "POST /api/auth/passkeys/authenticate/verify": () => {
        signedIn = true;
        return json(cookieGrant);
      },
    });
    renderWith(<App />, "/login");
    await userEvent.click(await screen.findByRole("button", { name: "Continue with a passkey" }));
    expect(await screen.findByRole("link", { name: "Account" })).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/auth/passkeys/authenticate/verify")?.body).toEqual({
      mode: "cookie",
      credential: {
        id: "AQID",
        rawId: "AQID",
        type: "public-key",
        authenticatorAttachment: "platform",
        clientExtensionResults: {},
        response: { clientDataJSON: "e30", authenticatorData: "CQk", signature: "MAE", userHandle: "Bw" },
      },
    });
  });

  it("finishes the MFA step with a passkey", async () => {
    let signedIn = false;
    const calls = fakeApi({
      ...page,
      "GET /api/auth/me": () => (signedIn ? json(me()) : json({ code: "not_authenticated", status: 401 }, 401)),
      "POST /api/auth/refresh": noSession,
      "POST /api/auth/login": () =>
        json({ mfa_required: true, mfa_token: "chal-1", methods: ["passkey"], expires_in: 300 }),
      "POST /api/auth/passkeys/authenticate/options": () =>
        json({ challenge: "AAEC", rpId: "localhost", allowCredentials: [{ id: "AQID", type: "public-key" }] }),
      "POST /api/auth/passkeys/authenticate/verify": () => {
        signedIn = true;
        return json(cookieGrant);
      },
    });
    renderWith(<App />, "/login");
    await userEvent.type(await screen.findByLabelText("Email"), "admin@example.org");
    await userEvent.type(screen.getByLabelText("Password"), "plum-orchard-velvet-42");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await userEvent.click(await screen.findByRole("button", { name: "Use a passkey" }));
    expect(await screen.findByRole("link", { name: "Account" })).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/auth/passkeys/authenticate/options")?.body).toEqual({ mfa_token: "chal-1" });
    const body = calls.find((c) => c.path === "/api/auth/passkeys/authenticate/verify")?.body as Record<string, unknown>;
    expect(body.mfa_token).toBe("chal-1");
    expect(Array.from(new Uint8Array(get.mock.calls[0]![0].publicKey.allowCredentials[0].id))).toEqual([1, 2, 3]);
  });
});
