// What the signed-in user may see: read from the permissions `GET /api/auth/me` lists, so
// the navigation offers only what the server would allow (the server still checks each call).
import type { User } from "../api/client";

export const THREADS_READ = "threads:read";
export const THREADS_SHARE = "threads:share";
export const USERS_READ = "users:read";
export const USERS_MANAGE = "users:manage";
export const ROLES_MANAGE = "roles:manage";
export const INVITES_MANAGE = "invites:manage";
export const AUDIT_READ = "audit:read";
export const IP_RULES_MANAGE = "admin:ip_rules";
export const MCP_READ = "admin:mcp";

export interface AdminPage {
  /** Under /admin/. */
  path: string;
  label: string;
  /** All needed (the API reads roles under `users:read`, edits them under `roles:manage`). */
  permissions: readonly string[];
}

export const ADMIN_PAGES: readonly AdminPage[] = [
  { path: "users", label: "Users", permissions: [USERS_READ] },
  { path: "roles", label: "Roles", permissions: [ROLES_MANAGE, USERS_READ] },
  { path: "invites", label: "Invites", permissions: [INVITES_MANAGE] },
  { path: "audit", label: "Audit log", permissions: [AUDIT_READ] },
  { path: "ip-rules", label: "IP rules", permissions: [IP_RULES_MANAGE] },
  { path: "mcp", label: "MCP servers", permissions: [MCP_READ] },
];

export function can(me: Pick<User, "permissions" | "status"> | null | undefined, permission: string): boolean {
  if (!me || me.status !== "active") return false;
  return (me.permissions ?? []).includes(permission);
}

/** The admin pages this user may open, in navigation order (none: no "Admin" link). */
export function adminPages(me: Pick<User, "permissions" | "status"> | null | undefined): AdminPage[] {
  return ADMIN_PAGES.filter((page) => page.permissions.every((permission) => can(me, permission)));
}
