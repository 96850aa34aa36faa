import { useCallback, useId, useRef, useState } from "react";
import type { Thread } from "../../api/client";
import type { Folder } from "../../api/folders";
import { useClickAway } from "../../hooks";

export interface Placement {
  folder_id?: string | null;
  pinned?: boolean;
  archived?: boolean;
}

/** A thread's actions in the sidebar: pin, move to a folder, archive. The keyboard way to do
 * what dragging does: Tab to the button, Enter opens, Tab through, Esc closes. */
export function ThreadMenu({
  thread,
  title,
  folders,
  onPlace,
}: {
  thread: Thread;
  title: string;
  folders: Folder[];
  onPlace: (change: Placement) => void;
}) {
  const [open, setOpen] = useState(false);
  const [moving, setMoving] = useState(false);
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const dismiss = useCallback(() => setOpen(false), []);
  useClickAway(open, root, dismiss);
  const close = () => {
    setOpen(false);
    setMoving(false);
    toggle.current?.focus();
  };
  const choose = (change: Placement) => {
    close();
    onPlace(change);
  };
  const targets = folders.filter((folder) => folder.id !== thread.folder_id);
  return (
    <div
      className="thread-menu"
      ref={root}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          event.stopPropagation();
          close();
        }
      }}
    >
      <button
        ref={toggle}
        type="button"
        className="thread-menu-button"
        aria-label={`Actions for ${title}`}
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls={menuId}
        onClick={() => (open ? close() : setOpen(true))}
      >
        ⋯
      </button>
      {open && (
        <ul id={menuId} className="agent-menu-list thread-menu-list" aria-label={`Actions for ${title}`}>
          {!thread.archived && (
            <li>
              <button
                type="button"
                className="button subtle wide"
                autoFocus
                onClick={() => choose({ pinned: !thread.pinned })}
              >
                {thread.pinned ? "Unpin" : "Pin"}
              </button>
            </li>
          )}
          <li>
            <button
              type="button"
              className="button subtle wide"
              aria-expanded={moving}
              autoFocus={thread.archived}
              onClick={() => setMoving((v) => !v)}
            >
              Move to folder…
            </button>
            {moving && (
              <ul className="thread-menu-folders" aria-label="Folders">
                {thread.folder_id && (
                  <li>
                    <button
                      type="button"
                      className="button subtle wide"
                      autoFocus
                      onClick={() => choose({ folder_id: null })}
                    >
                      No folder
                    </button>
                  </li>
                )}
                {targets.map((folder, index) => (
                  <li key={folder.id}>
                    <button
                      type="button"
                      className="button subtle wide"
                      autoFocus={!thread.folder_id && index === 0}
                      onClick={() => choose({ folder_id: folder.id })}
                    >
                      {folder.name}
                    </button>
                  </li>
                ))}
                {targets.length === 0 && !thread.folder_id && (
                  <li className="muted thread-menu-empty">No folders yet.</li>
                )}
              </ul>
            )}
          </li>
          <li>
            <button
              type="button"
              className="button subtle wide"
              onClick={() => choose({ archived: !thread.archived })}
            >
              {thread.archived ? "Unarchive" : "Archive"}
            </button>
          </li>
        </ul>
      )}
    </div>
  );
}
