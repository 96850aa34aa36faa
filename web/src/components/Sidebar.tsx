import { useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, NavLink, useNavigate } from "react-router";
import { errorMessage } from "../api/errors";
import { folderKeys, listShelf, type Shelf } from "../api/folders";
import { listSharedThreads, personName, shareKeys } from "../api/shares";
import { can, THREADS_READ } from "../auth/access";
import { useMe } from "../auth/useMe";
import { queryWords } from "../chat/highlight";
import { useDebounced } from "../hooks";
import { ErrorAlert } from "./ErrorAlert";
import { Highlighted } from "./Highlighted";
import { ArchivedList } from "./sidebar/ArchivedList";
import { FolderList } from "./sidebar/FolderList";
import { PinnedList } from "./sidebar/PinnedList";
import { ThreadRow } from "./sidebar/ThreadRow";

const ANY_SHELF: Shelf = {};
const UNFILED: Shelf = { pinned: false, in_folder: false };

export function threadTitle(title: string | null | undefined): string {
  return title?.trim() || "Untitled chat";
}

/** A thread found by the sidebar's search opens with the words searched for marked. */
function threadLink(id: string, q: string): string {
  return q ? `/chat/${id}?${new URLSearchParams({ highlight: q })}` : `/chat/${id}`;
}

/** New chat, search, and the thread list (newest activity first, loaded as it scrolls). */
export function Sidebar({ onNavigate }: { onNavigate: () => void }) {
  const navigate = useNavigate();
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 250);
  // Without `threads:read` (an auditor, say) there is no list to show: nothing is asked for,
  // so no refusal makes the app re-read the account's permissions (main.tsx) behind its back.
  const me = useMe().data;
  const reads = me == null || can(me, THREADS_READ);
  const threads = useInfiniteQuery({
    enabled: reads,
    // Unsearched, the list leaves out pinned threads and those in a folder: their sections
    // above show them (sidebar/). A search looks through every thread not archived.
    queryKey: folderKeys.shelf(q ? ANY_SHELF : UNFILED, q),
    queryFn: ({ pageParam }) => listShelf(q ? ANY_SHELF : UNFILED, q, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const sentinel = useRef<HTMLLIElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = threads;

  useEffect(() => {
    const node = sentinel.current;
    if (!node || !hasNextPage || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const items = threads.data?.pages.flatMap((page) => page.items) ?? [];
  const words = useMemo(() => queryWords(q), [q]);

  return (
    <div className="sidebar-inner">
      <button
        type="button"
        className="button primary wide"
        onClick={() => {
          onNavigate();
          void navigate("/");
        }}
      >
        New chat
      </button>
      <div className="search" role="search">
        <input
          type="search"
          aria-label="Search threads"
          placeholder="Search threads"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <Link
          to={search.trim() ? `/search?${new URLSearchParams({ q: search.trim() })}` : "/search"}
          className="search-all"
          onClick={onNavigate}
        >
          Search in messages
        </Link>
      </div>
      {reads && !q && <PinnedList onNavigate={onNavigate} />}
      {reads && !q && <FolderList onNavigate={onNavigate} />}
      <nav aria-label="Threads" className="thread-nav" hidden={!reads}>
        {threads.isError && (
          <ErrorAlert message={errorMessage(threads.error)} onRetry={() => void threads.refetch()} />
        )}
        {threads.isPending && <p className="muted">Loading…</p>}
        {threads.isSuccess && items.length === 0 && (
          <p className="muted">{q ? "No threads match." : "No conversations yet."}</p>
        )}
        <ul className="thread-list">
          {items.map((thread) => (
            <ThreadRow
              key={thread.id}
              thread={thread}
              title={threadTitle(thread.title)}
              href={threadLink(thread.id, q)}
              onNavigate={onNavigate}
            >
              <Highlighted text={threadTitle(thread.title)} words={words} />
            </ThreadRow>
          ))}
          {hasNextPage && (
            <li ref={sentinel} className="more">
              <button
                type="button"
                className="button subtle wide"
                disabled={isFetchingNextPage}
                onClick={() => void fetchNextPage()}
              >
                {isFetchingNextPage ? "Loading…" : "Load more threads"}
              </button>
            </li>
          )}
        </ul>
      </nav>
      {reads && <SharedWithMe q={q} onNavigate={onNavigate} />}
      {reads && !q && <ArchivedList onNavigate={onNavigate} />}
    </div>
  );
}

/** Threads other users shared with this one (read-only): shown once there is one. */
function SharedWithMe({ q, onNavigate }: { q: string; onNavigate: () => void }) {
  const shared = useInfiniteQuery({
    queryKey: shareKeys.sharedList(q),
    queryFn: ({ pageParam }) => listSharedThreads(q, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const items = shared.data?.pages.flatMap((page) => page.items) ?? [];
  if (!shared.isError && items.length === 0) return null;
  return (
    <nav aria-labelledby="shared-heading" className="thread-nav shared-nav">
      <h2 id="shared-heading" className="sidebar-heading">
        Shared with me
      </h2>
      {shared.isError && (
        <ErrorAlert message={errorMessage(shared.error)} onRetry={() => void shared.refetch()} />
      )}
      <ul className="thread-list">
        {items.map((thread) => (
          <li key={thread.id}>
            <NavLink to={`/chat/${thread.id}`} className="thread-link" onClick={onNavigate}>
              {threadTitle(thread.title)}
              <span className="thread-owner">{personName(thread.owner)}</span>
            </NavLink>
          </li>
        ))}
        {shared.hasNextPage && (
          <li className="more">
            <button
              type="button"
              className="button subtle wide"
              disabled={shared.isFetchingNextPage}
              onClick={() => void shared.fetchNextPage()}
            >
              {shared.isFetchingNextPage ? "Loading…" : "Load more shared threads"}
            </button>
          </li>
        )}
      </ul>
    </nav>
  );
}
