import { createEvent, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { THREAD_DRAG_TYPE } from "../../api/folders";
import { fakeApi, json, renderWith, type Call } from "../../test/api";
import { Sidebar } from "../Sidebar";

const owner = { id: "me", email: "me@example.org", display_name: null };
function thread(id: string, title: string, extra: Record<string, unknown> = {}) {
  return {
    id, title, owner, agent_id: "assistant", created_at: "", last_activity_at: "", message_count: 2,
    active_run_id: null, active_leaf_id: null, shared: false, folder_id: null, pinned: false,
    archived: false, ...extra,
  };
}
const folder = (id: string, name: string, position: number) => ({
  id, name, position, created_at: "", updated_at: "",
});

const LOOSE = thread("t1", "Loose one");
const PINNED = thread("t2", "Pinned one", { pinned: true });
const FILED = thread("t3", "Filed one", { folder_id: "f1" });
const OLD = thread("t4", "Old one", { archived: true });

/** The threads `GET /api/threads` lists for a query, as the server filters them. */
function listed(query: URLSearchParams) {
  if (query.get("scope") === "shared") return [];
  if (query.get("archived") === "true") return [OLD];
  if (query.get("pinned") === "true") return [PINNED];
  if (query.get("folder_id")) return query.get("folder_id") === "f1" ? [FILED] : [];
  return [LOOSE];
}

function api(extra: Record<string, (call: Call) => Response> = {}) {
  return fakeApi({
    "GET /api/threads": ({ query }) => json({ items: listed(query), next_cursor: null }),
    "GET /api/folders": () =>
      json({ items: [folder("f1", "Work", 0), folder("f2", "Home", 1)], next_cursor: null }),
    "PATCH /api/threads/t1": ({ body }) => json({ ...LOOSE, ...(body as object) }),
    ...extra,
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("Sidebar organising", () => {
  it("shows pinned threads on top, folders, and only unfiled unpinned threads below", async () => {
    const calls = api();
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const pinned = await screen.findByRole("navigation", { name: "Pinned" });
    expect(await within(pinned).findByRole("link", { name: "Pinned one" })).toBeInTheDocument();
    const folders = screen.getByRole("navigation", { name: "Folders" });
    expect(await within(folders).findByRole("button", { name: "Work" })).toBeInTheDocument();
    const own = screen.getByRole("navigation", { name: "Threads" });
    expect(await within(own).findByRole("link", { name: "Loose one" })).toBeInTheDocument();
    const main = calls.find((c) => c.path === "/api/threads" && c.query.get("in_folder"));
    expect(main?.query.get("in_folder")).toBe("false");
    expect(main?.query.get("pinned")).toBe("false");
  });

  it("opens a folder to list its threads", async () => {
    api();
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const toggle = await screen.findByRole("button", { name: "Work" });
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    expect(await screen.findByRole("link", { name: "Filed one" })).toBeInTheDocument();
  });

  it("moves a thread into a folder, pins and archives it from its menu, by keyboard", async () => {
    const calls = api();
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const own = await screen.findByRole("navigation", { name: "Threads" });
    const menu = await within(own).findByRole("button", { name: "Actions for Loose one" });
    menu.focus();
    await userEvent.keyboard("{Enter}");
    expect(menu).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByRole("button", { name: "Pin" })).toHaveFocus();
    await userEvent.tab();
    expect(screen.getByRole("button", { name: "Move to folder…" })).toHaveFocus();
    await userEvent.keyboard("{Enter}");
    const targets = screen.getByRole("list", { name: "Folders" });
    expect(within(targets).getByRole("button", { name: "Work" })).toHaveFocus();
    await userEvent.tab();
    await userEvent.keyboard("{Enter}"); // Home
    await waitFor(() => expect(calls.some((c) => c.method === "PATCH")).toBe(true));
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ folder_id: "f2" });
    expect(menu).toHaveFocus(); // the menu closed, focus back on its button

    await userEvent.keyboard("{Enter}{Enter}"); // open, then Pin (focused first)
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(2));
    expect(calls.filter((c) => c.method === "PATCH")[1]?.body).toEqual({ pinned: true });

    await userEvent.keyboard("{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Archive" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(3));
    expect(calls.filter((c) => c.method === "PATCH")[2]?.body).toEqual({ archived: true });
  });

  it("closes a thread's menu with Escape", async () => {
    api();
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const menu = await screen.findByRole("button", { name: "Actions for Loose one" });
    await userEvent.click(menu);
    expect(screen.getByRole("button", { name: "Archive" })).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("button", { name: "Archive" })).toBeNull();
    expect(menu).toHaveFocus();
  });

  it("moves a thread dropped onto a folder into it", async () => {
    const calls = api();
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const own = await screen.findByRole("navigation", { name: "Threads" });
    const row = (await within(own).findByRole("link", { name: "Loose one" })).closest("li")!;
    const target = (await screen.findByRole("button", { name: "Work" })).closest("li")!;
    const store = new Map<string, string>();
    const dataTransfer = {
      get types() {
        return [...store.keys()];
      },
      setData: (type: string, value: string) => store.set(type, value),
      getData: (type: string) => store.get(type) ?? "",
      effectAllowed: "",
      dropEffect: "",
    };
    fireEvent.dragStart(row, { dataTransfer });
    expect(store.get(THREAD_DRAG_TYPE)).toBe("t1");
    const over = createEvent.dragOver(target, { dataTransfer });
    fireEvent(target, over);
    expect(over.defaultPrevented).toBe(true); // a drop target for threads
    expect(target).toHaveClass("drop-over");
    fireEvent.drop(target, { dataTransfer });
    await waitFor(() => expect(calls.some((c) => c.method === "PATCH")).toBe(true));
    expect(calls.find((c) => c.method === "PATCH")).toMatchObject({
      path: "/api/threads/t1",
      body: { folder_id: "f1" },
    });
    // The folder opens on its new thread.
    expect(await screen.findByRole("link", { name: "Filed one" })).toBeInTheDocument();
  });

  it("ignores a drag that is not a thread's", async () => {
    api();
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const target = (await screen.findByRole("button", { name: "Work" })).closest("li")!;
    const dataTransfer = { types: ["Files"], getData: () => "", dropEffect: "" };
    const over = createEvent.dragOver(target, { dataTransfer });
    fireEvent(target, over);
    expect(over.defaultPrevented).toBe(false);
  });

  it("makes, renames and deletes folders", async () => {
    const calls = api({
      "POST /api/folders": ({ body }) =>
        json(folder("f3", (body as { name: string }).name, 2), 201),
      "PATCH /api/folders/f1": ({ body }) => json({ ...folder("f1", "Job", 0), ...(body as object) }),
      "DELETE /api/folders/f2": () => json(null, 204),
    });
    vi.stubGlobal("confirm", () => true);
    renderWith(<Sidebar onNavigate={() => undefined} />);
    await userEvent.click(await screen.findByRole("button", { name: "New folder" }));
    await userEvent.type(screen.getByRole("textbox", { name: "Folder name" }), "Ideas{Enter}");
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "Ideas" });

    await userEvent.click(screen.getByRole("button", { name: "Rename Work" }));
    const input = screen.getByRole("textbox", { name: "New name for Work" });
    await userEvent.clear(input);
    await userEvent.type(input, "Job{Enter}");
    await waitFor(() => expect(calls.some((c) => c.path === "/api/folders/f1")).toBe(true));
    expect(calls.find((c) => c.path === "/api/folders/f1")?.body).toEqual({ name: "Job" });

    await userEvent.click(screen.getByRole("button", { name: "Delete Home" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
  });

  it("lists archived threads when Archived is opened", async () => {
    const calls = api();
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const toggle = await screen.findByRole("button", { name: "Archived" });
    expect(screen.queryByRole("link", { name: "Old one" })).toBeNull();
    await userEvent.click(toggle);
    const archived = screen.getByRole("navigation", { name: "Archived" });
    expect(await within(archived).findByRole("link", { name: "Old one" })).toBeInTheDocument();
    expect(calls.some((c) => c.query.get("archived") === "true")).toBe(true);
    await userEvent.click(within(archived).getByRole("button", { name: "Actions for Old one" }));
    expect(within(archived).getByRole("button", { name: "Unarchive" })).toBeInTheDocument();
    expect(within(archived).queryByRole("button", { name: "Pin" })).toBeNull();
  });
});
