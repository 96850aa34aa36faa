import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith, type Call } from "../test/api";

const LEARNT = {
  id: "m1", key: "name", content: "Zed", status: "active", superseded_by: null,
  source_message_id: "msg-1", source_thread_id: "t1", created_at: "2026-12-03T10:00:00Z",
  updated_at: "2026-12-03T10:00:00Z", last_used_at: "2026-12-03T11:00:00Z", use_count: 2,
};
const TYPED = {
  ...LEARNT, id: "m2", key: "note", content: "Allergic to peanuts", source_message_id: null,
  source_thread_id: null, last_used_at: null, use_count: 0,
};
const OLD = { ...LEARNT, id: "m0", content: "Zee", status: "superseded", superseded_by: "m1" };

const empty = () => json({ items: [], next_cursor: null });
let settings: { memory_enabled: boolean; retention_days: null; updated_at: string | null };
let clicked: string[];

function routes(active: unknown[], extra: Record<string, (call: Call) => Response> = {}) {
  return fakeApi({
    "GET /api/auth/me": () => json(me({ email: "ada@example.org" })),
    "GET /api/threads": empty,
    "GET /api/agents": empty,
    "GET /api/me/settings": () => json(settings),
    "PATCH /api/me/settings": (call) => {
      settings = { ...settings, ...(call.body as object), updated_at: "2026-12-03T12:00:00Z" };
      return json(settings);
    },
    "GET /api/me/memories": (call) =>
      call.query.get("format") === "export"
        ? new Response('{"memories":[]}', {
            headers: {
              "Content-Type": "application/json",
              "Content-Disposition": 'attachment; filename="confide-memories.json"',
            },
          })
        : json({ items: call.query.get("status") === "superseded" ? [OLD] : active, next_cursor: null }),
    ...extra,
  });
}

beforeEach(() => {
  settings = { memory_enabled: true, retention_days: null, updated_at: null };
  clicked = [];
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => "blob:memories", revokeObjectURL: () => {} }));
});

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

async function list() {
  return screen.findByRole("list", { name: "Memories" });
}

describe("MemoryPage", () => {
  it("lists memories with a link that lands on their message", async () => {
    routes([LEARNT, TYPED]);
    renderWith(<App />, "/memory");
    const items = await within(await list()).findAllByTestId("memory");
    expect(items).toHaveLength(2);
    const [learnt, typed] = items as [HTMLElement, HTMLElement];
    expect(learnt).toHaveTextContent("Name");
    expect(learnt).toHaveTextContent("Zed");
    expect(learnt).toHaveTextContent("used 2 times");
    expect(within(learnt).getByRole("link", { name: /From a message/ })).toHaveAttribute(
      "href",
      "/chat/t1#message-msg-1",
    );
    expect(typed).toHaveTextContent("Added by you");
    expect(within(typed).queryByRole("link")).toBeNull();
    const replaced = await screen.findByRole("list", { name: "Replaced memories" });
    expect(await within(replaced).findByText("Zee")).toBeInTheDocument();
  });

  it("adds a memory and shows the new list", async () => {
    let active: unknown[] = [];
    const calls = routes([], {
      "POST /api/me/memories": (call) => {
        active = [{ ...TYPED, ...(call.body as object) }];
        return json(active[0], 201);
      },
      "GET /api/me/memories": (call) => json({ items: call.query.get("status") === "active" ? active : [], next_cursor: null }),
    });
    renderWith(<App />, "/memory");
    expect(await screen.findByText("Nothing remembered yet.")).toBeInTheDocument();
    await userEvent.selectOptions(within(screen.getByRole("form", { name: "Add a memory" })).getByLabelText("Kind"), "preference");
    await userEvent.type(screen.getByLabelText("New memory"), "Short answers");
    await userEvent.click(screen.getByRole("button", { name: "Add" }));
    expect(await within(await list()).findByText("Short answers")).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ content: "Short answers", key: "preference" });
  });

  it("edits and deletes a memory", async () => {
    const calls = routes([LEARNT], {
      "PATCH /api/me/memories/m1": (call) => json({ ...LEARNT, ...(call.body as object) }),
      "DELETE /api/me/memories/m1": () => json(null, 204),
    });
    renderWith(<App />, "/memory");
    const item = await within(await list()).findByTestId("memory");
    await userEvent.click(within(item).getByRole("button", { name: "Edit" }));
    const text = within(item).getByLabelText("Memory text");
    await userEvent.clear(text);
    await userEvent.type(text, "Zedekiah");
    await userEvent.click(within(item).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PATCH")).toBe(true));
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ content: "Zedekiah", key: "name" });
    await userEvent.click(await within(item).findByRole("button", { name: "Delete" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/me/memories/m1")).toBe(true));
  });

  it("shows why an add was refused", async () => {
    routes([], {
      "POST /api/me/memories": () =>
        json({ code: "memory_exists", status: 409, title: "This is already remembered", detail: "This is already remembered" }, 409),
    });
    renderWith(<App />, "/memory");
    await userEvent.type(await screen.findByLabelText("New memory"), "Zed");
    await userEvent.click(screen.getByRole("button", { name: "Add" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("already remembered");
  });

  it("switches memory off and on", async () => {
    const calls = routes([LEARNT]);
    renderWith(<App />, "/memory");
    const toggle = await screen.findByRole("checkbox", { name: /Remember facts/ });
    await waitFor(() => expect(toggle).toBeEnabled());
    expect(toggle).toBeChecked();
    await userEvent.click(toggle);
    expect(await screen.findByRole("heading", { name: "Memory is off" })).toBeInTheDocument();
    expect(screen.getByTestId("memory-off")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ memory_enabled: false });
    await userEvent.click(toggle);
    expect(await screen.findByRole("heading", { name: "Memory is on" })).toBeInTheDocument();
  });

  it("downloads the export as a file", async () => {
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(`${this.download} ${this.getAttribute("href")}`);
    });
    const calls = routes([]);
    renderWith(<App />, "/memory");
    await userEvent.click(await screen.findByRole("button", { name: "Download my memories" }));
    expect(await screen.findByText("Downloaded confide-memories.json.")).toBeInTheDocument();
    expect(clicked).toEqual(["confide-memories.json blob:memories"]);
    expect(calls.some((c) => c.query.get("format") === "export")).toBe(true);
  });
});
