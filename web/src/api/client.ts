// The typed API client: openapi-fetch over the session's fetch (cookies, CSRF, refresh).
import createClient from "openapi-fetch";
import { ApiError, problemError } from "./errors";
import type { components, paths } from "./schema";
import { baseUrl, session } from "./session";

export const api = createClient<paths>({
  baseUrl: baseUrl(),
  fetch: (request: Request) => session.fetch(request),
});

export type Schemas = components["schemas"];
export type User = Schemas["UserOut"];
export type Agent = Schemas["AgentOut"];
export type Thread = Schemas["ThreadOut"];
export type Message = Schemas["MessageOut"];
/** An assistant message's model request: tokens and latency. */
export type MessageUsage = Schemas["MessageUsage"];
export type SessionInfo = Schemas["SessionOut"];
export type Run = Schemas["RunOut"];
/** One event of a run, as SSE `data:` (and WebSocket message) carry it. */
export type RunEvent = Schemas["RunEvent"];
export type RunEnded = Schemas["RunCompleted"] | Schemas["RunFailed"] | Schemas["RunCancelled"];

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful call, or an ApiError carrying the problem's code and message. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw problemError(response.status, error);
  if (data === undefined && response.status !== 204) {
    throw new ApiError(response.status, "empty_response", "The server sent an empty answer.");
  }
  return data as T;
}
