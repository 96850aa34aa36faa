import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { fakeApi, json, renderWith } from "../test/api";
import { MfaStep } from "./MfaStep";

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

const grant = { token_type: "cookie", expires_in: 900, csrf_token: "csrf-1" };

describe("the MFA step's texted code", () => {
  it("offers a text when the account has a verified phone, and signs in with its code", async () => {
    const calls = fakeApi({
      // As the server answers: 202 with no body at all.
      "POST /api/auth/mfa/send": () => new Response(null, { status: 202, headers: { "Content-Length": "0" } }),
      "POST /api/auth/mfa/verify": () => json(grant),
    });
    const onSignedIn = vi.fn(async () => {});
    renderWith(
      <MfaStep
        challenge={{ mfa_required: true, mfa_token: "chal-1", methods: ["totp", "email", "sms"], expires_in: 300 }}
        onSignedIn={onSignedIn}
        onRestart={() => {}}
      />,
    );
    expect(screen.getByRole("button", { name: "Email me a code instead" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Text me a code" }));
    expect(await screen.findByTestId("mfa-code-sent")).toHaveTextContent("text message");
    expect(screen.queryByRole("button", { name: "Text me a code" })).toBeNull();
    await userEvent.type(screen.getByLabelText("Authentication code"), "123456");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));
    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledOnce());
    expect(calls.find((c) => c.path === "/api/auth/mfa/send")?.body).toEqual({ mfa_token: "chal-1", channel: "sms" });
    expect(calls.find((c) => c.path === "/api/auth/mfa/verify")?.body).toEqual({ mfa_token: "chal-1", code: "123456" });
  });

  it("has no text button without a verified phone", () => {
    fakeApi({});
    renderWith(
      <MfaStep
        challenge={{ mfa_required: true, mfa_token: "c", methods: ["totp", "backup_code", "email"], expires_in: 300 }}
        onSignedIn={async () => {}}
        onRestart={() => {}}
      />,
    );
    expect(screen.getByRole("button", { name: "Email me a code instead" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Text me a code" })).toBeNull();
  });
});
