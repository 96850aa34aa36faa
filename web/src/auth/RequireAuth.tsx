import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { errorMessage } from "../api/errors";
import { signedOutOnPurpose } from "./signedOut";
import { useMe } from "./useMe";

/** Children only for a signed-in user; anyone else goes to /login?next=<this page>. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) {
    return (
      <main className="centered" aria-busy="true">
        <p role="status">Loading…</p>
      </main>
    );
  }
  if (me.isError) {
    return (
      <main className="centered">
        <h1>Confide</h1>
        <ErrorAlert message={errorMessage(me.error)} onRetry={() => void me.refetch()} />
      </main>
    );
  }
  if (me.data === null) {
    if (signedOutOnPurpose()) return <Navigate to="/login" replace />;
    const next = `${location.pathname}${location.search}${location.hash}`;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}
