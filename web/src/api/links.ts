// Share links: public read-only snapshots of a conversation, at /s/<token>.
import { api, unwrap, type Schemas } from "./client";

export type Link = Schemas["LinkOut"];
export type LinkCreated = Schemas["LinkCreated"];
export type SharedThread = Schemas["SharedThread"];
export type SharedMessage = Schemas["SharedMessage"];

export const linkKeys = {
  links: (threadId: string) => ["threads", "links", threadId] as const,
  shared: (token: string) => ["shared", token] as const,
};

/** The thread's links, newest first (owner only); a thread has few. */
export async function listLinks(threadId: string): Promise<Link[]> {
  const result = await unwrap(
    api.GET("/api/threads/{thread_id}/links", {
      params: { path: { thread_id: threadId }, query: { limit: 100 } },
    }),
  );
  return result.items;
}

export function createLink(
  threadId: string,
  body: { expires_in_seconds: number | null; include_tool_calls: boolean },
): Promise<LinkCreated> {
  return unwrap(api.POST("/api/threads/{thread_id}/links", { params: { path: { thread_id: threadId } }, body }));
}

export async function revokeLink(threadId: string, linkId: string): Promise<void> {
  await unwrap(
    api.DELETE("/api/threads/{thread_id}/links/{link_id}", {
      params: { path: { thread_id: threadId, link_id: linkId } },
    }),
  );
}

/** A shared conversation and its first page of messages (no account needed). */
export function getShared(token: string): Promise<SharedThread> {
  return unwrap(api.GET("/api/shared/{token}", { params: { path: { token }, query: { limit: 100 } } }));
}

/** The next page of a shared conversation's messages. */
export function getSharedMessages(
  token: string,
  cursor: string,
): Promise<{ items: SharedMessage[]; next_cursor: string | null }> {
  return unwrap(
    api.GET("/api/shared/{token}/messages", { params: { path: { token }, query: { cursor, limit: 100 } } }),
  );
}

/** The link's full address, for copying: the server's origin and the page's path. */
export function linkUrl(path: string): string {
  return new URL(path, window.location.origin).toString();
}
