import { describe, expect, it } from "vitest";
import { adminPages, can } from "./access";

const active = (permissions: string[]) => ({ status: "active" as const, permissions });

describe("admin navigation", () => {
  it("shows each admin page only with all the permissions it needs", () => {
    expect(adminPages(active(["threads:read"]))).toEqual([]);
    expect(adminPages(active(["audit:read"])).map((p) => p.label)).toEqual(["Audit log"]);
    // Editing roles needs reading them, which the API puts under users:read.
    expect(adminPages(active(["roles:manage"])).map((p) => p.label)).toEqual([]);
    expect(adminPages(active(["roles:manage", "users:read"])).map((p) => p.label)).toEqual(["Users", "Roles"]);
    expect(
      adminPages(active(["users:read", "roles:manage", "invites:manage", "audit:read"])).map((p) => p.path),
    ).toEqual(["users", "roles", "invites", "audit"]);
  });

  it("gives a pending or disabled account nothing, whatever its list says", () => {
    expect(can({ status: "pending", permissions: ["users:read"] }, "users:read")).toBe(false);
    expect(adminPages({ status: "disabled", permissions: ["audit:read"] })).toEqual([]);
    expect(can(null, "users:read")).toBe(false);
  });
});
