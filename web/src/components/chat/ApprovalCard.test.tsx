import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Approval } from "../../api/approvals";
import { fakeApi, json, renderWith, type Call } from "../../test/api";
import { ApprovalCard } from "./ApprovalCard";

const DECIDE = "POST /api/runs/r1/approvals/a1";

function approval(extra: Partial<Approval> = {}): Approval {
  return {
    id: "a1", run_id: "r1", thread_id: "t1", tool_call_id: "c1", kind: "approval", tool: "calculator",
    server_id: null, arguments: '{"expression":"6*7"}', question: null, choices: null, status: "pending",
    decided_arguments: null, reason: null, answer: null, channel: null, created_at: "2026-12-03T00:00:00Z",
    expires_at: "2026-12-05T00:00:00Z", decided_at: null, ...extra,
  };
}

/** The server answers a decision with the approval as decided. */
function decides() {
  return {
    [DECIDE]: (call: Call) => {
      const body = call.body as { decision: string; arguments?: object; reason?: string; answer?: string };
      const status = body.decision === "deny" ? "denied" : body.answer ? "answered" : "approved";
      return json(
        approval({
          status,
          channel: "web",
          reason: body.reason ?? null,
          answer: body.answer ?? null,
          decided_arguments: body.arguments ? JSON.stringify(body.arguments) : null,
        }),
      );
    },
    "GET /api/me/approvals": () => json({ items: [], next_cursor: null }),
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("ApprovalCard", () => {
  it("shows the arguments pretty-printed, refuses edited text that is not a JSON object, sends a valid edit", async () => {
    const calls = fakeApi(decides());
    const onDecided = vi.fn();
    renderWith(<ApprovalCard approval={approval({ server_id: "files" })} onDecided={onDecided} />);
    const card = screen.getByRole("region", { name: "Approve calculator?" });
    expect(card).toHaveTextContent("MCP server files");
    const box = within(card).getByLabelText(/Arguments/);
    expect(box).toHaveValue('{\n  "expression": "6*7"\n}');

    await userEvent.clear(box);
    await userEvent.type(box, "[[1, 2]");
    await userEvent.click(within(card).getByRole("button", { name: "Approve" }));
    expect(within(card).getByRole("alert")).toHaveTextContent("must be a JSON object");
    expect(box).toHaveAttribute("aria-invalid", "true");
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);

    await userEvent.clear(box);
    await userEvent.type(box, '{{"expression": "6*8"}');
    await userEvent.type(within(card).getByLabelText("Reason (optional)"), "checked");
    await userEvent.click(within(card).getByRole("button", { name: "Approve" }));
    await vi.waitFor(() => expect(onDecided).toHaveBeenCalledTimes(1));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      decision: "approve",
      arguments: { expression: "6*8" },
      reason: "checked",
    });
    expect(onDecided.mock.calls[0]?.[0]).toMatchObject({ status: "approved", channel: "web" });
  });

  it("approves unchanged arguments without sending them again", async () => {
    const calls = fakeApi(decides());
    const onDecided = vi.fn();
    renderWith(<ApprovalCard approval={approval()} onDecided={onDecided} />);
    await userEvent.click(screen.getByRole("button", { name: "Approve" }));
    await vi.waitFor(() => expect(onDecided).toHaveBeenCalled());
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ decision: "approve" });
  });

  it("denies with a reason, even when the arguments box holds broken JSON", async () => {
    const calls = fakeApi(decides());
    const onDecided = vi.fn();
    renderWith(<ApprovalCard approval={approval()} onDecided={onDecided} />);
    await userEvent.type(screen.getByLabelText(/Arguments/), "oops");
    await userEvent.type(screen.getByLabelText("Reason (optional)"), "not today");
    await userEvent.click(screen.getByRole("button", { name: "Deny" }));
    await vi.waitFor(() => expect(onDecided).toHaveBeenCalled());
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ decision: "deny", reason: "not today" });
  });

  it("answers a question with one of its choices", async () => {
    const calls = fakeApi(decides());
    const onDecided = vi.fn();
    const question = approval({ kind: "question", tool: "ask_user", question: "Which colour?", choices: ["red", "blue"] });
    renderWith(<ApprovalCard approval={question} onDecided={onDecided} />);
    const card = screen.getByRole("region", { name: "Question from the assistant" });
    expect(card).toHaveTextContent("Which colour?");
    expect(within(card).queryByLabelText("Your answer")).toBeNull();
    await userEvent.click(within(card).getByRole("button", { name: "blue" }));
    await vi.waitFor(() => expect(onDecided).toHaveBeenCalled());
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ decision: "approve", answer: "blue" });
  });

  it("answers a free-text question from the keyboard", async () => {
    const calls = fakeApi(decides());
    const onDecided = vi.fn();
    renderWith(<ApprovalCard approval={approval({ kind: "question", tool: "ask_user", question: "Your name?" })} onDecided={onDecided} />);
    const send = screen.getByRole("button", { name: "Send answer" });
    expect(send).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Your answer"), "Ada");
    await userEvent.tab();
    expect(send).toHaveFocus();
    await userEvent.keyboard("{Enter}");
    await vi.waitFor(() => expect(onDecided).toHaveBeenCalled());
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ decision: "approve", answer: "Ada" });
  });

  it("says so when the approval was already answered elsewhere, and reads the approvals again", async () => {
    const calls = fakeApi({
      [DECIDE]: () => json({ code: "approval_decided", status: 409, title: "Already answered" }, 409),
      "GET /api/me/approvals": () => json({ items: [], next_cursor: null }),
    });
    const onDecided = vi.fn();
    renderWith(<ApprovalCard approval={approval()} onDecided={onDecided} />);
    await userEvent.click(screen.getByRole("button", { name: "Approve" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("already answered");
    expect(onDecided).not.toHaveBeenCalled();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toContain(DECIDE);
  });

  it("shows an answered approval's outcome and channel, without buttons", () => {
    renderWith(
      <ApprovalCard
        approval={approval({
          status: "denied",
          channel: "slack",
          reason: "too risky",
        })}
      />,
    );
    expect(screen.getByTestId("approval-outcome")).toHaveTextContent("Denied in Slack");
    expect(screen.getByText("Reason: too risky")).toBeInTheDocument();
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("shows edited arguments and a time-out", () => {
    const first = renderWith(
      <ApprovalCard approval={approval({ status: "approved", channel: "email", decided_arguments: '{"expression":"6*8"}' })} />,
    );
    expect(screen.getByTestId("approval-outcome")).toHaveTextContent("Approved by email");
    expect(screen.getByText(/Run with edited arguments/)).toHaveTextContent('{"expression":"6*8"}');
    first.unmount();
    renderWith(<ApprovalCard approval={approval({ status: "expired", channel: "timeout" })} />);
    expect(screen.getByTestId("approval-outcome")).toHaveTextContent("Expired (counted as denied)");
  });
});
