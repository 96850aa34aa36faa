import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { fakeApi, json, me, renderWith } from "../../test/api";

const EMPTY = { items: [], next_cursor: null };
const ROLES = [
  {
    name: "admin", parent: "user", description: "Everything", builtin: true, permissions: [],
    effective_permissions: ["threads:read", "users:read", "users:manage", "audit:read"],
    created_at: "", updated_at: "",
  },
  {
    name: "user", parent: null, description: "Every account", builtin: true,
    permissions: ["threads:read", "threads:write"], effective_permissions: ["threads:read", "threads:write"],
    created_at: "", updated_at: "",
  },
  {
    name: "support", parent: "user", description: "Helps", builtin: false, permissions: ["users:read"],
    effective_permissions: ["threads:read", "threads:write", "users:read"], created_at: "", updated_at: "",
  },
];
const PERMISSIONS = [
  { name: "threads:read", description: "Read your own threads." },
  { name: "threads:write", description: "Write your own threads." },
  { name: "users:read", description: "List and view user accounts." },
  { name: "audit:read", description: "Read the audit trail." },
];
const PENDING_USER = {
  id: "u2", email: "newcomer@example.org", display_name: null, status: "pending", roles: ["user"],
  created_at: "2026-11-30T00:00:00Z", last_sign_in_at: null,
};

function baseRoutes() {
  return {
    "GET /api/auth/me": () => json(me()),
    "GET /api/threads": () => json(EMPTY),
    "GET /api/admin/roles": () => json({ items: ROLES, next_cursor: null }),
    "GET /api/admin/permissions": () => json({ items: PERMISSIONS, next_cursor: null }),
  };
}

afterEach(() => vi.unstubAllGlobals());

describe("admin navigation", () => {
  it("offers the Admin link and its tabs only for the permissions held", async () => {
    fakeApi({ ...baseRoutes(), "GET /api/auth/me": () => json(me({ permissions: ["threads:read", "audit:read"] })) });
    renderWith(<App />, "/admin");
    const tabs = await screen.findByRole("navigation", { name: "Administration" });
    await waitFor(() => expect(within(tabs).getAllByRole("link").map((a) => a.textContent)).toEqual(["Audit log"]));
    expect(screen.getByRole("link", { name: "Admin" })).toHaveAttribute("href", "/admin/audit");
    expect(await screen.findByRole("heading", { level: 1, name: "Audit log" })).toBeInTheDocument();
  });

  it("has no Admin link for a plain user, and the pages say so", async () => {
    fakeApi({ ...baseRoutes(), "GET /api/auth/me": () => json(me({ roles: ["user"], permissions: ["threads:read"] })) });
    renderWith(<App />, "/admin/users");
    expect(await screen.findByRole("heading", { level: 1, name: "Not available" })).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Admin" })).toBeNull();
  });
});

describe("users", () => {
  it("sends the search and filters, and loads more with the cursor", async () => {
    const calls = fakeApi({
      ...baseRoutes(),
      "GET /api/admin/users": ({ query }) =>
        json(
          query.get("cursor")
            ? { items: [{ ...PENDING_USER, id: "u3", email: "later@example.org" }], next_cursor: null }
            : { items: [PENDING_USER], next_cursor: "c1" },
        ),
    });
    renderWith(<App />, "/admin/users");
    expect(await screen.findByRole("link", { name: "newcomer@example.org" })).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("Status"), "pending");
    await userEvent.selectOptions(screen.getByLabelText("Role"), "support");
    await userEvent.type(screen.getByLabelText("Search users"), "new");
    await waitFor(() => {
      const last = calls.filter((c) => c.path === "/api/admin/users").at(-1);
      expect(Object.fromEntries(last?.query ?? [])).toEqual({
        q: "new", role: "support", status: "pending", sort: "-created_at", limit: "50",
      });
    });
    await userEvent.selectOptions(screen.getByLabelText("Order"), "email");
    await waitFor(() =>
      expect(calls.filter((c) => c.path === "/api/admin/users").at(-1)?.query.get("sort")).toBe("email"),
    );
    await userEvent.click(await screen.findByRole("button", { name: "Load more users" }));
    expect(await screen.findByRole("link", { name: "later@example.org" })).toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/admin/users").at(-1)?.query.get("cursor")).toBe("c1");
    expect(screen.queryByRole("button", { name: "Load more users" })).toBeNull();
  });

  it("approves a pending user and saves the full set of roles", async () => {
    let user = { ...PENDING_USER };
    const calls = fakeApi({
      ...baseRoutes(),
      "GET /api/admin/users/u2": () => json(user),
      "PATCH /api/admin/users/u2": ({ body }) => {
        user = { ...user, status: (body as { status: string }).status };
        return json(user);
      },
      "PUT /api/admin/users/u2/roles": ({ body }) => {
        user = { ...user, roles: (body as { roles: string[] }).roles };
        return json(user);
      },
    });
    renderWith(<App />, "/admin/users/u2");
    await userEvent.click(await screen.findByRole("button", { name: "Approve" }));
    expect(await screen.findByText("Approved.")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ status: "active" });
    await waitFor(() => expect(screen.queryByRole("button", { name: "Approve" })).toBeNull());

    const roles = screen.getByRole("region", { name: "Roles" });
    expect(within(roles).getByRole("checkbox", { name: /^user/ })).toBeChecked();
    const save = within(roles).getByRole("button", { name: "Save roles" });
    expect(save).toBeDisabled(); // nothing changed yet
    await userEvent.click(within(roles).getByRole("checkbox", { name: /^support/ }));
    await userEvent.click(save);
    expect(await within(roles).findByText(/Roles saved/)).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ roles: ["support", "user"] });
  });

  it("shows the server's refusal: the last admin cannot be disabled", async () => {
    const admin2 = { ...PENDING_USER, id: "u9", email: "only@example.org", status: "active", roles: ["admin", "user"] };
    fakeApi({
      ...baseRoutes(),
      "GET /api/admin/users/u9": () => json(admin2),
      "PATCH /api/admin/users/u9": () =>
        json({ type: "about:blank", status: 409, code: "last_admin", title: "This would leave no active administrator" }, 409),
    });
    renderWith(<App />, "/admin/users/u9");
    await userEvent.click(await screen.findByRole("button", { name: "Disable" }));
    const dialog = screen.getByRole("dialog");
    await userEvent.click(within(dialog).getByRole("button", { name: "Disable account" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("This would leave no active administrator");
  });

  it("does not let an admin edit their own roles or disable themselves", async () => {
    fakeApi({
      ...baseRoutes(),
      "GET /api/admin/users/u-admin": () =>
        json({ ...PENDING_USER, id: "u-admin", email: "admin@example.org", status: "active", roles: ["admin", "user"] }),
    });
    renderWith(<App />, "/admin/users/u-admin");
    expect(await screen.findByText("You cannot change your own roles.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Disable" })).toBeDisabled();
    expect(screen.queryByRole("button", { name: "Save roles" })).toBeNull();
  });
});

describe("roles", () => {
  it("lists every role, following the cursor", async () => {
    const calls = fakeApi({
      ...baseRoutes(),
      "GET /api/admin/roles": ({ query }) =>
        json(
          query.get("cursor") === "r2"
            ? { items: ROLES.slice(2), next_cursor: null }
            : { items: ROLES.slice(0, 2), next_cursor: "r2" },
        ),
    });
    renderWith(<App />, "/admin/roles");
    const table = await screen.findByRole("table", { name: "Roles" });
    expect(await within(table).findByRole("link", { name: "support" })).toBeInTheDocument();
    expect(within(table).getAllByRole("link").map((a) => a.textContent)).toEqual(["admin", "user", "support"]);
    expect(calls.filter((c) => c.path === "/api/admin/roles").map((c) => c.query.get("limit"))).toEqual(["100", "100"]);
  });

  it("shows what the chosen parent grants as inherited, and creates the role", async () => {
    const calls = fakeApi({
      ...baseRoutes(),
      "POST /api/admin/roles": ({ body }) => json({ ...ROLES[2], ...(body as object) }, 201),
    });
    renderWith(<App />, "/admin/roles/new");
    const row = async (name: string) =>
      (await screen.findAllByTestId("permission-row")).find((r) => r.dataset.permission === name) as HTMLElement;
    expect(within(await row("threads:read")).getByTestId("inherited")).toHaveTextContent("not inherited");
    await userEvent.selectOptions(screen.getByLabelText("Inherits from"), "support");
    expect(within(await row("threads:read")).getByTestId("inherited")).toHaveTextContent("from user");
    expect(within(await row("users:read")).getByTestId("inherited")).toHaveTextContent("from support");
    await userEvent.selectOptions(screen.getByLabelText("Inherits from"), "admin");
    expect(within(await row("audit:read")).getByTestId("inherited")).toHaveTextContent("from admin");

    await userEvent.type(screen.getByLabelText("Name"), "helpdesk");
    await userEvent.click(screen.getByRole("checkbox", { name: "audit:read" }));
    await userEvent.click(screen.getByRole("button", { name: "Create role" }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === "POST")?.body).toEqual({
        name: "helpdesk", description: "", parent: "admin", permissions: ["audit:read"], mfa_required: false,
      }),
    );
  });

  it("sends only what changed, and shows a cycle refusal in words", async () => {
    const calls = fakeApi({
      ...baseRoutes(),
      "PATCH /api/admin/roles/support": () =>
        json({ status: 409, code: "role_cycle", title: "A role cannot inherit from itself" }, 409),
    });
    renderWith(<App />, "/admin/roles/support");
    const description = await screen.findByLabelText("Description");
    expect(screen.getByRole("checkbox", { name: "users:read" })).toBeChecked();
    // Any role but itself (no role inherits from it, so none is below it).
    const choices = within(screen.getByLabelText("Inherits from")).getAllByRole("option").map((o) => o.textContent);
    expect(choices).toEqual(["No parent", "admin", "user"]);
    await userEvent.clear(description);
    await userEvent.type(description, "Answers questions");
    await userEvent.click(screen.getByRole("button", { name: "Save role" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("cannot inherit from itself");
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ description: "Answers questions" });
  });

  it("shows the built-in admin role as every permission, not editable", async () => {
    fakeApi(baseRoutes());
    renderWith(<App />, "/admin/roles/admin");
    const audit = await screen.findByRole("checkbox", { name: "audit:read" });
    expect(audit).toBeChecked();
    expect(audit).toBeDisabled();
    expect(screen.queryByRole("button", { name: "Save role" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Delete role" })).toBeNull();
  });
});

describe("invites", () => {
  it("creates an invite and copies its link", async () => {
    const writeText = vi.fn(async () => undefined);
    vi.stubGlobal("isSecureContext", true);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const link = "http://localhost:3000/register?invite=tok123";
    const calls = fakeApi({
      ...baseRoutes(),
      "GET /api/admin/invites": () => json(EMPTY),
      "POST /api/admin/invites": ({ body }) =>
        json(
          {
            id: "i1", email: null, roles: (body as { roles: string[] }).roles, status: "pending", created_at: "",
            created_by: "u-admin", expires_at: "2026-12-07T00:00:00Z", used_at: null, used_by: null,
            revoked_at: null, token: "tok123", link,
          },
          201,
        ),
    });
    renderWith(<App />, "/admin/invites");
    await userEvent.click(await screen.findByRole("checkbox", { name: "support" }));
    await userEvent.selectOptions(screen.getByLabelText("Expires after"), "30 days");
    await userEvent.click(screen.getByRole("button", { name: "Create invite" }));
    const created = await screen.findByTestId("invite-link");
    expect(within(created).getByLabelText("Invite link")).toHaveValue(link);
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      email: null, expires_in_seconds: 30 * 86400, roles: ["support"], send: false,
    });
    await userEvent.click(within(created).getByRole("button", { name: "Copy link" }));
    expect(await within(created).findByRole("status")).toHaveTextContent("Copied");
    expect(writeText).toHaveBeenCalledWith(link);
  });
});

describe("audit log", () => {
  it("turns the filters into the API's query, time range in UTC", async () => {
    const calls = fakeApi({
      ...baseRoutes(),
      "GET /api/admin/audit": () =>
        json({
          items: [
            {
              id: 7, at: "2026-11-30T10:00:00Z", actor_id: null, actor: "mallory@example.org",
              action: "auth.signed_in", target_type: "user", target_id: "u5", outcome: "failure",
              ip: "10.1.2.3", user_agent: "curl/8", request_id: "rq", detail: { reason: "invalid_credentials" },
            },
          ],
          next_cursor: null,
        }),
    });
    renderWith(<App />, "/admin/audit");
    const row = await screen.findByTestId("audit-row");
    expect(row).toHaveTextContent("mallory@example.org");
    expect(row).toHaveTextContent("reason: invalid_credentials");
    expect(row).toHaveTextContent("10.1.2.3");
    await userEvent.type(screen.getByLabelText("Actor"), "mallory@example.org");
    await userEvent.type(screen.getByLabelText("Action"), "auth.*");
    await userEvent.selectOptions(screen.getByLabelText("Outcome"), "failure");
    await userEvent.type(screen.getByLabelText("From"), "2026-11-30T08:00");
    const since = new Date("2026-11-30T08:00").toISOString();
    await waitFor(() => {
      const last = calls.filter((c) => c.path === "/api/admin/audit").at(-1);
      expect(Object.fromEntries(last?.query ?? [])).toEqual({
        actor: "mallory@example.org", action: "auth.*", outcome: "failure", since, limit: "50",
      });
    });
  });
});
