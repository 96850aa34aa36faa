import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../../api/session";
import { App } from "../../App";
import { ADMIN_PERMISSIONS, fakeApi, json, me, renderWith } from "../../test/api";

const RULE = {
  id: "r1",
  cidr: "198.51.100.0/24",
  action: "block",
  note: "scanner",
  created_at: "2026-12-01T10:00:00Z",
  created_by: "u-admin",
  expires_at: null,
};

function routes(rules: unknown[]) {
  return {
    "GET /api/auth/me": () => json(me({ permissions: [...ADMIN_PERMISSIONS, "admin:ip_rules"] })),
    "GET /api/threads": () => json({ items: [], next_cursor: null }),
    "GET /api/admin/ip-rules": () => json({ items: rules, next_cursor: null }),
  };
}

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

describe("IP rules page", () => {
  it("is linked in the admin navigation only with admin:ip_rules", async () => {
    fakeApi(routes([RULE]));
    renderWith(<App />, "/admin");
    const tabs = await screen.findByRole("navigation", { name: "Administration" });
    await waitFor(() => expect(within(tabs).getByRole("link", { name: "IP rules" })).toHaveAttribute("href", "/admin/ip-rules"));
  });

  it("has no tab and refuses the page without the permission", async () => {
    fakeApi({ ...routes([]), "GET /api/auth/me": () => json(me({ permissions: ADMIN_PERMISSIONS })) });
    renderWith(<App />, "/admin/ip-rules");
    expect(await screen.findByRole("heading", { level: 1, name: "Not available" })).toBeInTheDocument();
    const tabs = screen.getByRole("navigation", { name: "Administration" });
    expect(within(tabs).queryByRole("link", { name: "IP rules" })).toBeNull();
  });

  it("lists the rules, adds one with its expiry and deletes one", async () => {
    let rules: unknown[] = [RULE];
    const calls = fakeApi({
      ...routes([]),
      "GET /api/admin/ip-rules": () => json({ items: rules, next_cursor: null }),
      "POST /api/admin/ip-rules": ({ body }) => {
        const created = { ...RULE, ...(body as object), id: "r2", created_at: "2026-12-02T10:00:00Z" };
        rules = [created, ...rules];
        return json(created, 201);
      },
      "DELETE /api/admin/ip-rules/r1": () => {
        rules = rules.filter((rule) => (rule as { id: string }).id !== "r1");
        return json(null, 204);
      },
    });
    renderWith(<App />, "/admin/ip-rules");
    expect(await screen.findByRole("heading", { level: 1, name: "IP rules" })).toBeInTheDocument();
    const table = await screen.findByRole("table", { name: "IP rules" });
    expect(within(table).getByText("198.51.100.0/24")).toBeInTheDocument();
    expect(within(table).getByText("scanner")).toBeInTheDocument();
    expect(within(table).getByText("never")).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText("Address or range"), " 203.0.113.7 ");
    await userEvent.selectOptions(screen.getByLabelText("Action"), "allow");
    await userEvent.type(screen.getByLabelText("Note (optional)"), "office");
    await userEvent.type(screen.getByLabelText("Expires (optional)"), "2030-01-02T03:04");
    await userEvent.click(screen.getByRole("button", { name: "Add rule" }));
    await waitFor(() => expect(screen.getAllByTestId("ip-rule-row")).toHaveLength(2));
    const sent = calls.find((call) => call.method === "POST")?.body as Record<string, unknown>;
    expect(sent).toMatchObject({ cidr: "203.0.113.7", action: "allow", note: "office" });
    expect(sent.expires_at).toBe(new Date("2030-01-02T03:04").toISOString());
    expect(screen.getByLabelText("Address or range")).toHaveValue("");

    await userEvent.click(screen.getByRole("button", { name: "Delete the block rule for 198.51.100.0/24" }));
    await waitFor(() => expect(screen.getAllByTestId("ip-rule-row")).toHaveLength(1));
    expect(calls.some((call) => call.method === "DELETE" && call.path === "/api/admin/ip-rules/r1")).toBe(true);
  });

  it("shows why a rule is refused", async () => {
    fakeApi({
      ...routes([]),
      "POST /api/admin/ip-rules": () =>
        json(
          {
            code: "blocks_self",
            status: 409,
            title: "This rule would block your own address",
            detail: "127.0.0.0/8 contains your own address (127.0.0.1).",
          },
          409,
        ),
    });
    renderWith(<App />, "/admin/ip-rules");
    expect(await screen.findByText("No rules yet.")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Address or range"), "127.0.0.0/8");
    await userEvent.click(screen.getByRole("button", { name: "Add rule" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("127.0.0.0/8 contains your own address (127.0.0.1).");
  });
});

describe("sign-in wait", () => {
  it("says how long to wait when sign-in is throttled", async () => {
    fakeApi({
      "GET /api/auth/me": () => json({ code: "not_authenticated", status: 401 }, 401),
      "POST /api/auth/refresh": () => json({ code: "invalid_refresh_token", status: 401 }, 401),
      "POST /api/auth/login": () =>
        json({ code: "account_locked", status: 429, title: "Too many failed sign-ins", retry_after: 30 }, 429),
    });
    renderWith(<App />, "/login");
    await userEvent.type(await screen.findByLabelText("Email"), "admin@example.org");
    await userEvent.type(screen.getByLabelText("Password"), "plum-orchard-velvet-42");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Too many attempts — try again in 30 s.");
  });
});
