// Branches in the conversation state: an edit cuts the path before the edited question, a
// regenerate after it, a continue goes on from a cut-short answer; a page read replaces the
// path shown (a switch of branch), keeping what the live run streamed.
import { describe, expect, it } from "vitest";
import type { Message, RunEvent } from "../api/client";
import {
  branchOf,
  conversationReducer,
  displayItems,
  initialConversation,
  turnText,
  type ConversationAction,
  type ConversationState,
  type DisplayItem,
} from "./conversation";

function message(id: string, seq: number, role: Message["role"], extra: Partial<Message> = {}): Message {
  return {
    id, seq, role, content: null, tool_calls: null, tool_call_id: null, name: null, run_id: "r1",
    created_at: "2026-12-04T00:00:00Z", interrupted: false, parent_id: null, sibling_count: 1,
    sibling_index: 0, sibling_ids: [], ...extra,
  };
}

const q1 = message("u1", 1, "user", { content: "first question" });
const a1 = message("a1", 2, "assistant", { content: "first answer", parent_id: "u1" });
const q2 = message("u2", 3, "user", { content: "second question", parent_id: "a1", run_id: "r2" });
const a2 = message("a2", 4, "assistant", { content: "second answer", parent_id: "u2", run_id: "r2" });
const path = [q1, a1, q2, a2];

const reduce = (state: ConversationState, actions: ConversationAction[]) => actions.reduce(conversationReducer, state);
/** An event as the test writes it: the run named by `on`. */
type Unnamed<E> = E extends unknown ? Omit<E, "run_id"> : never;
const on = (runId: string, events: Unnamed<RunEvent>[]): ConversationAction[] =>
  events.map((event) => ({ type: "event", event: { ...event, run_id: runId } as RunEvent }));

function shown(items: DisplayItem[]): string[] {
  return items.map((item) => {
    const where = item.branch ? ` ${item.branch.index + 1}/${item.branch.count}` : "";
    return item.kind === "user" ? `user:${item.text}${where}` : `assistant:${turnText(item.parts)}${where}`;
  });
}

describe("branches in the conversation", () => {
  it("an edit cuts the path before the question and shows the new version as 2/2 while answered", () => {
    let state = reduce(initialConversation, [{ type: "loaded", messages: path }]);
    state = reduce(state, [{ type: "edit", messageId: "u2", content: "second, better" }]);
    expect(shown(displayItems(state))).toEqual(["user:first question", "assistant:first answer", "user:second, better", "assistant:"]);
    state = reduce(state, on("r3", [
      { id: 1, type: "run.started", thread_id: "t1", agent_id: "assistant" },
      { id: 2, type: "message.delta", delta: "better answer" },
    ]));
    expect(shown(displayItems(state))).toEqual([
      "user:first question", "assistant:first answer", "user:second, better 2/2", "assistant:better answer",
    ]);
    const echo = state.messages.find((m) => m.role === "user" && m.content === "second, better");
    expect(echo?.parent_id).toBe("a1");
    expect(echo?.sibling_ids?.[0]).toBe("u2");
    // Read back once the run ends: the stored version replaces the echo, the old one is gone.
    const q2b = message("u3", 5, "user", {
      content: "second, better", parent_id: "a1", run_id: "r3", sibling_count: 2, sibling_index: 1, sibling_ids: ["u2", "u3"],
    });
    const a2b = message("a3", 6, "assistant", { content: "better answer", parent_id: "u3", run_id: "r3" });
    state = reduce(state, [
      ...on("r3", [{ id: 3, type: "message.completed", message: a2b }, { id: 4, type: "run.completed", status: "completed" }]),
      { type: "loaded", messages: [q1, a1, q2b, a2b] },
    ]);
    expect(state.messages.map((m) => m.id)).toEqual(["u1", "a1", "u3", "a3"]);
    const items = displayItems(state);
    expect(shown(items)).toEqual(["user:first question", "assistant:first answer", "user:second, better 2/2", "assistant:better answer"]);
    expect(items[2]?.branch?.ids).toEqual(["u2", "u3"]);
  });

  it("switching back to the old version replaces the path shown", () => {
    const q2old = { ...q2, sibling_count: 2, sibling_index: 0, sibling_ids: ["u2", "u3"] };
    const q2new = message("u3", 5, "user", { content: "other", parent_id: "a1", sibling_count: 2, sibling_index: 1, sibling_ids: ["u2", "u3"] });
    let state = reduce(initialConversation, [{ type: "loaded", messages: [q1, a1, q2new] }]);
    state = reduce(state, [{ type: "loaded", messages: [q1, a1, q2old, a2] }]);
    expect(shown(displayItems(state))).toEqual(["user:first question", "assistant:first answer", "user:second question 1/2", "assistant:second answer"]);
  });

  it("a page read during a run keeps what the run has streamed", () => {
    let state = reduce(initialConversation, [{ type: "loaded", messages: [q1, a1] }, { type: "send", content: "second question" }]);
    state = reduce(state, on("r2", [
      { id: 1, type: "run.started", thread_id: "t1", agent_id: "assistant" },
      { id: 2, type: "message.completed", message: a2 },
    ]));
    // Read before the run stored anything (the window got focus): nothing streamed is lost.
    state = reduce(state, [{ type: "loaded", messages: [q1, a1] }]);
    expect(shown(displayItems(state))).toEqual(["user:first question", "assistant:first answer", "user:second question", "assistant:second answer"]);
  });

  it("a regenerate cuts after the question; the new answer shows as 2/2 from its event", () => {
    let state = reduce(initialConversation, [{ type: "loaded", messages: path }]);
    const items = displayItems(state);
    expect(items[3]).toMatchObject({ kind: "assistant", regenerate: "r2", continueRun: null });
    state = reduce(state, [{ type: "regenerate", messageId: "u2" }]);
    expect(shown(displayItems(state))).toEqual(["user:first question", "assistant:first answer", "user:second question", "assistant:"]);
    const again = message("a4", 5, "assistant", {
      content: "another answer", parent_id: "u2", run_id: "r4", sibling_count: 2, sibling_index: 1, sibling_ids: ["a2", "a4"],
    });
    state = reduce(state, on("r4", [
      { id: 1, type: "run.started", thread_id: "t1", agent_id: "assistant" },
      { id: 2, type: "message.delta", delta: "another answer" },
      { id: 3, type: "message.completed", message: again },
      { id: 4, type: "run.completed", status: "completed" },
    ]));
    expect(shown(displayItems(state))).toEqual([
      "user:first question", "assistant:first answer", "user:second question", "assistant:another answer 2/2",
    ]);
    expect(state.messages.some((m) => m.id === "a2")).toBe(false);
  });

  it("offers Continue on a cut-short last answer; the continuation follows it without the mark", () => {
    const cut = { ...a2, content: "One two", interrupted: true };
    let state = reduce(initialConversation, [{ type: "loaded", messages: [q1, a1, q2, cut] }]);
    let items = displayItems(state);
    expect(items[3]).toMatchObject({ continueRun: { runId: "r2", messageId: "a2" } });
    expect(items[1]).toMatchObject({ continueRun: null });
    state = reduce(state, [{ type: "continue", messageId: "a2" }]);
    items = displayItems(state);
    expect(items[3]).toMatchObject({ continueRun: null });
    const parts = items[3]?.kind === "assistant" ? items[3].parts : [];
    expect(parts[0]).toMatchObject({ kind: "text", text: "One two", interrupted: null });
    const more = message("a5", 5, "assistant", { content: " three four", parent_id: "a2", run_id: "r5" });
    state = reduce(state, on("r5", [
      { id: 1, type: "run.started", thread_id: "t1", agent_id: "assistant" },
      { id: 2, type: "message.delta", delta: " three" },
    ]));
    expect(shown(displayItems(state))[3]).toBe("assistant:One two\n\n three");
    state = reduce(state, on("r5", [
      { id: 3, type: "message.completed", message: more },
      { id: 4, type: "run.completed", status: "completed" },
    ]));
    items = displayItems(state);
    expect(shown(items)).toHaveLength(4);
    expect(items[3]).toMatchObject({ continueRun: null, regenerate: "r2" });
    const after = items[3]?.kind === "assistant" ? items[3].parts : [];
    expect(after.map((p) => (p.kind === "text" ? [p.text, p.interrupted] : p.kind))).toEqual([
      ["One two", null],
      [" three four", null],
    ]);
  });

  it("offers no Continue while a run goes, nor on a complete answer", () => {
    const cut = { ...a2, content: "One two", interrupted: true };
    const running = reduce(initialConversation, [{ type: "loaded", messages: [q1, a1, q2, cut] }, { type: "follow", runId: "r9", resume: false }]);
    expect(displayItems(running).every((i) => i.kind === "user" || i.continueRun === null)).toBe(true);
    const done = reduce(initialConversation, [{ type: "loaded", messages: path }]);
    expect(displayItems(done).every((i) => i.kind === "user" || i.continueRun === null)).toBe(true);
  });

  it("branchOf needs more than one version", () => {
    expect(branchOf(q1)).toBeNull();
    expect(branchOf({ ...q1, sibling_count: 3, sibling_index: 2, sibling_ids: ["x", "y", "u1"] })).toEqual({
      index: 2, count: 3, ids: ["x", "y", "u1"],
    });
  });
});
