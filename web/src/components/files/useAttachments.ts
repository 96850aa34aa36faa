// Files the user is attaching to the message being written: each uploaded as soon as it is
// picked or dropped, sent with the message by id once uploaded.
import { useCallback, useRef, useState } from "react";
import { errorMessage } from "../../api/errors";
import { uploadFile, type StoredFile } from "../../api/files";

export const MAX_FILES = 10;

export interface PendingFile {
  key: string;
  name: string;
  size: number;
  status: "uploading" | "ready" | "failed";
  file?: StoredFile;
  error?: string;
}

export type Upload = (file: File) => Promise<StoredFile>;

export function useAttachments(upload: Upload = uploadFile) {
  const [pending, setPending] = useState<PendingFile[]>([]);
  const counter = useRef(0);

  const update = (key: string, change: Partial<PendingFile>) =>
    setPending((all) => all.map((p) => (p.key === key ? { ...p, ...change } : p)));

  const add = useCallback(
    (files: Iterable<File>) => {
      for (const file of files) {
        counter.current += 1;
        const key = `file-${counter.current}`;
        setPending((all) =>
          all.length >= MAX_FILES
            ? all
            : [...all, { key, name: file.name, size: file.size, status: "uploading" }],
        );
        upload(file).then(
          (stored) => update(key, { status: "ready", file: stored, name: stored.name, size: stored.size }),
          (error: unknown) => update(key, { status: "failed", error: errorMessage(error) }),
        );
      }
    },
    [upload],
  );

  const remove = useCallback((key: string) => setPending((all) => all.filter((p) => p.key !== key)), []);
  const clear = useCallback(() => setPending([]), []);

  const ids = pending.flatMap((p) => (p.status === "ready" && p.file ? [p.file.id] : []));
  const uploading = pending.some((p) => p.status === "uploading");
  return { pending, ids, uploading, add, remove, clear };
}
