import { useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { errorMessage } from "../api/errors";
import { hitLink, searchKeys, searchMessages, type SearchHit } from "../api/search";
import { queryWords } from "../chat/highlight";
import { ErrorAlert } from "../components/ErrorAlert";
import { Highlighted } from "../components/Highlighted";
import { LoadMore } from "../components/LoadMore";
import { threadTitle } from "../components/Sidebar";
import { when } from "../format";

const ROLE_LABEL = { user: "You", assistant: "Assistant" } as const;

/** /search?q=: whole words across the caller's own threads, best match first. */
export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const q = (params.get("q") ?? "").trim();
  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);
  useEffect(() => {
    document.title = "Search · Confide";
  }, []);
  const results = useInfiniteQuery({
    queryKey: searchKeys.results(q),
    queryFn: ({ pageParam }) => searchMessages(q, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    enabled: q.length > 0,
  });
  const hits = results.data?.pages.flatMap((page) => page.items) ?? [];
  const words = useMemo(() => queryWords(q), [q]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const next = draft.trim();
    setParams(next ? { q: next } : {});
  }

  return (
    <div className="page search-page">
      <h1>Search</h1>
      <form role="search" className="search-form" onSubmit={submit}>
        <input
          type="search"
          aria-label="Search messages"
          placeholder="Words in your conversations"
          maxLength={200}
          value={draft}
          // Opened to search (Ctrl+K on a small screen, or with no words yet): type at once.
          autoFocus={!q}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit" className="button primary">
          Search
        </button>
      </form>
      <p className="muted">
        Finds whole words in your own conversations (titles, your messages and the answers), not
        parts of words; conversations shared with you are not searched.
      </p>
      {results.isError && (
        <ErrorAlert message={errorMessage(results.error)} onRetry={() => void results.refetch()} />
      )}
      {q && results.isPending && <p className="muted">Searching…</p>}
      {results.isSuccess && hits.length === 0 && <p className="muted">Nothing matches “{q}”.</p>}
      <ol className="search-results" aria-label="Search results">
        {hits.map((hit) => (
          <SearchResult key={`${hit.thread_id}:${hit.seq ?? 0}`} hit={hit} q={q} words={words} />
        ))}
      </ol>
      <LoadMore
        hasMore={Boolean(results.hasNextPage)}
        loading={results.isFetchingNextPage}
        onLoad={() => void results.fetchNextPage()}
        label="More results"
      />
    </div>
  );
}

function SearchResult({ hit, q, words }: { hit: SearchHit; q: string; words: string[] }) {
  return (
    <li className="search-result" data-testid="search-result">
      <Link to={hitLink(hit, q)} className="search-result-link">
        <span className="search-result-title">
          <Highlighted text={threadTitle(hit.thread_title)} words={words} />
        </span>
        <span className="muted search-result-meta">
          {hit.role ? ROLE_LABEL[hit.role] : "Title"} · {when(hit.created_at)}
        </span>
        <span className="search-result-snippet">
          <Highlighted text={hit.snippet} words={words} />
        </span>
      </Link>
    </li>
  );
}
