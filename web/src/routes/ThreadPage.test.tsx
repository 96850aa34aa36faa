import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ThreadPage } from "./ThreadPage";

const THREAD = "t1";
const RUN = "r1";

const user = {
  id: "m1", seq: 1, role: "user", content: "add 5 and 3", tool_calls: null, tool_call_id: null,
  name: null, run_id: RUN, created_at: "2026-11-30T00:00:00Z",
};
const call = {
  ...user, id: "m2", seq: 2, role: "assistant", content: null,
  tool_calls: [{ id: "c1", type: "function", function: { name: "add", arguments: '{"a":5,"b":3}' } }],
};
const result = { ...user, id: "m3", seq: 3, role: "tool", content: "8", tool_call_id: "c1", name: "add" };
const answer = { ...user, id: "m4", seq: 4, role: "assistant", content: "5 + 3 = 8." };

function sse(events: { type: string; [k: string]: unknown }[], ids: number[], runId = RUN): string {
  return events
    .map((e, i) => {
      const id = ids[i] ?? i + 1;
      return `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify({ id, run_id: runId, ...e })}\n\n`;
    })
    .join("");
}

function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      // Awkward chunk boundaries, as a network would cut them.
      for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
      controller.close();
    },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function renderThread() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[`/chat/${THREAD}`]}>
        <Routes>
          <Route path="/chat/:threadId" element={<ThreadPage />} />
          <Route path="/" element={<p>home</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("ThreadPage", () => {
  const requests: Request[] = [];
  let runActive = true;
  let sent: object[] = [];

  beforeEach(() => {
    requests.length = 0;
    runActive = true;
    sent = [];
    document.cookie = "confide_csrf=tok; path=/";
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        requests.push(request);
        const path = new URL(request.url).pathname;
        if (path === `/api/threads/${THREAD}`) {
          return json({
            id: THREAD, agent_id: "assistant", title: "add 5 and 3", created_at: "", last_activity_at: "",
            message_count: 3, active_run_id: runActive ? RUN : null,
          });
        }
        if (path === `/api/threads/${THREAD}/messages` && request.method === "GET") {
          // Reloaded mid-run: the call and its result are stored, the answer is streaming.
          const path = runActive ? [user, call, result] : [user, call, result, answer, ...sent];
          return json({ items: path, next_cursor: null });
        }
        if (path === `/api/runs/${RUN}/events`) {
          runActive = false;
          const body = sse(
            [
              { type: "run.started" },
              { type: "message.completed", message: call },
              { type: "tool.started", tool_call_id: "c1", name: "add", arguments: '{"a":5,"b":3}' },
              { type: "message.completed", message: result },
              { type: "tool.finished", tool_call_id: "c1", name: "add", status: "ok", duration_ms: 0.4, result: "8" },
              { type: "message.delta", delta: "5 + 3 " },
              { type: "message.delta", delta: "= 8." },
              { type: "message.completed", message: answer },
              { type: "run.completed" },
            ],
            [1, 2, 3, 4, 5, 6, 7, 8, 9],
          );
          return new Response(streamOf(body), { headers: { "Content-Type": "text/event-stream" } });
        }
        if (path === `/api/threads/${THREAD}/messages` && request.method === "POST") {
          const hello = { ...user, id: "m6", seq: 6, role: "assistant", content: "Hello!", run_id: "r2" };
          // What the server stores: read back (the active path) once the run ends.
          sent.push({ ...user, id: "m5", seq: 5, content: "hello", run_id: "r2" }, hello);
          const body = sse(
            [
              { type: "run.started" },
              { type: "message.delta", delta: "Hel" },
              { type: "message.delta", delta: "lo!" },
              { type: "message.completed", message: hello },
              { type: "run.completed" },
            ],
            [1, 2, 3, 4, 5],
            "r2",
          );
          return new Response(streamOf(body), { headers: { "Content-Type": "text/event-stream" } });
        }
        if (path === `/api/runs/${RUN}/cancel`) return json({ id: RUN, status: "cancelled" });
        if (path === `/api/threads/${THREAD}` && request.method === "DELETE") return new Response(null, { status: 204 });
        return json({ code: "not_found", status: 404 }, 404);
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it("resumes a running run after a reload, without duplicates", async () => {
    renderThread();
    expect(await screen.findByRole("heading", { level: 1, name: "add 5 and 3" })).toBeInTheDocument();
    await waitFor(() => {
      const answers = screen.getAllByTestId("message").filter((m) => m.dataset.role === "assistant");
      expect(answers).toHaveLength(1);
      expect(answers[0]).toHaveTextContent("5 + 3 = 8.");
    });
    const messages = screen.getAllByTestId("message");
    expect(messages.map((m) => m.dataset.role)).toEqual(["user", "assistant"]);
    expect(screen.getAllByTestId("tool-card")).toHaveLength(1);
    expect(screen.getByTestId("tool-card")).toHaveAttribute("data-status", "ok");
    expect(messages[1]?.textContent?.match(/5 \+ 3 = 8\./g)).toHaveLength(1);
    const follow = requests.find((r) => r.url.includes(`/api/runs/${RUN}/events`));
    expect(follow && new URL(follow.url).searchParams.get("after")).toBe("0");
    expect(follow?.headers.get("Accept")).toBe("text/event-stream");
    await waitFor(() => expect(screen.queryByRole("button", { name: "Stop" })).toBeNull());
  });

  it("asks before deleting, and Escape cancels", async () => {
    runActive = false;
    renderThread();
    await screen.findByRole("heading", { level: 1, name: "add 5 and 3" });
    await userEvent.click(screen.getByRole("button", { name: "Delete thread" }));
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByRole("button", { name: "Delete" })).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
  });

  it("sends with Enter and streams the answer in", async () => {
    runActive = false;
    renderThread();
    await screen.findByRole("heading", { level: 1, name: "add 5 and 3" });
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "hello{Enter}");
    await waitFor(() => expect(screen.getAllByTestId("message").at(-1)).toHaveTextContent("Hello!"));
    const post = requests.find((r) => r.method === "POST");
    expect(post?.headers.get("Accept")).toBe("text/event-stream");
    expect(post?.headers.get("X-CSRF-Token")).toBe("tok");
    expect(screen.getAllByTestId("message").map((m) => m.dataset.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
    ]);
  });
});
