import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { fetchMe, login, register, safeNext } from "../api/auth";
import { errorMessage } from "../api/errors";
import type { MfaChallenge } from "../api/mfa";
import { keys } from "../api/threads";
import { useMe } from "../auth/useMe";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { MfaStep } from "./MfaStep";
import { PasskeySignInButton } from "./PasskeySettings";

export function AuthShell({ title, children }: { title: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Confide`;
  }, [title]);
  return (
    <main className="auth-page">
      <div className="auth-card">
        <p className="brand" aria-hidden="true">
          Confide
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function useSignedIn() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return async (next: string) => {
    queryClient.removeQueries({ queryKey: ["threads"] });
    queryClient.setQueryData(keys.me, await fetchMe());
    void navigate(next, { replace: true });
  };
}

export function LoginPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const me = useMe();
  const signedIn = useSignedIn();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const submit = useMutation({
    mutationFn: async () => {
      const needed = await login(email, password);
      if (needed) {
        setPassword("");
        setChallenge(needed);
        return;
      }
      await signedIn(next);
    },
  });

  if (me.data) return <Navigate to={next} replace />;
  if (challenge) {
    return (
      <AuthShell title="Two-factor authentication">
        <MfaStep
          challenge={challenge}
          onSignedIn={() => signedIn(next)}
          onRestart={() => setChallenge(null)}
        />
      </AuthShell>
    );
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit.mutate();
  };

  const registerLink = params.get("next") ? `/register?next=${encodeURIComponent(next)}` : "/register";
  return (
    <AuthShell title="Sign in">
      <form onSubmit={onSubmit} className="stack">
        {submit.isError && <ErrorAlert message={errorMessage(submit.error)} />}
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
        />
        <button type="submit" className="button primary wide" disabled={submit.isPending}>
          Sign in
        </button>
      </form>
      <PasskeySignInButton onSignedIn={() => signedIn(next)} />
      <p className="switch">
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p className="switch">
        New here? <Link to={registerLink}>Create an account</Link>
      </p>
    </AuthShell>
  );
}

export function RegisterPage() {
  const [params] = useSearchParams();
  // An invite link: /register?invite=<token>. The token goes to the server and nowhere else.
  const invite = params.get("invite");
  const me = useMe();
  const signedIn = useSignedIn();
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const submit = useMutation({
    mutationFn: async () => {
      await register(email, password, displayName, invite);
      await signedIn("/");
    },
  });

  if (me.data) return <Navigate to="/" replace />;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit.mutate();
  };

  return (
    <AuthShell title="Create your account">
      {invite && (
        <p className="notice-box" data-testid="invite-notice">
          You were invited: the account you create here gets the roles the invite names.
        </p>
      )}
      <form onSubmit={onSubmit} className="stack">
        {submit.isError && <ErrorAlert message={errorMessage(submit.error)} />}
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" />
        <Field
          label="Display name"
          type="text"
          value={displayName}
          onChange={setDisplayName}
          autoComplete="nickname"
          required={false}
          hint="Optional: how the agents address you."
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          hint="At least 12 characters. A few unrelated words work well."
        />
        <button type="submit" className="button primary wide" disabled={submit.isPending}>
          Create account
        </button>
      </form>
      <p className="switch">
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </AuthShell>
  );
}
