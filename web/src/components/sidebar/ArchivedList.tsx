import { useId, useState } from "react";
import { ShelfList } from "./ShelfList";

const ARCHIVED = { archived: true };

/** Archived threads, out of the way: listed when opened ("Unarchive" in a thread's menu). */
export function ArchivedList({ onNavigate }: { onNavigate: () => void }) {
  const [open, setOpen] = useState(false);
  const listId = useId();
  return (
    <nav aria-label="Archived" className="thread-nav archived-nav">
      <button
        type="button"
        className="button subtle wide sidebar-toggle"
        aria-expanded={open}
        aria-controls={listId}
        onClick={() => setOpen((v) => !v)}
      >
        <span aria-hidden="true">{open ? "▾" : "▸"}</span> Archived
      </button>
      {open && (
        <div id={listId}>
          <ShelfList shelf={ARCHIVED} empty="No archived threads." onNavigate={onNavigate} />
        </div>
      )}
    </nav>
  );
}
