import { useInfiniteQuery } from "@tanstack/react-query";
import { folderKeys, listShelf } from "../../api/folders";
import { ShelfList } from "./ShelfList";

const PINNED = { pinned: true };

/** Pinned threads, on top of the sidebar: shown once one is pinned. */
export function PinnedList({ onNavigate }: { onNavigate: () => void }) {
  // The same query ShelfList makes (one request): here only to know whether to show it.
  const pinned = useInfiniteQuery({
    queryKey: folderKeys.shelf(PINNED, ""),
    queryFn: ({ pageParam }) => listShelf(PINNED, "", pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const count = pinned.data?.pages.reduce((n, page) => n + page.items.length, 0) ?? 0;
  if (!pinned.isError && count === 0) return null;
  return (
    <nav aria-labelledby="pinned-heading" className="thread-nav pinned-nav">
      <h2 id="pinned-heading" className="sidebar-heading">
        Pinned
      </h2>
      <ShelfList shelf={PINNED} empty="Nothing pinned." onNavigate={onNavigate} />
    </nav>
  );
}
