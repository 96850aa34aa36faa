// A conversation opened while its run waits for approval: the card from the replayed events,
// the answer sent, and the run followed again after the pause until the answer streams in.
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Approval } from "../api/approvals";
import type { Message, RunEvent } from "../api/client";
import { json, renderWith } from "../test/api";
import { ThreadPage } from "./ThreadPage";

const THREAD = "t1";
const RUN = "r1";
const ARGS = '{"expression": "6*7"}';

function message(seq: number, role: Message["role"], extra: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`, seq, role, content: null, run_id: RUN, created_at: "2026-12-03T00:00:00Z",
    tool_calls: null, tool_call_id: null, name: null, interrupted: false, sibling_count: 1, sibling_index: 0, ...extra,
  };
}

const question = message(1, "user", { content: "call calculator with {\"expression\": \"6*7\"}" });
const call = message(2, "assistant", {
  tool_calls: [{ id: "c1", type: "function", function: { name: "calculator", arguments: ARGS } }],
});
const result = message(3, "tool", { content: "48", tool_call_id: "c1", name: "calculator" });
const answer = message(4, "assistant", { content: "calculator: 48." });

type Body = RunEvent extends infer E ? (E extends unknown ? Omit<E, "id" | "run_id"> : never) : never;

function sse(from: number, bodies: Body[]): Response {
  const text = bodies
    .map((body, i) => {
      const event = { ...body, id: from + i, run_id: RUN };
      return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    })
    .join("");
  return new Response(text, { headers: { "Content-Type": "text/event-stream" } });
}

/** The server: the run waits on one approval until the POST answers it. */
class FakeServer {
  approval: Approval = {
    id: "a1", run_id: RUN, thread_id: THREAD, tool_call_id: "c1", kind: "approval", tool: "calculator",
    server_id: null, arguments: ARGS, question: null, choices: null, status: "pending", decided_arguments: null,
    reason: null, answer: null, channel: null, created_at: "2026-12-03T00:00:00Z",
    expires_at: "2026-12-05T00:00:00Z", decided_at: null,
  };
  messages: Message[] = [question, call];
  readonly requests: { method: string; url: URL; body: unknown }[] = [];

  handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const text = request.method === "GET" ? "" : await request.text();
    this.requests.push({ method: request.method, url, body: text ? JSON.parse(text) : null });
    const route = `${request.method} ${url.pathname}`;
    const waiting = this.approval.status === "pending";
    switch (route) {
      case `GET /api/threads/${THREAD}`:
        return json({
          id: THREAD, agent_id: "assistant", title: "Sums", created_at: "", last_activity_at: "",
          message_count: this.messages.length, active_run_id: waiting ? RUN : null,
          owner: { id: "u1", email: "ada@example.org", display_name: "Ada" }, shared: false,
        });
      case `GET /api/threads/${THREAD}/messages`:
        return json({ items: this.messages, next_cursor: null });
      case "GET /api/me/approvals":
        return json({ items: [this.approval], next_cursor: null });
      case `POST /api/runs/${RUN}/approvals/a1`: {
        const body = this.requests.at(-1)?.body as { decision: string; arguments?: object };
        this.approval = {
          ...this.approval,
          status: body.decision === "approve" ? "approved" : "denied",
          channel: "web",
          decided_arguments: body.arguments ? JSON.stringify(body.arguments) : null,
        };
        return json(this.approval);
      }
      case `GET /api/runs/${RUN}/events`: {
        const after = Number(url.searchParams.get("after"));
        if (after < 4) {
          return sse(1, [
            { type: "run.started", thread_id: THREAD, agent_id: "assistant" },
            { type: "message.completed", message: call },
            {
              type: "approval.requested", approval_id: "a1", tool_call_id: "c1", name: "calculator", server_id: null,
              arguments: ARGS, kind: "approval", question: null, choices: null, expires_at: this.approval.expires_at,
            },
            { type: "run.waiting", status: "waiting" },
          ]);
        }
        this.messages = [question, call, result, answer];
        return sse(5, [
          { type: "approval.resolved", approval_id: "a1", tool_call_id: "c1", status: "approved", channel: "web" },
          { type: "tool.started", tool_call_id: "c1", name: "calculator", arguments: '{"expression":"6*8"}' },
          { type: "message.completed", message: result },
          { type: "tool.finished", tool_call_id: "c1", name: "calculator", status: "ok", duration_ms: 1, result: "48" },
          { type: "message.delta", delta: "calculator: 48." },
          { type: "message.completed", message: answer },
          { type: "run.completed", status: "completed" },
        ]);
      }
      default:
        return json({ code: "not_found", status: 404 }, 404);
    }
  };

  follows(): number[] {
    return this.requests
      .filter((r) => r.url.pathname === `/api/runs/${RUN}/events`)
      .map((r) => Number(r.url.searchParams.get("after")));
  }
}

function renderThread() {
  return renderWith(
    <Routes>
      <Route path="/chat/:threadId" element={<ThreadPage />} />
    </Routes>,
    `/chat/${THREAD}`,
  );
}

describe("ThreadPage, a run waiting for approval", () => {
  let server: FakeServer;

  beforeEach(() => {
    server = new FakeServer();
    document.cookie = "confide_csrf=tok; path=/";
    vi.stubGlobal("fetch", vi.fn(server.handle));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows the card, sends the edited arguments, and follows the run after its pause to the answer", async () => {
    renderThread();
    const card = await screen.findByRole("region", { name: "Approve calculator?" });
    expect(screen.getByTestId("run-status")).toHaveTextContent("The assistant is waiting for your answer.");
    // Waiting: nothing else can be sent, and the run can be stopped.
    expect(screen.getByRole("button", { name: "Stop" })).toBeInTheDocument();
    const box = within(card).getByLabelText(/Arguments/);
    await userEvent.clear(box);
    await userEvent.type(box, '{{"expression": "6*8"}');
    await userEvent.click(within(card).getByRole("button", { name: "Approve" }));

    await waitFor(() =>
      expect(screen.getAllByTestId("message").at(-1)).toHaveTextContent("calculator: 48."),
    );
    expect(server.requests.find((r) => r.method === "POST")?.body).toEqual({
      decision: "approve",
      arguments: { expression: "6*8" },
    });
    // Replayed once from the start, then followed after the pause's last event.
    expect(server.follows()).toEqual([0, 4]);
    await waitFor(() => expect(screen.getByTestId("approval-outcome")).toHaveTextContent("Approved in the app"));
    expect(screen.getByTestId("tool-card")).toHaveAttribute("data-status", "ok");
    expect(screen.queryByRole("region", { name: "Approve calculator?" })).toBeNull();
    await waitFor(() => expect(screen.getByTestId("run-status")).toHaveTextContent("The answer is complete."));
    expect(screen.getByRole("button", { name: "Send" })).toBeInTheDocument();
  });
});
