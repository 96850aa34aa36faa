// /files: the caller's uploaded files (newest first), how much of their storage they take,
// and deleting them (messages keep naming a deleted file; its content is gone).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { errorMessage } from "../api/errors";
import {
  deleteFile,
  downloadFile,
  fileKeys,
  fileUsage,
  formatBytes,
  listFiles,
  uploadFile,
  type StoredFile,
} from "../api/files";
import { ErrorAlert } from "../components/ErrorAlert";
import { AttachButton } from "../components/files/AttachButton";
import { LoadMore } from "../components/LoadMore";
import { when } from "../format";

export function FilesPage() {
  useEffect(() => {
    document.title = "Files · Confide";
  }, []);
  return (
    <div className="page files-page">
      <h1>Files</h1>
      <p className="muted">
        Files you uploaded to conversations. Only you can open them; they are stored encrypted.
        Deleting one removes its content; the messages it was attached to still name it.
      </p>
      <Usage />
      <Upload />
      <FileList />
    </div>
  );
}

function Usage() {
  const usage = useQuery({ queryKey: fileKeys.usage, queryFn: fileUsage });
  if (usage.isError) return <ErrorAlert message={errorMessage(usage.error)} />;
  if (!usage.data) return null;
  const { used_bytes: used, quota_bytes: quota, max_file_bytes: max } = usage.data;
  return (
    <section className="card stack" aria-labelledby="files-usage-heading">
      <h2 id="files-usage-heading">Storage</h2>
      <p data-testid="files-usage">
        {formatBytes(used)} of {formatBytes(quota)} used
      </p>
      <progress max={quota || 1} value={used} aria-label="Storage used" />
      <p className="muted">Each file may be up to {formatBytes(max)}: text, Markdown, code, PDF or images.</p>
    </section>
  );
}

function Upload() {
  const queryClient = useQueryClient();
  const upload = useMutation({
    mutationFn: async (files: File[]) => {
      for (const file of files) await uploadFile(file);
    },
    onSettled: () => void queryClient.invalidateQueries({ queryKey: fileKeys.all }),
  });
  return (
    <section className="card row" aria-label="Upload">
      <AttachButton onFiles={(files) => upload.mutate(files)} disabled={upload.isPending} />
      <span>{upload.isPending ? "Uploading…" : "Upload files"}</span>
      {upload.isError && <ErrorAlert message={errorMessage(upload.error)} />}
    </section>
  );
}

function FileList() {
  const files = useInfiniteQuery({
    queryKey: fileKeys.list,
    queryFn: ({ pageParam }) => listFiles(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const items = files.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section aria-labelledby="files-list-heading" className="stack">
      <h2 id="files-list-heading">Your files</h2>
      {files.isError && <ErrorAlert message={errorMessage(files.error)} onRetry={() => void files.refetch()} />}
      {files.isSuccess && items.length === 0 && <p className="muted">No files yet.</p>}
      {items.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Size</th>
              <th scope="col">Uploaded</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((file) => (
              <FileRow key={file.id} file={file} />
            ))}
          </tbody>
        </table>
      )}
      <LoadMore hasMore={files.hasNextPage} loading={files.isFetchingNextPage} onLoad={() => void files.fetchNextPage()} />
    </section>
  );
}

function FileRow({ file }: { file: StoredFile }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => deleteFile(file.id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: fileKeys.all }),
  });
  const download = useMutation({ mutationFn: () => downloadFile(file.id, file.name) });
  const detail =
    file.kind === "pdf" ? `PDF, ${file.pages ?? 0} pages` : file.kind === "text" ? `${file.lines ?? 0} lines` : "image";
  return (
    <tr data-testid="file-row">
      <td>{file.name}</td>
      <td>{detail}</td>
      <td>{formatBytes(file.size)}</td>
      <td>{when(file.created_at)}</td>
      <td className="row">
        <button type="button" className="button subtle" onClick={() => download.mutate()} aria-label={`Download ${file.name}`}>
          Download
        </button>
        <button
          type="button"
          className="button danger"
          disabled={remove.isPending}
          onClick={() => remove.mutate()}
          aria-label={`Delete ${file.name}`}
        >
          Delete
        </button>
        {(remove.isError || download.isError) && (
          <ErrorAlert message={errorMessage(remove.error ?? download.error)} />
        )}
      </td>
    </tr>
  );
}
