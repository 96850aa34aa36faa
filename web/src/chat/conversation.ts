// The state of one conversation: stored messages plus a run streaming into it. Pure, so the
// dedupe rules (by message id and by event id) are tested without a network.
import type { Approval } from "../api/approvals";
import type { Message, MessageUsage, RunEvent } from "../api/client";

export type ToolStatus = "running" | "waiting" | "ok" | "error" | "cancelled";

export interface ToolState {
  id: string;
  name: string;
  arguments: string;
  status: ToolStatus;
  durationMs: number | null;
  result: string | null;
}

export interface ConversationError {
  message: string;
  code: string;
  /** The message to send again for "Retry", when retrying makes sense. */
  retryContent: string | null;
}

/** How the last run seen here ended: its final event (or the stream broke: "failed"). */
export type RunEnding = "completed" | "stopped" | "failed";

/** Why an assistant message was cut short. The stored message only says that it was
 * ("interrupted"); the run's final event, when this page heard it, says why. */
export type Interruption = "stopped" | "failed" | "interrupted";

export interface ConversationState {
  messages: Message[];
  runId: string | null;
  running: boolean;
  /** The run paused (`run.waiting`): it goes on once its approvals are answered. */
  waiting: boolean;
  /** The thread's approvals by id: read from the server and heard on the stream. */
  approvals: Record<string, Approval>;
  lastEventId: number;
  draft: string;
  /** Assistant messages of this run already stored whose deltas a replay will repeat. */
  skipDeltas: number;
  tools: Record<string, ToolState>;
  pendingContent: string | null;
  error: ConversationError | null;
  /** A short note on how the last run ended, when no message shows it. */
  notice: string | null;
  ending: RunEnding | null;
  /** Interrupted messages whose run's end this page heard, by message id. */
  interruptedBy: Record<string, "stopped" | "failed">;
  /** An edit being answered: where its new version of the user message goes in the tree. */
  pendingBranch: { parentId: string | null; siblingIds: string[] } | null;
  /** The cut-short answer a continue goes on from (its mark gives way to the new text). */
  continuing: string | null;
}

export const initialConversation: ConversationState = {
  messages: [],
  runId: null,
  running: false,
  waiting: false,
  approvals: {},
  lastEventId: 0,
  draft: "",
  skipDeltas: 0,
  tools: {},
  pendingContent: null,
  error: null,
  notice: null,
  ending: null,
  interruptedBy: {},
  pendingBranch: null,
  continuing: null,
};

export type ConversationAction =
  /** The thread's active path, read from the server: it replaces the messages shown. */
  | { type: "loaded"; messages: Message[] }
  | { type: "send"; content: string }
  /** A new version of user message `messageId`: the path is cut before it. */
  | { type: "edit"; messageId: string; content: string }
  /** A new answer to the message `messageId` (a user's): the path is cut after it. */
  | { type: "regenerate"; messageId: string | null }
  /** The model goes on from the cut-short answer `messageId`. */
  | { type: "continue"; messageId: string }
  | { type: "follow"; runId: string; resume: boolean }
  | { type: "event"; event: RunEvent }
  | { type: "failed"; error: ConversationError }
  | { type: "approvals"; approvals: Approval[] }
  | { type: "dismissError" };

const LOCAL_PREFIX = "local-";

export function toolStatus(status: string | undefined): ToolStatus {
  if (status === "ok" || status === "cancelled" || status === "running") return status;
  return "error";
}

/** Approvals merged by id: an answered one never turns pending again (a list read before the
 * answer arrives after it). */
export function mergeApprovals(
  current: Record<string, Approval>,
  incoming: Approval[],
): Record<string, Approval> {
  const next = { ...current };
  for (const approval of incoming) {
    const known = next[approval.id];
    if (known && known.status !== "pending" && approval.status === "pending") {
      next[approval.id] = { ...approval, status: known.status, channel: known.channel };
    } else {
      next[approval.id] = known ? { ...known, ...approval } : approval;
    }
  }
  return next;
}

/** Runs with an approval still waiting for the user. */
export function waitingRuns(state: Pick<ConversationState, "approvals">): Set<string> {
  return new Set(
    Object.values(state.approvals)
      .filter((a) => a.status === "pending")
      .map((a) => a.run_id),
  );
}

/** Stored messages merged by id, in thread order; a local echo goes once the real one is in. */
export function mergeMessages(current: Message[], incoming: Message[]): Message[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const message of incoming) byId.set(message.id, message);
  const realUserRuns = new Set(
    [...byId.values()]
      .filter((m) => m.role === "user" && !m.id.startsWith(LOCAL_PREFIX))
      .map((m) => m.run_id),
  );
  return [...byId.values()]
    .filter((m) => !(m.id.startsWith(LOCAL_PREFIX) && realUserRuns.has(m.run_id)))
    .sort((a, b) => a.seq - b.seq);
}

/** A page of the active path in place of the messages shown: a switch of branch drops the
 * old one. What the page cannot hold yet stays: the local echo, and the messages the live
 * run has streamed (the page may have been read before they were stored). */
function replacePath(state: ConversationState, path: Message[]): Message[] {
  const onPage = new Set(path.map((m) => m.id));
  const live = state.messages.filter(
    (m) =>
      !onPage.has(m.id) &&
      (m.id.startsWith(LOCAL_PREFIX) || (state.running && state.runId !== null && m.run_id === state.runId)),
  );
  return mergeMessages(path, live);
}

function localUserMessage(state: ConversationState, runId: string, content: string): Message {
  const last = state.messages.reduce((max, m) => Math.max(max, m.seq), 0);
  const id = `${LOCAL_PREFIX}${runId}`;
  const branch = state.pendingBranch;
  const siblings = branch ? [...branch.siblingIds, id] : [];
  return {
    id,
    seq: Math.floor(last) + 0.5,
    role: "user",
    content,
    run_id: runId,
    created_at: new Date().toISOString(),
    tool_calls: null,
    tool_call_id: null,
    name: null,
    interrupted: false,
    parent_id: branch ? branch.parentId : null,
    // An edit's new version shows as the newest of its siblings ("2/2") while it is answered.
    sibling_count: Math.max(1, siblings.length),
    sibling_index: Math.max(0, siblings.length - 1),
    sibling_ids: siblings,
  };
}

/** A new run about to stream into the conversation (send, edit, regenerate, continue). */
function starting(state: ConversationState, messages: Message[], pendingContent: string | null): ConversationState {
  return {
    ...state,
    messages,
    running: true,
    waiting: false,
    runId: null,
    lastEventId: 0,
    draft: "",
    skipDeltas: 0,
    pendingContent,
    pendingBranch: null,
    continuing: null,
    error: null,
    notice: null,
    ending: null,
  };
}

/** The messages before `messageId` (all of them when it is not shown). */
function before(messages: Message[], messageId: string): Message[] {
  const at = messages.findIndex((m) => m.id === messageId);
  return at < 0 ? messages : messages.slice(0, at);
}

export function conversationReducer(
  state: ConversationState,
  action: ConversationAction,
): ConversationState {
  switch (action.type) {
    case "loaded":
      return { ...state, messages: replacePath(state, action.messages) };
    case "send":
      return starting(state, state.messages, action.content);
    case "edit": {
      const edited = state.messages.find((m) => m.id === action.messageId);
      const siblingIds = edited?.sibling_ids?.length ? edited.sibling_ids : edited ? [edited.id] : [];
      return {
        ...starting(state, before(state.messages, action.messageId), action.content),
        pendingBranch: { parentId: edited?.parent_id ?? null, siblingIds },
      };
    }
    case "regenerate": {
      const at = action.messageId === null ? -1 : state.messages.findIndex((m) => m.id === action.messageId);
      return starting(state, at < 0 ? state.messages : state.messages.slice(0, at + 1), null);
    }
    case "continue":
      return { ...starting(state, state.messages, null), continuing: action.messageId };
    case "follow": {
      if (state.runId === action.runId && state.running) return state;
      const known = action.resume
        ? state.messages.filter((m) => m.run_id === action.runId && m.role === "assistant").length
        : 0;
      return {
        ...state,
        runId: action.runId,
        running: true,
        waiting: false,
        lastEventId: state.runId === action.runId ? state.lastEventId : 0,
        draft: state.runId === action.runId ? state.draft : "",
        skipDeltas: state.runId === action.runId ? state.skipDeltas : known,
        error: null,
        ending: null,
      };
    }
    case "event":
      return applyEvent(state, action.event);
    case "failed":
      return {
        ...state,
        running: false,
        draft: "",
        pendingContent: null,
        pendingBranch: null,
        error: action.error,
        ending: "failed",
      };
    case "dismissError":
      return { ...state, error: null };
    case "approvals":
      return { ...state, approvals: mergeApprovals(state.approvals, action.approvals) };
  }
}

function applyEvent(state: ConversationState, event: RunEvent): ConversationState {
  // The first event of a run this page started names it; a sent (or edited) user message
  // shows under its id.
  if (state.runId === null && state.running) {
    const content = state.pendingContent;
    state = {
      ...state,
      runId: event.run_id,
      lastEventId: 0,
      pendingContent: null,
      pendingBranch: null,
      messages:
        content === null ? state.messages : mergeMessages(state.messages, [localUserMessage(state, event.run_id, content)]),
    };
  }
  if (event.run_id !== state.runId || event.id <= state.lastEventId) return state;
  const next: ConversationState = { ...state, lastEventId: event.id };
  switch (event.type) {
    case "run.started":
      return next;
    case "message.delta":
      if (next.skipDeltas > 0) return next;
      return { ...next, draft: next.draft + event.delta };
    case "message.completed": {
      const message = event.message;
      if (message.role === "assistant") {
        next.draft = "";
        if (next.skipDeltas > 0) next.skipDeltas -= 1;
      }
      next.messages = mergeMessages(next.messages, [message]);
      return next;
    }
    case "tool.started":
      next.tools = {
        ...next.tools,
        [event.tool_call_id]: {
          id: event.tool_call_id,
          name: event.name,
          arguments: event.arguments,
          status: "running",
          durationMs: null,
          result: null,
        },
      };
      return next;
    case "tool.finished": {
      const before = next.tools[event.tool_call_id];
      next.tools = {
        ...next.tools,
        [event.tool_call_id]: {
          id: event.tool_call_id,
          name: event.name ?? before?.name ?? "tool",
          arguments: before?.arguments ?? "",
          status: toolStatus(event.status),
          durationMs: event.duration_ms ?? before?.durationMs ?? null,
          result: event.result ?? null,
        },
      };
      return next;
    }
    case "approval.requested":
      next.approvals = mergeApprovals(next.approvals, [
        {
          id: event.approval_id,
          run_id: event.run_id,
          thread_id: "",
          tool_call_id: event.tool_call_id,
          kind: event.kind,
          tool: event.name,
          server_id: event.server_id ?? null,
          arguments: event.arguments,
          question: event.question ?? null,
          choices: event.choices ?? null,
          status: "pending",
          decided_arguments: null,
          reason: null,
          answer: null,
          channel: null,
          created_at: "",
          expires_at: event.expires_at,
          decided_at: null,
        },
      ]);
      return next;
    case "approval.resolved": {
      const known = next.approvals[event.approval_id];
      if (!known) return next; // the list read from the server brings it
      next.approvals = {
        ...next.approvals,
        [known.id]: {
          ...known,
          status: event.status,
          // The event names it as text (a channel a newer server adds still shows).
          channel: event.channel as Approval["channel"],
        },
      };
      return next;
    }
    case "run.waiting":
      return { ...next, running: false, waiting: true, draft: "", ending: null };
    case "run.completed":
      return { ...next, running: false, waiting: false, draft: "", ending: "completed" };
    case "run.cancelled": {
      const marked = markInterrupted(next, event.run_id, "stopped");
      // The mark on the stopped answer says it; with no text to mark, a note does.
      const notice = marked === next.interruptedBy ? "Stopped." : null;
      return {
        ...next,
        running: false,
        waiting: false,
        draft: "",
        ending: "stopped",
        interruptedBy: marked,
        notice,
      };
    }
    case "run.failed":
      return {
        ...next,
        running: false,
        waiting: false,
        draft: "",
        ending: "failed",
        interruptedBy: markInterrupted(next, event.run_id, "failed"),
        error: {
          message: event.reason,
          code: event.code,
          retryContent: lastUserContent(next.messages),
        },
      };
    default:
      return next; // an event type this build does not know yet
  }
}

/** The run's interrupted messages (stored just before its final event) marked with why. */
function markInterrupted(
  state: ConversationState,
  runId: string,
  why: "stopped" | "failed",
): ConversationState["interruptedBy"] {
  const cut = state.messages.filter((m) => m.run_id === runId && m.interrupted);
  if (cut.length === 0) return state.interruptedBy;
  return { ...state.interruptedBy, ...Object.fromEntries(cut.map((m) => [m.id, why])) };
}

/** What the live region says: once per change of the run's state, never per token. */
export function runAnnouncement(state: ConversationState): string {
  if (state.running) return "The assistant is answering.";
  if (state.waiting || waitingRuns(state).size > 0) return "The assistant is waiting for your answer.";
  switch (state.ending) {
    case "completed":
      return "The answer is complete.";
    case "stopped":
      return "The answer was stopped.";
    case "failed":
      return "The answer failed.";
    case null:
      return ""; // no run has ended on this page: nothing to announce
  }
}

function lastUserContent(messages: Message[]): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === "user") return message.content ?? null;
  }
  return null;
}

// What the message list shows: one item per user message, one per assistant turn (the
// assistant's messages and tool results between two user messages).

export type TurnPart =
  | { kind: "text"; key: string; text: string; streaming: boolean; interrupted: Interruption | null }
  | { kind: "tool"; key: string; tool: ToolState; approval: Approval | null }
  /** An approval whose tool call is not in the messages read so far. */
  | { kind: "approval"; key: string; approval: Approval };

/** Where a message stands among its versions (edits of a question, answers regenerated). */
export interface Branch {
  /** 0-based, oldest first. */
  index: number;
  count: number;
  /** The versions' ids, oldest first: switching to one makes its path the active one. */
  ids: string[];
}

export type DisplayItem =
  | {
      kind: "user";
      key: string;
      text: string;
      /** The stored (or echoed) message; null while a send has not started its run. */
      message: Message | null;
      branch: Branch | null;
    }
  | {
      kind: "assistant";
      key: string;
      parts: TurnPart[];
      streaming: boolean;
      /** The versions of this answer (its first message's siblings). */
      branch: Branch | null;
      /** The run to regenerate for a new answer (null: the turn is not a finished answer). */
      regenerate: string | null;
      /** The run to continue: the thread ends on this turn's cut-short text. */
      continueRun: { runId: string; messageId: string } | null;
      /** What each of the turn's model answers cost (MessageMeta shows their sum). */
      usage?: MessageUsage[];
    };

/** A message's versions, when it has more than one. */
export function branchOf(message: Message): Branch | null {
  const ids = message.sibling_ids ?? [];
  if (message.sibling_count <= 1 || ids.length < 2) return null;
  return { index: message.sibling_index, count: message.sibling_count, ids };
}

/** The text of an assistant turn, as "Copy" puts it on the clipboard. */
export function turnText(parts: TurnPart[]): string {
  return parts
    .flatMap((part) => (part.kind === "text" ? [part.text] : []))
    .join("\n\n");
}

export function displayItems(state: ConversationState): DisplayItem[] {
  const results = new Map<string, Message>();
  for (const m of state.messages) {
    if (m.role === "tool" && m.tool_call_id) results.set(m.tool_call_id, m);
  }
  const byCall = new Map(Object.values(state.approvals).map((a) => [a.tool_call_id, a]));
  const shown = new Set<string>();
  const items: DisplayItem[] = [];
  let turn: Extract<DisplayItem, { kind: "assistant" }> | null = null;
  const openTurn = (key: string, first: Message | null = null) => {
    if (!turn) {
      const answers = first !== null && !first.id.startsWith(LOCAL_PREFIX);
      turn = {
        kind: "assistant",
        key,
        parts: [],
        streaming: false,
        branch: first ? branchOf(first) : null,
        regenerate: answers && first.run_id ? first.run_id : null,
        continueRun: null,
        usage: [],
      };
      items.push(turn);
    }
    return turn;
  };
  // An answer continued goes on in its continuation: its "Stopped" mark gives way.
  const continued = new Set(
    state.messages.filter((m) => m.role === "assistant" && m.parent_id).map((m) => m.parent_id),
  );
  if (state.running && state.continuing) continued.add(state.continuing);
  for (const m of state.messages) {
    if (m.role === "user") {
      turn = null;
      items.push({ kind: "user", key: m.id, text: m.content ?? "", message: m, branch: branchOf(m) });
      continue;
    }
    if (m.role !== "assistant") continue;
    const current = openTurn(m.id, m);
    if (m.usage) current.usage?.push(m.usage);
    if (m.content) {
      const cut = m.interrupted && !continued.has(m.id);
      const interrupted = cut ? (state.interruptedBy[m.id] ?? "interrupted") : null;
      current.parts.push({ kind: "text", key: m.id, text: m.content, streaming: false, interrupted });
    }
    for (const call of m.tool_calls ?? []) {
      const approval = byCall.get(call.id) ?? null;
      if (approval) shown.add(approval.id);
      current.parts.push({ kind: "tool", key: call.id, tool: toolFor(state, call, results), approval });
    }
  }
  const last = state.messages[state.messages.length - 1];
  const lastTurn = items[items.length - 1];
  if (
    last?.role === "assistant" && last.interrupted && last.content && last.run_id &&
    lastTurn?.kind === "assistant" && !state.running && !state.waiting
  ) {
    lastTurn.continueRun = { runId: last.run_id, messageId: last.id };
  }
  if (state.pendingContent !== null) {
    turn = null;
    items.push({ kind: "user", key: "pending", text: state.pendingContent, message: null, branch: null });
  }
  const unshown = Object.values(state.approvals).filter((a) => !shown.has(a.id) && a.status === "pending");
  if (unshown.length > 0) {
    const current = openTurn(`approvals-${unshown[0]?.id ?? ""}`);
    for (const approval of unshown) current.parts.push({ kind: "approval", key: approval.id, approval });
  }
  if (state.running) {
    const current = openTurn(`live-${state.runId ?? "pending"}`);
    current.streaming = true;
    if (state.draft) {
      current.parts.push({ kind: "text", key: "draft", text: state.draft, streaming: true, interrupted: null });
    }
  }
  return items;
}

function toolFor(
  state: ConversationState,
  call: NonNullable<Message["tool_calls"]>[number],
  results: Map<string, Message>,
): ToolState {
  const live = state.tools[call.id];
  const stored = results.get(call.id);
  if (live && (live.status !== "running" || !stored)) return live;
  if (stored) {
    const result = stored.content ?? "";
    return {
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      // As stored with the result; a message stored before outcomes were kept: by its text.
      status: live?.status ?? (stored.tool ? toolStatus(stored.tool.status) : storedStatus(result)),
      durationMs: live?.durationMs ?? stored.tool?.duration_ms ?? null,
      result,
    };
  }
  return {
    id: call.id,
    name: call.function.name,
    arguments: call.function.arguments,
    status: state.running ? "running" : state.waiting ? "waiting" : "cancelled",
    durationMs: null,
    result: null,
  };
}

function storedStatus(result: string): ToolStatus {
  if (/^cancelled/i.test(result)) return "cancelled";
  if (/^error\b/i.test(result)) return "error";
  return "ok";
}
