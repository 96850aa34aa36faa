import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";

const empty = () => json({ items: [], next_cursor: null });
const page = {
  "GET /api/auth/me": () => json(me({ email: "ada@example.org" })),
  "GET /api/threads": empty,
  "GET /api/agents": empty,
  "GET /api/auth/sessions": empty,
  "GET /api/auth/events": empty,
  "GET /api/auth/mfa": () => json({ enabled: false, pending: false, methods: [], backup_codes_remaining: 0 }),
  "GET /api/auth/passkeys": empty,
  "GET /api/me/settings": () => json({ memory_enabled: true, retention_days: null, updated_at: null }),
};

let clicked: string[];

beforeEach(() => {
  clicked = [];
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => "blob:export", revokeObjectURL: () => {} }));
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    clicked.push(`${this.download} ${this.getAttribute("href")}`);
  });
});

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function yourData() {
  return screen.findByRole("region", { name: "Your data" });
}

describe("your data", () => {
  it("downloads the export as a file", async () => {
    const calls = fakeApi({
      ...page,
      "GET /api/me/export": () =>
        new Response('{"format":"confide-export/1"}', {
          headers: {
            "Content-Type": "application/json",
            "Content-Disposition": 'attachment; filename="confide-export-2026-12-03.json"',
          },
        }),
    });
    renderWith(<App />, "/settings");
    await userEvent.click(within(await yourData()).getByRole("button", { name: "Download my data" }));
    expect(await within(await yourData()).findByText("Downloaded confide-export-2026-12-03.json.")).toBeInTheDocument();
    expect(clicked).toEqual(["confide-export-2026-12-03.json blob:export"]);
    expect(calls.filter((c) => c.path === "/api/me/export")).toHaveLength(1);
  });

  it("shows why the export failed", async () => {
    fakeApi({
      ...page,
      "GET /api/me/export": () => json({ code: "unavailable", status: 503, title: "Try again later" }, 503),
    });
    renderWith(<App />, "/settings");
    await userEvent.click(within(await yourData()).getByRole("button", { name: "Download my data" }));
    expect(await within(await yourData()).findByRole("alert")).toBeInTheDocument();
    expect(clicked).toEqual([]);
  });

  it("sets and clears the retention of conversations", async () => {
    let days: number | null = null;
    const calls = fakeApi({
      ...page,
      "GET /api/me/settings": () => json({ memory_enabled: true, retention_days: days, updated_at: null }),
      "PATCH /api/me/settings": (call) => {
        days = (call.body as { retention_days: number | null }).retention_days;
        return json({ memory_enabled: true, retention_days: days, updated_at: "2026-12-03T10:00:00Z" });
      },
    });
    renderWith(<App />, "/settings");
    const form = await screen.findByRole("form", { name: "Keep conversations" });
    const field = within(form).getByLabelText("Delete conversations untouched for this many days");
    const save = within(form).getByRole("button", { name: "Save" });
    await userEvent.type(field, "0");
    expect(within(form).getByRole("alert")).toHaveTextContent("from 1 to 36500");
    expect(save).toBeDisabled();
    await userEvent.clear(field);
    await userEvent.type(field, "90");
    await userEvent.click(save);
    expect(await within(form).findByText("Conversations untouched for 90 days are deleted.")).toBeInTheDocument();
    await userEvent.clear(field);
    await userEvent.click(save);
    expect(await within(form).findByText("Conversations are kept.")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([
      { retention_days: 90 },
      { retention_days: null },
    ]);
  });

  it("deletes the account once its email is typed, after the step-up, and signs out", async () => {
    let recent = false;
    const calls = fakeApi({
      ...page,
      "DELETE /api/me": () =>
        recent ? json(null, 204) : json({ code: "reauth_required", status: 401, title: "Sign in again" }, 401),
      "POST /api/auth/reauth": () => {
        recent = true;
        return json({ method: "password", valid_for: 600 });
      },
    });
    renderWith(<App />, "/settings");
    await userEvent.click(within(await yourData()).getByRole("button", { name: "Delete my account" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete your account?" });
    const confirm = within(dialog).getByRole("button", { name: "Delete my account for good" });
    expect(confirm).toBeDisabled();
    await userEvent.type(within(dialog).getByLabelText("Type ada@example.org to confirm"), "someone@else.org");
    expect(confirm).toBeDisabled();
    await userEvent.clear(within(dialog).getByLabelText("Type ada@example.org to confirm"));
    await userEvent.type(within(dialog).getByLabelText("Type ada@example.org to confirm"), "Ada@Example.org");
    await userEvent.click(confirm);

    const stepUp = await screen.findByRole("dialog", { name: "Confirm it's you" });
    await userEvent.type(within(stepUp).getByLabelText("Password"), "plum-orchard-velvet-42");
    await userEvent.click(within(stepUp).getByRole("button", { name: "Confirm" }));
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "DELETE" && c.path === "/api/me").map((c) => c.body)).toEqual([
      { email: "Ada@Example.org" },
      { email: "Ada@Example.org" },
    ]);
  });

  it("explains why the last administrator cannot delete their account", async () => {
    fakeApi({
      ...page,
      "DELETE /api/me": () => json({ code: "last_admin", status: 409, title: "This would leave no admin" }, 409),
    });
    renderWith(<App />, "/settings");
    await userEvent.click(within(await yourData()).getByRole("button", { name: "Delete my account" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete your account?" });
    await userEvent.type(within(dialog).getByLabelText("Type ada@example.org to confirm"), "ada@example.org");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete my account for good" }));
    expect(await within(dialog).findByText(/only administrator/)).toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(await yourData()).toBeInTheDocument();
  });
});
