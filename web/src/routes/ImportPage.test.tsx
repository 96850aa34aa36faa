import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { ExportMenu } from "../components/ExportMenu";
import { json, me, renderWith } from "../test/api";

const QUEUED = {
  id: "i1", status: "queued", format: "chatgpt", agent_id: "assistant", total: 3, done: 0, threads_created: 0,
  skipped_count: 0, skipped: [], error: null, created_at: "2026-12-04T10:00:00Z", finished_at: null,
};
const RUNNING = { ...QUEUED, status: "running", done: 1, threads_created: 1 };
const COMPLETED = {
  ...QUEUED, status: "completed", done: 3, threads_created: 2, skipped_count: 2,
  finished_at: "2026-12-04T10:00:05Z",
  skipped: [
    { conversation: "Trip to Lisbon", message_id: "l-hidden", reason: "a hidden message" },
    { conversation: "New chat", message_id: null, reason: "no messages" },
  ],
};

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | null;
}

/** `fetch` stubbed by "METHOD /path"; bodies are kept as sent (an upload is multipart). */
function fakeFetch(routes: Record<string, (call: Seen) => Response>): Seen[] {
  const calls: Seen[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      const contentType = request.headers.get("Content-Type");
      const call = { method: request.method, path: url.pathname, query: url.searchParams, contentType };
      calls.push(call);
      const handler = routes[`${request.method} ${url.pathname}`];
      return handler ? handler(call) : json({ code: "not_found", status: 404 }, 404);
    }),
  );
  return calls;
}

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("ImportPage", () => {
  it("uploads a file, shows the progress, then the report", async () => {
    const polls = [RUNNING, COMPLETED];
    const calls = fakeFetch({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
      "GET /api/imports": () => json({ items: [], next_cursor: null }),
      "POST /api/imports": () => json(QUEUED, 202),
      "GET /api/imports/i1": () => json(polls.length > 1 ? polls.shift() : polls[0]),
    });
    renderWith(<App />, "/settings/import");
    const file = new File(['[{"mapping": {}}]'], "conversations.json", { type: "application/json" });
    await userEvent.upload(await screen.findByLabelText("Export file (JSON)"), file);
    await userEvent.click(screen.getByRole("button", { name: "Import" }));

    const upload = calls.find((c) => c.method === "POST");
    expect(upload?.contentType).toMatch(/^multipart\/form-data; boundary=/);
    const report = await screen.findByTestId("import-report");
    expect(await within(report).findByRole("heading", { name: "Imported 2 threads" }, { timeout: 5000 })).toBeVisible();
    expect(within(report).getByRole("status")).toHaveTextContent("3 of 3 conversations · 2 threads made · 2 items left out");
    const rows = within(report).getAllByTestId("skipped-item");
    expect(rows.map((r) => r.textContent)).toEqual(["Trip to Lisbona hidden message", "New chatno messages"]);
    // Polling stopped once the import was over.
    const polled = calls.filter((c) => c.path === "/api/imports/i1").length;
    expect(polled).toBe(2);
  });

  it("shows why a file was refused", async () => {
    fakeFetch({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
      "GET /api/imports": () => json({ items: [], next_cursor: null }),
      "POST /api/imports": () =>
        json({ code: "invalid_import", status: 422, title: "x", detail: "The file is not JSON." }, 422),
    });
    renderWith(<App />, "/settings/import");
    await userEvent.upload(await screen.findByLabelText("Export file (JSON)"), new File(["nope"], "x.json"));
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    expect(await screen.findByText("The file is not JSON.")).toBeVisible();
    expect(screen.queryByTestId("import-report")).toBeNull();
  });

  it("is linked from the account page", async () => {
    fakeFetch({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
    });
    renderWith(<App />, "/settings");
    expect(await screen.findByRole("link", { name: "Import a file" })).toHaveAttribute("href", "/settings/import");
  });
});

describe("ExportMenu", () => {
  it("downloads the thread as Markdown or as JSON with every branch", async () => {
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => "blob:thread", revokeObjectURL: () => {} }));
    const saved: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
    const calls = fakeFetch({
      "GET /api/threads/t1/export": (call) =>
        new Response("# Sums\n", {
          headers: {
            "Content-Type": call.query.get("format") === "json" ? "application/json" : "text/markdown",
            "Content-Disposition": `attachment; filename="Sums.${call.query.get("format") ?? "md"}"`,
          },
        }),
    });
    render(
      <QueryClientProvider client={new QueryClient()}>
        <ExportMenu threadId="t1" />
      </QueryClientProvider>,
    );
    await userEvent.click(screen.getByText("Export"));
    await userEvent.click(screen.getByRole("button", { name: "Markdown (.md)" }));
    expect(await screen.findByText("Downloaded Sums.md.")).toBeVisible();
    await userEvent.click(screen.getByRole("button", { name: "JSON, every branch (.json)" }));
    expect(await screen.findByText("Downloaded Sums.json.")).toBeVisible();
    const queries = calls.map((c) => Object.fromEntries(c.query));
    expect(queries).toEqual([{ format: "md" }, { format: "json", all: "true" }]);
    expect(saved).toEqual(["Sums.md", "Sums.json"]);
  });
});
