// Sharing a thread read-only, and the threads others shared with this user.
import { api, unwrap, type Schemas, type Thread } from "./client";

export type Share = Schemas["ShareOut"];
export type Person = Schemas["ThreadOwner"];

export const shareKeys = {
  sharedList: (q: string) => ["threads", "shared", q] as const,
  shares: (threadId: string) => ["threads", "shares", threadId] as const,
};

export const SHARED_PAGE_SIZE = 30;

/** Threads other users shared with this one (`owner` names who), newest activity first. */
export function listSharedThreads(q: string, cursor: string | null) {
  return unwrap(
    api.GET("/api/threads", {
      params: {
        query: {
          scope: "shared",
          limit: SHARED_PAGE_SIZE,
          ...(q ? { q } : {}),
          ...(cursor ? { cursor } : {}),
        },
      },
    }),
  ) as Promise<{ items: Thread[]; next_cursor: string | null }>;
}

/** Who the thread is shared with (owner only); a thread is shared with few people. */
export async function listShares(threadId: string): Promise<Share[]> {
  const result = await unwrap(
    api.GET("/api/threads/{thread_id}/shares", {
      params: { path: { thread_id: threadId }, query: { limit: 100 } },
    }),
  );
  return result.items;
}

export async function shareThread(threadId: string, email: string): Promise<void> {
  await unwrap(
    api.POST("/api/threads/{thread_id}/shares", { params: { path: { thread_id: threadId } }, body: { email } }),
  );
}

export async function unshareThread(threadId: string, shareId: string): Promise<void> {
  await unwrap(
    api.DELETE("/api/threads/{thread_id}/shares/{share_id}", {
      params: { path: { thread_id: threadId, share_id: shareId } },
    }),
  );
}

/** How to name a person: their display name, else their email. */
export function personName(person: Pick<Person, "email" | "display_name"> | null | undefined): string {
  return person?.display_name?.trim() || person?.email || "someone";
}
