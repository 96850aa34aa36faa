// The second step of a sign-in with MFA on: a code from the authenticator app, a backup code,
// or a code mailed (or texted, to a verified phone) on request.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "../api/errors";
import { sendMfaCode, verifyMfa, type MfaChallenge } from "../api/mfa";
import { verifyMfaWithPasskey } from "../api/passkeys";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";

export function MfaStep({
  challenge,
  onSignedIn,
  onRestart,
}: {
  challenge: MfaChallenge;
  onSignedIn: () => Promise<void>;
  onRestart: () => void;
}) {
  const [code, setCode] = useState("");
  const verify = useMutation({
    // `passkey`: the "Use a passkey" button's proof instead of the typed code.
    mutationFn: async (passkey?: () => Promise<void>) => {
      await (passkey ? passkey() : verifyMfa(challenge.mfa_token, code.trim()));
      await onSignedIn();
    },
    onError: () => setCode(""),
  });
  const send = useMutation({
    mutationFn: (channel: "email" | "sms") => sendMfaCode(challenge.mfa_token, channel),
  });
  // A challenge that ended (expired, or three wrong codes) needs a new sign-in.
  const ended =
    verify.error instanceof ApiError && verify.error.code === "mfa_token_invalid";
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    verify.mutate();
  };
  if (ended) {
    return (
      <div className="stack">
        <ErrorAlert message="This sign-in has expired or had too many wrong codes. Sign in again." />
        <button type="button" className="button primary wide" onClick={onRestart}>
          Sign in again
        </button>
      </div>
    );
  }
  return (
    <form onSubmit={onSubmit} className="stack" data-testid="mfa-step">
      <p className="muted">
        Enter the 6-digit code from your authenticator app, or one of your backup codes.
      </p>
      {verify.isError && <ErrorAlert message={errorMessage(verify.error)} />}
      <Field
        label="Authentication code"
        type="text"
        value={code}
        onChange={setCode}
        autoComplete="one-time-code"
        inputMode="numeric"
      />
      <button type="submit" className="button primary wide" disabled={verify.isPending || !code.trim()}>
        Verify
      </button>
      {send.isSuccess && (
        <p className="switch" role="status" data-testid="mfa-code-sent">
          {send.variables === "sms"
            ? "A code is on its way to your phone by text message (valid 5 minutes)."
            : "A code is on its way to your email address (valid 5 minutes)."}
        </p>
      )}
      {!send.isSuccess && (challenge.methods.includes("email") || challenge.methods.includes("sms")) && (
        <p className="switch">
          {challenge.methods.includes("email") && (
            <button
              type="button"
              className="button subtle"
              disabled={send.isPending}
              onClick={() => send.mutate("email")}
            >
              Email me a code instead
            </button>
          )}
          {challenge.methods.includes("sms") && (
            <button
              type="button"
              className="button subtle"
              disabled={send.isPending}
              onClick={() => send.mutate("sms")}
            >
              Text me a code
            </button>
          )}
        </p>
      )}
      {send.isError && <ErrorAlert message={errorMessage(send.error)} />}
      {challenge.methods.includes("passkey") && (
        <button
          type="button"
          className="button subtle wide"
          disabled={verify.isPending}
          onClick={() => verify.mutate(() => verifyMfaWithPasskey(challenge.mfa_token))}
        >
          Use a passkey
        </button>
      )}
    </form>
  );
}
