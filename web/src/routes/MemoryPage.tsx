// /memory: what the assistant remembers about the caller, where each fact came from (a link
// that lands on the message), and the switch that turns memory off.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { errorMessage } from "../api/errors";
import {
  addMemory,
  deleteMemory,
  downloadMemories,
  editMemory,
  listMemories,
  MEMORY_KEYS,
  memoryKeys,
  sourceLink,
  type Memory,
  type MemoryKey,
} from "../api/memories";
import { getSettings, SETTINGS_KEY, updateSettings } from "../api/privacy";
import { DownloadButton } from "../components/DownloadButton";
import { ErrorAlert } from "../components/ErrorAlert";
import { LoadMore } from "../components/LoadMore";
import { when } from "../format";

const KEY_LABEL = Object.fromEntries(MEMORY_KEYS.map(({ key, label }) => [key, label])) as Record<
  MemoryKey,
  string
>;

export function MemoryPage() {
  useEffect(() => {
    document.title = "Memory · Confide";
  }, []);
  return (
    <div className="page memory-page">
      <h1>Memory</h1>
      <p className="muted">
        Facts the assistant keeps about you from your messages (your name, where you live, your
        preferences and projects), given to it in every conversation. Edit or delete any of them.
      </p>
      <MemorySwitch />
      <AddMemory />
      <MemoryList status="active" />
      <details className="superseded">
        <summary>Replaced facts</summary>
        <p className="muted">Older facts a newer one replaced: kept, but no longer given to the assistant.</p>
        <MemoryList status="superseded" />
      </details>
      <ExportMemories />
    </div>
  );
}

function MemorySwitch() {
  const queryClient = useQueryClient();
  const settings = useQuery({ queryKey: SETTINGS_KEY, queryFn: getSettings });
  const toggle = useMutation({
    mutationFn: (on: boolean) => updateSettings({ memory_enabled: on }),
    onSuccess: (updated) => queryClient.setQueryData(SETTINGS_KEY, updated),
  });
  const on = settings.data?.memory_enabled ?? true;
  return (
    <section className="card stack" aria-labelledby="memory-switch-heading">
      <h2 id="memory-switch-heading">Memory is {settings.isSuccess ? (on ? "on" : "off") : "…"}</h2>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={on}
          disabled={!settings.isSuccess || toggle.isPending}
          onChange={(e) => toggle.mutate(e.target.checked)}
        />
        Remember facts from my messages and use them in my conversations
      </label>
      {!on && (
        <p className="muted" data-testid="memory-off">
          Nothing new is remembered and nothing below is given to the assistant; your memories stay
          here until you delete them.
        </p>
      )}
      {settings.isError && <ErrorAlert message={errorMessage(settings.error)} />}
      {toggle.isError && <ErrorAlert message={errorMessage(toggle.error)} />}
    </section>
  );
}

function AddMemory() {
  const queryClient = useQueryClient();
  const [content, setContent] = useState("");
  const [key, setKey] = useState<MemoryKey>("note");
  const add = useMutation({
    mutationFn: () => addMemory({ content, key }),
    onSuccess: () => {
      setContent("");
      void queryClient.invalidateQueries({ queryKey: memoryKeys.all });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    add.mutate();
  }
  return (
    <form className="card stack memory-add" onSubmit={submit} aria-labelledby="memory-add-heading">
      <h2 id="memory-add-heading">Add a memory</h2>
      <div className="row">
        <MemoryFields
          memoryKey={key}
          onKey={setKey}
          content={content}
          onContent={setContent}
          label="New memory"
          placeholder="Something the assistant should know about you"
        />
        <button type="submit" className="button primary" disabled={add.isPending}>
          Add
        </button>
      </div>
      {add.isError && <ErrorAlert message={errorMessage(add.error)} />}
    </form>
  );
}

/** A memory's kind and text, as the add and edit forms take them. */
function MemoryFields(props: {
  memoryKey: MemoryKey;
  onKey: (key: MemoryKey) => void;
  content: string;
  onContent: (content: string) => void;
  label: string;
  placeholder?: string;
}) {
  return (
    <>
      <select aria-label="Kind" value={props.memoryKey} onChange={(e) => props.onKey(e.target.value as MemoryKey)}>
        {MEMORY_KEYS.map(({ key, label }) => (
          <option key={key} value={key}>
            {label}
          </option>
        ))}
      </select>
      <input
        aria-label={props.label}
        placeholder={props.placeholder}
        maxLength={500}
        required
        value={props.content}
        onChange={(e) => props.onContent(e.target.value)}
      />
    </>
  );
}

function MemoryList({ status }: { status: "active" | "superseded" }) {
  const memories = useInfiniteQuery({
    queryKey: memoryKeys.list(status),
    queryFn: ({ pageParam }) => listMemories(status, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const items = memories.data?.pages.flatMap((page) => page.items) ?? [];
  const name = status === "active" ? "Memories" : "Replaced memories";
  return (
    <>
      {memories.isError && (
        <ErrorAlert message={errorMessage(memories.error)} onRetry={() => void memories.refetch()} />
      )}
      {memories.isSuccess && items.length === 0 && (
        <p className="muted">{status === "active" ? "Nothing remembered yet." : "None."}</p>
      )}
      <ul className="memory-list" aria-label={name}>
        {items.map((memory) => (
          <MemoryItem key={memory.id} memory={memory} />
        ))}
      </ul>
      <LoadMore
        hasMore={Boolean(memories.hasNextPage)}
        loading={memories.isFetchingNextPage}
        onLoad={() => void memories.fetchNextPage()}
      />
    </>
  );
}

function MemoryItem({ memory }: { memory: Memory }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [content, setContent] = useState(memory.content);
  const [key, setKey] = useState<MemoryKey>(memory.key);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: memoryKeys.all });
  const save = useMutation({
    mutationFn: () => editMemory(memory.id, { content, key }),
    onSuccess: () => {
      setEditing(false);
      refresh();
    },
  });
  const remove = useMutation({ mutationFn: () => deleteMemory(memory.id), onSuccess: refresh });
  const source = sourceLink(memory);

  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate();
  }

  return (
    <li className="memory" data-testid="memory" data-key={memory.key}>
      {editing ? (
        <form className="row" onSubmit={submit}>
          <MemoryFields memoryKey={key} onKey={setKey} content={content} onContent={setContent} label="Memory text" />
          <button type="submit" className="button primary" disabled={save.isPending}>
            Save
          </button>
          <button
            type="button"
            className="button subtle"
            onClick={() => {
              setEditing(false);
              setContent(memory.content);
              setKey(memory.key);
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <div className="row">
          <span className="memory-key">{KEY_LABEL[memory.key]}</span>
          <span className="memory-content">{memory.content}</span>
        </div>
      )}
      <p className="muted memory-meta">
        {source ? (
          <Link to={source} className="memory-source">
            From a message, {when(memory.created_at)}
          </Link>
        ) : (
          <span>Added by you, {when(memory.created_at)}</span>
        )}
        {memory.use_count > 0 && <span> · used {memory.use_count === 1 ? "once" : `${memory.use_count} times`}</span>}
      </p>
      {!editing && (
        <div className="row">
          <button type="button" className="button subtle" onClick={() => setEditing(true)}>
            Edit
          </button>
          <button
            type="button"
            className="button subtle danger"
            disabled={remove.isPending}
            onClick={() => remove.mutate()}
          >
            Delete
          </button>
        </div>
      )}
      {save.isError && <ErrorAlert message={errorMessage(save.error)} />}
      {remove.isError && <ErrorAlert message={errorMessage(remove.error)} />}
    </li>
  );
}

function ExportMemories() {
  return (
    <section className="card stack" aria-labelledby="memory-export-heading">
      <h2 id="memory-export-heading">Export</h2>
      <p className="muted">Every memory, replaced ones too, as a JSON file.</p>
      <DownloadButton label="Download my memories" download={downloadMemories} />
    </section>
  );
}
