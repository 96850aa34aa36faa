import { Suspense, type ReactNode } from "react";
import { Navigate, NavLink, Outlet } from "react-router";
import { adminPages, can } from "../../auth/access";
import { useMe } from "../../auth/useMe";

/** The admin section: a tab for each admin page this user may open, and the page. */
export function AdminLayout() {
  const me = useMe();
  const pages = adminPages(me.data);
  return (
    <div className="page admin-page">
      <nav aria-label="Administration" className="tabs">
        {pages.map((page) => (
          <NavLink key={page.path} to={`/admin/${page.path}`} className="tab">
            {page.label}
          </NavLink>
        ))}
      </nav>
      <Suspense
        fallback={
          <p role="status" className="muted">
            Loading…
          </p>
        }
      >
        <Outlet />
      </Suspense>
    </div>
  );
}

/** /admin: the first admin page this user may open (home when there is none). */
export function AdminHome() {
  const me = useMe();
  const first = adminPages(me.data)[0];
  return <Navigate to={first ? `/admin/${first.path}` : "/"} replace />;
}

/** The page, for a user holding every one of `permissions`; a plain refusal otherwise (the
 * API refuses too). */
export function RequirePermission({
  permissions,
  children,
}: {
  permissions: readonly string[];
  children: ReactNode;
}) {
  const me = useMe();
  const missing = permissions.filter((permission) => !can(me.data, permission));
  if (missing.length > 0) {
    return (
      <div>
        <h1>Not available</h1>
        <p>
          This page needs {missing.length === 1 ? "the permission" : "the permissions"}{" "}
          {missing.map((name, i) => (
            <span key={name}>
              {i > 0 && ", "}
              <code>{name}</code>
            </span>
          ))}
          , which your roles do not grant.
        </p>
      </div>
    );
  }
  return <>{children}</>;
}
