// Account calls. Browser mode only: tokens stay in HttpOnly cookies, never in this code.
import { api, unwrap, type Schemas, type SessionInfo, type User } from "./client";
import { ApiError } from "./errors";
import type { MfaChallenge } from "./mfa";
import { session } from "./session";

/** The signed-in user, or null when nobody is (after a refresh was tried). */
export async function fetchMe(): Promise<User | null> {
  try {
    return await unwrap(api.GET("/api/auth/me"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** Sign in; with MFA on, the challenge for the second step instead (nobody is signed in yet). */
export async function login(email: string, password: string): Promise<MfaChallenge | null> {
  const grant = await unwrap(
    api.POST("/api/auth/login", {
      params: { query: { mode: "cookie" } },
      body: { email, password, mode: "cookie" },
    }),
  );
  if ("mfa_required" in grant) return grant;
  session.started({
    expires_in: grant.expires_in,
    csrf_token: "csrf_token" in grant ? grant.csrf_token : null,
  });
  return null;
}

/** Create the account (with an invite's token, when the link had one), then sign in. */
export async function register(
  email: string,
  password: string,
  displayName: string,
  invite: string | null = null,
): Promise<void> {
  await unwrap(
    api.POST("/api/auth/register", {
      body: {
        email,
        password,
        ...(displayName.trim() ? { display_name: displayName.trim() } : {}),
        ...(invite ? { invite } : {}),
      },
    }),
  );
  await login(email, password);
}

export async function logout(): Promise<void> {
  try {
    await unwrap(api.POST("/api/auth/logout"));
  } finally {
    session.ended();
  }
}

export async function logoutEverywhere(): Promise<void> {
  try {
    await unwrap(api.POST("/api/auth/logout-all"));
  } finally {
    session.ended();
  }
}

export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await unwrap(
    api.POST("/api/auth/password", {
      body: { current_password: currentPassword, new_password: newPassword },
    }),
  );
}

export async function listSessions(): Promise<SessionInfo[]> {
  const result = await unwrap(api.GET("/api/auth/sessions", { params: { query: { limit: 100 } } }));
  return result.items;
}

export async function endSession(id: string): Promise<void> {
  await unwrap(
    api.DELETE("/api/auth/sessions/{session_id}", { params: { path: { session_id: id } } }),
  );
}

/** Only same-site paths: never send someone to another origin after sign-in. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next.startsWith("/login") || next.startsWith("/register")) return "/";
  return next;
}

export type AccountEvent = Schemas["AccountEventOut"];

export const ACCOUNT_EVENTS_PAGE = 20;

/** This user's own account events (sign-ins, failures, password changes...), newest first. */
export function listAccountEvents(cursor: string | null) {
  return unwrap(
    api.GET("/api/auth/events", {
      params: { query: { limit: ACCOUNT_EVENTS_PAGE, ...(cursor ? { cursor } : {}) } },
    }),
  );
}

/** Ask for a password-reset link; the answer is the same whether or not the address is known. */
export async function forgotPassword(email: string): Promise<void> {
  await unwrap(api.POST("/api/auth/password/forgot", { body: { email } }));
}

/** Set a new password with a reset (or set-password) link's token; signs nobody in. */
export async function resetPassword(token: string, newPassword: string): Promise<void> {
  await unwrap(api.POST("/api/auth/password/reset", { body: { token, new_password: newPassword } }));
}

/** Follow a verification link. */
export async function verifyEmail(token: string): Promise<void> {
  await unwrap(api.POST("/api/auth/email/verify", { body: { token } }));
}

/** Send the signed-in user a new verification link; the address it went to. */
export async function resendVerification(): Promise<string> {
  const sent = await unwrap(api.POST("/api/auth/email/verification"));
  return sent.email;
}
