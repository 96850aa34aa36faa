// The account's email address: its state, a change (step-up; a link to the new address), and
// following that link.
import { api, unwrap, type Schemas } from "./client";

export type EmailStatus = Schemas["EmailStatus"];

export const EMAIL_KEY = ["email"] as const;

export function emailStatus(): Promise<EmailStatus> {
  return unwrap(api.GET("/api/auth/email"));
}

/** Ask for the change; the answer is the new address, whether or not a link could go there. */
export async function requestEmailChange(newEmail: string): Promise<string> {
  const accepted = await unwrap(api.POST("/api/auth/email", { body: { new_email: newEmail } }));
  return accepted.email;
}

/** Follow a change link; the account's address now. */
export async function confirmEmailChange(token: string): Promise<string> {
  const changed = await unwrap(api.POST("/api/auth/email/confirm", { body: { token } }));
  return changed.email;
}
