// Usage in the conversation state: a turn collects each model answer's usage, and a tool card
// read from history takes its status and duration from the stored outcome, not the text.
import { describe, expect, it } from "vitest";
import type { Message } from "../api/client";
import { conversationReducer, displayItems, initialConversation, type TurnPart } from "./conversation";

function message(id: string, seq: number, role: Message["role"], extra: Partial<Message> = {}): Message {
  return {
    id, seq, role, content: null, tool_calls: null, tool_call_id: null, name: null, run_id: "r1",
    created_at: "2026-12-04T00:00:00Z", interrupted: false, parent_id: null, sibling_count: 1,
    sibling_index: 0, sibling_ids: [], ...extra,
  };
}

const call = (id: string) => ({ id, type: "function" as const, function: { name: "calculator", arguments: "{}" } });
const usage = (output: number) => ({ input_tokens: 10, output_tokens: output, model_ms: 100, first_token_ms: null, model: "m" });

function loaded(messages: Message[]) {
  return displayItems(conversationReducer(initialConversation, { type: "loaded", messages }));
}

function tools(parts: TurnPart[]) {
  return parts.flatMap((part) => (part.kind === "tool" ? [part.tool] : []));
}

describe("usage in the conversation", () => {
  it("collects the usage of every model answer of a turn", () => {
    const items = loaded([
      message("u1", 1, "user", { content: "calculate 1/0" }),
      message("a1", 2, "assistant", { tool_calls: [call("c1")], usage: usage(5) }),
      message("t1", 3, "tool", { tool_call_id: "c1", content: "division by zero", tool: { status: "error", duration_ms: 3.5 } }),
      message("a2", 4, "assistant", { content: "It cannot be done.", usage: usage(7) }),
    ]);
    const turn = items[1];
    expect(turn?.kind).toBe("assistant");
    if (turn?.kind !== "assistant") return;
    expect(turn.usage?.map((u) => u.output_tokens)).toEqual([5, 7]);
    // The stored outcome says error though the text has no "Error:" prefix; and its duration.
    expect(tools(turn.parts)).toMatchObject([{ status: "error", durationMs: 3.5 }]);
  });

  it("reads the status from the text only for results stored before outcomes were kept", () => {
    const items = loaded([
      message("u1", 1, "user", { content: "calculate 1/0" }),
      message("a1", 2, "assistant", { tool_calls: [call("c1"), call("c2")] }),
      message("t1", 3, "tool", { tool_call_id: "c1", content: "Error: ZeroDivisionError" }),
      message("t2", 4, "tool", { tool_call_id: "c2", content: "Error: looks like one", tool: { status: "ok", duration_ms: 1 } }),
    ]);
    const turn = items[1];
    if (turn?.kind !== "assistant") throw new Error("no answer turn");
    expect(tools(turn.parts)).toMatchObject([
      { status: "error", durationMs: null },
      { status: "ok", durationMs: 1 },
    ]);
  });
});
