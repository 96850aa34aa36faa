import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { errorMessage } from "../api/errors";
import { signedOutOnPurpose } from "./signedOut";
import { PendingPage } from "../routes/PendingPage";
import { useMe } from "./useMe";

/** Children only for a signed-in, approved user; anyone else goes to /login?next=<this page>,
 * and a pending account sees only the "waiting for approval" page, whatever the address. */
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
  if (me.data.status === "pending") return <PendingPage />;
  return <>{children}</>;
}
