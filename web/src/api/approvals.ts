// Approvals (/api/me/approvals, /api/runs/{id}/approvals): a run waiting before a tool call
// until its user approves or denies it, or answers an agent's question (`ask_user`).
import { api, unwrap, type Schemas } from "./client";

export type Approval = Schemas["ApprovalOut"];
export type ApprovalKind = Approval["kind"];
export type ApprovalStatus = Approval["status"];
export type Decision = Schemas["Decision"];

export const approvalKeys = {
  all: ["approvals"] as const,
  pending: ["approvals", "pending"] as const,
  thread: (threadId: string) => ["approvals", "thread", threadId] as const,
};

/** How often the badge asks again (the run's own stream tells the thread page at once). */
export const PENDING_REFETCH_MS = 15_000;

type Filter = { status: "pending" } | { thread_id: string };
/** Pages read at most (of 100 each): past that the badge's count stops growing. */
const MAX_PAGES = 10;

/** Every approval the filter selects, newest first (page by page). */
async function listApprovals(filter: Filter): Promise<Approval[]> {
  const all: Approval[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result: { items: Approval[]; next_cursor: string | null } = await unwrap(
      api.GET("/api/me/approvals", {
        params: { query: { ...filter, limit: 100, ...(cursor ? { cursor } : {}) } },
      }),
    );
    all.push(...result.items);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return all;
}

export function listPendingApprovals(): Promise<Approval[]> {
  return listApprovals({ status: "pending" });
}

/** Every approval asked in a thread (answered ones too). */
export function listThreadApprovals(threadId: string): Promise<Approval[]> {
  return listApprovals({ thread_id: threadId });
}

export function decideApproval(approval: Pick<Approval, "id" | "run_id">, decision: Decision): Promise<Approval> {
  return unwrap(
    api.POST("/api/runs/{run_id}/approvals/{approval_id}", {
      params: { path: { run_id: approval.run_id, approval_id: approval.id } },
      body: decision,
    }),
  );
}

/** Parse edited arguments: a JSON object, or the reason it is not one. */
export function parseArguments(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: "The arguments must be a JSON object ({ … })." };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Two JSON texts with the same value (key order and spacing aside only where they match). */
export function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}

const OUTCOME: Record<ApprovalStatus, string> = {
  pending: "Waiting for an answer",
  approved: "Approved",
  denied: "Denied",
  answered: "Answered",
  expired: "Expired (counted as denied)",
  cancelled: "Cancelled",
};

const CHANNEL: Record<string, string> = { web: "in the app", email: "by email", slack: "in Slack", timeout: "after the time-out" };

/** "Approved in the app", "Denied by email", "Expired (counted as denied)". */
export function outcomeText(approval: Pick<Approval, "status" | "channel">): string {
  const outcome = OUTCOME[approval.status];
  if (approval.status === "pending" || approval.status === "expired" || !approval.channel) return outcome;
  return `${outcome} ${CHANNEL[approval.channel] ?? `via ${approval.channel}`}`;
}
