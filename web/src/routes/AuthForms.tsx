import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent, type ReactNode } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { fetchMe, login, register, safeNext } from "../api/auth";
import { errorMessage } from "../api/errors";
import { keys } from "../api/threads";
import { useMe } from "../auth/useMe";
import { ErrorAlert } from "../components/ErrorAlert";

function AuthShell({ title, children }: { title: string; children: ReactNode }) {
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

function Field(props: {
  label: string;
  type: string;
  value: string;
  onChange: (value: string) => void;
  autoComplete: string;
  required?: boolean;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type={props.type}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete={props.autoComplete}
        required={props.required ?? true}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      {props.hint && (
        <p id={`${id}-hint`} className="hint">
          {props.hint}
        </p>
      )}
    </div>
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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (me.data) return <Navigate to={next} replace />;

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
      await signedIn(next);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  const registerLink = params.get("next") ? `/register?next=${encodeURIComponent(next)}` : "/register";
  return (
    <AuthShell title="Sign in">
      <form onSubmit={(e) => void onSubmit(e)} className="stack">
        {error && <ErrorAlert message={error} />}
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
        />
        <button type="submit" className="button primary wide" disabled={busy}>
          Sign in
        </button>
      </form>
      <p className="switch">
        New here? <Link to={registerLink}>Create an account</Link>
      </p>
    </AuthShell>
  );
}

export function RegisterPage() {
  const me = useMe();
  const signedIn = useSignedIn();
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (me.data) return <Navigate to="/" replace />;

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await register(email, password, displayName);
      await signedIn("/");
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <AuthShell title="Create your account">
      <form onSubmit={(e) => void onSubmit(e)} className="stack">
        {error && <ErrorAlert message={error} />}
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
        <button type="submit" className="button primary wide" disabled={busy}>
          Create account
        </button>
      </form>
      <p className="switch">
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </AuthShell>
  );
}
