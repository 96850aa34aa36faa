// The audit log as the admin page shows it.
import type { AuditEvent } from "../api/admin";
import { when } from "../format";

/** Offered in the action filter (any action, or a prefix ending in `*`, can be typed). */
export const AUDIT_ACTIONS: readonly string[] = [
  "auth.*",
  "auth.registered",
  "auth.signed_in",
  "auth.signed_out",
  "auth.password_changed",
  "auth.session_ended",
  "auth.refresh_token_reused",
  "access.denied",
  "user.*",
  "role.*",
  "invite.*",
  "thread.*",
];

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

function valueText(value: unknown): string {
  if (typeof value === "string") return ISO_TIME.test(value) ? when(value) : value;
  if (Array.isArray(value)) return value.map(valueText).join(", ");
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

/** The detail object as `key: value` pairs on one line; empty values left out (values are
 * never secrets: the server keeps none in the trail). */
export function detailText(detail: unknown): string {
  if (!detail || typeof detail !== "object") return typeof detail === "string" ? detail : "";
  return Object.entries(detail as Record<string, unknown>)
    .filter(([, value]) => value !== null && value !== "" && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${key.replace(/_/g, " ")}: ${valueText(value)}`)
    .join(" · ");
}

/** Where the request came from: IP, user agent (as recorded: evidence, not a summary) and
 * request id (to find it in the server's logs). */
export function originText(event: Pick<AuditEvent, "ip" | "user_agent" | "request_id">): string {
  const parts = [event.ip, event.user_agent, event.request_id ? `request ${event.request_id}` : null];
  return parts.filter(Boolean).join(" · ");
}
