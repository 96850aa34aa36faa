// Search across the caller's own threads (GET /api/me/search): whole words, best first.
import { api, unwrap, type Schemas } from "./client";

export type SearchHit = Schemas["SearchHit"];

export const searchKeys = {
  results: (q: string) => ["search", q] as const,
};

export const SEARCH_PAGE_SIZE = 20;

export function searchMessages(q: string, cursor: string | null) {
  return unwrap(
    api.GET("/api/me/search", {
      params: { query: { q, limit: SEARCH_PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
    }),
  ) as Promise<{ items: SearchHit[]; next_cursor: string | null }>;
}

/** Where a hit opens: the thread, at the message when it is one (the title otherwise), with
 * the words searched for (`q`) marked there. */
export function hitLink(hit: SearchHit, q = ""): string {
  const base = `/chat/${hit.thread_id}${q ? `?${new URLSearchParams({ highlight: q })}` : ""}`;
  return hit.message_id ? `${base}#message-${hit.message_id}` : base;
}
