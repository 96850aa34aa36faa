// The role editor's permission matrix: what a role grants itself, and what it inherits from
// its parent chain (nearest ancestor first), computed from the roles list the API returns.

export interface RoleLike {
  name: string;
  parent?: string | null;
  /** Granted by the role itself. */
  permissions: readonly string[];
  /** Everything it grants, inheritance included (the built-in admin grants all implicitly). */
  effective_permissions?: readonly string[];
}

export interface PermissionLike {
  name: string;
  description: string;
}

export interface MatrixRow {
  permission: string;
  description: string;
  /** Granted by the role itself (the checkbox). */
  granted: boolean;
  /** The nearest ancestor that grants it, or null. */
  inheritedFrom: string | null;
}

export interface MatrixGroup {
  label: string;
  rows: MatrixRow[];
}

/** Every permission `parent` and its ancestors grant, each with the nearest role granting it.
 * A cycle in the data (the server refuses them) ends the walk instead of looping. What the
 * parent holds in effect but no role of the chain lists (the built-in admin's implicit
 * grants) is put down to the role that holds it. */
export function inheritedGrants(parent: string | null, roles: readonly RoleLike[]): Map<string, string> {
  const byName = new Map(roles.map((role) => [role.name, role]));
  const inherited = new Map<string, string>();
  const seen = new Set<string>();
  const chain: RoleLike[] = [];
  for (let name = parent; name && !seen.has(name); name = byName.get(name)?.parent ?? null) {
    seen.add(name);
    const role = byName.get(name);
    if (!role) break;
    chain.push(role);
    for (const permission of role.permissions) {
      if (!inherited.has(permission)) inherited.set(permission, name);
    }
  }
  for (const role of chain) {
    for (const permission of role.effective_permissions ?? []) {
      if (!inherited.has(permission)) inherited.set(permission, role.name);
    }
  }
  return inherited;
}

/** The roles below `name` (children, their children...): never a valid parent for it. */
export function descendants(name: string, roles: readonly RoleLike[]): Set<string> {
  const below = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const role of roles) {
      const parent = role.parent ?? null;
      if (parent && (parent === name || below.has(parent)) && !below.has(role.name) && role.name !== name) {
        below.add(role.name);
        grew = true;
      }
    }
  }
  return below;
}

/** The roles the edited role (null: a new one) may take as its parent. */
export function parentChoices<R extends RoleLike>(editing: string | null, roles: readonly R[]): R[] {
  if (editing === null) return [...roles];
  const below = descendants(editing, roles);
  return roles.filter((role) => role.name !== editing && !below.has(role.name));
}

const GROUPS: Record<string, string> = {
  threads: "Threads",
  agents: "Agents",
  users: "Users",
  roles: "Roles",
  invites: "Invites",
  audit: "Audit",
  runs: "Runs",
};

export function permissionGroup(permission: string): string {
  const prefix = permission.split(":", 1)[0] ?? permission;
  return GROUPS[prefix] ?? prefix.charAt(0).toUpperCase() + prefix.slice(1);
}

/** The matrix rows, grouped by the permission's first segment, in the API's order. */
export function matrix(
  permissions: readonly PermissionLike[],
  granted: ReadonlySet<string>,
  inherited: ReadonlyMap<string, string>,
): MatrixGroup[] {
  const groups = new Map<string, MatrixRow[]>();
  for (const { name, description } of permissions) {
    const label = permissionGroup(name);
    const rows = groups.get(label) ?? [];
    rows.push({
      permission: name,
      description,
      granted: granted.has(name),
      inheritedFrom: inherited.get(name) ?? null,
    });
    groups.set(label, rows);
  }
  return [...groups].map(([label, rows]) => ({ label, rows }));
}

/** What a role would hold in effect: its own grants and everything inherited. */
export function effective(granted: ReadonlySet<string>, inherited: ReadonlyMap<string, string>): Set<string> {
  return new Set([...granted, ...inherited.keys()]);
}
