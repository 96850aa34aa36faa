// Account events in words, as the settings page lists them.
import type { AccountEvent } from "../api/auth";

// A refused sign-in names an existing account here (the user's own): a wrong password.
const REASONS: Record<string, string> = {
  invalid_credentials: "wrong password",
  account_disabled: "account disabled",
  rate_limited: "too many attempts",
};

function count(detail: Record<string, unknown>, key: string): number | null {
  const value = detail[key];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** What happened, in a few words ("Signed in", "Failed sign-in: wrong password"). An action
 * this code does not know yet is shown by its name, made readable. */
export function describeEvent(event: Pick<AccountEvent, "action" | "outcome" | "detail">): string {
  const detail = event.detail ?? {};
  switch (event.action) {
    case "auth.registered":
      return "Account created";
    case "auth.signed_in": {
      if (event.outcome === "success") return "Signed in";
      const reason = typeof detail.reason === "string" ? detail.reason : "";
      return reason ? `Failed sign-in: ${REASONS[reason] ?? reason.replace(/_/g, " ")}` : "Failed sign-in";
    }
    case "auth.signed_out": {
      const sessions = count(detail, "sessions");
      if (sessions !== null && sessions > 1) return `Signed out everywhere (${plural(sessions, "session")})`;
      return "Signed out";
    }
    case "auth.password_changed": {
      if (event.outcome !== "success") return "Failed password change";
      const ended = count(detail, "sessions_ended");
      return ended ? `Password changed (${plural(ended, "other session")} ended)` : "Password changed";
    }
    case "auth.session_ended":
      return "Session ended";
    case "auth.refresh_token_reused":
      return "Session ended: its refresh token was used twice";
    default: {
      const words = event.action.replace(/^[a-z]+\./, "").replace(/[._]/g, " ");
      const text = words.charAt(0).toUpperCase() + words.slice(1);
      return event.outcome === "success" ? text : `${text} (${event.outcome})`;
    }
  }
}

/** Failures and refusals stand out in the list (a sign someone else tried the account). */
export function isWarning(event: Pick<AccountEvent, "action" | "outcome">): boolean {
  return event.outcome !== "success" || event.action === "auth.refresh_token_reused";
}
