import { useInfiniteQuery } from "@tanstack/react-query";
import { folderKeys, listShelf, type Shelf } from "../../api/folders";
import { errorMessage } from "../../api/errors";
import { ErrorAlert } from "../ErrorAlert";
import { threadTitle } from "../Sidebar";
import { ThreadRow } from "./ThreadRow";

/** The threads of one shelf (pinned, a folder's, archived), newest activity first. */
export function ShelfList({
  shelf,
  empty,
  onNavigate,
}: {
  shelf: Shelf;
  empty: string;
  onNavigate: () => void;
}) {
  const threads = useInfiniteQuery({
    queryKey: folderKeys.shelf(shelf, ""),
    queryFn: ({ pageParam }) => listShelf(shelf, "", pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const items = threads.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <>
      {threads.isError && (
        <ErrorAlert message={errorMessage(threads.error)} onRetry={() => void threads.refetch()} />
      )}
      {threads.isSuccess && items.length === 0 && <p className="muted shelf-empty">{empty}</p>}
      <ul className="thread-list">
        {items.map((thread) => (
          <ThreadRow
            key={thread.id}
            thread={thread}
            title={threadTitle(thread.title)}
            href={`/chat/${thread.id}`}
            onNavigate={onNavigate}
          />
        ))}
        {threads.hasNextPage && (
          <li className="more">
            <button
              type="button"
              className="button subtle wide"
              disabled={threads.isFetchingNextPage}
              onClick={() => void threads.fetchNextPage()}
            >
              {threads.isFetchingNextPage ? "Loading…" : "Load more"}
            </button>
          </li>
        )}
      </ul>
    </>
  );
}
