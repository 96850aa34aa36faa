// A run that waits for its user: the approval heard on the stream, the pause, the answer
// (heard on the stream or read from the server), and what the message list shows.
import { describe, expect, it } from "vitest";
import type { Approval } from "../api/approvals";
import type { Message, RunEvent } from "../api/client";
import {
  conversationReducer,
  displayItems,
  initialConversation,
  mergeApprovals,
  runAnnouncement,
  waitingRuns,
  type ConversationAction,
  type ConversationState,
} from "./conversation";

const RUN = "run-1";
const ARGS = '{"expression": "6*7"}';

const callMsg: Message = {
  id: "m2", seq: 2, role: "assistant", content: null, run_id: RUN, created_at: "2026-12-03T00:00:00Z",
  tool_calls: [{ id: "c1", type: "function", function: { name: "calculator", arguments: ARGS } }],
  tool_call_id: null, name: null, interrupted: false, sibling_count: 1, sibling_index: 0,
};

const paused: RunEvent[] = [
  { id: 1, run_id: RUN, type: "run.started", thread_id: "t1", agent_id: "assistant" },
  { id: 2, run_id: RUN, type: "message.completed", message: callMsg },
  {
    id: 3, run_id: RUN, type: "approval.requested", approval_id: "a1", tool_call_id: "c1", name: "calculator",
    server_id: null, arguments: ARGS, kind: "approval", question: null, choices: null,
    expires_at: "2026-12-05T00:00:00Z",
  },
  { id: 4, run_id: RUN, type: "run.waiting", status: "waiting" },
];

function approval(extra: Partial<Approval> = {}): Approval {
  return {
    id: "a1", run_id: RUN, thread_id: "t1", tool_call_id: "c1", kind: "approval", tool: "calculator",
    server_id: null, arguments: ARGS, question: null, choices: null, status: "pending",
    decided_arguments: null, reason: null, answer: null, channel: null, created_at: "2026-12-03T00:00:00Z",
    expires_at: "2026-12-05T00:00:00Z", decided_at: null, ...extra,
  };
}

function reduce(state: ConversationState, actions: ConversationAction[]): ConversationState {
  return actions.reduce(conversationReducer, state);
}

const asEvents = (list: RunEvent[]): ConversationAction[] => list.map((event) => ({ type: "event", event }));

function parts(state: ConversationState) {
  return displayItems(state).flatMap((item) =>
    item.kind === "user"
      ? []
      : item.parts.map((p) =>
          p.kind === "tool"
            ? `tool ${p.tool.name} ${p.tool.status} ${p.approval?.status ?? "-"}`
            : p.kind === "approval"
              ? `approval ${p.approval.tool} ${p.approval.status}`
              : `text ${p.text}`,
        ),
  );
}

describe("a run waiting for approval", () => {
  it("pauses on run.waiting with the approval on its tool call, and says so", () => {
    const state = reduce(
      { ...initialConversation, runId: RUN, running: true },
      asEvents(paused),
    );
    expect(state.running).toBe(false);
    expect(state.waiting).toBe(true);
    expect(state.approvals.a1?.status).toBe("pending");
    expect(state.approvals.a1?.expires_at).toBe("2026-12-05T00:00:00Z");
    expect(parts(state)).toEqual(["tool calculator waiting pending"]);
    expect([...waitingRuns(state)]).toEqual([RUN]);
    expect(runAnnouncement(state)).toBe("The assistant is waiting for your answer.");
  });

  it("marks the approval answered when its resolution is heard, and goes on streaming", () => {
    let state = reduce({ ...initialConversation, runId: RUN, running: true }, asEvents(paused));
    state = conversationReducer(state, { type: "follow", runId: RUN, resume: true });
    expect(state.waiting).toBe(false);
    expect(state.lastEventId).toBe(4); // the follow goes on after the pause
    state = reduce(
      state,
      asEvents([
        { id: 5, run_id: RUN, type: "approval.resolved", approval_id: "a1", tool_call_id: "c1", status: "approved", channel: "email" },
        { id: 6, run_id: RUN, type: "tool.started", tool_call_id: "c1", name: "calculator", arguments: ARGS },
      ]),
    );
    expect(state.approvals.a1?.status).toBe("approved");
    expect(state.approvals.a1?.channel).toBe("email");
    expect(waitingRuns(state).size).toBe(0);
    expect(parts(state)).toEqual(["tool calculator running approved"]);
  });

  it("shows an approval whose tool call is not loaded yet at the end of the conversation", () => {
    const state = conversationReducer(initialConversation, { type: "approvals", approvals: [approval()] });
    expect(parts(state)).toEqual(["approval calculator pending"]);
    expect(runAnnouncement(state)).toBe("The assistant is waiting for your answer.");
  });

  it("never turns an answered approval pending again from a list read before the answer", () => {
    const answered = mergeApprovals({}, [approval({ status: "denied", channel: "slack", reason: "no" })]);
    const merged = mergeApprovals(answered, [approval()]);
    expect(merged.a1?.status).toBe("denied");
    expect(merged.a1?.channel).toBe("slack");
    // A fresher list still fills in what the stream did not carry.
    const filled = mergeApprovals(answered, [approval({ status: "denied", channel: "slack", reason: "too risky" })]);
    expect(filled.a1?.reason).toBe("too risky");
  });

  it("ends waiting when the run is cancelled", () => {
    let state = reduce({ ...initialConversation, runId: RUN, running: true }, asEvents(paused));
    state = reduce(
      state,
      asEvents([{ id: 5, run_id: RUN, type: "run.cancelled", status: "cancelled", code: "cancelled", reason: "Stopped." }]),
    );
    expect(state.waiting).toBe(false);
    expect(state.ending).toBe("stopped");
  });
});
