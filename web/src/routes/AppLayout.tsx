import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, Outlet, useLocation, useNavigate } from "react-router";
import { logout } from "../api/auth";
import { forgetUser } from "../auth/signedOut";
import { Sidebar } from "../components/Sidebar";

/** Signed-in pages: a top bar, the thread sidebar (behind "Threads" on small screens), main. */
export function AppLayout() {
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  useEffect(() => setOpen(false), [location.pathname]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  const signOut = async () => {
    try {
      await logout();
    } catch {
      // Signed out locally either way; the cookies are cleared or already useless.
    }
    forgetUser(queryClient, { explicit: true });
    void navigate("/login", { replace: true });
  };

  return (
    <div className={`app ${open ? "sidebar-open" : ""}`}>
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
          <Outlet />
        </main>
      </div>
    </div>
  );
}
