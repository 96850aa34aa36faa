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

/** Send a message; the run's events stream back. */
export async function* sendMessage(
  threadId: string,
  content: string,
  signal?: AbortSignal,
): AsyncGenerator<RunEvent> {
  const url = new URL(`/api/threads/${encodeURIComponent(threadId)}/messages`, baseUrl());
  const request = new Request(url, {
    method: "POST",
    headers: { Accept: "text/event-stream", "Content-Type": "application/json" },
    body: JSON.stringify({ content }),
    signal: signal ?? null,
  });
  yield* events(await session.fetch(request));
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
