import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { useParams } from "react-router";
import { ApiError, errorMessage } from "../api/errors";
import { getShared, getSharedMessages, linkKeys, type SharedMessage } from "../api/links";
import type { Message } from "../api/client";
import { displayItems, initialConversation } from "../chat/conversation";
import { MessageList } from "../components/chat/MessageList";
import { ErrorAlert } from "../components/ErrorAlert";
import { LoadMore } from "../components/LoadMore";
import { when } from "../format";

export const NOT_FOUND_TEXT = "This link does not exist, was revoked or has expired.";

/** A shared conversation's messages as the chat's message list takes them: a link shows no
 * ids, so each gets one of its place (there are no branches in a snapshot). */
export function asMessages(shared: SharedMessage[], offset = 0): Message[] {
  return shared.map(
    (m, index) =>
      ({
        id: `shared-${offset + index}`,
        seq: offset + index + 1,
        parent_id: null,
        sibling_count: 1,
        sibling_index: 0,
        sibling_ids: [],
        role: m.role,
        content: m.content,
        tool_calls: m.tool_calls ?? null,
        tool_call_id: m.tool_call_id ?? null,
        name: m.name ?? null,
        run_id: null,
        interrupted: m.interrupted ?? false,
        files: [],
        created_at: m.created_at,
      }) as Message,
  );
}

/** /s/:token — a conversation someone shared by link, read-only, for anyone (signed in or
 * not): no app chrome, nothing that needs an account. */
export function SharedPage() {
  const { token = "" } = useParams();
  const shared = useQuery({ queryKey: linkKeys.shared(token), queryFn: () => getShared(token), retry: false });
  const [more, setMore] = useState<SharedMessage[]>([]);
  // Where the next page starts: the first page's cursor until a later page was read.
  const [laterCursor, setLaterCursor] = useState<string | null | undefined>(undefined);
  const cursor = laterCursor === undefined ? (shared.data?.next_cursor ?? null) : laterCursor;
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<unknown>(null);
  useEffect(() => {
    const title = shared.data?.title;
    document.title = title ? `${title} · Shared conversation` : "Shared conversation";
  }, [shared.data?.title]);

  const items = useMemo(() => {
    const messages = asMessages([...(shared.data?.messages ?? []), ...more]);
    return displayItems({ ...initialConversation, messages });
  }, [shared.data, more]);

  const loadMore = () => {
    if (!cursor) return;
    setLoading(true);
    setLoadError(null);
    getSharedMessages(token, cursor)
      .then((page) => {
        setMore((current) => [...current, ...page.items]);
        setLaterCursor(page.next_cursor);
      })
      .catch((error: unknown) => setLoadError(error))
      .finally(() => setLoading(false));
  };

  if (shared.isPending) {
    return (
      <main className="shared-page" id="main">
        <p role="status" className="muted">
          Loading…
        </p>
      </main>
    );
  }
  if (shared.isError) {
    const missing = shared.error instanceof ApiError && shared.error.status === 404;
    return (
      <main className="shared-page" id="main">
        <h1>{missing ? "Not found" : "Could not load this conversation"}</h1>
        {missing ? (
          <p data-testid="shared-not-found">{NOT_FOUND_TEXT}</p>
        ) : (
          <ErrorAlert message={errorMessage(shared.error)} onRetry={() => void shared.refetch()} />
        )}
      </main>
    );
  }
  const data = shared.data;
  const byline = [
    data.owner_display_name ? `Shared by ${data.owner_display_name}` : "Shared conversation",
    data.agent_name,
    when(data.created_at),
  ].filter(Boolean);
  return (
    <main className="shared-page conversation" id="main">
      <header className="shared-header">
        <h1>{data.title ?? "Untitled conversation"}</h1>
        <p className="muted" data-testid="shared-byline">
          {byline.join(" · ")}
        </p>
        <p className="shared-note">
          A read-only copy of the conversation as it was when the link was made.
          {data.expires_at ? ` The link works until ${when(data.expires_at)}.` : ""}
        </p>
      </header>
      <MessageList items={items} status="" readOnly />
      {loadError !== null && <ErrorAlert message={errorMessage(loadError)} />}
      <LoadMore hasMore={cursor !== null} loading={loading} onLoad={loadMore} label="Show more messages" />
    </main>
  );
}
