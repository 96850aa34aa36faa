import type { ReactNode } from "react";
import { NavLink } from "react-router";
import type { Thread } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { THREAD_DRAG_TYPE } from "../../api/folders";
import { ThreadMenu, type Placement } from "./ThreadMenu";
import { useFolders, useOrganise } from "./useOrganise";

/** One of the caller's threads in the sidebar: its link (draggable onto a folder) and its
 * menu (the same moves, by keyboard). */
export function ThreadRow({
  thread,
  title,
  href,
  onNavigate,
  children,
}: {
  thread: Thread;
  title: string;
  href: string;
  onNavigate: () => void;
  children?: ReactNode;
}) {
  const folders = useFolders();
  const { place } = useOrganise();
  return (
    <li
      className="thread-row"
      draggable
      onDragStart={(event) => {
        event.dataTransfer.setData(THREAD_DRAG_TYPE, thread.id);
        event.dataTransfer.effectAllowed = "move";
      }}
    >
      <NavLink to={href} className="thread-link" onClick={onNavigate} draggable={false}>
        {children ?? title}
      </NavLink>
      <ThreadMenu
        thread={thread}
        title={title}
        folders={folders.data ?? []}
        onPlace={(change: Placement) => place.mutate({ threadId: thread.id, ...change })}
      />
      {place.isError && (
        <p role="alert" className="thread-row-error">
          {errorMessage(place.error)}
        </p>
      )}
    </li>
  );
}

/** Handlers that make an element a drop target for threads dragged in the sidebar. */
export function threadDropTarget(
  onDrop: (threadId: string) => void,
  setOver: (over: boolean) => void,
) {
  return {
    onDragOver: (event: React.DragEvent) => {
      if (!event.dataTransfer.types.includes(THREAD_DRAG_TYPE)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      setOver(true);
    },
    onDragLeave: () => setOver(false),
    onDrop: (event: React.DragEvent) => {
      const threadId = event.dataTransfer.getData(THREAD_DRAG_TYPE);
      setOver(false);
      if (!threadId) return;
      event.preventDefault();
      onDrop(threadId);
    },
  };
}
