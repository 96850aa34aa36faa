// Imports of threads (/api/imports: a ChatGPT conversations.json or a Confide export, worked
// through by a background job) and exports of one thread (/api/threads/{id}/export).
import { api, unwrap, type Schemas } from "./client";
import { saveDownload } from "./download";
import { problemError } from "./errors";
import { baseUrl, session } from "./session";

export type Import = Schemas["ImportOut"];
export type ImportPage = Schemas["Page_ImportOut_"];

export const importKeys = {
  all: ["imports"] as const,
  list: ["imports", "list"] as const,
  one: (id: string) => ["imports", id] as const,
};

/** Upload an export; the queued import (poll `getImport` for its progress and report). */
export async function startImport(file: File): Promise<Import> {
  const form = new FormData();
  form.append("file", file, file.name);
  const request = new Request(new URL("/api/imports", baseUrl()), { method: "POST", body: form });
  const response = await session.fetch(request);
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw problemError(response.status, body);
  return body as Import;
}

export function getImport(id: string): Promise<Import> {
  return unwrap(api.GET("/api/imports/{import_id}", { params: { path: { import_id: id } } }));
}

export function listImports(cursor: string | null): Promise<ImportPage> {
  return unwrap(api.GET("/api/imports", { params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } } }));
}

export function finished(item: Import): boolean {
  return item.status === "completed" || item.status === "failed";
}

/** The thread as a file the browser saves: Markdown (its active path) or JSON (every branch,
 * which an import turns back into the same tree). Resolves to the file's name. */
export async function exportThread(threadId: string, format: "md" | "json"): Promise<string> {
  const { data, error, response } = await api.GET("/api/threads/{thread_id}/export", {
    params: { path: { thread_id: threadId }, query: format === "json" ? { format, all: true } : { format } },
    parseAs: "blob",
  });
  if (!response.ok || !data) throw problemError(response.status, error);
  return saveDownload(response, data as Blob, `thread.${format}`);
}
