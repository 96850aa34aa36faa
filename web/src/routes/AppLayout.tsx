import { useMutation } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, Outlet, useLocation } from "react-router";
import { resendVerification } from "../api/auth";
import { errorMessage } from "../api/errors";
import { adminPages, can, THREADS_READ } from "../auth/access";
import { StepUpHost } from "../auth/StepUp";
import { useMe } from "../auth/useMe";
import { useSignOut } from "../auth/useSignOut";
import { Shortcuts } from "../components/Shortcuts";
import { Sidebar } from "../components/Sidebar";
import { WaitingBadge } from "../components/WaitingBadge";

/** Signed-in pages: a top bar, the thread sidebar (behind "Threads" on small screens), main. */
export function AppLayout() {
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const me = useMe();
  const admin = adminPages(me.data)[0];

  useEffect(() => setOpen(false), [location.pathname]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  const signOut = useSignOut();

  return (
    <div className={`app ${open ? "sidebar-open" : ""}`}>
      <StepUpHost />
      <Shortcuts />
      <header className="topbar">
        <button
          type="button"
          className="button subtle menu-button"
          aria-expanded={open}
          aria-controls="sidebar"
          onClick={() => setOpen((v) => !v)}
        >
          Threads
        </button>
        <Link to="/" className="brand-link">
          Confide
        </Link>
        <div className="topbar-actions">
          {(me.data == null || can(me.data, THREADS_READ)) && <WaitingBadge />}
          {admin && (
            <Link
              to={`/admin/${admin.path}`}
              className="button subtle"
              aria-current={location.pathname.startsWith("/admin") ? "page" : undefined}
            >
              Admin
            </Link>
          )}
          <Link
            to="/memory"
            className="button subtle"
            aria-current={location.pathname === "/memory" ? "page" : undefined}
          >
            Memory
          </Link>
          <Link
            to="/files"
            className="button subtle"
            aria-current={location.pathname === "/files" ? "page" : undefined}
          >
            Files
          </Link>
          <Link to="/settings" className="button subtle">
            Account
          </Link>
          <button type="button" className="button subtle" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <div className="layout">
        <aside id="sidebar" className="sidebar" aria-label="Conversations">
          <Sidebar onNavigate={() => setOpen(false)} />
        </aside>
        <main className="main" id="main">
          {me.data && me.data.email_verified === false && (
            <VerifyBanner email={me.data.email} canShare={(me.data.permissions ?? []).includes("threads:share")} />
          )}
          <Outlet />
        </main>
      </div>
    </div>
  );
}

/** Until the address is verified: what is held back (sharing, under the default policy), and
 * a way to get a new link. */
function VerifyBanner({ email, canShare }: { email: string; canShare: boolean }) {
  const resend = useMutation({ mutationFn: resendVerification });
  return (
    <aside className="notice-box verify-banner" aria-label="Email verification" data-testid="verify-banner">
      Please verify <strong>{email}</strong> with the link we mailed you
      {canShare ? "." : "; until then you cannot share conversations."}{" "}
      {resend.isSuccess ? (
        <span data-testid="verify-resent">A new link is on its way.</span>
      ) : (
        <button
          type="button"
          className="button subtle"
          disabled={resend.isPending}
          onClick={() => resend.mutate()}
        >
          Mail me a new link
        </button>
      )}
      {resend.isError && <span className="error-text"> {errorMessage(resend.error)}</span>}
    </aside>
  );
}
