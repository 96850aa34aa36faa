import { describe, expect, it } from "vitest";
import { describeEvent, isWarning } from "./activity";

const event = (action: string, outcome: "success" | "failure" | "denied" = "success", detail = {}) => ({
  action,
  outcome,
  detail,
});

describe("account events in words", () => {
  it("tells a sign-in from a refused one, with the reason", () => {
    expect(describeEvent(event("auth.signed_in"))).toBe("Signed in");
    expect(describeEvent(event("auth.signed_in", "failure", { reason: "invalid_credentials" }))).toBe(
      "Failed sign-in: wrong password",
    );
    expect(describeEvent(event("auth.signed_in", "failure", { reason: "account_disabled" }))).toBe(
      "Failed sign-in: account disabled",
    );
    expect(describeEvent(event("auth.signed_in", "failure", { reason: "some_new_reason" }))).toBe(
      "Failed sign-in: some new reason",
    );
    expect(describeEvent(event("auth.signed_in", "failure"))).toBe("Failed sign-in");
  });

  it("counts sessions where the event names them", () => {
    expect(describeEvent(event("auth.signed_out", "success", { sessions: 1 }))).toBe("Signed out");
    expect(describeEvent(event("auth.signed_out", "success", { sessions: 3 }))).toBe(
      "Signed out everywhere (3 sessions)",
    );
    expect(describeEvent(event("auth.password_changed", "success", { sessions_ended: 2 }))).toBe(
      "Password changed (2 other sessions ended)",
    );
    expect(describeEvent(event("auth.password_changed", "success", { sessions_ended: 0 }))).toBe("Password changed");
  });

  it("names the other account events, and makes an unknown one readable", () => {
    expect(describeEvent(event("auth.registered"))).toBe("Account created");
    expect(describeEvent(event("auth.session_ended"))).toBe("Session ended");
    expect(describeEvent(event("auth.refresh_token_reused"))).toMatch(/refresh token/);
    expect(describeEvent(event("auth.mfa_enabled"))).toBe("Mfa enabled");
    expect(describeEvent(event("auth.mfa_enabled", "denied"))).toBe("Mfa enabled (denied)");
  });

  it("marks failures and token reuse as warnings", () => {
    expect(isWarning(event("auth.signed_in", "failure"))).toBe(true);
    expect(isWarning(event("auth.refresh_token_reused"))).toBe(true);
    expect(isWarning(event("auth.signed_in"))).toBe(false);
  });
});
