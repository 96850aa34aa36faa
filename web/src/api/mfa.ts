// Two-factor authentication and step-up (re-authentication before a sensitive change).
import { api, unwrap, type Schemas } from "./client";
import { problemError } from "./errors";
import { session } from "./session";

export type MfaStatus = Schemas["MfaStatusOut"];
export type TotpEnrolment = Schemas["TotpEnrolment"];
export type MfaChallenge = Schemas["MfaChallengeResponse"];

export async function mfaStatus(): Promise<MfaStatus> {
  return unwrap(api.GET("/api/auth/mfa"));
}

export async function startTotp(): Promise<TotpEnrolment> {
  return unwrap(api.POST("/api/auth/mfa/totp"));
}

/** Turn MFA on with a first code from the app; the backup codes, shown this once. */
export async function confirmTotp(code: string): Promise<string[]> {
  return (await unwrap(api.POST("/api/auth/mfa/totp/confirm", { body: { code } }))).backup_codes;
}

export async function regenerateBackupCodes(): Promise<string[]> {
  return (await unwrap(api.POST("/api/auth/mfa/backup-codes"))).backup_codes;
}

export async function disableTotp(): Promise<void> {
  await unwrap(api.DELETE("/api/auth/mfa/totp"));
}

/** The second step of a sign-in: a code from the app, a backup code or a sent code. */
export async function verifyMfa(mfaToken: string, code: string): Promise<void> {
  const grant = await unwrap(api.POST("/api/auth/mfa/verify", { body: { mfa_token: mfaToken, code } }));
  session.started({
    expires_in: grant.expires_in,
    csrf_token: "csrf_token" in grant ? grant.csrf_token : null,
  });
}

/** 202 with no body: `unwrap` would take the empty answer for a fault (it allows 204 only). */
export async function sendMfaCode(mfaToken: string, channel: "email" | "sms"): Promise<void> {
  const { error, response } = await api.POST("/api/auth/mfa/send", { body: { mfa_token: mfaToken, channel } });
  if (!response.ok) throw problemError(response.status, error);
}

/** Step-up: prove it is you again (password, or a code) before a sensitive change. */
export async function reauth(proof: { password: string } | { code: string }): Promise<void> {
  await unwrap(api.POST("/api/auth/reauth", { body: proof }));
}
