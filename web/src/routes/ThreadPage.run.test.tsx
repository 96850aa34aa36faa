// A new chat's first run against a fake server whose answers the test releases step by step:
// the page's title while it streams, and an answer stopped or failed half way.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Message, RunEvent, Thread } from "../api/client";
import { handOffFirstMessage } from "../api/threads";
import { ThreadPage } from "./ThreadPage";

const THREAD = "t-new";
const RUN = "r-new";
const FIRST = "hello   there,\n  assistant";
const TITLE = "hello there, assistant";

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** An event as the test writes it: the fake server numbers it and names the run. */
type Unnumbered<E> = E extends unknown ? Omit<E, "id" | "run_id"> : never;
type EventBody = Unnumbered<RunEvent>;

/** An SSE response the test writes to event by event. */
class LiveRun {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private next = 1;
  readonly response: Response;

  constructor() {
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (this.controller = c) });
    this.response = new Response(body, { headers: { "Content-Type": "text/event-stream" } });
  }

  push(...events: EventBody[]): void {
    for (const body of events) {
      const id = this.next++;
      const event = { ...body, id, run_id: RUN };
      const text = `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
      this.controller.enqueue(new TextEncoder().encode(text));
    }
  }

  close(): void {
    this.controller.close();
  }
}

function stored(seq: number, role: Message["role"], content: string, interrupted = false): Message {
  return {
    id: `m${seq}`, seq, role, content, run_id: RUN, created_at: "2026-11-30T00:00:00Z",
    tool_calls: null, tool_call_id: null, name: null, interrupted, sibling_count: 1, sibling_index: 0,
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** The server's side: the thread is titled once the first message is stored (on the POST). */
class FakeServer {
  messages: Message[] = [];
  running = false;
  readonly requests: Request[] = [];
  /** Thread reads the test holds back: each answers with the thread as it was when asked. */
  readonly heldThreadReads: Deferred<void>[] = [];
  holdThreadReads = 0;
  run = new LiveRun();

  thread(): Thread {
    const first = this.messages.find((m) => m.role === "user");
    return {
      id: THREAD, agent_id: "llm", title: first ? TITLE : null, created_at: "", last_activity_at: "",
      message_count: this.messages.length, active_run_id: this.running ? RUN : null,
      owner: { id: "u1", email: "alice@example.org", display_name: "Alice" }, shared: false,
      archived: false, pinned: false,
    };
  }

  handle = async (request: Request): Promise<Response> => {
    this.requests.push(request);
    const path = new URL(request.url).pathname;
    if (path === `/api/threads/${THREAD}` && request.method === "GET") {
      const snapshot = this.thread();
      if (this.holdThreadReads > 0) {
        this.holdThreadReads -= 1;
        const hold = deferred<void>();
        this.heldThreadReads.push(hold);
        await hold.promise;
      }
      return json(snapshot);
    }
    if (path === `/api/threads/${THREAD}/messages` && request.method === "GET") {
      return json({ items: this.messages, next_cursor: null });
    }
    if (path === `/api/threads/${THREAD}/messages` && request.method === "POST") {
      this.messages.push(stored(1, "user", FIRST.trim()));
      this.running = true;
      return this.run.response;
    }
    if (path === `/api/runs/${RUN}/cancel`) return json({ id: RUN, status: "cancelled" });
    return json({ code: "not_found", status: 404 }, 404);
  };

  /** The run ends: `answer` stored, then the ending event. */
  end(answer: Message, ending: EventBody): void {
    this.messages.push(answer);
    this.running = false;
    this.run.push({ type: "message.completed", message: answer }, ending);
    this.run.close();
  }

  reads(path: string): number {
    return this.requests.filter((r) => r.method === "GET" && new URL(r.url).pathname === path).length;
  }
}

function renderNewChat() {
  handOffFirstMessage(THREAD, FIRST.trim());
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[`/chat/${THREAD}`]}>
        <Routes>
          <Route path="/chat/:threadId" element={<ThreadPage />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const answers = () => screen.getAllByTestId("message").filter((m) => m.dataset.role === "assistant");
const liveRegion = () => screen.getByTestId("run-status");

describe("ThreadPage, the first run of a new chat", () => {
  let server: FakeServer;

  beforeEach(() => {
    server = new FakeServer();
    document.cookie = "confide_csrf=tok; path=/";
    document.title = "New chat · Confide";
    vi.stubGlobal("fetch", vi.fn(server.handle));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("takes the thread's title even when the page's first read of the thread is answered last", async () => {
    // The first read leaves before the message is stored and comes back after the whole run:
    // a refetch folded into it would keep its untitled answer for good.
    server.holdThreadReads = 1;
    renderNewChat();
    await waitFor(() => expect(server.requests.some((r) => r.method === "POST")).toBe(true));
    server.run.push({ type: "run.started", thread_id: THREAD, agent_id: "llm" });
    server.run.push({ type: "message.delta", delta: "Hi!" });
    server.end(stored(2, "assistant", "Hi!"), { type: "run.completed", status: "completed" });
    await waitFor(() => expect(liveRegion()).toHaveTextContent("The answer is complete."));
    // The run's end has asked for fresh messages (and the thread) by now.
    await waitFor(() => expect(server.reads(`/api/threads/${THREAD}/messages`)).toBeGreaterThan(1));
    for (const hold of server.heldThreadReads) hold.resolve();
    await waitFor(() => expect(document.title).toBe(`${TITLE} · Confide`));
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent(TITLE);
  });

  it("shows the title from the first message while the answer streams, before the refetch is back", async () => {
    renderNewChat();
    await waitFor(() => expect(server.requests.some((r) => r.method === "POST")).toBe(true));
    await waitFor(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Untitled chat"));
    server.holdThreadReads = 10; // every read after the run starts stays out while it streams
    server.run.push({ type: "run.started", thread_id: THREAD, agent_id: "llm" });
    server.run.push({ type: "message.delta", delta: "Hi" });
    await waitFor(() => expect(document.title).toBe(`${TITLE} · Confide`));
    expect(screen.getByRole("button", { name: "Stop" })).toBeInTheDocument();
    server.holdThreadReads = 0;
    for (const hold of server.heldThreadReads) hold.resolve();
    server.end(stored(2, "assistant", "Hi!"), { type: "run.completed", status: "completed" });
    await waitFor(() => expect(screen.queryByRole("button", { name: "Stop" })).toBeNull());
    expect(document.title).toBe(`${TITLE} · Confide`);
  });

  it("keeps the text of a stopped answer, once, marked Stopped", async () => {
    renderNewChat();
    await waitFor(() => expect(server.requests.some((r) => r.method === "POST")).toBe(true));
    server.run.push(
      { type: "run.started", thread_id: THREAD, agent_id: "llm" },
      { type: "message.delta", delta: "One two " },
      { type: "message.delta", delta: "three" },
    );
    await waitFor(() => expect(answers()[0]).toHaveTextContent("One two three"));
    expect(liveRegion()).toHaveTextContent("The assistant is answering.");
    await userEvent.click(screen.getByRole("button", { name: "Stop" }));
    await waitFor(() => expect(server.requests.some((r) => r.url.endsWith(`/runs/${RUN}/cancel`))).toBe(true));
    server.end(stored(2, "assistant", "One two three", true), {
      type: "run.cancelled", status: "cancelled", code: "cancelled", reason: "The run was cancelled.",
    });
    await waitFor(() => expect(liveRegion()).toHaveTextContent("The answer was stopped."));
    expect(answers()).toHaveLength(1);
    expect(answers()[0]?.textContent?.match(/One two three/g)).toHaveLength(1);
    expect(screen.getByTestId("interrupted-mark")).toHaveTextContent("Stopped");
    expect(screen.queryByRole("alert")).toBeNull();
    // The stored messages come back: still once, still marked.
    await waitFor(() => expect(server.reads(`/api/threads/${THREAD}/messages`)).toBeGreaterThan(1));
    await waitFor(() => expect(screen.getByTestId("interrupted-mark")).toHaveTextContent("Stopped"));
    expect(answers()).toHaveLength(1);
  });

  it("keeps the text of a failed answer, marked Failed, with the reason in the alert", async () => {
    renderNewChat();
    await waitFor(() => expect(server.requests.some((r) => r.method === "POST")).toBe(true));
    server.run.push(
      { type: "run.started", thread_id: THREAD, agent_id: "llm" },
      { type: "message.delta", delta: "Half an" },
    );
    await waitFor(() => expect(answers()[0]).toHaveTextContent("Half an"));
    server.end(stored(2, "assistant", "Half an", true), {
      type: "run.failed", status: "failed", code: "model_timeout", reason: "The model stopped answering.",
    });
    await waitFor(() => expect(liveRegion()).toHaveTextContent("The answer failed."));
    expect(answers()[0]?.textContent?.match(/Half an/g)).toHaveLength(1);
    expect(screen.getByTestId("interrupted-mark")).toHaveTextContent("Failed");
    expect(screen.getByRole("alert")).toHaveTextContent("The model stopped answering.");
  });
});
