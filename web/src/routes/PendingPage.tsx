import { useEffect } from "react";
import { errorMessage } from "../api/errors";
import { useMe } from "../auth/useMe";
import { useSignOut } from "../auth/useSignOut";
import { ErrorAlert } from "../components/ErrorAlert";

// Approval usually comes within minutes to hours: asking this rarely costs the server nothing.
const RECHECK_MS = 60_000;

/** All a pending account sees: it may sign in, and use nothing until an admin approves it. */
export function PendingPage() {
  const me = useMe();
  const signOut = useSignOut();
  const { refetch } = me;

  useEffect(() => {
    document.title = "Waiting for approval · Confide";
    const timer = setInterval(() => void refetch(), RECHECK_MS);
    return () => clearInterval(timer);
  }, [refetch]);

  return (
    <main className="auth-page">
      <div className="auth-card stack pending-card" data-testid="pending-approval">
        <p className="brand" aria-hidden="true">
          Confide
        </p>
        <h1>Waiting for approval</h1>
        <p>
          Your account{me.data ? <> (<strong>{me.data.email}</strong>)</> : null} was created. An
          administrator has to approve it before you can use Confide.
        </p>
        <p className="muted">This page checks again by itself; you can also check now.</p>
        {me.isRefetchError && <ErrorAlert message={errorMessage(me.error)} />}
        <div className="button-row">
          <button
            type="button"
            className="button primary"
            disabled={me.isFetching}
            onClick={() => void refetch()}
          >
            {me.isFetching ? "Checking…" : "Check again"}
          </button>
          <button type="button" className="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </div>
    </main>
  );
}
