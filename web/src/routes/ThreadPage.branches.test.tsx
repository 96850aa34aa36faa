// The chat page over a fake server: edit a question, regenerate an answer, continue a stopped
// one, switch between versions; each streams (SSE) like a send and reads the path back.
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Message } from "../api/client";
import { fakeApi, json, renderWith, type Call } from "../test/api";
import { ThreadPage } from "./ThreadPage";

const THREAD = "t1";

function message(id: string, seq: number, role: Message["role"], extra: Partial<Message> = {}): Message {
  return {
    id, seq, role, content: null, tool_calls: null, tool_call_id: null, name: null, run_id: "r1",
    created_at: "2026-12-04T00:00:00Z", interrupted: false, parent_id: null, sibling_count: 1,
    sibling_index: 0, sibling_ids: [], ...extra,
  };
}

const two = (ids: [string, string], index: number) => ({ sibling_count: 2, sibling_index: index, sibling_ids: ids });
const question = message("u1", 1, "user", { content: "What is Lisbon?" });
const answer = message("a1", 2, "assistant", { content: "A city.", parent_id: "u1" });

function sse(runId: string, events: Record<string, unknown>[]): Response {
  const text = events
    .map((e, i) => `id: ${i + 1}\nevent: ${String(e.type)}\ndata: ${JSON.stringify({ id: i + 1, run_id: runId, ...e })}\n\n`)
    .join("");
  return new Response(text, { headers: { "Content-Type": "text/event-stream" } });
}

/** The events of a run that answers `text` and stores `stored`. */
function answered(runId: string, text: string, stored: Message): Response {
  return sse(runId, [
    { type: "run.started", thread_id: THREAD, agent_id: "assistant" },
    { type: "message.delta", delta: text },
    { type: "message.completed", message: stored },
    { type: "run.completed", status: "completed" },
  ]);
}

describe("ThreadPage branches", () => {
  let path: Message[];
  let calls: Call[];
  let routes: Parameters<typeof fakeApi>[0];

  beforeEach(() => {
    path = [question, answer];
    routes = {
      "GET /api/threads/t1": () =>
        json({
          id: THREAD, agent_id: "assistant", title: "Lisbon", created_at: "", last_activity_at: "", message_count: 2,
          active_run_id: null, shared: false, archived: false, pinned: false,
        }),
      "GET /api/threads/t1/messages": () => json({ items: path, next_cursor: null }),
      "GET /api/threads/t1/approvals": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () =>
        json({ items: [{ id: "assistant", name: "Assistant" }, { id: "coder", name: "Coder" }], next_cursor: null }),
    };
    calls = fakeApi(routes);
  });
  afterEach(() => vi.unstubAllGlobals());

  function renderThread() {
    return renderWith(
      <Routes>
        <Route path="/chat/:threadId" element={<ThreadPage />} />
      </Routes>,
      `/chat/${THREAD}`,
    );
  }

  const articles = () => screen.getAllByTestId("message");

  it("edits a question: the new answer streams in, 2/2, and Previous version shows the old one", async () => {
    const edited = message("u2", 3, "user", { content: "Where is Lisbon?", run_id: "r2", ...two(["u1", "u2"], 1) });
    const newAnswer = message("a2", 4, "assistant", { content: "In Portugal.", parent_id: "u2", run_id: "r2" });
    routes["POST /api/threads/t1/messages/u1/edit"] = () => {
      path = [edited, newAnswer];
      return answered("r2", "In Portugal.", newAnswer);
    };
    routes["PUT /api/threads/t1/active"] = () => {
      path = [{ ...question, ...two(["u1", "u2"], 0) }, answer];
      return json({ id: THREAD, agent_id: "assistant", title: "Lisbon", shared: false, archived: false, pinned: false });
    };
    renderThread();
    await waitFor(() => expect(articles()[1]).toHaveTextContent("A city."));
    await userEvent.click(within(articles()[0] as HTMLElement).getByRole("button", { name: "Edit message" }));
    const editor = screen.getByRole("textbox", { name: "Edit your message" });
    await userEvent.clear(editor);
    await userEvent.type(editor, "Where is Lisbon?{Enter}");
    await waitFor(() => expect(articles()[1]).toHaveTextContent("In Portugal."));
    expect(calls.find((c) => c.path.endsWith("/edit"))?.body).toEqual({ content: "Where is Lisbon?" });
    const first = () => articles()[0] as HTMLElement;
    await waitFor(() => expect(within(first()).getByTestId("branch-position")).toHaveTextContent("2/2"));
    expect(first()).toHaveTextContent("Where is Lisbon?");
    expect(articles()).toHaveLength(2);

    await userEvent.click(within(first()).getByRole("button", { name: "Previous version" }));
    await waitFor(() => expect(articles()[1]).toHaveTextContent("A city."));
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ leaf_id: "u1" });
    expect(within(first()).getByTestId("branch-position")).toHaveTextContent("1/2");
    expect(first()).toHaveTextContent("What is Lisbon?");
  });

  it("regenerates an answer, with another agent when picked", async () => {
    const again = message("a3", 3, "assistant", { content: "A capital.", parent_id: "u1", run_id: "r3", ...two(["a1", "a3"], 1) });
    routes["POST /api/runs/r1/regenerate"] = () => {
      path = [question, again];
      return answered("r3", "A capital.", again);
    };
    renderThread();
    await waitFor(() => expect(articles()[1]).toHaveTextContent("A city."));
    const reply = () => articles()[1] as HTMLElement;
    await userEvent.click(within(reply()).getByRole("button", { name: "Regenerate with…" }));
    await userEvent.click(screen.getByRole("button", { name: "Coder" }));
    await waitFor(() => expect(reply()).toHaveTextContent("A capital."));
    expect(reply()).not.toHaveTextContent("A city.");
    expect(within(reply()).getByTestId("branch-position")).toHaveTextContent("2/2");
    expect(calls.find((c) => c.path.endsWith("/regenerate"))?.body).toEqual({ agent_id: "coder" });
  });

  it("continues a stopped answer: the new text follows it", async () => {
    path = [question, { ...answer, content: "A city in", interrupted: true }];
    const more = message("a4", 3, "assistant", { content: " Portugal.", parent_id: "a1", run_id: "r4" });
    routes["POST /api/runs/r1/continue"] = () => {
      path = [question, { ...answer, content: "A city in", interrupted: true }, more];
      return answered("r4", " Portugal.", more);
    };
    renderThread();
    const reply = () => articles()[1] as HTMLElement;
    await waitFor(() => expect(within(reply()).getByTestId("interrupted-mark")).toHaveTextContent("Interrupted"));
    await userEvent.click(within(reply()).getByRole("button", { name: "Continue" }));
    await waitFor(() => expect(reply()).toHaveTextContent(/A city in\s*Portugal\./));
    expect(within(reply()).queryByTestId("interrupted-mark")).toBeNull();
    expect(within(reply()).queryByRole("button", { name: "Continue" })).toBeNull();
    expect(calls.filter((c) => c.path.endsWith("/continue"))).toHaveLength(1);
  });

  it("a failed switch says why and leaves the path as it was", async () => {
    path = [{ ...question, ...two(["u1", "u9"], 0) }, answer];
    routes["PUT /api/threads/t1/active"] = () =>
      json({ type: "about:blank", status: 404, title: "Not found", code: "message_not_found", detail: "No such message." }, 404);
    renderThread();
    await waitFor(() => expect(articles()[1]).toHaveTextContent("A city."));
    await userEvent.click(within(articles()[0] as HTMLElement).getByRole("button", { name: "Next version" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("No such message.");
    expect(articles()[1]).toHaveTextContent("A city.");
  });
});
