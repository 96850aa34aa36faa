// Runs: send a message (streamed as SSE), follow a run's events, cancel it.
import { api, unwrap, type Run, type RunEnded, type RunEvent } from "./client";
import { ApiError, responseError } from "./errors";
import { baseUrl, session } from "./session";
import { readSse } from "./sse";

const TERMINAL: ReadonlySet<RunEvent["type"]> = new Set(["run.completed", "run.failed", "run.cancelled"]);

/** The run's last event: completed, failed or cancelled. */
export function isTerminal(event: RunEvent): event is RunEnded {
  return TERMINAL.has(event.type);
}

async function* events(response: Response): AsyncGenerator<RunEvent> {
  if (!response.ok) throw await responseError(response);
  if (!response.body) throw new ApiError(response.status, "empty_response", "The stream was empty.");
  for await (const message of readSse(response.body)) {
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      continue; // not an event of ours
    }
    if (typeof data !== "object" || data === null) continue;
    const record = data as Record<string, unknown>;
    const id = Number(record.id ?? message.id);
    const type = typeof record.type === "string" ? record.type : message.event;
    // The server's own serialization of the union (schema.ts): not validated again here.
    yield { ...record, id, type } as RunEvent;
  }
}

/** POST `body` to a route that starts a run; its events stream back (send, edit, regenerate
 * and continue answer alike). */
async function* startRun(path: string, body: object, signal?: AbortSignal): AsyncGenerator<RunEvent> {
  const request = new Request(new URL(path, baseUrl()), {
    method: "POST",
    headers: { Accept: "text/event-stream", "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: signal ?? null,
  });
  yield* events(await session.fetch(request));
}

/** Send a message (with uploaded files attached, `fileIds`); the run's events stream back. */
export function sendMessage(
  threadId: string,
  content: string,
  signal?: AbortSignal,
  fileIds: string[] = [],
): AsyncGenerator<RunEvent> {
  const body = fileIds.length > 0 ? { content, file_ids: fileIds } : { content };
  return startRun(`/api/threads/${encodeURIComponent(threadId)}/messages`, body, signal);
}

/** A new version of a user message (a branch beside it), answered by the agent. */
export function editMessage(
  threadId: string,
  messageId: string,
  content: string,
  signal?: AbortSignal,
): AsyncGenerator<RunEvent> {
  const path = `/api/threads/${encodeURIComponent(threadId)}/messages/${encodeURIComponent(messageId)}/edit`;
  return startRun(path, { content }, signal);
}

/** A new answer to the user message a run answered (by another agent when `agentId` names one). */
export function regenerateRun(runId: string, agentId: string | null, signal?: AbortSignal): AsyncGenerator<RunEvent> {
  const body = agentId ? { agent_id: agentId } : {};
  return startRun(`/api/runs/${encodeURIComponent(runId)}/regenerate`, body, signal);
}

/** The model goes on from a run's cut-short answer: a new assistant message after it. */
export function continueRun(runId: string, signal?: AbortSignal): AsyncGenerator<RunEvent> {
  return startRun(`/api/runs/${encodeURIComponent(runId)}/continue`, {}, signal);
}

/** A run's events after `after` (replayed, then live while it runs). */
export async function* followRun(
  runId: string,
  after: number,
  signal?: AbortSignal,
): AsyncGenerator<RunEvent> {
  const url = new URL(`/api/runs/${encodeURIComponent(runId)}/events`, baseUrl());
  url.searchParams.set("after", String(after));
  const request = new Request(url, {
    headers: { Accept: "text/event-stream", "Last-Event-ID": String(after) },
    signal: signal ?? null,
  });
  yield* events(await session.fetch(request));
}

export function cancelRun(runId: string): Promise<Run> {
  return unwrap(api.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: runId } } }));
}

export function getRun(runId: string): Promise<Run> {
  return unwrap(api.GET("/api/runs/{run_id}", { params: { path: { run_id: runId } } }));
}
