// The admin API (/api/admin): users, roles, permissions, invites, the audit trail.
import { api, unwrap, type Schemas } from "./client";
import type { paths } from "./schema";

export type AdminUser = Schemas["AdminUserOut"];
export type UserStatus = AdminUser["status"];
export type Role = Schemas["RoleOut"];
export type RoleInput = Schemas["RoleCreate"];
export type RolePatch = Schemas["RolePatch"];
export type PermissionInfo = Schemas["PermissionOut"];
export type Invite = Schemas["InviteOut"];
export type InviteCreated = Schemas["InviteCreated"];
export type InviteInput = Schemas["InviteCreate"];
export type AuditEvent = Schemas["AuditEventOut"];

export interface PageOf<T> {
  items: T[];
  next_cursor: string | null;
}

export const adminKeys = {
  all: ["admin"] as const,
  users: ["admin", "users"] as const,
  userList: (filters: UserFilters) => ["admin", "users", "list", filters] as const,
  user: (id: string) => ["admin", "users", "detail", id] as const,
  roles: ["admin", "roles"] as const,
  permissions: ["admin", "permissions"] as const,
  invites: ["admin", "invites"] as const,
  audit: (filters: AuditFilters) => ["admin", "audit", filters] as const,
};

export const ADMIN_PAGE_SIZE = 50;

export type UserSort = NonNullable<NonNullable<paths["/api/admin/users"]["get"]["parameters"]["query"]>["sort"]>;

export interface UserFilters {
  q: string;
  role: string;
  status: UserStatus | "";
  sort: UserSort;
}

/** Only the filters that are set: an empty one means "any". */
function given<T extends object>(filters: T): { [K in keyof T]?: Exclude<T[K], ""> } {
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== "" && value != null)) as {
    [K in keyof T]?: Exclude<T[K], "">;
  };
}

export function listUsers(filters: UserFilters, cursor: string | null): Promise<PageOf<AdminUser>> {
  return unwrap(
    api.GET("/api/admin/users", {
      params: { query: { ...given(filters), limit: ADMIN_PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
    }),
  );
}

export function getUser(id: string): Promise<AdminUser> {
  return unwrap(api.GET("/api/admin/users/{user_id}", { params: { path: { user_id: id } } }));
}

export function setUserStatus(id: string, status: UserStatus): Promise<AdminUser> {
  return unwrap(
    api.PATCH("/api/admin/users/{user_id}", { params: { path: { user_id: id } }, body: { status } }),
  );
}

export function setUserRoles(id: string, roles: string[]): Promise<AdminUser> {
  return unwrap(
    api.PUT("/api/admin/users/{user_id}/roles", { params: { path: { user_id: id } }, body: { roles } }),
  );
}

export async function endUserSessions(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/admin/users/{user_id}/sessions", { params: { path: { user_id: id } } }));
}

/** Every item of a short list the pages need whole (roles, permissions), page by page. */
async function everyPage<T>(page: (cursor: string | null) => Promise<PageOf<T>>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | null = null;
  for (let count = 0; count < 100; count++) {
    const result: PageOf<T> = await page(cursor);
    all.push(...result.items);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return all;
}

const WHOLE = 100; // the largest page the API gives

/** Every role, by name. */
export function listRoles(): Promise<Role[]> {
  return everyPage((cursor) =>
    unwrap(api.GET("/api/admin/roles", { params: { query: { limit: WHOLE, ...(cursor ? { cursor } : {}) } } })),
  );
}

export function createRole(input: RoleInput): Promise<Role> {
  return unwrap(api.POST("/api/admin/roles", { body: input }));
}

export function updateRole(name: string, patch: RolePatch): Promise<Role> {
  return unwrap(api.PATCH("/api/admin/roles/{name}", { params: { path: { name } }, body: patch }));
}

export async function deleteRole(name: string): Promise<void> {
  await unwrap(api.DELETE("/api/admin/roles/{name}", { params: { path: { name } } }));
}

/** Every permission a role may grant (one `agents:use:<id>` per configured agent). */
export function listPermissions(): Promise<PermissionInfo[]> {
  return everyPage((cursor) =>
    unwrap(
      api.GET("/api/admin/permissions", { params: { query: { limit: WHOLE, ...(cursor ? { cursor } : {}) } } }),
    ),
  );
}

export function createInvite(input: InviteInput): Promise<InviteCreated> {
  return unwrap(api.POST("/api/admin/invites", { body: input }));
}

export function listInvites(cursor: string | null): Promise<PageOf<Invite>> {
  return unwrap(
    api.GET("/api/admin/invites", {
      params: { query: { limit: ADMIN_PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
    }),
  );
}

export async function revokeInvite(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/admin/invites/{invite_id}", { params: { path: { invite_id: id } } }));
}

export interface AuditFilters {
  /** An email or a user id. */
  actor: string;
  /** An action, or a prefix ending in `*`. */
  action: string;
  /** `<type>:<id>`, or an id. */
  target: string;
  outcome: AuditEvent["outcome"] | "";
  /** ISO times (UTC), "" for no bound. */
  since: string;
  until: string;
}

export function listAudit(filters: AuditFilters, cursor: string | null): Promise<PageOf<AuditEvent>> {
  return unwrap(
    api.GET("/api/admin/audit", {
      params: { query: { ...given(filters), limit: ADMIN_PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
    }),
  );
}
