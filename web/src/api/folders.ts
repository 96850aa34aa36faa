// Folders, and where a thread sits (folder, pinned, archived): typed calls and query keys.
import { api, unwrap, type Schemas, type Thread } from "./client";
import { THREAD_PAGE_SIZE } from "./threads";

export type Folder = Schemas["FolderOut"];

/** Which of the caller's threads a sidebar list shows (`GET /api/threads` filters). */
export interface Shelf {
  archived?: boolean;
  folder_id?: string;
  in_folder?: boolean;
  pinned?: boolean;
}

export const folderKeys = {
  folders: ["folders"] as const,
  // Under ["threads", "list"]: whatever invalidates the thread lists refreshes these too.
  shelf: (shelf: Shelf, q: string) => ["threads", "list", "shelf", shelf, q] as const,
};

export const FOLDER_PAGE_SIZE = 100;

export function listShelf(
  shelf: Shelf,
  q: string,
  cursor: string | null,
): Promise<{ items: Thread[]; next_cursor: string | null }> {
  return unwrap(
    api.GET("/api/threads", {
      params: {
        query: {
          limit: THREAD_PAGE_SIZE,
          ...shelf,
          ...(q ? { q } : {}),
          ...(cursor ? { cursor } : {}),
        },
      },
    }),
  );
}

/** Every folder of the caller's, in their order (page by page: an account has at most 200). */
export async function listFolders(): Promise<Folder[]> {
  const all: Folder[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const result: { items: Folder[]; next_cursor: string | null } = await unwrap(
      api.GET("/api/folders", {
        params: { query: { limit: FOLDER_PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
      }),
    );
    all.push(...result.items);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return all;
}

export function createFolder(name: string): Promise<Folder> {
  return unwrap(api.POST("/api/folders", { body: { name } }));
}

export function renameFolder(id: string, name: string): Promise<Folder> {
  return unwrap(
    api.PATCH("/api/folders/{folder_id}", { params: { path: { folder_id: id } }, body: { name } }),
  );
}

export async function deleteFolder(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/folders/{folder_id}", { params: { path: { folder_id: id } } }));
}

/** Move a thread into a folder (null: out of its folder), pin or archive it. */
export function placeThread(
  id: string,
  change: { folder_id?: string | null; pinned?: boolean; archived?: boolean },
): Promise<Thread> {
  return unwrap(
    api.PATCH("/api/threads/{thread_id}", { params: { path: { thread_id: id } }, body: change }),
  );
}

/** The drag-and-drop payload of a thread dragged in the sidebar. */
export const THREAD_DRAG_TYPE = "application/x-confide-thread";
