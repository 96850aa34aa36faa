import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useRef, useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { createLink, linkKeys, linkUrl, listLinks, revokeLink, type Link, type LinkCreated } from "../api/links";
import { refetchFresh } from "../api/refetch";
import { when } from "../format";
import { CopyButton } from "./CopyButton";
import { ErrorAlert } from "./ErrorAlert";

/** How long a new link works, as the form offers it (seconds; null: until revoked). */
export const EXPIRY_CHOICES: { label: string; seconds: number | null }[] = [
  { label: "Never (until revoked)", seconds: null },
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 7 * 86_400 },
  { label: "30 days", seconds: 30 * 86_400 },
];

function linkSummary(link: Link): string {
  const parts = [`Made ${when(link.created_at)}`];
  parts.push(link.expires_at ? `expires ${when(link.expires_at)}` : "never expires");
  parts.push(`${link.message_count} message${link.message_count === 1 ? "" : "s"}`);
  if (!link.include_tool_calls) parts.push("without tool calls");
  return parts.join(" · ");
}

/** The share dialog's public links: make one (expiry, tool calls), copy it once, list and
 * revoke them. A link shows the conversation as it is now; later messages never appear. */
export function LinkSection({ threadId }: { threadId: string }) {
  const queryClient = useQueryClient();
  const expiryId = useId();
  const urlId = useId();
  const urlInput = useRef<HTMLInputElement>(null);
  const [expiry, setExpiry] = useState(0);
  const [includeTools, setIncludeTools] = useState(true);
  const [made, setMade] = useState<LinkCreated | null>(null);
  const links = useQuery({ queryKey: linkKeys.links(threadId), queryFn: () => listLinks(threadId) });
  const create = useMutation({
    mutationFn: () =>
      createLink(threadId, {
        expires_in_seconds: EXPIRY_CHOICES[expiry]?.seconds ?? null,
        include_tool_calls: includeTools,
      }),
    onSuccess: (link) => {
      setMade(link);
      void refetchFresh(queryClient, linkKeys.links(threadId));
    },
  });
  const revoke = useMutation({
    mutationFn: (link: Link) => revokeLink(threadId, link.id),
    onSuccess: (_, link) => {
      if (made?.id === link.id) setMade(null);
      void refetchFresh(queryClient, linkKeys.links(threadId));
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setMade(null);
    create.mutate();
  };
  const url = made ? linkUrl(made.url) : "";

  return (
    <section aria-labelledby={`${expiryId}-heading`}>
      <h3 id={`${expiryId}-heading`} className="small-heading">
        Share link
      </h3>
      <p className="muted">
        Anyone with the link can read the conversation as it is now, without an account. Messages added later are not
        in it.
      </p>
      <form className="share-form" onSubmit={onSubmit}>
        <label htmlFor={expiryId}>Link expires</label>
        <select id={expiryId} value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
          {EXPIRY_CHOICES.map((choice, index) => (
            <option key={choice.label} value={index}>
              {choice.label}
            </option>
          ))}
        </select>
        <label className="checkbox-label">
          <input type="checkbox" checked={includeTools} onChange={(e) => setIncludeTools(e.target.checked)} /> Include
          tool calls and their results
        </label>
        <button type="submit" className="button primary" disabled={create.isPending}>
          Create link
        </button>
      </form>
      {create.isError && <ErrorAlert message={errorMessage(create.error)} />}
      {made && (
        <div className="share-form" data-testid="new-link">
          <label htmlFor={urlId}>New link (shown only now: copy it)</label>
          <div className="copy-row">
            <input id={urlId} ref={urlInput} readOnly value={url} onFocus={(e) => e.target.select()} />
            <CopyButton text={url} label="Copy link" fallback={() => urlInput.current} />
          </div>
        </div>
      )}
      <h3 className="small-heading">Links</h3>
      {links.isError && <ErrorAlert message={errorMessage(links.error)} onRetry={() => void links.refetch()} />}
      {revoke.isError && <ErrorAlert message={errorMessage(revoke.error)} />}
      {links.isSuccess && links.data.length === 0 && <p className="muted">No links.</p>}
      <ul role="list" aria-label="Share links" className="share-list">
        {links.data?.map((link) => (
          <li key={link.id} className="share-row">
            <span className="share-person">{linkSummary(link)}</span>
            <button
              type="button"
              className="button subtle danger-text"
              disabled={revoke.isPending}
              aria-label={`Revoke link made ${when(link.created_at)}`}
              onClick={() => revoke.mutate(link)}
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
