import { useEffect, useState } from "react";
import { Link, Outlet, useLocation } from "react-router";
import { adminPages } from "../auth/access";
import { useMe } from "../auth/useMe";
import { useSignOut } from "../auth/useSignOut";
import { Sidebar } from "../components/Sidebar";

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
          {admin && (
            <Link
              to={`/admin/${admin.path}`}
              className="button subtle"
              aria-current={location.pathname.startsWith("/admin") ? "page" : undefined}
            >
              Admin
            </Link>
          )}
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
