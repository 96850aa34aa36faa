// One place for errors: every failed API call becomes an ApiError with a human message.
import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Partial<Problem> | null;

  constructor(status: number, code: string, message: string, problem: Partial<Problem> | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.problem = problem;
  }
}

/** Messages people can act on, by stable error code. The server's detail is the fallback. */
const MESSAGES: Record<string, string> = {
  invalid_credentials: "Wrong email or password.",
  email_unavailable: "That email cannot be used. Sign in if you already have an account.",
  registration_closed: "Registration is closed on this server.",
  account_disabled: "This account is disabled.",
  not_authenticated: "Please sign in again.",
  session_expired: "Your session has ended. Please sign in again.",
  invalid_refresh_token: "Your session has ended. Please sign in again.",
  refresh_token_reused: "Your session has ended. Please sign in again.",
  run_in_progress: "The agent is still answering. Wait for it or stop it first.",
  thread_not_found: "This conversation does not exist or was deleted.",
  agent_not_found: "That agent is not available.",
  model_unreachable: "The model cannot be reached right now.",
  model_timeout: "The model took too long to answer.",
  network_error: "The server cannot be reached. Check your connection.",
  payload_too_large: "That message is too long.",
  pending_approval: "Your account is waiting for an administrator's approval.",
  invite_required: "Registration on this server needs an invitation. Ask an administrator for a link.",
  invite_invalid: "This invitation link is not valid. Ask for a new one.",
  invite_expired: "This invitation has expired. Ask for a new one.",
  invite_used: "This invitation was already used. Ask for a new one.",
  invite_email_mismatch: "This invitation is for another email address.",
  last_admin: "This would leave no active administrator: make someone else an admin first.",
  own_roles: "You cannot change your own roles: ask another administrator.",
  role_cycle: "A role cannot inherit from itself or from a role that inherits from it.",
  role_too_deep: "Roles can inherit at most 8 levels deep.",
  role_exists: "A role with this name exists already.",
  role_in_use: "Other roles inherit from this role: give them another parent first.",
  builtin_role: "Built-in roles cannot be changed this way.",
  read_only: "This conversation was shared with you to read; it cannot be changed.",
  ip_blocked: "Requests from your network are blocked on this server. Ask an administrator.",
  invalid_token: "This link is not valid any more: it was used already or it expired. Ask for a new one.",
  already_verified: "Your email address is verified already.",
  reauth_required: "This change needs you to confirm it's you first. Try again.",
};

/** Codes whose server detail says more than a fixed message could (which permissions). */
const DETAILED = new Set([
  "permission_not_held",
  "role_exceeds_caller",
  "user_outranks_caller",
  "forbidden",
  "invalid_cidr",
  "blocks_self",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Build an ApiError from a problem+json body (or anything else a server may send). */
export function problemError(status: number, body: unknown): ApiError {
  const problem = isObject(body) ? (body as Partial<Problem>) : null;
  const code = typeof problem?.code === "string" ? problem.code : `http_${status}`;
  const detail = typeof problem?.detail === "string" ? problem.detail : "";
  const title = typeof problem?.title === "string" ? problem.title : "";
  let message = (DETAILED.has(code) && detail) || MESSAGES[code] || detail || title || `The server answered ${status}.`;
  if (code === "weak_password" || code === "validation_error") {
    message = validationMessage(problem) ?? message;
  }
  if (status === 429) message = waitMessage(code, problem) ?? message;
  return new ApiError(status, code, message, problem);
}

/** A 429's wait, from its `retry_after` seconds (sign-in lockout, blocked address, budgets). */
function waitMessage(code: string, problem: Partial<Problem> | null): string | null {
  const seconds = (problem as { retry_after?: unknown } | null)?.retry_after;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) return null;
  const wait = seconds < 120 ? `${Math.ceil(seconds)} s` : `${Math.ceil(seconds / 60)} min`;
  // A budget (`rate_limited`) counts every request; the others count failed attempts.
  const what = code === "rate_limited" ? "requests" : "attempts";
  return `Too many ${what} — try again in ${wait}.`;
}

function validationMessage(problem: Partial<Problem> | null): string | null {
  if (!problem) return null;
  const first = problem.errors?.[0];
  if (problem.code === "weak_password") return problem.detail ?? null;
  if (!first) return problem.detail ?? null;
  const field = first.loc.filter((part) => part !== "body").join(".");
  return field ? `${field}: ${first.msg}` : first.msg;
}

/** Read a failed Response as an ApiError. */
export async function responseError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.status === 429 && isObject(body) && body.retry_after === undefined) {
    // A 429 from something that sets only the header (a proxy): its wait all the same.
    const header = Number(response.headers.get("Retry-After"));
    if (Number.isFinite(header) && header > 0) body = { ...body, retry_after: header };
  }
  return problemError(response.status, body);
}

export function networkError(cause: unknown): ApiError {
  const error = new ApiError(0, "network_error", MESSAGES.network_error ?? "Network error");
  (error as { cause?: unknown }).cause = cause;
  return error;
}

/** The text to show for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong.";
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
