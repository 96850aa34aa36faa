// The pages the links Confide mails lead to: forgot and reset password, verify email, confirm
// a new email address.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { fetchMe, forgotPassword, resetPassword, verifyEmail } from "../api/auth";
import { confirmEmailChange, EMAIL_KEY } from "../api/email";
import { refetchFresh } from "../api/refetch";
import { keys } from "../api/threads";
import { errorMessage } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { AuthShell } from "./AuthForms";

/** The link's `?token=`, read once and then taken out of the address bar (and so out of the
 * history and of any later page's referrer). */
function useLinkToken(): string | null {
  const [params] = useSearchParams();
  const [token] = useState(() => params.get("token"));
  useEffect(() => {
    if (token) window.history.replaceState(window.history.state, "", window.location.pathname);
  }, [token]);
  return token;
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const submit = useMutation({ mutationFn: () => forgotPassword(email) });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit.mutate();
  };
  return (
    <AuthShell title="Forgot your password?">
      {submit.isSuccess ? (
        <p className="notice-box" role="status" data-testid="forgot-sent">
          If an account uses <strong>{email}</strong>, a link to choose a new password is on its way
          there. It works once, for 30 minutes.
        </p>
      ) : (
        <form onSubmit={onSubmit} className="stack">
          <p className="muted">Enter your account's email address and we will mail you a link.</p>
          {submit.isError && <ErrorAlert message={errorMessage(submit.error)} />}
          <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" />
          <button type="submit" className="button primary wide" disabled={submit.isPending}>
            Send the link
          </button>
        </form>
      )}
      <p className="switch">
        <Link to="/login">Back to sign in</Link>
      </p>
    </AuthShell>
  );
}

export function ResetPasswordPage() {
  const token = useLinkToken();
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const submit = useMutation({ mutationFn: () => resetPassword(token ?? "", password) });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setMismatch(password !== again);
    if (password === again) submit.mutate();
  };
  if (!token) {
    return (
      <AuthShell title="Choose a new password">
        <ErrorAlert message="This page needs the link from the email. Ask for a new one." />
        <p className="switch">
          <Link to="/forgot-password">Send me a link</Link>
        </p>
      </AuthShell>
    );
  }
  return (
    <AuthShell title="Choose a new password">
      {submit.isSuccess ? (
        <>
          <p className="notice-box" role="status" data-testid="reset-done">
            Your password was changed, and every session of your account was ended.
          </p>
          <p className="switch">
            <Link to="/login">Sign in with the new password</Link>
          </p>
        </>
      ) : (
        <form onSubmit={onSubmit} className="stack">
          {mismatch && <ErrorAlert message="The two passwords are not the same." />}
          {submit.isError && <ErrorAlert message={errorMessage(submit.error)} />}
          <Field
            label="New password"
            type="password"
            value={password}
            onChange={setPassword}
            autoComplete="new-password"
            hint="At least 12 characters. A few unrelated words work well."
          />
          <Field
            label="New password again"
            type="password"
            value={again}
            onChange={setAgain}
            autoComplete="new-password"
          />
          <button type="submit" className="button primary wide" disabled={submit.isPending}>
            Set the password
          </button>
        </form>
      )}
    </AuthShell>
  );
}

export function VerifyEmailPage() {
  const token = useLinkToken();
  const verify = useMutation({ mutationFn: () => verifyEmail(token ?? "") });
  const started = useRef(false);
  useEffect(() => {
    // Once: React's development mode runs effects twice, and a token works only once.
    if (token && !started.current) {
      started.current = true;
      verify.mutate();
    }
  }, [token, verify]);
  return (
    <AuthShell title="Verify your email">
      {!token && <ErrorAlert message="This page needs the link from the email." />}
      {verify.isPending && (
        <p role="status" className="muted">
          Checking the link…
        </p>
      )}
      {verify.isSuccess && (
        <p className="notice-box" role="status" data-testid="verify-done">
          Thank you: your email address is verified.
        </p>
      )}
      {verify.isError && <ErrorAlert message={errorMessage(verify.error)} />}
      <p className="switch">
        <Link to="/">Go to Confide</Link>
      </p>
    </AuthShell>
  );
}

export function ConfirmEmailPage() {
  const token = useLinkToken();
  const queryClient = useQueryClient();
  const confirm = useMutation({
    mutationFn: async () => {
      // A session of this browser whose access cookie ran out is refreshed first, so the
      // server sees it and keeps it (it ends every other session of the account).
      await fetchMe();
      return confirmEmailChange(token ?? "");
    },
    onSuccess: () => {
      void refetchFresh(queryClient, keys.me);
      void refetchFresh(queryClient, EMAIL_KEY);
    },
  });
  const started = useRef(false);
  useEffect(() => {
    // Once: React's development mode runs effects twice, and a token works only once.
    if (token && !started.current) {
      started.current = true;
      confirm.mutate();
    }
  }, [token, confirm]);
  return (
    <AuthShell title="Confirm your new email">
      {!token && <ErrorAlert message="This page needs the link from the email." />}
      {confirm.isPending && (
        <p role="status" className="muted">
          Checking the link…
        </p>
      )}
      {confirm.isSuccess && (
        <p className="notice-box" role="status" data-testid="email-change-done">
          Your account's email address is now <strong>{confirm.data}</strong>. Sign in with it from
          now on; your other devices were signed out.
        </p>
      )}
      {confirm.isError && <ErrorAlert message={errorMessage(confirm.error)} />}
      <p className="switch">
        <Link to="/">Go to Confide</Link>
      </p>
    </AuthShell>
  );
}
