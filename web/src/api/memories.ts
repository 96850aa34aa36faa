// The caller's memories (/api/me/memories): facts learnt from their messages or written by
// hand, each linking to the message it came from; the on/off switch is a setting
// (/api/me/settings, shared with privacy.ts's cache entry).
import { api, unwrap, type Schemas } from "./client";
import { saveDownload } from "./download";
import { problemError } from "./errors";

export type Memory = Schemas["MemoryOut"];
export type MemoryKey = Memory["key"];
export type MemoryPage = Schemas["Page_MemoryOut_"];

export const MEMORY_KEYS: { key: MemoryKey; label: string }[] = [
  { key: "note", label: "Note" },
  { key: "name", label: "Name" },
  { key: "location", label: "Location" },
  { key: "preference", label: "Preference" },
  { key: "project", label: "Project" },
];

export const memoryKeys = {
  all: ["memories"] as const,
  list: (status: "active" | "superseded") => ["memories", status] as const,
};

export function listMemories(
  status: "active" | "superseded",
  cursor: string | null,
): Promise<MemoryPage> {
  return unwrap(
    api.GET("/api/me/memories", {
      params: { query: { status, limit: 100, ...(cursor ? { cursor } : {}) } },
    }),
  );
}

export function addMemory(body: { content: string; key: MemoryKey }): Promise<Memory> {
  return unwrap(api.POST("/api/me/memories", { body }));
}

export function editMemory(id: string, body: { content?: string; key?: MemoryKey }): Promise<Memory> {
  return unwrap(
    api.PATCH("/api/me/memories/{memory_id}", { params: { path: { memory_id: id } }, body }),
  );
}

export async function deleteMemory(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/me/memories/{memory_id}", { params: { path: { memory_id: id } } }));
}

/** Where a memory came from, landing on the message (null: added by hand, or deleted). */
export function sourceLink(memory: Memory): string | null {
  if (!memory.source_thread_id) return null;
  const anchor = memory.source_message_id ? `#message-${memory.source_message_id}` : "";
  return `/chat/${memory.source_thread_id}${anchor}`;
}

/** Every memory (superseded ones too), as the server's file download. */
export async function downloadMemories(): Promise<string> {
  const { data, error, response } = await api.GET("/api/me/memories", {
    params: { query: { format: "export" } },
    parseAs: "blob",
  });
  if (!response.ok || !data) throw problemError(response.status, error);
  return saveDownload(response, data, "confide-memories.json");
}
