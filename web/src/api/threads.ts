// Threads, messages and agents: typed calls and the query keys that cache them.
import { api, unwrap, type Agent, type Message, type Thread } from "./client";

export const keys = {
  me: ["me"] as const,
  agents: ["agents"] as const,
  threadLists: ["threads", "list"] as const,
  threadList: (q: string) => ["threads", "list", q] as const,
  thread: (id: string) => ["threads", "detail", id] as const,
  messages: (id: string) => ["threads", "messages", id] as const,
  sessions: ["sessions"] as const,
  accountEvents: ["account-events"] as const,
};

export const THREAD_PAGE_SIZE = 30;

export function listThreads(q: string, cursor: string | null) {
  return unwrap(
    api.GET("/api/threads", {
      params: {
        query: { limit: THREAD_PAGE_SIZE, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) },
      },
    }),
  ) as Promise<{ items: Thread[]; next_cursor: string | null }>;
}

export function getThread(id: string): Promise<Thread> {
  return unwrap(api.GET("/api/threads/{thread_id}", { params: { path: { thread_id: id } } }));
}

export function createThread(agentId: string): Promise<Thread> {
  return unwrap(api.POST("/api/threads", { body: { agent_id: agentId } }));
}

export function renameThread(id: string, title: string): Promise<Thread> {
  return unwrap(
    api.PATCH("/api/threads/{thread_id}", { params: { path: { thread_id: id } }, body: { title } }),
  );
}

export async function deleteThread(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/threads/{thread_id}", { params: { path: { thread_id: id } } }));
}

/** Every message of a thread, oldest first (page by page). */
export async function listMessages(id: string): Promise<Message[]> {
  const all: Message[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const result: { items: Message[]; next_cursor: string | null } = await unwrap(
      api.GET("/api/threads/{thread_id}/messages", {
        params: {
          path: { thread_id: id },
          query: { order: "asc", limit: 100, ...(cursor ? { cursor } : {}) },
        },
      }),
    );
    all.push(...result.items);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return all;
}

/** Make the path through `leafId` (any message of the thread: the path goes on through its
 * newest descendants) the one the thread shows and answers on. */
export function setActivePath(id: string, leafId: string): Promise<Thread> {
  return unwrap(
    api.PUT("/api/threads/{thread_id}/active", {
      params: { path: { thread_id: id } },
      body: { leaf_id: leafId },
    }),
  );
}

export async function listAgents(): Promise<Agent[]> {
  const result = await unwrap(api.GET("/api/agents", { params: { query: { limit: 100 } } }));
  return result.items;
}

/** A first message handed from the new-chat screen to the conversation it opens. */
const firstMessages = new Map<string, string>();

export function handOffFirstMessage(threadId: string, content: string): void {
  firstMessages.set(threadId, content);
}

export function takeFirstMessage(threadId: string): string | null {
  const content = firstMessages.get(threadId) ?? null;
  firstMessages.delete(threadId);
  return content;
}
