import { describe, expect, it } from "vitest";
import type { Message, RunEvent } from "../api/client";
import {
  conversationReducer,
  displayItems,
  initialConversation,
  runAnnouncement,
  type ConversationAction,
  type ConversationState,
} from "./conversation";

const RUN = "run-1";
const cancelled = { type: "run.cancelled", status: "cancelled", code: "cancelled", reason: "The run was cancelled." } as const;

function message(seq: number, role: Message["role"], extra: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    seq,
    role,
    content: null,
    tool_calls: null,
    tool_call_id: null,
    name: null,
    run_id: RUN,
    created_at: "2026-11-30T00:00:00Z",
    interrupted: false,
    sibling_count: 1,
    sibling_index: 0,
    ...extra,
  };
}

const user = message(1, "user", { content: "add 5 and 3" });
const callMsg = message(2, "assistant", {
  tool_calls: [{ id: "c1", type: "function", function: { name: "add", arguments: '{"a":5,"b":3}' } }],
});
const toolMsg = message(3, "tool", { content: "8", tool_call_id: "c1", name: "add" });
const answer = message(4, "assistant", { content: "5 + 3 = 8." });

/** The events of the run, as the server numbers them. */
const events: RunEvent[] = [
  { id: 1, run_id: RUN, type: "run.started", thread_id: "t1", agent_id: "assistant" },
  { id: 2, run_id: RUN, type: "message.completed", message: callMsg },
  { id: 3, run_id: RUN, type: "tool.started", tool_call_id: "c1", name: "add", arguments: '{"a":5,"b":3}' },
  { id: 4, run_id: RUN, type: "message.completed", message: toolMsg },
  { id: 5, run_id: RUN, type: "tool.finished", tool_call_id: "c1", name: "add", status: "ok", duration_ms: 0.2, result: "8" },
  { id: 6, run_id: RUN, type: "message.delta", delta: "5 + 3 " },
  { id: 7, run_id: RUN, type: "message.delta", delta: "= 8." },
  { id: 8, run_id: RUN, type: "message.completed", message: answer },
  { id: 9, run_id: RUN, type: "run.completed", status: "completed" },
];

function reduce(state: ConversationState, actions: ConversationAction[]): ConversationState {
  return actions.reduce(conversationReducer, state);
}

const asEvents = (list: RunEvent[]): ConversationAction[] => list.map((event) => ({ type: "event", event }));

function texts(state: ConversationState) {
  return displayItems(state).map((item) =>
    item.kind === "user"
      ? `user:${item.text}`
      : `assistant:${item.parts.map((p) => (p.kind === "text" ? p.text : p.kind === "tool" ? `[${p.tool.name} ${p.tool.status}]` : `{${p.approval.tool}}`)).join("|")}`,
  );
}

describe("conversation reducer", () => {
  it("streams a send: local echo of the user message, tokens, tool card, answer", () => {
    let state = reduce(initialConversation, [{ type: "send", content: "add 5 and 3" }]);
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:"]);
    state = reduce(state, asEvents(events.slice(0, 7)));
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:[add ok]|5 + 3 = 8."]);
    expect(state.running).toBe(true);
    state = reduce(state, asEvents(events.slice(7)));
    expect(state.running).toBe(false);
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:[add ok]|5 + 3 = 8."]);
    // The stored messages arrive: the echo is replaced, nothing is doubled.
    state = reduce(state, [{ type: "loaded", messages: [user, callMsg, toolMsg, answer] }]);
    expect(state.messages.map((m) => m.id)).toEqual(["m1", "m2", "m3", "m4"]);
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:[add ok]|5 + 3 = 8."]);
  });

  it("resumes after a reload without duplicates: replayed messages and their deltas are skipped", () => {
    // Reloaded while the answer was streaming: the tool call and result are stored already.
    let state = reduce(initialConversation, [
      { type: "loaded", messages: [user, callMsg, toolMsg] },
      { type: "follow", runId: RUN, resume: true },
    ]);
    state = reduce(state, asEvents(events.slice(0, 7)));
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:[add ok]|5 + 3 = 8."]);
    state = reduce(state, asEvents(events.slice(7)));
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:[add ok]|5 + 3 = 8."]);
    expect(state.messages).toHaveLength(4);
  });

  it("skips the deltas of an assistant message that was already stored when the page loaded", () => {
    const first = message(2, "assistant", { content: "Hello" });
    let state = reduce(initialConversation, [
      { type: "loaded", messages: [user, first] },
      { type: "follow", runId: RUN, resume: true },
    ]);
    state = reduce(
      state,
      asEvents([
        { id: 1, run_id: RUN, type: "message.delta", delta: "Hel" },
        { id: 2, run_id: RUN, type: "message.delta", delta: "lo" },
      ]),
    );
    expect(state.draft).toBe("");
    state = reduce(state, asEvents([{ id: 3, run_id: RUN, type: "message.completed", message: first }]));
    state = reduce(state, asEvents([{ id: 4, run_id: RUN, type: "message.delta", delta: "More" }]));
    expect(state.draft).toBe("More");
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:Hello|More"]);
  });

  it("ignores events it has already applied (a reconnect replays from the last id)", () => {
    let state = reduce(initialConversation, [
      { type: "loaded", messages: [user] },
      { type: "follow", runId: RUN, resume: true },
    ]);
    state = reduce(state, asEvents(events.slice(0, 6)));
    state = reduce(state, asEvents(events.slice(3, 7)));
    expect(state.draft).toBe("5 + 3 = 8.");
    expect(state.messages.map((m) => m.id)).toEqual(["m1", "m2", "m3"]);
    expect(state.lastEventId).toBe(7);
  });

  it("ignores events of another run", () => {
    let state = reduce(initialConversation, [{ type: "follow", runId: RUN, resume: true }]);
    state = reduce(state, asEvents([{ id: 1, run_id: "other", type: "message.delta", delta: "x" }]));
    expect(state.draft).toBe("");
  });

  it("turns a failed run into an error that can retry the last message", () => {
    let state = reduce(initialConversation, [{ type: "send", content: "hello" }]);
    state = reduce(
      state,
      asEvents([
        { id: 1, run_id: RUN, type: "run.started", thread_id: "t1", agent_id: "assistant" },
        { id: 2, run_id: RUN, type: "run.failed", status: "failed", code: "model_error", reason: "The model broke." },
      ]),
    );
    expect(state.running).toBe(false);
    expect(state.error).toEqual({ message: "The model broke.", code: "model_error", retryContent: "hello" });
  });

  it("shows a cancelled tool call as cancelled", () => {
    let state = reduce(initialConversation, [
      { type: "loaded", messages: [user, callMsg] },
      { type: "follow", runId: RUN, resume: true },
    ]);
    state = reduce(
      state,
      asEvents([
        { id: 3, run_id: RUN, type: "tool.started", tool_call_id: "c1", name: "add", arguments: "{}" },
        { id: 4, run_id: RUN, type: "tool.finished", tool_call_id: "c1", name: "add", status: "cancelled", duration_ms: null, result: "Cancelled" },
        { id: 5, run_id: RUN, ...cancelled },
      ]),
    );
    expect(texts(state)).toEqual(["user:add 5 and 3", "assistant:[add cancelled]"]);
    expect(state.notice).toBe("Stopped.");
    expect(runAnnouncement(state)).toBe("The answer was stopped.");
  });
});

/** Marks as displayed: "text(mark)" for an interrupted text. */
function marked(state: ConversationState) {
  return displayItems(state).flatMap((item) =>
    item.kind === "assistant"
      ? item.parts.flatMap((p) => (p.kind === "text" ? [`${p.text}(${p.interrupted ?? "-"})`] : []))
      : [],
  );
}

describe("an answer cut short", () => {
  const partial = message(2, "assistant", { content: "One two three", interrupted: true });
  const streamed: RunEvent[] = [
    { id: 1, run_id: RUN, type: "run.started", thread_id: "t1", agent_id: "llm" },
    { id: 2, run_id: RUN, type: "message.delta", delta: "One two " },
    { id: 3, run_id: RUN, type: "message.delta", delta: "three" },
  ];
  const stored: RunEvent = { id: 4, run_id: RUN, type: "message.completed", message: partial };

  function streaming(): ConversationState {
    return reduce(initialConversation, [{ type: "send", content: "count" }, ...asEvents(streamed)]);
  }

  it("keeps the text once, marked Stopped, after run.cancelled", () => {
    let state = streaming();
    expect(texts(state)).toEqual(["user:count", "assistant:One two three"]);
    expect(runAnnouncement(state)).toBe("The assistant is answering.");
    // The interrupted message replaces the draft: the text is not shown twice.
    state = reduce(state, asEvents([stored]));
    expect(texts(state)).toEqual(["user:count", "assistant:One two three"]);
    expect(state.draft).toBe("");
    state = reduce(state, asEvents([{ id: 5, run_id: RUN, ...cancelled }]));
    expect(texts(state)).toEqual(["user:count", "assistant:One two three"]);
    expect(marked(state)).toEqual(["One two three(stopped)"]);
    expect(state.running).toBe(false);
    expect(state.error).toBeNull();
    expect(state.notice).toBeNull(); // the mark says it
    expect(runAnnouncement(state)).toBe("The answer was stopped.");
    // The stored messages read back after the run: still once, still marked Stopped.
    state = reduce(state, [{ type: "loaded", messages: [message(1, "user", { content: "count" }), partial] }]);
    expect(texts(state)).toEqual(["user:count", "assistant:One two three"]);
    expect(marked(state)).toEqual(["One two three(stopped)"]);
  });

  it("keeps the text once, marked Failed, after run.failed, with the reason as the error", () => {
    let state = streaming();
    state = reduce(
      state,
      asEvents([
        stored,
        { id: 5, run_id: RUN, type: "run.failed", status: "failed", code: "model_timeout", reason: "The model went quiet." },
      ]),
    );
    expect(texts(state)).toEqual(["user:count", "assistant:One two three"]);
    expect(marked(state)).toEqual(["One two three(failed)"]);
    expect(state.error).toEqual({ message: "The model went quiet.", code: "model_timeout", retryContent: "count" });
    expect(runAnnouncement(state)).toBe("The answer failed.");
  });

  it("marks a stored interrupted message, whose run this page did not see end, as Interrupted", () => {
    const state = reduce(initialConversation, [
      { type: "loaded", messages: [message(1, "user", { content: "count" }), partial] },
    ]);
    expect(marked(state)).toEqual(["One two three(interrupted)"]);
    expect(runAnnouncement(state)).toBe(""); // nothing ended here: nothing to announce
  });

  it("announces a completed answer, and a lost connection as a failure", () => {
    let state = reduce(initialConversation, [{ type: "send", content: "add 5 and 3" }, ...asEvents(events)]);
    expect(runAnnouncement(state)).toBe("The answer is complete.");
    expect(marked(state)).toEqual(["5 + 3 = 8.(-)"]);
    state = reduce(state, [
      { type: "send", content: "again" },
      { type: "failed", error: { message: "The connection to the server was lost.", code: "stream_ended", retryContent: null } },
    ]);
    expect(runAnnouncement(state)).toBe("The answer failed.");
  });

  it("only marks the interrupted messages of the run that ended", () => {
    const earlier = message(2, "assistant", { content: "Old", interrupted: true, run_id: "run-0" });
    let state = reduce(initialConversation, [
      { type: "loaded", messages: [message(1, "user", { content: "first", run_id: "run-0" }), earlier] },
      { type: "send", content: "count" },
    ]);
    state = reduce(state, asEvents([...streamed, { ...stored, message: { ...partial, id: "m4", seq: 4 } }]));
    state = reduce(state, asEvents([{ id: 5, run_id: RUN, ...cancelled }]));
    expect(marked(state)).toEqual(["Old(interrupted)", "One two three(stopped)"]);
  });
});
