import { describe, expect, it } from "vitest";
import { descendants, effective, inheritedGrants, matrix, parentChoices, permissionGroup } from "./matrix";

const ROLES = [
  { name: "user", parent: null, permissions: ["threads:read", "threads:write"] },
  { name: "admin", parent: "user", permissions: [], effective_permissions: ["threads:read", "users:read", "roles:manage"] },
  { name: "support", parent: "user", permissions: ["users:read", "threads:read"] },
  { name: "support-lead", parent: "support", permissions: ["users:manage"] },
  { name: "auditor", parent: null, permissions: ["audit:read"] },
];

describe("inheritedGrants", () => {
  it("names the nearest ancestor that grants each permission", () => {
    const inherited = inheritedGrants("support-lead", ROLES);
    expect(Object.fromEntries(inherited)).toEqual({
      "users:manage": "support-lead",
      "users:read": "support",
      "threads:read": "support",
      "threads:write": "user",
    });
  });

  it("is empty without a parent, or with a parent that is not there", () => {
    expect(inheritedGrants(null, ROLES).size).toBe(0);
    expect(inheritedGrants("gone", ROLES).size).toBe(0);
  });

  it("puts the built-in admin's implicit grants down to admin", () => {
    const inherited = inheritedGrants("admin", ROLES);
    expect(inherited.get("threads:read")).toBe("user");
    expect(inherited.get("roles:manage")).toBe("admin");
  });

  it("stops at a cycle instead of looping", () => {
    const cyclic = [
      { name: "a", parent: "b", permissions: ["x"] },
      { name: "b", parent: "a", permissions: ["y"] },
    ];
    expect(Object.fromEntries(inheritedGrants("a", cyclic))).toEqual({ x: "a", y: "b" });
  });
});

describe("parent choices", () => {
  it("never offers the role itself or a role below it", () => {
    expect([...descendants("user", ROLES)].sort()).toEqual(["admin", "support", "support-lead"]);
    expect(parentChoices("support", ROLES).map((r) => r.name)).toEqual(["user", "admin", "auditor"]);
    expect(parentChoices("user", ROLES).map((r) => r.name)).toEqual(["auditor"]);
  });

  it("offers every role to a new one", () => {
    expect(parentChoices(null, ROLES)).toHaveLength(ROLES.length);
  });
});

describe("matrix", () => {
  const permissions = [
    { name: "threads:read", description: "Read" },
    { name: "threads:write", description: "Write" },
    { name: "agents:use:*", description: "Agents" },
    { name: "agents:use:llm", description: "LLM" },
    { name: "audit:read", description: "Audit" },
  ];

  it("groups rows by the permission's first part, in the API's order, with own and inherited grants", () => {
    const groups = matrix(permissions, new Set(["audit:read"]), new Map([["threads:read", "user"]]));
    expect(groups.map((g) => g.label)).toEqual(["Threads", "Agents", "Audit"]);
    expect(groups[0]?.rows).toEqual([
      { permission: "threads:read", description: "Read", granted: false, inheritedFrom: "user" },
      { permission: "threads:write", description: "Write", granted: false, inheritedFrom: null },
    ]);
    expect(groups[2]?.rows[0]).toMatchObject({ permission: "audit:read", granted: true, inheritedFrom: null });
  });

  it("names groups it does not know by their prefix", () => {
    expect(permissionGroup("reports:read")).toBe("Reports");
  });

  it("computes what a role holds in effect", () => {
    expect([...effective(new Set(["a"]), new Map([["b", "user"], ["a", "user"]]))].sort()).toEqual(["a", "b"]);
  });
});
