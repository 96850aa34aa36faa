// /settings/import: bring conversations in from ChatGPT (conversations.json, branches kept) or
// from a Confide export. The upload is worked through in the background: the page polls the
// import for its progress, then shows its report (threads made, what was left out and why).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { errorMessage } from "../api/errors";
import { finished, getImport, importKeys, listImports, startImport, type Import } from "../api/imports";
import { keys } from "../api/threads";
import { ErrorAlert } from "../components/ErrorAlert";
import { LoadMore } from "../components/LoadMore";
import { when } from "../format";

export const POLL_MS = 1000;

export function ImportPage() {
  const [current, setCurrent] = useState<string | null>(null);
  useEffect(() => {
    document.title = "Import · Confide";
  }, []);
  return (
    <div className="page import-page">
      <p>
        <Link to="/settings">← Account</Link>
      </p>
      <h1>Import conversations</h1>
      <p className="muted">
        From ChatGPT: Settings → Data controls → Export, then upload the <code>conversations.json</code> from the
        archive. Edited questions and regenerated answers stay branches. From Confide: a thread downloaded as JSON, or
        your whole account export. Imported threads are new threads of yours, with your default agent.
      </p>
      <UploadForm onStarted={setCurrent} />
      {current && <Progress id={current} />}
      <PastImports />
    </div>
  );
}

function UploadForm({ onStarted }: { onStarted: (id: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const queryClient = useQueryClient();
  const upload = useMutation({
    mutationFn: startImport,
    onSuccess: (started) => {
      queryClient.setQueryData(importKeys.one(started.id), started);
      void queryClient.invalidateQueries({ queryKey: importKeys.list });
      onStarted(started.id);
      setFile(null);
      if (input.current) input.current.value = "";
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (file) upload.mutate(file);
  };
  return (
    <form className="card stack" onSubmit={submit} aria-label="Import a file">
      <label htmlFor="import-file">Export file (JSON)</label>
      <input
        id="import-file"
        ref={input}
        type="file"
        accept=".json,application/json"
        onChange={(event) => setFile(event.target.files?.[0] ?? null)}
      />
      {upload.isError && <ErrorAlert message={errorMessage(upload.error)} onDismiss={() => upload.reset()} />}
      <div>
        <button type="submit" className="button" disabled={!file || upload.isPending}>
          {upload.isPending ? "Uploading…" : "Import"}
        </button>
      </div>
    </form>
  );
}

function Progress({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const item = useQuery({
    queryKey: importKeys.one(id),
    queryFn: () => getImport(id),
    refetchInterval: (query) => (query.state.data && finished(query.state.data) ? false : POLL_MS),
  });
  const done = item.data ? finished(item.data) : false;
  useEffect(() => {
    if (!done) return;
    void queryClient.invalidateQueries({ queryKey: keys.threadLists });
    void queryClient.invalidateQueries({ queryKey: importKeys.list });
  }, [done, queryClient]);
  if (item.isError) return <ErrorAlert message={errorMessage(item.error)} onRetry={() => void item.refetch()} />;
  if (!item.data) return null;
  return <Report item={item.data} />;
}

function Report({ item }: { item: Import }) {
  const label =
    item.status === "completed"
      ? `Imported ${item.threads_created} ${item.threads_created === 1 ? "thread" : "threads"}`
      : item.status === "failed"
        ? "The import failed"
        : `Importing… ${item.done} of ${item.total}`;
  return (
    <section className="card stack" aria-labelledby="import-report-heading" data-testid="import-report">
      <h2 id="import-report-heading">{label}</h2>
      <progress max={item.total || 1} value={item.done} aria-label="Conversations imported" />
      <p role="status" className="muted">
        {item.done} of {item.total} conversations · {item.threads_created} threads made
        {item.skipped_count > 0 ? ` · ${item.skipped_count} items left out` : ""}
      </p>
      {item.error && <ErrorAlert message={item.error} />}
      {finished(item) && item.skipped.length > 0 && (
        <details>
          <summary>What was left out</summary>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Conversation</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {item.skipped.map((skip, index) => (
                <tr key={`${skip.conversation}-${skip.message_id ?? ""}-${index}`} data-testid="skipped-item">
                  <td>{skip.conversation}</td>
                  <td>{skip.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {item.skipped_count > item.skipped.length && (
            <p className="muted">…and {item.skipped_count - item.skipped.length} more.</p>
          )}
        </details>
      )}
      {item.status === "completed" && <p>The threads are in your sidebar.</p>}
    </section>
  );
}

function PastImports() {
  const imports = useInfiniteQuery({
    queryKey: importKeys.list,
    queryFn: ({ pageParam }) => listImports(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const items = imports.data?.pages.flatMap((page) => page.items) ?? [];
  if (imports.isError) {
    return <ErrorAlert message={errorMessage(imports.error)} onRetry={() => void imports.refetch()} />;
  }
  if (items.length === 0) return null;
  return (
    <section className="stack" aria-labelledby="past-imports-heading">
      <h2 id="past-imports-heading">Earlier imports</h2>
      <ul>
        {items.map((item) => (
          <li key={item.id} data-testid="past-import">
            {when(item.created_at)} · {item.format === "chatgpt" ? "ChatGPT" : "Confide"} · {item.status} ·{" "}
            {item.threads_created} threads
          </li>
        ))}
      </ul>
      <LoadMore
        hasMore={imports.hasNextPage}
        loading={imports.isFetchingNextPage}
        onLoad={() => void imports.fetchNextPage()}
      />
    </section>
  );
}
