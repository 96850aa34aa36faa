import { useId, useState, type FormEvent } from "react";
import type { Folder } from "../../api/folders";
import { errorMessage } from "../../api/errors";
import { ErrorAlert } from "../ErrorAlert";
import { ShelfList } from "./ShelfList";
import { threadDropTarget } from "./ThreadRow";
import { useFolders, useOrganise } from "./useOrganise";

/** The caller's folders: made, renamed, deleted, opened to show their threads; a thread
 * dragged onto one moves into it (its menu's "Move to folder…" does the same by keyboard). */
export function FolderList({ onNavigate }: { onNavigate: () => void }) {
  const folders = useFolders();
  const { create } = useOrganise();
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const cleaned = name.trim();
    if (!cleaned) return;
    create.mutate(cleaned, {
      onSuccess: () => {
        setName("");
        setAdding(false);
      },
    });
  };
  return (
    <nav aria-labelledby="folders-heading" className="thread-nav folders-nav">
      <div className="sidebar-heading-row">
        <h2 id="folders-heading" className="sidebar-heading">
          Folders
        </h2>
        <button
          type="button"
          className="button subtle small"
          aria-expanded={adding}
          onClick={() => setAdding((v) => !v)}
        >
          New folder
        </button>
      </div>
      {adding && (
        <form className="folder-form" onSubmit={submit}>
          <input
            aria-label="Folder name"
            placeholder="Folder name"
            maxLength={100}
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") setAdding(false);
            }}
          />
          <button type="submit" className="button small" disabled={create.isPending}>
            Create
          </button>
        </form>
      )}
      {create.isError && <p role="alert">{errorMessage(create.error)}</p>}
      {folders.isError && (
        <ErrorAlert message={errorMessage(folders.error)} onRetry={() => void folders.refetch()} />
      )}
      <ul className="folder-list">
        {(folders.data ?? []).map((folder) => (
          <FolderItem key={folder.id} folder={folder} onNavigate={onNavigate} />
        ))}
      </ul>
    </nav>
  );
}

function FolderItem({ folder, onNavigate }: { folder: Folder; onNavigate: () => void }) {
  const { place, rename, remove } = useOrganise();
  const [open, setOpen] = useState(false);
  const [over, setOver] = useState(false);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(folder.name);
  const listId = useId();
  const drop = threadDropTarget(
    (threadId) => place.mutate({ threadId, folder_id: folder.id }, { onSuccess: () => setOpen(true) }),
    setOver,
  );
  const save = (event: FormEvent) => {
    event.preventDefault();
    const cleaned = name.trim();
    if (!cleaned) return;
    rename.mutate({ id: folder.id, name: cleaned }, { onSuccess: () => setEditing(false) });
  };
  return (
    <li className={over ? "folder drop-over" : "folder"} data-folder-id={folder.id} {...drop}>
      {editing ? (
        <form className="folder-form" onSubmit={save}>
          <input
            aria-label={`New name for ${folder.name}`}
            maxLength={100}
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") setEditing(false);
            }}
          />
          <button type="submit" className="button small" disabled={rename.isPending}>
            Save
          </button>
        </form>
      ) : (
        <div className="folder-row">
          <button
            type="button"
            className="button subtle wide folder-toggle"
            aria-expanded={open}
            aria-controls={listId}
            onClick={() => setOpen((v) => !v)}
          >
            <span aria-hidden="true">{open ? "▾" : "▸"}</span> {folder.name}
          </button>
          <button
            type="button"
            className="button subtle small"
            aria-label={`Rename ${folder.name}`}
            onClick={() => {
              setName(folder.name);
              setEditing(true);
            }}
          >
            ✎
          </button>
          <button
            type="button"
            className="button subtle small"
            aria-label={`Delete ${folder.name}`}
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(`Delete the folder "${folder.name}"? Its threads are kept.`)) {
                remove.mutate(folder.id);
              }
            }}
          >
            ×
          </button>
        </div>
      )}
      {(rename.isError || remove.isError || place.isError) && (
        <p role="alert">{errorMessage(rename.error ?? remove.error ?? place.error)}</p>
      )}
      {open && (
        <div id={listId} className="folder-threads">
          <ShelfList
            shelf={{ folder_id: folder.id }}
            empty="No threads here yet."
            onNavigate={onNavigate}
          />
        </div>
      )}
    </li>
  );
}
