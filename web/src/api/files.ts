// The caller's files (/api/files): upload (multipart), list, download, delete, and the
// storage they take. Files are attached to a message by id (`file_ids`).
import { api, unwrap, type Schemas } from "./client";
import { saveDownload } from "./download";
import { problemError } from "./errors";
import { baseUrl, session } from "./session";

export type StoredFile = Schemas["FileOut"];
export type FileRef = Schemas["FileRef"];
export type FileUsage = Schemas["FileUsage"];
export type FilePage = Schemas["Page_FileOut_"];

export const fileKeys = {
  all: ["files"] as const,
  list: ["files", "list"] as const,
  usage: ["files", "usage"] as const,
};

/** Upload one file; the stored file (its kind read by the server from its bytes). */
export async function uploadFile(file: File, signal?: AbortSignal): Promise<StoredFile> {
  const form = new FormData();
  form.append("file", file, file.name);
  const request = new Request(new URL("/api/files", baseUrl()), {
    method: "POST",
    body: form,
    signal: signal ?? null,
  });
  const response = await session.fetch(request);
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw problemError(response.status, body);
  return body as StoredFile;
}

export function listFiles(cursor: string | null): Promise<FilePage> {
  return unwrap(api.GET("/api/files", { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } }));
}

export function fileUsage(): Promise<FileUsage> {
  return unwrap(api.GET("/api/files/usage"));
}

export async function deleteFile(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/files/{file_id}", { params: { path: { file_id: id } } }));
}

/** The file's bytes, saved by the browser under its name (never opened from our origin). */
export async function downloadFile(id: string, name: string): Promise<string> {
  const { data, error, response } = await api.GET("/api/files/{file_id}/content", {
    params: { path: { file_id: id } },
    parseAs: "blob",
  });
  if (!response.ok || !data) throw problemError(response.status, error);
  return saveDownload(response, data, name);
}

/** "12 KB", "3.4 MB": a size for people. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
