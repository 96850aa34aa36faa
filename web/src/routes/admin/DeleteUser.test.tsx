import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { fakeApi, json, me, renderWith } from "../../test/api";

const EMPTY = { items: [], next_cursor: null };
const USER = {
  id: "u2", email: "leaving@example.org", display_name: null, status: "active", roles: ["user"],
  created_at: "2026-11-30T00:00:00Z", last_sign_in_at: null,
};

function routes() {
  return {
    "GET /api/auth/me": () => json(me()),
    "GET /api/threads": () => json(EMPTY),
    "GET /api/admin/roles": () => json(EMPTY),
    "GET /api/admin/users": () => json(EMPTY),
    "GET /api/admin/users/u2": () => json(USER),
  };
}

afterEach(() => vi.unstubAllGlobals());

describe("deleting a user", () => {
  it("asks first, deletes, and goes back to the list", async () => {
    const calls = fakeApi({ ...routes(), "DELETE /api/admin/users/u2": () => json(null, 204) });
    renderWith(<App />, "/admin/users/u2");
    // The first render of the admin pages loads their code: longer than the default second
    // on a busy machine.
    await userEvent.click(await screen.findByRole("button", { name: "Delete user" }, { timeout: 10_000 }));
    const dialog = screen.getByRole("dialog", { name: "Delete this account?" });
    expect(within(dialog).getByText(/leaving@example.org is signed out at once/)).toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(0);

    await userEvent.click(screen.getByRole("button", { name: "Delete user" }));
    const again = screen.getByRole("dialog", { name: "Delete this account?" });
    await userEvent.click(within(again).getByRole("button", { name: "Delete account for good" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Users" })).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/admin/users/u2"]);
  });

  it("shows the server's refusal and keeps the account", async () => {
    fakeApi({
      ...routes(),
      "DELETE /api/admin/users/u2": () =>
        json({ status: 403, code: "user_outranks_caller", title: "This account holds permissions you do not hold" }, 403),
    });
    renderWith(<App />, "/admin/users/u2");
    await userEvent.click(await screen.findByRole("button", { name: "Delete user" }));
    const dialog = screen.getByRole("dialog");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete account for good" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("This account holds permissions you do not hold");
    await waitFor(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("leaving@example.org"));
  });

  it("is not offered on one's own account", async () => {
    fakeApi({ ...routes(), "GET /api/admin/users/u-admin": () => json({ ...USER, id: "u-admin", email: "admin@example.org" }) });
    renderWith(<App />, "/admin/users/u-admin");
    expect(await screen.findByText("You cannot change your own roles.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Delete user" })).toBeNull();
  });
});
